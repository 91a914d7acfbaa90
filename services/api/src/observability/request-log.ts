import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { requestContext } from '../request-context.js';

/**
 * Writes the access-log line of a finished request that started at `start`
 * (`process.hrtime.bigint()`): request id, tenant, method, path, status and duration.
 */
export function logRequest(
  log: Logger,
  requestId: string | undefined,
  tenant: string | undefined,
  method: string,
  path: string,
  status: number,
  start: bigint,
): void {
  log.info(
    {
      request_id: requestId,
      tenant,
      method,
      path,
      status,
      ms: Number(process.hrtime.bigint() - start) / 1e6,
    },
    'request',
  );
}

/**
 * One JSON line per request, written when the response is finished: method, path, status,
 * duration, request id and tenant. Headers and bodies are never logged, so credentials cannot be.
 */
export function requestLog(log: Logger, skip: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    if (skip.has(req.path)) return next();
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      logRequest(
        log,
        (req as { id?: string }).id,
        requestContext(req)?.tenant?.slug,
        req.method,
        req.path,
        res.statusCode,
        start,
      );
    });
    next();
  };
}
