/**
 * Domain errors. They carry a stable machine-readable `code`; the API maps them to
 * RFC 9457 problem+json responses in its single error middleware.
 */
export interface FieldError {
  /** JSON path of the offending field, e.g. `body.events[3].occurred_at`. */
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  readonly code: string;
  constructor(code: string, message: string) {
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
  if (
    typeof e.message === 'string' &&
    /Connection terminated|connection not open|Client has encountered a connection error/i.test(e.message)
  )
    return true;
  // Node's AggregateError for a host with several addresses.
  return Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner));
}
