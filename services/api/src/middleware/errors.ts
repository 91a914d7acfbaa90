import { DomainError, type ErrorCode, isDatabaseUnavailable, ValidationError } from '@platform/core';
import { ValidateError } from '@tsoa/runtime';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { FieldProblem, ProblemDetails } from '../models/problem.js';
import { platformOf } from '../request-context.js';
import { ruleProblems } from './rule-problems.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendProblem(
  res: Response,
  status: number,
  code: ErrorCode,
  detail: string,
  errors?: FieldProblem[],
  extensions?: Record<string, unknown>,
): void {
  const body: ProblemDetails = {
    ...extensions,
    type: `urn:platform:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    request_id: res.getHeader('x-request-id') as string | undefined,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(status).type('application/problem+json').send(JSON.stringify(body));
}

/**
 * tsoa names fields `body.x`, `events.$3.occurred_at` or `limit`; clients see where the field is:
 * `body.events[3].occurred_at`, `query.limit`, `path.userId`.
 */
function tsoaFieldProblems(err: ValidateError, req: Request): FieldProblem[] {
  return Object.entries(err.fields).map(([field, info]) => {
    const name = field
      .replace(/^requestBody\.?/, 'body.')
      .replace(/\.\$(\d+)/g, '[$1]')
      .replace(/\.$/, '');
    const head = name.split(/[.[]/)[0] ?? '';
    let located = `body.${name}`;
    if (head === 'body') located = name;
    else if (Object.hasOwn(req.params ?? {}, head)) located = `path.${name}`;
    else if (Object.hasOwn(req.query ?? {}, head)) located = `query.${name}`;
    return { field: located, message: info.message };
  });
}

interface HttpError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/** The API's one error handler: every error leaves as RFC 9457 problem+json. */
export const problemHandler: ErrorRequestHandler = (err: unknown, req, res, next) => {
  if (res.headersSent) return next(err);
  if (err instanceof ValidateError) {
    const problems = tsoaFieldProblems(err, req);
    const named = new Set(problems.map((p) => p.field));
    const more = ruleProblems(res).filter((p) => !named.has(p.field));
    return sendProblem(res, 422, 'validation_failed', 'The request is invalid', [...problems, ...more]);
  }
  if (err instanceof ValidationError) {
    return sendProblem(res, 422, err.code, err.message, err.errors);
  }
  if (err instanceof DomainError) {
    if (err.status >= 500) {
      // The tenant gets the short message; the cause stays in the log, with the request id.
      platformOf(req).log.warn(
        { err, cause: err.cause, request_id: res.getHeader('x-request-id') },
        'dependency unavailable',
      );
    }
    const retryAfter = err.retryAfterSeconds ?? (err.status === 503 ? 2 : undefined);
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    return sendProblem(res, err.status, err.code, err.message, undefined, err.extensions);
  }
  if (isDatabaseUnavailable(err)) {
    platformOf(req).log.warn({ err, request_id: res.getHeader('x-request-id') }, 'database unavailable');
    res.setHeader('Retry-After', '2');
    return sendProblem(res, 503, 'database_unavailable', 'The database is unavailable; try again shortly');
  }
  const httpErr = err as HttpError;
  switch (httpErr?.type) {
    case 'entity.parse.failed':
      return sendProblem(res, 400, 'malformed_json', 'The request body is not valid JSON');
    case 'entity.too.large':
      return sendProblem(res, 413, 'body_too_large', 'The request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return sendProblem(res, 415, 'unsupported_encoding', 'The request body encoding is not supported');
  }
  const status = httpErr?.status ?? httpErr?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && httpErr.expose !== false) {
    return sendProblem(res, status, 'bad_request', (err as Error).message);
  }
  platformOf(req).log.error({ err, request_id: res.getHeader('x-request-id') }, 'unhandled error');
  return sendProblem(res, 500, 'internal_error', 'An unexpected error occurred');
};

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, 404, 'route_not_found', `No route ${req.method} ${req.path}`);
};
