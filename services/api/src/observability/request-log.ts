import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { requestContext } from '../request-context.js';

/**
 * One JSON line per request, written when the response is finished: method, path, status,
 * duration, request id and tenant. Headers and bodies are never logged, so credentials cannot be.
 */
export function requestLog(log: Logger, skip: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    if (skip.has(req.path)) return next();
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      log.info(
        {
          request_id: (req as { id?: string }).id,
          tenant: requestContext(req)?.tenant?.slug,
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - start) / 1e6,
        },
        'request',
      );
    });
    next();
  };
}
