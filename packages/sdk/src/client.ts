import { readEnv } from './core/env.js';
import { PlatformError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import {
  type APIRequest,
  type APIResponse,
  type FetchLike,
  type RequestOptions,
  Transport,
} from './core/transport.js';
import { ApiKeys } from './resources/api-keys.js';
import { Audit } from './resources/audit.js';
import { Events } from './resources/events.js';
import { Models } from './resources/models.js';
import { Predictions } from './resources/predictions.js';
import { Queues } from './resources/queues.js';
import { Tenants } from './resources/tenants.js';
import { Usage } from './resources/usage.js';
import { Users } from './resources/users.js';

/** Options shared by both clients. */
export interface ClientOptions {
  /** The API's base URL, e.g. `https://api.example.com`. Default: env `PLATFORM_BASE_URL`. */
  baseUrl?: string;
  /** Per-attempt timeout (the whole response, body included). Default 60,000 ms. */
  timeoutMs?: number;
  /** Retries after a failed attempt (connection error, timeout, 408, 429, 5xx). Default 2. */
  maxRetries?: number;
  /** Backoff before the first retry, doubled for each further one. Default 500 ms. */
  initialRetryDelayMs?: number;
  /** Cap of the backoff. Default 8,000 ms. */
  maxRetryDelayMs?: number;
  /** The longest `Retry-After` honoured; longer ones are not retried. Default 60,000 ms. */
  maxRetryAfterMs?: number;
  /** A `fetch` to use instead of the global one. */
  fetch?: FetchLike;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
  /** Debug logging of requests and retries (credentials masked). */
  logger?: Logger;
}

export interface PlatformClientOptions extends ClientOptions {
  /** A tenant API key (`plk_...`). Default: env `PLATFORM_API_KEY`. */
  apiKey?: string;
}

export interface PlatformAdminClientOptions extends ClientOptions {
  /** The platform admin token. Default: env `PLATFORM_ADMIN_TOKEN`. */
  adminToken?: string;
}

function transportFor(options: ClientOptions, token: string | undefined, what: string): Transport {
  if (!token) throw new PlatformError(`Missing ${what}: pass it in the client options`);
  const baseUrl = options.baseUrl ?? readEnv('PLATFORM_BASE_URL');
  if (baseUrl === undefined) {
    throw new PlatformError('Missing baseUrl: pass it in the client options or set PLATFORM_BASE_URL');
  }
  return new Transport({ ...options, baseUrl, token });
}

/** Base of both clients: the raw `request()`. */
abstract class BaseClient {
  protected readonly transport: Transport;

  protected constructor(transport: Transport) {
    this.transport = transport;
  }

  /** The base URL requests go to. */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /**
   * Sends any request (with the client's auth, retries and errors) and returns the parsed body
   * with the response's status and headers. For endpoints this SDK does not wrap yet, or to read
   * headers such as `idempotent-replayed`.
   */
  request<T = unknown>(request: APIRequest, options?: RequestOptions): Promise<APIResponse<T>> {
    return this.transport.request<T>(request, options);
  }
}

/** The client for a tenant, authenticated with one of its API keys. */
export class PlatformClient extends BaseClient {
  readonly users: Users;
  readonly events: Events;
  readonly models: Models;
  readonly predictions: Predictions;
  readonly usage: Usage;

  constructor(options: PlatformClientOptions = {}) {
    super(transportFor(options, options.apiKey ?? readEnv('PLATFORM_API_KEY'), 'apiKey'));
    this.users = new Users(this.transport);
    this.events = new Events(this.transport);
    this.models = new Models(this.transport);
    this.predictions = new Predictions(this.transport);
    this.usage = new Usage(this.transport);
  }
}

/** The platform operator's client, authenticated with the admin token. */
export class PlatformAdminClient extends BaseClient {
  readonly tenants: Tenants;
  readonly apiKeys: ApiKeys;
  readonly audit: Audit;
  readonly queues: Queues;

  constructor(options: PlatformAdminClientOptions = {}) {
    super(transportFor(options, options.adminToken ?? readEnv('PLATFORM_ADMIN_TOKEN'), 'adminToken'));
    this.tenants = new Tenants(this.transport);
    this.apiKeys = new ApiKeys(this.transport);
    this.audit = new Audit(this.transport);
    this.queues = new Queues(this.transport);
  }
}
