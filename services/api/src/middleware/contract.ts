import type { ServerResponse } from 'node:http';
import { DomainError, ValidationError } from '@platform/core';
import type { Request, RequestHandler } from 'express';
import { operationRules, pathEntryFor } from '../operations.js';
import { sendProblem } from './errors.js';

export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  constructor(message: string) {
    super('unsupported_media_type', message);
  }
}

/**
 * Two headers on every response, set by hand rather than with helmet, whose other defaults (a
 * Content-Security-Policy, cross-origin policies) are for HTML pages: `X-Content-Type-Options:
 * nosniff`, and `Cache-Control: no-store` on the API's responses, which are authenticated and may
 * carry a secret (a created API key). The spec and the reference page may be cached.
 */
export const securityHeaders: RequestHandler = (req, res, next) => {
  const cacheable = req.path === '/openapi.json' || req.path === '/docs' || req.path.startsWith('/docs/');
  setSecurityHeaders(res, cacheable);
  next();
};

/** The two headers of `securityHeaders`. */
export function setSecurityHeaders(res: ServerResponse, cacheable = false): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', cacheable ? 'no-cache' : 'no-store');
}

/**
 * After the routes: a method the spec does not declare on one of its paths is 405 with `Allow`
 * (TRACE, PUT, ...); OPTIONS answers 204 with `Allow` (CORS preflights of allowed origins are
 * answered before, by the CORS middleware).
 */
export const methodNotAllowed: RequestHandler = (req, res, next) => {
  const entry = pathEntryFor(req.path);
  if (!entry) return next();
  res.setHeader('Allow', entry.allow);
  if (req.method === 'OPTIONS') {
    res.status(204).end();
    return;
  }
  sendProblem(
    res,
    405,
    'method_not_allowed',
    `${req.method} is not allowed on ${req.path}; allowed: ${entry.allow}`,
  );
};

const hasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/**
 * The request checks that follow the spec but that tsoa does not make, run once the request is
 * authenticated (so an unauthenticated request gets 401 first): a query parameter the operation
 * does not declare is refused like an unknown body field (422 `validation_failed`), and an
 * operation that requires a body refuses a request without one (422) or with a body that is not
 * JSON (415 `unsupported_media_type`).
 */
export function enforceOperationRules(req: Request): void {
  const routePath = (req.route as { path?: string } | undefined)?.path;
  const rules = routePath ? operationRules(routePath, req.method) : undefined;
  if (!rules) return;
  const unknown = Object.keys(req.query ?? {}).filter((name) => !rules.query.has(name));
  if (unknown.length > 0) {
    throw new ValidationError(
      'The request has unknown query parameters',
      unknown.map((name) => ({ field: `query.${name}`, message: 'is not a parameter of this operation' })),
    );
  }
  if (rules.bodyRequired && !(req as { _body?: boolean })._body) {
    if (hasBody(req)) throw new UnsupportedMediaTypeError('The request body must be application/json');
    throw new ValidationError('The request body is required', [
      { field: 'body', message: 'is required (a JSON object)' },
    ]);
  }
}
