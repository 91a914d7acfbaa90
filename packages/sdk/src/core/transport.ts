import { VERSION } from '../version.js';
import { linkSignal, sleep } from './abort.js';
import { APIConnectionError, APIError, APITimeoutError, APIUserAbortError, PlatformError } from './errors.js';
import { type Logger, maskHeaders } from './logger.js';
import { DEFAULT_RETRY_POLICY, isRetryableStatus, type RetryPolicy, retryDelay } from './retry.js';
import { randomUUID } from './uuid.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type QueryValue = string | number | boolean | Date | null | undefined;

/** The `fetch` the SDK calls: the global one by default, or any compatible function. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** A request to the API, relative to the client's `baseUrl`. */
export interface APIRequest {
  method: HttpMethod;
  /** E.g. `/v1/users`; path parameters already encoded. */
  path: string;
  /** Query parameters; `undefined`/`null` ones are left out, `Date`s sent as ISO 8601. */
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
}

/** Per-call options, accepted as the last argument of every method. */
export interface RequestOptions {
  /** Aborts the call (including its retries and waits): it rejects with `APIUserAbortError`. */
  signal?: AbortSignal;
  /** Per-attempt timeout, overriding the client's. */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
  /**
   * The `Idempotency-Key` of a POST. By default each POST gets a fresh random one, reused by its
   * retries; pass your own to make a call safe to repeat across processes or restarts.
   */
  idempotencyKey?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** A response with its metadata, from `client.request()`. */
export interface APIResponse<T> {
  data: T;
  status: number;
  headers: Headers;
  /** The response's `x-request-id`. */
  requestId: string | null;
  /** How many retries the call took (0: the first attempt succeeded). */
  retries: number;
}

export interface TransportOptions extends Partial<RetryPolicy> {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  timeoutMs?: number;
  fetch?: FetchLike;
  defaultHeaders?: Record<string, string>;
  logger?: Logger;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** Sends requests: auth, JSON, timeouts, retries with backoff, idempotency keys, typed errors. */
export class Transport {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retryPolicy: Readonly<RetryPolicy>;
  private readonly token: string;
  private readonly fetchImpl: FetchLike;
  private readonly defaultHeaders: Record<string, string>;
  private readonly logger: Logger | undefined;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryPolicy = {
      maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
      initialRetryDelayMs: options.initialRetryDelayMs ?? DEFAULT_RETRY_POLICY.initialRetryDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_RETRY_POLICY.maxRetryDelayMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_RETRY_POLICY.maxRetryAfterMs,
    };
    // Called through a closure: browsers throw "Illegal invocation" for a detached `window.fetch`.
    const given = options.fetch;
    this.fetchImpl = given ?? ((url, init) => globalThis.fetch(url, init));
    if (!given && typeof globalThis.fetch !== 'function') {
      throw new PlatformError('No global fetch: pass `fetch` in the client options');
    }
    this.defaultHeaders = options.defaultHeaders ?? {};
    this.logger = options.logger;
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    const params: string[] = [];
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      const text = value instanceof Date ? value.toISOString() : String(value);
      params.push(`${encodeURIComponent(name)}=${encodeURIComponent(text)}`);
    }
    return `${this.baseUrl}${path}${params.length > 0 ? `?${params.join('&')}` : ''}`;
  }

  /** Sends `request`, retrying as the policy says; resolves with the parsed body and metadata. */
  async request<T>(request: APIRequest, options: RequestOptions = {}): Promise<APIResponse<T>> {
    const url = this.url(request.path, request.query);
    const maxRetries = options.maxRetries ?? this.retryPolicy.maxRetries;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...lowerCaseNames(this.defaultHeaders),
      ...lowerCaseNames(options.headers),
      authorization: `Bearer ${this.token}`,
    };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    // One key per logical POST, the same for each of its retries.
    if (request.method === 'POST') headers['idempotency-key'] = options.idempotencyKey ?? randomUUID();
    const init: RequestInit = {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    };

    for (let retries = 0; ; retries++) {
      if (options.signal?.aborted) throw new APIUserAbortError();
      this.log('request', {
        method: request.method,
        url,
        attempt: retries + 1,
        headers: maskHeaders(headers),
      });
      let response: Response;
      let text: string;
      try {
        ({ response, text } = await this.attempt(url, init, timeoutMs, options.signal));
      } catch (err) {
        if (err instanceof APIUserAbortError || retries >= maxRetries) throw err;
        const delay = retryDelay(retries, this.retryPolicy) ?? 0;
        this.log('retrying', { method: request.method, url, error: (err as Error).message, delayMs: delay });
        await sleep(delay, options.signal);
        continue;
      }
      const requestId = response.headers.get('x-request-id');
      this.log('response', { method: request.method, url, status: response.status, requestId });
      if (response.ok) {
        return {
          data: parseBody(text, response) as T,
          status: response.status,
          headers: response.headers,
          requestId,
          retries,
        };
      }
      const error = APIError.fromResponse(
        response.status,
        parseJson(text) ?? text,
        response.headers,
        response.statusText,
      );
      if (retries >= maxRetries || !isRetryableStatus(error.status, error.code)) throw error;
      const delay = retryDelay(retries, this.retryPolicy, response.headers);
      if (delay === null) throw error; // Retry-After beyond maxRetryAfterMs
      this.log('retrying', {
        method: request.method,
        url,
        status: response.status,
        requestId,
        delayMs: delay,
      });
      await sleep(delay, options.signal);
    }
  }

  async get<T>(path: string, query?: Record<string, QueryValue>, options?: RequestOptions): Promise<T> {
    return (await this.request<T>({ method: 'GET', path, query }, options)).data;
  }

  async post<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return (await this.request<T>({ method: 'POST', path, body }, options)).data;
  }

  async patch<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return (await this.request<T>({ method: 'PATCH', path, body }, options)).data;
  }

  async delete<T>(path: string, options?: RequestOptions): Promise<T> {
    return (await this.request<T>({ method: 'DELETE', path }, options)).data;
  }

  /** One attempt: the response and its whole body, within `timeoutMs`. */
  private async attempt(
    url: string,
    init: RequestInit,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ response: Response; text: string }> {
    const linked = linkSignal(signal, timeoutMs);
    try {
      const response = await this.fetchImpl(url, { ...init, signal: linked.signal });
      const text = await response.text();
      return { response, text };
    } catch (err) {
      if (signal?.aborted) throw new APIUserAbortError(undefined, { cause: err });
      if (linked.timedOut())
        throw new APITimeoutError(`Request timed out after ${timeoutMs} ms`, { cause: err });
      const reason =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new APIConnectionError(`Connection error: ${reason}`, { cause: err });
    } finally {
      linked.dispose();
    }
  }

  private log(message: string, details: Record<string, unknown>): void {
    this.logger?.debug(`platform-sdk ${VERSION}: ${message}`, details);
  }
}

/** Header names in lower case, so that a caller's `Authorization` cannot sit beside ours. */
function lowerCaseNames(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseBody(text: string, response: Response): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PlatformError(
      `Could not parse the ${response.status} response body as JSON: ${text.slice(0, 200)}`,
      { cause: err },
    );
  }
}
