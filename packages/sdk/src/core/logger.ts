/**
 * A debug logger (e.g. `console`, or a pino/winston logger). The SDK logs each attempt, response
 * status and retry at `debug`; credentials are masked (`authorization: Bearer ***`).
 */
export interface Logger {
  debug(message: string, details?: Record<string, unknown>): void;
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

/** Headers fit to log: credentials replaced by `***` (keeping the scheme: `Bearer ***`). */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase())) {
      masked[name] = value;
      continue;
    }
    const scheme = /^(\w+)\s/.exec(value)?.[1];
    masked[name] = scheme ? `${scheme} ***` : '***';
  }
  return masked;
}
