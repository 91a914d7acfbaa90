import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { sendProblem } from './errors.js';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const PENDING_SECONDS = 60;
const KEEP_SECONDS = 86_400;

interface Stored {
  state: 'pending' | 'done';
  fingerprint: string;
  status?: number;
  contentType?: string;
  location?: string;
  body?: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * `Idempotency-Key` on POSTs: the first response (other than 5xx) to a key is kept for 24 hours
 * per credential, and a replay with the same request gets it again (`idempotent-replayed: true`).
 * The same key with a different request is refused (422); a replay while the first is still
 * running gets 409.
 */
export function idempotency(redis: Redis): RequestHandler {
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
    try {
      const scope = sha256(req.headers.authorization ?? '');
      const redisKey = `platform:idempotency:${scope}:${sha256(key)}`;
      const fingerprint = sha256(`${req.method} ${req.originalUrl} ${JSON.stringify(req.body ?? null)}`);
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
        if (stored.location) res.setHeader('Location', stored.location);
        if (stored.contentType) res.setHeader('Content-Type', stored.contentType);
        return res.status(stored.status ?? 200).send(stored.body ?? '');
      }
      captureResponse(res, async (status, body) => {
        if (status >= 500) {
          await redis.del(redisKey);
          return;
        }
        const done: Stored = {
          state: 'done',
          fingerprint,
          status,
          body,
          contentType: res.getHeader('content-type') as string | undefined,
          location: res.getHeader('location') as string | undefined,
        };
        await redis.set(redisKey, JSON.stringify(done), 'EX', KEEP_SECONDS);
      });
      next();
    } catch (err) {
      next(err);
    }
  };
}

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
