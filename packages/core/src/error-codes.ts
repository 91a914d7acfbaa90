/**
 * Every `code` a problem+json response of the API can carry, with its HTTP status and what it
 * means: the one registry. `DomainError` and the API's `sendProblem` take only these codes, and
 * the error table of docs/api.md is generated from this object (a test fails when it drifts).
 * To add a code: add an entry here, then run `pnpm docs` (services/api) to refresh the docs.
 */
export const ERROR_CODES = {
  malformed_json: { status: 400, description: 'The body is not valid JSON, or not a JSON object or array' },
  bad_request: { status: 400, description: 'The request could not be read' },
  missing_credentials: { status: 401, description: 'No `Authorization: Bearer <token>` header' },
  invalid_credentials: { status: 401, description: 'The token or API key is wrong, unknown or revoked' },
  insufficient_scope: {
    status: 403,
    description: 'The API key lacks the scope (`read`, `write`) of the operation',
  },
  tenant_not_ready: {
    status: 403,
    description: "The API key's tenant is not `ready` (provisioning or failed)",
  },
  not_found: { status: 404, description: 'No such resource (a tenant being deleted included)' },
  route_not_found: { status: 404, description: 'No such path' },
  method_not_allowed: {
    status: 405,
    description: 'The path does not take this method; `Allow` lists those it takes',
  },
  tenant_exists: { status: 409, description: 'A tenant with this slug exists, or is being deleted' },
  tenant_limit_reached: { status: 409, description: 'The platform holds `MAX_TENANTS` tenants' },
  tenant_not_failed: { status: 409, description: 'Only a `failed` tenant can be retried' },
  tenant_busy: { status: 409, description: 'The tenant is being provisioned; retry shortly' },
  email_taken: { status: 409, description: 'A user of the tenant has this email' },
  kubernetes_not_configured: {
    status: 409,
    description: 'This platform does not manage Kubernetes namespaces',
  },
  dead_letter_not_requeueable: {
    status: 409,
    description: 'The dead letter is not a task message (it was unparseable): it can only be discarded',
  },
  idempotency_in_progress: {
    status: 409,
    description: 'A request with this `Idempotency-Key` is still running',
  },
  idempotency_secret_not_replayable: {
    status: 409,
    description: 'This `Idempotency-Key` already created an API key, which is shown once and never replayed',
  },
  idempotency_response_too_large: {
    status: 409,
    description:
      'This `Idempotency-Key` already completed; its response was larger than `IDEMPOTENCY_MAX_RESPONSE_BYTES`',
  },
  body_too_large: { status: 413, description: 'The body is larger than `BODY_LIMIT`' },
  unsupported_media_type: { status: 415, description: 'The body is not `application/json`' },
  unsupported_encoding: { status: 415, description: 'The body encoding or charset is not supported' },
  validation_failed: {
    status: 422,
    description:
      'Invalid input: `errors` names each invalid or unknown field, query parameter or header (unknown models and inputs that do not fit the model included)',
  },
  idempotency_key_reused: {
    status: 422,
    description: 'This `Idempotency-Key` was used with a different request',
  },
  rate_limited: {
    status: 429,
    description:
      'A rate limit is reached; retry after `Retry-After` (see [rate limits](tenancy.md#rate-limits))',
  },
  quota_exceeded: {
    status: 429,
    description:
      'A plan quota is reached (`quota`, `limit`, `used`, `requested`, `resets_at`); `Retry-After` until the reset',
  },
  too_many_queued: {
    status: 429,
    description:
      "The plan's number of predictions waiting to run is reached (`limit`); retry after `Retry-After`, once some have run",
  },
  internal_error: { status: 500, description: 'An unexpected error; the log has it under the request id' },
  database_unavailable: {
    status: 503,
    description: 'PostgreSQL is unreachable or restarting; retry after `Retry-After`',
  },
  query_timeout: {
    status: 503,
    description: "A query ran past the plan's statement timeout; retry after `Retry-After`",
  },
  ml_gateway_unavailable: {
    status: 503,
    description: 'The model service could not be reached; retry after `Retry-After`',
  },
  kubernetes_unavailable: {
    status: 503,
    description: 'Kubernetes is unreachable; retry after `Retry-After`',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
