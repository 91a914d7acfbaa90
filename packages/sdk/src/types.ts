// Public names for the API's schemas. Hand-written aliases over the generated file, so that
// regenerating the schema never changes what users import.
import type { components, operations } from './generated/schema.js';

type Schemas = components['schemas'];

export type ProblemDetails = Schemas['ProblemDetails'];
export type FieldProblem = Schemas['FieldProblem'];

export type User = Schemas['User'];
export type CreateUserRequest = Schemas['CreateUserRequest'];
export type UpdateUserRequest = Schemas['UpdateUserRequest'];

export type Tenant = Schemas['Tenant'];
export type TenantResources = Schemas['TenantResources'];
export type TenantPlan = Schemas['TenantPlan'];
export type TenantStatus = Schemas['TenantStatus'];
export type CreateTenantRequest = Schemas['CreateTenantRequest'];
export type UpdateTenantRequest = Schemas['UpdateTenantRequest'];

export type UsageReport = Schemas['UsageReport'];
export type UsageDay = Schemas['UsageDay'];
export type QuotaStatus = Schemas['QuotaStatus'];
export type QuotaName = Schemas['QuotaName'];

export type ApiKey = Schemas['ApiKey'];
export type ApiKeyScope = Schemas['ApiKeyScope'];
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type CreateApiKeyRequest = Schemas['CreateApiKeyRequest'];

export type AuditEntry = Schemas['AuditEntry'];
export type QueueKind = Schemas['QueueKind'];
export type QueueInfo = Schemas['QueueInfo'];
export type DeadLetter = Schemas['DeadLetter'];
export type DeadLetterList = Schemas['DeadLetterList'];

export type Event = Schemas['Event'];
export type EventInput = Schemas['EventInput'];
export type IngestEventsRequest = Schemas['IngestEventsRequest'];
export type IngestEventsResponse = Schemas['IngestEventsResponse'];

export type Model = Schemas['Model'];
export type ModelList = Schemas['ModelList'];

export type Prediction = Schemas['Prediction'];
export type PredictionStatus = Schemas['PredictionStatus'];
export type PredictionOutput = Schemas['PredictionOutput'];
export type QueuedPrediction = Schemas['QueuedPrediction'];
export type CreatePredictionRequest = Schemas['CreatePredictionRequest'];

/** `?limit=&cursor=` of every list endpoint. */
export interface ListParams {
  /** Page size (the API's default is 50, its maximum 200). */
  limit?: number;
  /** Start after this cursor (a `next_cursor` from an earlier page). */
  cursor?: string;
}

type QueryEventsQuery = NonNullable<operations['queryEvents']['parameters']['query']>;

/** Filters of `GET /v1/events`; `from`/`to` take a `Date` or an ISO 8601 string. */
export interface EventQueryParams extends ListParams {
  /** Inclusive lower bound of `occurred_at` (default: 24 hours ago). */
  from?: QueryEventsQuery['from'] | Date;
  /** Exclusive upper bound of `occurred_at` (default: now). */
  to?: QueryEventsQuery['to'] | Date;
  /** Only events of this type. */
  type?: QueryEventsQuery['type'];
}

/** The days of a usage report: `YYYY-MM-DD` strings or `Date`s (their UTC day). */
export interface UsageParams {
  /** First day (default: 29 days before `to`). */
  from?: string | Date;
  /** Last day, inclusive (default: today, UTC). */
  to?: string | Date;
}

/** Filters of `GET /v1/audit`; `from`/`to` take a `Date` or an ISO 8601 string. */
export interface AuditQueryParams extends ListParams {
  tenantId?: string;
  /** An action (`tenant.provisioned`) or a prefix ending in `*` (`tenant.*`). */
  action?: string;
  /** Entries at or after this instant. */
  from?: string | Date;
  /** Entries before this instant. */
  to?: string | Date;
}

/** `GET /v1/tenants` also filters by slug. */
export interface TenantListParams extends ListParams {
  /** Only tenants whose slug contains this text. */
  slug?: string;
}
