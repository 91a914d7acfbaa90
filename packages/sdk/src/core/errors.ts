import type { FieldProblem, ProblemDetails } from '../types.js';

/** The base of every error this SDK throws. */
export class PlatformError extends Error {
  override name = 'PlatformError';
}

/**
 * The API answered with an error status (4xx/5xx). `problem` is the RFC 9457 problem details the
 * API sent (or, for a response that was not problem+json, one made up from the status).
 */
export class APIError extends PlatformError {
  override name = 'APIError';
  /** The HTTP status. */
  readonly status: number;
  /** The API's stable machine-readable code, e.g. `validation_failed`, `user_not_found`. */
  readonly code: string;
  /** The problem details of the response. */
  readonly problem: ProblemDetails;
  /** The `x-request-id` of the response (quote it when reporting a problem). */
  readonly requestId: string | null;
  /** The response headers. */
  readonly headers: Headers;

  constructor(status: number, problem: ProblemDetails, headers: Headers) {
    const requestId = headers.get('x-request-id') ?? problem.request_id ?? null;
    const what = problem.detail ?? problem.title;
    super(`${status} ${problem.code}: ${what}${requestId ? ` (request ${requestId})` : ''}`);
    this.status = status;
    this.code = problem.code;
    this.problem = problem;
    this.requestId = requestId;
    this.headers = headers;
  }

  /** Per-field problems (`problem.errors`), for `validation_failed`; empty otherwise. */
  get errors(): FieldProblem[] {
    return this.problem.errors ?? [];
  }

  /** The error of the right class for a response's status. */
  static fromResponse(status: number, body: unknown, headers: Headers, statusText = ''): APIError {
    const problem = toProblem(status, body, statusText);
    const ErrorClass = errorClassFor(status);
    return new ErrorClass(status, problem, headers);
  }
}

/** 400: the request could not be read (e.g. malformed JSON). */
export class BadRequestError extends APIError {
  override name = 'BadRequestError';
}
/** 401: missing or wrong API key / admin token. */
export class AuthenticationError extends APIError {
  override name = 'AuthenticationError';
}
/** 403: the key lacks a scope, or the tenant is not ready. */
export class PermissionDeniedError extends APIError {
  override name = 'PermissionDeniedError';
}
/** 404: no such resource (or route). */
export class NotFoundError extends APIError {
  override name = 'NotFoundError';
}
/** 409: conflicts with the current state (e.g. `tenant_exists`, `email_taken`). */
export class ConflictError extends APIError {
  override name = 'ConflictError';
}
/** 422: invalid input; `errors` lists the fields (e.g. `body.email`, `query.limit`). */
export class UnprocessableEntityError extends APIError {
  override name = 'UnprocessableEntityError';
}
/** 429: too many requests; `retryAfterMs` is the server's `Retry-After`, when it sent one. */
export class RateLimitError extends APIError {
  override name = 'RateLimitError';
  get retryAfterMs(): number | null {
    return parseRetryAfter(this.headers.get('retry-after'));
  }
}
/** 5xx: the server failed (retried before this is thrown). */
export class InternalServerError extends APIError {
  override name = 'InternalServerError';
}

/** No response: the connection failed (DNS, refused, reset, CORS refusal in a browser, …). */
export class APIConnectionError extends PlatformError {
  override name = 'APIConnectionError';
  constructor(message = 'Connection error', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** No response within `timeoutMs` (for every attempt). */
export class APITimeoutError extends PlatformError {
  override name = 'APITimeoutError';
  constructor(message = 'Request timed out', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The caller's `AbortSignal` aborted the request (or the wait). */
export class APIUserAbortError extends PlatformError {
  override name = 'APIUserAbortError';
  constructor(message = 'Request was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * `createAndWait` / `wait` gave up: the resource did not reach a final state within `timeoutMs`.
 * `last` is the resource as last seen. A subclass of `APITimeoutError`.
 */
export class WaitTimeoutError<T = unknown> extends APITimeoutError {
  override name = 'WaitTimeoutError';
  readonly last: T | undefined;
  constructor(message: string, last: T | undefined) {
    super(message);
    this.last = last;
  }
}

function errorClassFor(status: number): typeof APIError {
  switch (status) {
    case 400:
      return BadRequestError;
    case 401:
      return AuthenticationError;
    case 403:
      return PermissionDeniedError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 422:
      return UnprocessableEntityError;
    case 429:
      return RateLimitError;
    default:
      return status >= 500 ? InternalServerError : APIError;
  }
}

function toProblem(status: number, body: unknown, statusText: string): ProblemDetails {
  if (body && typeof body === 'object' && typeof (body as ProblemDetails).code === 'string') {
    const given = body as Partial<ProblemDetails>;
    return {
      ...given,
      type: given.type ?? 'about:blank',
      title: given.title ?? (statusText || 'Error'),
      status: typeof given.status === 'number' ? given.status : status,
      code: given.code as string,
    };
  }
  const detail = typeof body === 'string' && body ? body.slice(0, 500) : undefined;
  return {
    type: 'about:blank',
    title: statusText || `HTTP ${status}`,
    status,
    code: `http_${status}`,
    ...(detail ? { detail } : {}),
  };
}

/**
 * `Retry-After` in milliseconds from now: delta-seconds (`120`, `1.5`) or an HTTP date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`); `null` when absent or unreadable. Never negative.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date names its day and month; `Date.parse` would read '-5' as a year.
  const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}
