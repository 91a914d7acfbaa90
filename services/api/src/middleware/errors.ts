import type { ServerResponse } from 'node:http';
import { DomainError, type ErrorCode, isDatabaseUnavailable, ValidationError } from '@platform/core';
import { ValidateError } from '@tsoa/runtime';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
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

/** The problem+json text of a response (and `WWW-Authenticate` on a 401). */
function problemText(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  detail: string,
  errors?: FieldProblem[],
  extensions?: Record<string, unknown>,
): string {
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
  return JSON.stringify(body);
}

/** Sends a problem+json response through Express (`res.send`, which a middleware may capture). */
export function sendProblem(
  res: Response,
  status: number,
  code: ErrorCode,
  detail: string,
  errors?: FieldProblem[],
  extensions?: Record<string, unknown>,
): void {
  const text = problemText(res, status, code, detail, errors, extensions);
  res.status(status).type('application/problem+json').send(text);
}

/** Ends a plain node response with a problem+json body, with the headers `sendProblem` gives. */
export function endWithProblem(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  detail: string,
  errors?: FieldProblem[],
  extensions?: Record<string, unknown>,
): void {
  const text = problemText(res, status, code, detail, errors, extensions);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

type SendProblem = typeof endWithProblem;

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
  respondToError(err, res, platformOf(req).log, (_res, status, code, detail, errors, extensions) =>
    sendProblem(res, status, code, detail, errors, extensions),
  );
};

/**
 * The problem response of any error but tsoa's `ValidateError` (which needs the Express request):
 * status, code, `Retry-After`, and a log line for what is the platform's fault.
 */
export function respondToError(
  err: unknown,
  res: ServerResponse,
  log: Logger,
  send: SendProblem = endWithProblem,
): void {
  const [status, code, detail, errors, extensions] = problemOf(err, res, log);
  send(res, status, code, detail, errors, extensions);
}

type Problem = [
  status: number,
  code: ErrorCode,
  detail: string,
  errors?: FieldProblem[],
  extensions?: Record<string, unknown>,
];

function problemOf(err: unknown, res: ServerResponse, log: Logger): Problem {
  if (err instanceof ValidationError) return [422, err.code, err.message, err.errors];
  if (err instanceof DomainError) {
    if (err.status >= 500) {
      // The tenant gets the short message; the cause stays in the log, with the request id.
      log.warn(
        { err, cause: err.cause, request_id: res.getHeader('x-request-id') },
        'dependency unavailable',
      );
    }
    const retryAfter = err.retryAfterSeconds ?? (err.status === 503 ? 2 : undefined);
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    return [err.status, err.code, err.message, undefined, err.extensions];
  }
  if (isDatabaseUnavailable(err)) {
    log.warn({ err, request_id: res.getHeader('x-request-id') }, 'database unavailable');
    res.setHeader('Retry-After', '2');
    return [503, 'database_unavailable', 'The database is unavailable; try again shortly'];
  }
  const httpErr = err as HttpError;
  switch (httpErr?.type) {
    case 'entity.parse.failed':
      return [400, 'malformed_json', 'The request body is not valid JSON'];
    case 'entity.too.large':
      return [413, 'body_too_large', 'The request body is too large'];
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return [415, 'unsupported_encoding', 'The request body encoding is not supported'];
  }
  const status = httpErr?.status ?? httpErr?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && httpErr.expose !== false) {
    return [status, 'bad_request', (err as Error).message];
  }
  log.error({ err, request_id: res.getHeader('x-request-id') }, 'unhandled error');
  return [500, 'internal_error', 'An unexpected error occurred'];
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, 404, 'route_not_found', `No route ${req.method} ${req.path}`);
};
