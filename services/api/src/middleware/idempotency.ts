import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { platformOf, requestContext } from '../request-context.js';
import { sendProblem } from './errors.js';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const PENDING_SECONDS = 60;
const KEEP_SECONDS = 86_400;

/** Why a finished response was kept without its body: a replay answers 409 with this code. */
type NotReplayable = 'idempotency_secret_not_replayable' | 'idempotency_response_too_large';

interface Stored {
  state: 'pending' | 'done';
  fingerprint: string;
  status?: number;
  contentType?: string;
  location?: string;
  body?: string;
  notReplayable?: NotReplayable;
}

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const BODY_DIGEST = Symbol('idempotency body digest');
type WithDigest = IncomingMessage & { [BODY_DIGEST]?: string };

/**
 * The body parser's `verify` hook: keeps a SHA-256 of the raw body of requests that carry an
 * Idempotency-Key. The fingerprint is taken over the bytes, never by re-serialising the parsed
 * body, so a body of any depth the parser accepted is fingerprinted without recursion.
 */
export function keepBodyDigest(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (req.headers['idempotency-key'] !== undefined) (req as WithDigest)[BODY_DIGEST] = sha256(buf);
}

/**
 * `Idempotency-Key` on POSTs. A tsoa middleware: it runs after authentication, so a request is
 * authenticated (401/403 first) before its key is looked at, and keys are scoped by the
 * authenticated principal (`admin` or `key:<api key id>`), never by the credential's text.
 *
 * The first finished response other than a 5xx is kept for 24 hours; a replay with the same
 * request gets it again (`idempotent-replayed: true`). The same key with a different request is
 * refused (422 `idempotency_key_reused`); a replay while the first is running gets 409
 * `idempotency_in_progress`. Bodies are kept up to `IDEMPOTENCY_MAX_RESPONSE_BYTES`; a larger one,
 * or (with `secret`) a successful response that carries a secret, is remembered without its body
 * and a replay answers 409 (`idempotency_response_too_large`, `idempotency_secret_not_replayable`):
 * the request is not run twice and the secret never reaches Redis.
 */
function idempotency(options: { secret: boolean }): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || key === undefined) return next();
    if (typeof key !== 'string' || !KEY_RE.test(key)) {
      return sendProblem(
        res,
        422,
        'validation_failed',
        'Idempotency-Key must be 1-255 printable ASCII characters',
        [{ field: 'header.idempotency-key', message: 'must be 1-255 printable ASCII characters' }],
      );
    }
    const principal = requestContext(req)?.actor;
    if (!principal)
      return next(new Error('idempotency middleware reached without an authenticated principal'));
    const platform = platformOf(req);
    const { redis } = platform;
    const maxBytes = platform.config.idempotencyMaxResponseBytes;
    try {
      const redisKey = `platform:idempotency:${principal}:${sha256(key)}`;
      const bodyDigest = (req as WithDigest)[BODY_DIGEST] ?? '';
      const fingerprint = sha256(`${req.method} ${req.originalUrl} ${bodyDigest}`);
      const pending: Stored = { state: 'pending', fingerprint };
      const claimed = await redis.set(redisKey, JSON.stringify(pending), 'EX', PENDING_SECONDS, 'NX');
      if (claimed !== 'OK') {
        const stored = JSON.parse((await redis.get(redisKey)) ?? 'null') as Stored | null;
        if (!stored) return sendProblem(res, 409, 'idempotency_in_progress', 'Retry this request');
        if (stored.fingerprint !== fingerprint) {
          return sendProblem(
            res,
            422,
            'idempotency_key_reused',
            'This Idempotency-Key was used with a different request',
          );
        }
        if (stored.state === 'pending') {
          return sendProblem(
            res,
            409,
            'idempotency_in_progress',
            'A request with this Idempotency-Key is in progress',
          );
        }
        res.setHeader('idempotent-replayed', 'true');
        if (stored.notReplayable === 'idempotency_secret_not_replayable') {
          return sendProblem(
            res,
            409,
            stored.notReplayable,
            `This Idempotency-Key already succeeded (${stored.status}); its response held a secret, which is not kept. List the resources to find what it created`,
          );
        }
        if (stored.notReplayable === 'idempotency_response_too_large') {
          return sendProblem(
            res,
            409,
            stored.notReplayable,
            `This Idempotency-Key already completed (${stored.status}); its response was too large to keep`,
          );
        }
        if (stored.location) res.setHeader('Location', stored.location);
        if (stored.contentType) res.setHeader('Content-Type', stored.contentType);
        return res.status(stored.status ?? 200).send(stored.body ?? '');
      }
      captureResponse(res, async (status, body) => {
        // A 5xx or a 429 (a limit, a quota, a full queue) ran nothing: a retry with the key runs.
        if (status >= 500 || status === 429) {
          await redis.del(redisKey);
          return;
        }
        const done: Stored = { state: 'done', fingerprint, status };
        if (options.secret && status < 300) done.notReplayable = 'idempotency_secret_not_replayable';
        else if (Buffer.byteLength(body) > maxBytes) done.notReplayable = 'idempotency_response_too_large';
        else {
          done.body = body;
          done.contentType = res.getHeader('content-type') as string | undefined;
          done.location = res.getHeader('location') as string | undefined;
        }
        await redis.set(redisKey, JSON.stringify(done), 'EX', KEEP_SECONDS);
      });
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** For POSTs whose response can be replayed. */
export const idempotent: RequestHandler = idempotency({ secret: false });
/** For POSTs whose successful response carries a secret (a created API key): never kept. */
export const idempotentWithSecret: RequestHandler = idempotency({ secret: true });

/** Calls `onDone` with the status and body once the response is sent. */
function captureResponse(res: Response, onDone: (status: number, body: string) => Promise<void>): void {
  const send = res.send.bind(res);
  let body = '';
  res.send = (data?: unknown) => {
    if (typeof data === 'string') body = data;
    else if (Buffer.isBuffer(data)) body = data.toString('utf8');
    else if (data !== undefined) body = JSON.stringify(data);
    return send(data);
  };
  res.on('finish', () => {
    onDone(res.statusCode, body).catch(() => undefined);
  });
}
