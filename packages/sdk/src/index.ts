// @platform/sdk: the hand-written runtime over the generated types (src/generated/schema.ts).
export {
  type ClientOptions,
  PlatformAdminClient,
  type PlatformAdminClientOptions,
  PlatformClient,
  type PlatformClientOptions,
} from './client.js';
export {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  PlatformError,
  parseRetryAfter,
  RateLimitError,
  UnprocessableEntityError,
  WaitTimeoutError,
} from './core/errors.js';
export type { Logger } from './core/logger.js';
export { Page, type PageBody, PageIterator } from './core/pagination.js';
export type { WaitOptions } from './core/polling.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './core/retry.js';
export {
  type APIRequest,
  type APIResponse,
  DEFAULT_TIMEOUT_MS,
  type FetchLike,
  type HttpMethod,
  type QueryValue,
  type RequestOptions,
} from './core/transport.js';
/** The generated OpenAPI types (`paths`, `components`, `operations`), for what the aliases lack. */
export type { components, operations, paths } from './generated/schema.js';
export type { ApiKeys } from './resources/api-keys.js';
export type { Audit } from './resources/audit.js';
export type { Events } from './resources/events.js';
export type { Models } from './resources/models.js';
export { PREDICTION_WAIT_TIMEOUT_MS, type Predictions } from './resources/predictions.js';
export type { Queues } from './resources/queues.js';
export { TENANT_SLUG_PATTERN, TENANT_WAIT_TIMEOUT_MS, type Tenants } from './resources/tenants.js';
export type { Usage } from './resources/usage.js';
export type { Users } from './resources/users.js';
export type * from './types.js';
export { VERSION } from './version.js';
