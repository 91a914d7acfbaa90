/**
 * Domain errors. They carry a stable machine-readable `code`; the API maps them to
 * RFC 9457 problem+json responses in its single error middleware.
 */
import type { ErrorCode } from './error-codes.js';

export interface FieldError {
  /** JSON path of the offending field, e.g. `body.events[3].occurred_at`. */
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  readonly code: ErrorCode;
  /** Seconds after which a retry may succeed (the API sends it as `Retry-After`). */
  retryAfterSeconds?: number;
  /** Extension members of the problem details (RFC 9457 section 3.2). */
  extensions?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  constructor(what: string) {
    super('not_found', `${what} was not found`);
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
}

export class ValidationError extends DomainError {
  readonly status = 422;
  readonly errors: FieldError[];
  constructor(message: string, errors: FieldError[] = []) {
    super('validation_failed', message);
    this.errors = errors;
  }
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
}

/** PostgreSQL error codes the data layer translates. */
export const PG_UNIQUE_VIOLATION = '23505';
/** `query_canceled`: raised when `statement_timeout` fires. */
export const PG_QUERY_CANCELED = '57014';

export function isPgError(err: unknown, code: string): err is { code: string; constraint?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08006',
]);

/**
 * Whether an error means PostgreSQL cannot be reached (down, restarting, connections cut), as
 * opposed to a failing statement: the API answers 503 and the worker retries.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; errors?: unknown[] };
  if (typeof e.code === 'string' && CONNECTION_ERROR_CODES.has(e.code)) return true;
  if (e.name === 'KnexTimeoutError') return true;
  // pg-pool's: no connection of the pool came free within its connectionTimeoutMillis (overload).
  if (
    typeof e.message === 'string' &&
    /Connection terminated|connection not open|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
      e.message,
    )
  )
    return true;
  // Node's AggregateError for a host with several addresses.
  return Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner));
}

/**
 * A plan quota would be exceeded: 429 `quota_exceeded`, naming the quota, its limit, what is used
 * and when it resets (`null` for a standing quota such as users per tenant).
 */
export class QuotaExceededError extends DomainError {
  readonly status = 429;
  constructor(
    readonly quota: string,
    readonly limit: number,
    readonly used: number,
    readonly requested: number,
    readonly resetsAt: Date | null,
    now = new Date(),
  ) {
    super(
      'quota_exceeded',
      resetsAt
        ? `The ${quota} quota of ${limit} is reached (${used} used, ${requested} requested); it resets at ${resetsAt.toISOString()}`
        : `The ${quota} quota of ${limit} is reached (${used} used, ${requested} requested)`,
    );
    this.extensions = {
      quota,
      limit,
      used,
      requested,
      resets_at: resetsAt ? resetsAt.toISOString() : null,
    };
    if (resetsAt)
      this.retryAfterSeconds = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
  }
}

/** A tenant's statement ran past its plan's `statement_timeout`: 503 `query_timeout`, retry later. */
export class QueryTimeoutError extends ServiceUnavailableError {
  constructor(timeoutMs: number) {
    super(
      'query_timeout',
      `The query ran longer than this plan's limit of ${timeoutMs} ms and was cancelled`,
    );
    this.retryAfterSeconds = 1;
  }
}

/**
 * The tenant already has its plan's number of predictions waiting for the ML queue: 429
 * `too_many_queued`, nothing written; retry once some have run.
 */
export class TooManyQueuedError extends DomainError {
  readonly status = 429;
  constructor(
    readonly limit: number,
    retryAfterSeconds = 2,
  ) {
    super(
      'too_many_queued',
      `${limit} predictions of this tenant are already waiting to run (its plan's limit); retry once some have run`,
    );
    this.extensions = { limit };
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
