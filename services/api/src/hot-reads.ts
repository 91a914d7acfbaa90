import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type RequestContext, runWithContext } from '@platform/core';
import type { Controller } from '@tsoa/runtime';
import express, { type Express } from 'express';
import { type AuthRequest, authenticateRequest } from './auth/authentication.js';
import { UsersController } from './controllers/users.controller.js';
import { setSecurityHeaders } from './middleware/contract.js';
import { respondToError } from './middleware/errors.js';
import { rateLimitsOf, tenantConcurrencyOf } from './middleware/rate-limit.js';
import { requestIdFor } from './middleware/request-id.js';
import type { ApiMetrics } from './observability/metrics.js';
import { logRequest } from './observability/request-log.js';
import type { Platform } from './platform.js';

/**
 * One tenant-scoped read served by the hot-read router: a path of one segment after `prefix`,
 * the tsoa operation it is (its route, security and controller method), nothing else.
 */
export interface HotRead {
  /** The operation's id in the spec. */
  operationId: string;
  /** Express's form of its path, as tsoa registers it and the metrics label it. */
  route: string;
  /** The path up to its one parameter. */
  prefix: string;
  security: { name: string; scopes: readonly string[] };
  /** The controller tsoa's container would build for it. */
  controller(platform: Platform): Controller;
  /** Calls the controller's method with the path parameter. */
  call(controller: Controller, param: string): Promise<unknown>;
}

/** The reads served in front of Express (each is also a tsoa route, which serves every other form of it). */
export const HOT_READS: readonly HotRead[] = [
  {
    operationId: 'getUser',
    route: '/v1/users/:userId',
    prefix: '/v1/users/',
    security: { name: 'api_key', scopes: ['read'] },
    controller: (platform) => new UsersController(platform.users),
    call: (controller, userId) => (controller as UsersController).getUser(userId),
  },
];

/**
 * A path parameter the router takes as it is: no percent-encoding to decode (Express would decode
 * it), no further segment, no query string.
 */
const PLAIN_PARAM = /^[A-Za-z0-9_-]{1,128}$/;

/** The hot read a request is, in its plainest form only (see `createRequestListener`). */
export function matchHotRead(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>): HotRead | undefined {
  if (req.method !== 'GET' || req.headers.origin !== undefined) return undefined;
  const url = req.url ?? '';
  for (const read of HOT_READS) {
    if (url.startsWith(read.prefix) && PLAIN_PARAM.test(url.slice(read.prefix.length))) return read;
  }
  return undefined;
}

/**
 * The API's request listener: the hottest tenant-scoped reads (`HOT_READS`) are answered here,
 * without Express's router and middleware stack; everything else goes to the Express app.
 *
 * Only the plainest form of a hot read is taken: `GET`, exactly `<prefix><param>` (no query string,
 * no trailing slash, no percent-encoding) and no `Origin` (CORS). Anything else, which may need
 * the app's other checks (unknown query parameters, CORS, HEAD, path decoding), goes to Express,
 * where the same operation is registered by tsoa. What is answered here gets every check and
 * record the Express path gives it, through the same functions: the request id, the security
 * headers, authentication with scopes, tenant binding and rate limits (`authenticateRequest`,
 * the tsoa authentication module's core), the request context in AsyncLocalStorage, the same
 * controller method, problem+json errors (`respondToError`), the request metrics and the
 * access-log line. `test/hot-reads.test.ts` compares both paths' responses.
 */
export function createRequestListener(
  app: Express,
  platform: Platform,
  metrics: ApiMetrics,
): RequestListener {
  const limits = rateLimitsOf(app);
  const concurrency = tenantConcurrencyOf(app);
  // Express's own `req.ip` (its `trust proxy` setting), for the limits on failed authentications.
  const ip = Object.getOwnPropertyDescriptor(express.request, 'ip')?.get;
  const clientAddress = (req: IncomingMessage) => () =>
    (ip?.call({ app, headers: req.headers, socket: req.socket, connection: req.socket }) as
      | string
      | undefined) ??
    req.socket.remoteAddress ??
    'unknown';

  const answer = async (
    read: HotRead,
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    param: string,
  ): Promise<void> => {
    try {
      const auth: AuthRequest = {
        authorization: req.headers.authorization,
        method: 'GET',
        ctx,
        platform,
        limits,
        concurrency,
        res,
        clientAddress: clientAddress(req),
      };
      try {
        await authenticateRequest(auth, read.security.name, read.security.scopes);
      } catch (err) {
        // As tsoa's authentication middleware: an error without a status is a 401.
        if (err !== null && typeof err === 'object') {
          const e = err as { status?: number };
          e.status = e.status || 401;
        }
        throw err;
      }
      // As tsoa's handler: the controller's status and headers, then the data as JSON.
      const controller = read.controller(platform);
      const data = await read.call(controller, param);
      const headers = controller.getHeaders();
      for (const name of Object.keys(headers)) res.setHeader(name, headers[name] as string);
      if (data === null || data === undefined) {
        res.statusCode = controller.getStatus() || 204;
        res.end();
        return;
      }
      const body = JSON.stringify(data);
      res.statusCode = controller.getStatus() || 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
    } catch (err) {
      // As Express's final handler once the headers are out: nothing more can be said.
      if (res.headersSent) {
        req.socket.destroy();
        return;
      }
      respondToError(err, res, platform.log);
    }
  };

  return (req, res) => {
    const read = matchHotRead(req);
    if (!read) {
      app(req, res);
      return;
    }
    const start = process.hrtime.bigint();
    const path = req.url as string;
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    setSecurityHeaders(res);
    const ctx: RequestContext = { requestId };
    res.once('finish', () => {
      metrics.observe('GET', read.route, res.statusCode, start);
      logRequest(platform.log, requestId, ctx.tenant?.slug, 'GET', path, res.statusCode, start);
    });
    runWithContext(ctx, () => answer(read, req, res, ctx, path.slice(read.prefix.length)));
  };
}
