import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type RequestContext, runWithContext } from '@platform/core';
import type { Controller } from '@tsoa/runtime';
import express, { type Express } from 'express';
import { type AuthRequest, authenticateRequest } from './auth/authentication.js';
import { PredictionsController } from './controllers/predictions.controller.js';
import { UsersController } from './controllers/users.controller.js';
import {
  bodyLimitBytes,
  HOT_CREATE,
  isPlainCreateBody,
  matchHotCreate,
  NOT_JSON,
  parseJsonBody,
  readBody,
} from './hot-create.js';
import { setSecurityHeaders } from './middleware/contract.js';
import { respondToError } from './middleware/errors.js';
import { rateLimitsOf, tenantConcurrencyOf } from './middleware/rate-limit.js';
import { requestIdFor } from './middleware/request-id.js';
import type { CreatePredictionRequest } from './models/prediction.models.js';
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
 * The API's request listener: the hottest tenant-scoped reads (`HOT_READS`) and the prediction
 * create are answered here, without Express's router and middleware stack; everything else goes
 * to the Express app.
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
 *
 * The plainest form of `POST /v1/predictions` (`matchHotCreate`) is answered here the same way,
 * with its body read and parsed as Express's body parser would (see `create` below and
 * `hot-create.ts`); `test/hot-create.test.ts` compares both paths' responses. Requests answered
 * here are counted in `http_front_requests_total` as well.
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

  /**
   * Authenticates (`security`), calls the controller's method (`call`) in the request's context
   * and answers as tsoa's handler would, or with the problem+json of whatever was thrown.
   */
  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    security: { name: string; scopes: readonly string[] },
    controller: Controller,
    call: () => Promise<unknown>,
  ): Promise<void> => {
    try {
      const auth: AuthRequest = {
        authorization: req.headers.authorization,
        method: req.method as string,
        ctx,
        platform,
        limits,
        concurrency,
        res,
        clientAddress: clientAddress(req),
      };
      try {
        await authenticateRequest(auth, security.name, security.scopes);
      } catch (err) {
        // As tsoa's authentication middleware: an error without a status is a 401.
        if (err !== null && typeof err === 'object') {
          const e = err as { status?: number };
          e.status = e.status || 401;
        }
        throw err;
      }
      // As tsoa's handler: the controller's status and headers, then the data as JSON.
      const data = await call();
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
      fail(req, res, err);
    }
  };

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    // As Express's final handler once the headers are out: nothing more can be said.
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    respondToError(err, res, platform.log);
  };

  /**
   * What Express's first middleware gives every request (request id, security headers) and its
   * records once it is finished (metrics under `route`, the access-log line); then `serve` runs
   * in the request's context.
   */
  const front = (
    req: IncomingMessage,
    res: ServerResponse,
    start: bigint,
    route: () => string,
    serve: (ctx: RequestContext) => Promise<void>,
  ): void => {
    const method = req.method as string;
    const path = req.url as string;
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    setSecurityHeaders(res);
    const ctx: RequestContext = { requestId };
    res.once('finish', () => {
      const served = route();
      metrics.observe(method, served, res.statusCode, start);
      metrics.countFront(method, served);
      logRequest(platform.log, requestId, ctx.tenant?.slug, method, path, res.statusCode, start);
    });
    runWithContext(ctx, () => serve(ctx));
  };

  const limitBytes = bodyLimitBytes(platform.config.bodyLimit);

  /**
   * `POST /v1/predictions` in its plainest form (`matchHotCreate`): the body is read and parsed
   * as the JSON body parser would. A body that is not JSON gets the parser's 400 here (before
   * authentication, as in Express); a body the spec's validation would not take exactly as it is
   * (`isPlainCreateBody`) goes to Express already parsed (`_body` and `body` set, so the body
   * parser skips it), where the storable-text rule, authentication and tsoa's validation answer
   * it as they answer any other request.
   */
  const create = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const start = process.hrtime.bigint();
    const buf = await readBody(req);
    if (buf === undefined) return;
    const body = parseJsonBody(buf);
    if (body !== NOT_JSON && !isPlainCreateBody(body)) {
      const parsed = req as IncomingMessage & { _body?: boolean; body?: unknown };
      parsed._body = true;
      parsed.body = body;
      app(req, res);
      return;
    }
    // A body that is not JSON is refused before routing: Express counts it as `unmatched`.
    const notJson = body === NOT_JSON;
    front(
      req,
      res,
      start,
      () => (notJson ? 'unmatched' : HOT_CREATE.route),
      async (ctx) => {
        if (notJson) {
          fail(req, res, body);
          return;
        }
        const controller = new PredictionsController(platform.predictions);
        await answer(req, res, ctx, HOT_CREATE.security, controller, () =>
          controller.createPrediction(body as CreatePredictionRequest),
        );
      },
    );
  };

  return (req, res) => {
    if (matchHotCreate(req, limitBytes)) {
      void create(req, res).catch((err: unknown) => fail(req, res, err));
      return;
    }
    const read = matchHotRead(req);
    if (!read) {
      app(req, res);
      return;
    }
    const path = req.url as string;
    const controller = read.controller(platform);
    front(
      req,
      res,
      process.hrtime.bigint(),
      () => read.route,
      (ctx) =>
        answer(req, res, ctx, read.security, controller, () =>
          read.call(controller, path.slice(read.prefix.length)),
        ),
    );
  };
}
