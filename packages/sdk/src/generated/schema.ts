// generated from services/api/openapi/openapi.json by openapi-typescript — do not edit
export interface paths {
    "/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description Lists the tenant's users, oldest first. */
        get: operations["listUsers"];
        put?: never;
        /** @description Creates a user of the tenant. */
        post: operations["createUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{userId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["getUser"];
        put?: never;
        post?: never;
        delete: operations["deleteUser"];
        options?: never;
        head?: never;
        /** @description Changes a user's email and/or name; absent fields stay as they are. A request without a body is refused (422). */
        patch: operations["updateUser"];
        trace?: never;
    };
    "/v1/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * @description The tenant's metered usage per UTC day, `from` to `to` inclusive (default: the 30 days ending
         *     `to`), and today against each quota of its plan. A range of more than 400 days keeps its last
         *     400 (the report's `from` says where it starts); a `from` after `to` is an empty range.
         */
        get: operations["getUsage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description Lists tenants, oldest first. A tenant whose deletion was accepted is no longer listed. */
        get: operations["listTenants"];
        put?: never;
        /** @description Creates a tenant. It starts in `provisioning`; poll `Location` until `ready` (or `failed`). */
        post: operations["createTenant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description A tenant: `provisioning`, `ready` or `failed`. Once its deletion is accepted it is 404. */
        get: operations["getTenant"];
        put?: never;
        post?: never;
        /**
         * @description Deletes a tenant, asynchronously. From the 202 on, the tenant is gone from the API: it is 404
         *     here and under its paths (keys, usage, resources) and no longer listed, and its API keys stop
         *     working at once. Its schema, data and namespace are then dropped in the background; its slug
         *     stays taken (409 `tenant_exists`) until they are. The body is the tenant as of the request,
         *     in `deleting`.
         */
        delete: operations["deleteTenant"];
        options?: never;
        head?: never;
        /**
         * @description Changes a tenant's name and/or plan; absent fields stay as they are (a request without a body
         *     is refused, 422). A new plan's limits apply on every API replica within seconds; its event
         *     retention and namespace quota follow. Audited as `tenant.updated`.
         */
        patch: operations["updateTenant"];
        trace?: never;
    };
    "/v1/tenants/{tenantId}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * @description A tenant's metered usage per UTC day, `from` to `to` inclusive (default: the 30 days ending
         *     `to`), and today against each quota of its plan. A range of more than 400 days keeps its last
         *     400 (the report's `from` says where it starts); a `from` after `to` is an empty range.
         */
        get: operations["getTenantUsage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/resources": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The tenant's Kubernetes namespace: its phase, quota used vs hard, and its pods. */
        get: operations["getTenantResources"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Retries provisioning of a `failed` tenant. */
        post: operations["retryTenantProvisioning"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/queues": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The task queues: messages waiting and dead letters of each. */
        get: operations["listQueues"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/queues/{queue}/dead-letters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description A queue's dead letters, newest first. */
        get: operations["listDeadLetters"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/queues/{queue}/dead-letters/{deadLetterId}/requeue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** @description Puts a dead letter back on its queue with its retries reset; it leaves the dead-letter list. */
        post: operations["requeueDeadLetter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/queues/{queue}/dead-letters/{deadLetterId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** @description Deletes a dead letter for good. */
        delete: operations["discardDeadLetter"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/predictions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description Lists the tenant's predictions, oldest first. */
        get: operations["listPredictions"];
        put?: never;
        /**
         * @description Queues a prediction. The model must be one of `GET /v1/models` and every instance must have
         *     the model's feature count (`input_schema.count`) of finite numbers (422 otherwise, before
         *     anything is queued); poll `Location` (`GET /v1/predictions/{id}`) until `succeeded` or `failed`.
         */
        post: operations["createPrediction"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/predictions/{predictionId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["getPrediction"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The models predictions can use, with their input schemas. */
        get: operations["listModels"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * @description Events with `from <= occurred_at < to` (default: the last 24 hours), optionally of one type,
         *     ordered by time. A range with `from` not before `to` is empty.
         */
        get: operations["queryEvents"];
        put?: never;
        /**
         * @description Stores a batch of up to 1,000 events. Every event is validated; the batch is stored whole or
         *     not at all. `occurred_at` must be within the plan's retention (free 7 days, standard 30,
         *     enterprise 365) and at most 24 hours ahead of the server clock; a batch with an event outside
         *     that window is refused (422, naming each such event).
         */
        post: operations["ingestEvents"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description The platform's audit log, newest first (kept 90 days). */
        get: operations["listAudit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description Lists the tenant's API keys (without their secrets), oldest first. */
        get: operations["listApiKeys"];
        put?: never;
        /** @description Creates an API key for the tenant. The key is in this response only; only its hash is stored. */
        post: operations["createApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenantId}/api-keys/{keyId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** @description Revokes a key; requests with it are refused from then on. */
        delete: operations["revokeApiKey"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description One invalid field of a request. */
        FieldProblem: {
            /** @description Where the problem is, e.g. `body.events[3].occurred_at` or `query.limit`. */
            field: string;
            message: string;
        };
        /** @description An RFC 9457 problem details object (`application/problem+json`). */
        ProblemDetails: {
            /** @description A URI identifying the problem type: `urn:platform:problem:<code>`. */
            type: string;
            title: string;
            /** Format: int32 */
            status: number;
            detail?: string;
            /** @description Stable machine-readable code, e.g. `validation_failed`, `tenant_exists`, `invalid_credentials`. */
            code: string;
            /** @description The request id, also in the `x-request-id` response header. */
            request_id?: string;
            /** @description Per-field problems, for `validation_failed`. */
            errors?: components["schemas"]["FieldProblem"][];
            /** @description For `quota_exceeded`: the quota, e.g. `events_per_day`, `predictions_per_day`, `users`. */
            quota?: string;
            /**
             * Format: int32
             * @description For `quota_exceeded`: the plan's limit; for `too_many_queued`: the plan's limit on
             *     predictions waiting to run.
             */
            limit?: number;
            /**
             * Format: int32
             * @description For `quota_exceeded`: how much of it is used.
             */
            used?: number;
            /**
             * Format: int32
             * @description For `quota_exceeded`: how much the request asked for.
             */
            requested?: number;
            /**
             * Format: date-time
             * @description For `quota_exceeded`: when the quota resets (00:00 UTC); null for a standing quota such as `users`.
             */
            resets_at?: string | null;
        };
        User: {
            /** Format: uuid */
            id: string;
            email: string;
            name: string;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        CreateUserRequest: {
            /** @description Unique within the tenant (case-insensitive). */
            email: string;
            name: string;
        };
        UserList: {
            data: components["schemas"]["User"][];
            next_cursor: string | null;
        };
        UpdateUserRequest: {
            email?: string;
            name?: string;
        };
        /** @enum {string} */
        TenantPlan: "free" | "standard" | "enterprise";
        /** @description One UTC day of a tenant's metered usage. */
        UsageDay: {
            /**
             * Format: date
             * @description The day, UTC.
             * @example 2026-12-01
             */
            day: string;
            /**
             * Format: int32
             * @description Authenticated API requests.
             */
            api_requests: number;
            /**
             * Format: int32
             * @description Events ingested.
             */
            events: number;
            /**
             * Format: int32
             * @description Predictions created.
             */
            predictions: number;
            /**
             * Format: int32
             * @description Input rows (instances) of the predictions created.
             */
            prediction_instances: number;
        };
        /**
         * @description `events_per_day` and `predictions_per_day` reset at 00:00 UTC; `users` is a standing quota.
         * @enum {string}
         */
        QuotaName: "events_per_day" | "predictions_per_day" | "users";
        /** @description A quota of the tenant's plan against what is used of it now. */
        QuotaStatus: {
            quota: components["schemas"]["QuotaName"];
            /** Format: int32 */
            limit: number;
            /** Format: int32 */
            used: number;
            /** Format: int32 */
            remaining: number;
            /**
             * Format: date-time
             * @description When the quota resets; null for `users`.
             */
            resets_at: string | null;
        };
        UsageReport: {
            /** Format: uuid */
            tenant_id: string;
            plan: components["schemas"]["TenantPlan"];
            /** Format: date */
            from: string;
            /** Format: date */
            to: string;
            /** @description One entry per day of `from`..`to`, oldest first; days without usage hold zeros. */
            daily: components["schemas"]["UsageDay"][];
            /** @description Today (UTC) against each quota of the plan. */
            current: {
                quotas: components["schemas"]["QuotaStatus"][];
                /** Format: date */
                day: string;
            };
        };
        /**
         * Format: date
         * @description A UTC day, `YYYY-MM-DD`.
         * @example 2026-12-01
         */
        Day: string;
        /** @enum {string} */
        TenantStatus: "provisioning" | "ready" | "failed" | "deleting" | "deleted";
        Tenant: {
            /** Format: uuid */
            id: string;
            slug: string;
            name: string;
            plan: components["schemas"]["TenantPlan"];
            status: components["schemas"]["TenantStatus"];
            /** @description Kubernetes namespace of the tenant. */
            namespace: string;
            /** @description Why provisioning last failed, when it did. */
            last_error: string | null;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        CreateTenantRequest: {
            /**
             * @description Lowercase letters, digits and hyphens; starts with a letter; 3-40 characters.
             * @example acme-corp
             */
            slug: string;
            /** @description Not only spaces. */
            name: string;
            /** @description Defaults to `standard`. Decides event retention: free 7 days, standard 30, enterprise 365. */
            plan?: components["schemas"]["TenantPlan"];
        };
        TenantList: {
            data: components["schemas"]["Tenant"][];
            next_cursor: string | null;
        };
        /** @description What `PATCH /v1/tenants/{id}` may change; absent fields stay as they are. */
        UpdateTenantRequest: {
            /** @description Not only spaces. */
            name?: string;
            /** @description The new plan: its quotas, rate limits and statement timeout apply at once, its retention and namespace quota follow. */
            plan?: components["schemas"]["TenantPlan"];
        };
        TenantPod: {
            name: string;
            /** @description Pending, Running, Succeeded, Failed or Unknown. */
            phase: string;
            ready: boolean;
        };
        TenantResources: {
            /** @description The tenant's Kubernetes namespace, `tenant-<slug>`. */
            namespace: string;
            /** @description Active or Terminating. */
            phase: string;
            /** @description The namespace's ResourceQuota: what the plan allows and what is in use. */
            quota: {
                used: {
                    [key: string]: string;
                };
                hard: {
                    [key: string]: string;
                };
            };
            pods: components["schemas"]["TenantPod"][];
        };
        /** @enum {string} */
        QueueKind: "ml" | "platform";
        /** @description A task queue of the platform and its dead-letter list. */
        QueueInfo: {
            kind: components["schemas"]["QueueKind"];
            /** @description The queue's name in Redis. */
            name: string;
            /**
             * Format: int32
             * @description Messages waiting, every priority.
             */
            depth: number;
            /**
             * Format: int32
             * @description Messages in its dead-letter list.
             */
            dead_letters: number;
        };
        QueueList: {
            data: components["schemas"]["QueueInfo"][];
        };
        /** @description A task message the worker gave up on. */
        DeadLetter: {
            /** @description Names this message for requeue and discard (a digest of its text). */
            id: string;
            queue: components["schemas"]["QueueKind"];
            /** @description The task name, e.g. `platform.provision_tenant`; null when the message is not a task message. */
            task: string | null;
            task_id: string | null;
            /** Format: uuid */
            tenant_id: string | null;
            /** @description Why: `retries_exhausted`, `unknown_task`, `malformed`, `killed_consumers`, or `unparseable`. */
            reason: string;
            /** @description The last error, when there was one. */
            error: string | null;
            /** @description When it was dead-lettered (ISO 8601). */
            dead_lettered_at: string | null;
            /** Format: int32 */
            retries: number;
            /** @description False for a message that is not a task message: it can only be discarded. */
            requeueable: boolean;
        };
        DeadLetterList: {
            /** @description Newest first. */
            data: components["schemas"]["DeadLetter"][];
            /**
             * Format: int32
             * @description Dead letters in the list, listed or not.
             */
            total: number;
        };
        /** @enum {string} */
        PredictionStatus: "queued" | "running" | "succeeded" | "failed";
        QueuedPrediction: {
            /** Format: uuid */
            id: string;
            status: components["schemas"]["PredictionStatus"];
        };
        CreatePredictionRequest: {
            /**
             * @description A model name from `GET /v1/models`.
             * @example iris
             */
            model: string;
            /**
             * @description Instances to predict, each a list of the model's features in order.
             * @example [
             *       [
             *         5.1,
             *         3.5,
             *         1.4,
             *         0.2
             *       ]
             *     ]
             */
            inputs: number[][];
        };
        PredictionOutput: {
            /** @description One per instance; null where the model's result is not a finite number. */
            predictions: ((number | string) | null)[];
            /** @description Class probabilities per instance, for classifiers; null where one is not a finite number. */
            probabilities: (number | null)[][] | null;
        };
        Prediction: {
            /** Format: uuid */
            id: string;
            model: string;
            model_version: string | null;
            status: components["schemas"]["PredictionStatus"];
            inputs: number[][];
            output: components["schemas"]["PredictionOutput"] | null;
            error: string | null;
            /** Format: int32 */
            attempts: number;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            completed_at: string | null;
        };
        PredictionList: {
            data: components["schemas"]["Prediction"][];
            next_cursor: string | null;
        };
        ModelFeature: {
            name: string;
            type: string;
        };
        ModelInputSchema: {
            features: components["schemas"]["ModelFeature"][];
            /** Format: int32 */
            count: number;
        };
        Model: {
            name: string;
            version: string;
            /** @enum {string} */
            kind: "classifier" | "regressor";
            input_schema: components["schemas"]["ModelInputSchema"];
            output: {
                classes?: unknown[] | null;
                description: string;
            };
        };
        ModelList: {
            data: components["schemas"]["Model"][];
        };
        IngestEventsResponse: {
            /** Format: int32 */
            accepted: number;
        };
        EventInput: {
            /** @example page.viewed */
            type: string;
            /**
             * Format: date-time
             * @description Within the plan's retention, and at most 24 hours ahead of the server clock.
             */
            occurred_at: string;
            /** Format: uuid */
            user_id?: string | null;
            payload?: {
                [key: string]: unknown;
            };
        };
        IngestEventsRequest: {
            /** @description All events are stored, or none. */
            events: components["schemas"]["EventInput"][];
        };
        Event: {
            /** Format: int64 */
            id: number;
            type: string;
            /** Format: date-time */
            occurred_at: string;
            user_id: string | null;
            payload: {
                [key: string]: unknown;
            };
            /** Format: date-time */
            received_at: string;
        };
        EventList: {
            data: components["schemas"]["Event"][];
            next_cursor: string | null;
        };
        /** @description Construct a type with a set of properties K of type T */
        "Record_string.unknown_": {
            [key: string]: unknown;
        };
        /** @description One entry of the platform's audit log. */
        AuditEntry: {
            /** Format: int32 */
            id: number;
            /** Format: date-time */
            occurred_at: string;
            /** @description Who acted: `admin`, `system`, or an API key's principal. */
            actor: string;
            /** @example tenant.provisioned */
            action: string;
            /** Format: uuid */
            tenant_id: string | null;
            /** @description The request that caused it, when one did. */
            request_id: string | null;
            details: components["schemas"]["Record_string.unknown_"];
        };
        AuditList: {
            /** @description Newest first. */
            data: components["schemas"]["AuditEntry"][];
            next_cursor: string | null;
        };
        /** @enum {string} */
        ApiKeyScope: "read" | "write";
        CreatedApiKey: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            tenant_id: string;
            name: string;
            /** @description Public part of the key, shown in lists to recognise it. */
            prefix: string;
            scopes: components["schemas"]["ApiKeyScope"][];
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            last_used_at: string | null;
            /** Format: date-time */
            revoked_at: string | null;
            /** @description The full key. Shown only in this response; store it now. */
            key: string;
        };
        CreateApiKeyRequest: {
            name: string;
            scopes: components["schemas"]["ApiKeyScope"][];
        };
        ApiKey: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            tenant_id: string;
            name: string;
            /** @description Public part of the key, shown in lists to recognise it. */
            prefix: string;
            scopes: components["schemas"]["ApiKeyScope"][];
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            last_used_at: string | null;
            /** Format: date-time */
            revoked_at: string | null;
        };
        ApiKeyList: {
            data: components["schemas"]["ApiKey"][];
            next_cursor: string | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    listUsers: {
        parameters: {
            query?: {
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
                /** @description The `next_cursor` of the previous page. */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    createUser: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`). */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateUserRequest"];
            };
        };
        responses: {
            /** @description Created; `Location` is the user */
            201: {
                headers: {
                    Location: string;
                    "idempotent-replayed"?: string;
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A user with this email exists (`email_taken`), or an Idempotency-Key conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`), or the plan's `users` quota is reached (`quota_exceeded`) */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    getUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such user (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    deleteUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                userId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such user (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    updateUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                userId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateUserRequest"];
            };
        };
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such user (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A user with this email exists (`email_taken`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    getUsage: {
        parameters: {
            query?: {
                /** @description First day (UTC); default 29 days before `to`. */
                from?: components["schemas"]["Day"];
                /** @description Last day (UTC); default today. */
                to?: components["schemas"]["Day"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageReport"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    listTenants: {
        parameters: {
            query?: {
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
                /** @description The `next_cursor` of the previous page. */
                cursor?: string;
                /** @description Only tenants whose slug contains this text. */
                slug?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    createTenant: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`). */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateTenantRequest"];
            };
        };
        responses: {
            /** @description Accepted: provisioning started; `Location` is the tenant */
            202: {
                headers: {
                    "idempotent-replayed"?: string;
                    Location: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A tenant with this slug exists or is being deleted (`tenant_exists`), the platform holds MAX_TENANTS tenants (`tenant_limit_reached`), or an Idempotency-Key conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    getTenant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant, or it is being deleted (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    deleteTenant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Accepted: the tenant is gone from the API; its data is being dropped */
            202: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant, or it is already being deleted (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The tenant is being provisioned right now (`tenant_busy`); retry shortly */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    updateTenant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateTenantRequest"];
            };
        };
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant, or it is being deleted (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The plan cannot change while the tenant is provisioning (`tenant_busy`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Kubernetes is unreachable (`kubernetes_unavailable`) or the database (`database_unavailable`); nothing was changed */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    getTenantUsage: {
        parameters: {
            query?: {
                /** @description First day (UTC); default 29 days before `to`. */
                from?: components["schemas"]["Day"];
                /** @description Last day (UTC); default today. */
                to?: components["schemas"]["Day"];
            };
            header?: never;
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageReport"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant, or it is being deleted (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    getTenantResources: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantResources"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant or namespace (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Kubernetes is not configured (`kubernetes_not_configured`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Kubernetes is unreachable (`kubernetes_unavailable`), or the database (`database_unavailable`) */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    retryTenantProvisioning: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`). */
                "Idempotency-Key"?: string;
            };
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Accepted: provisioning restarted; `Location` is the tenant */
            202: {
                headers: {
                    "idempotent-replayed"?: string;
                    Location: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant, or it is being deleted (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The tenant is not failed (`tenant_not_failed`), or an Idempotency-Key conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    listQueues: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueueList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    listDeadLetters: {
        parameters: {
            query?: {
                /** @description How many, 1-200 (default 50). */
                limit?: number;
            };
            header?: never;
            path: {
                queue: components["schemas"]["QueueKind"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeadLetterList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    requeueDeadLetter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                queue: components["schemas"]["QueueKind"];
                /** @description The dead letter's `id` (from the list). */
                deadLetterId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeadLetter"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such dead letter (already requeued or discarded) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Not a task message: it can only be discarded (`dead_letter_not_requeueable`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    discardDeadLetter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                queue: components["schemas"]["QueueKind"];
                /** @description The dead letter's `id` (from the list). */
                deadLetterId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeadLetter"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such dead letter (already requeued or discarded) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    listPredictions: {
        parameters: {
            query?: {
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
                /** @description The `next_cursor` of the previous page. */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PredictionList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    createPrediction: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`). */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreatePredictionRequest"];
            };
        };
        responses: {
            /** @description Queued; `Location` is the prediction */
            202: {
                headers: {
                    Location: string;
                    "idempotent-replayed"?: string;
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueuedPrediction"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description An Idempotency-Key conflict (`idempotency_in_progress`, `idempotency_response_too_large`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`), the plan's `predictions_per_day` quota is reached (`quota_exceeded`), or the plan's number of predictions waiting to run is reached (`too_many_queued`, retry after `Retry-After`); nothing was queued */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The model service is unavailable (`ml_gateway_unavailable`), or the database (`database_unavailable`, `query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    getPrediction: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                predictionId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Prediction"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such prediction (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    listModels: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The model service is unavailable (`ml_gateway_unavailable`), or the database (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    queryEvents: {
        parameters: {
            query?: {
                /** @description Start of the range, inclusive; default 24 hours before `to`. */
                from?: string;
                /** @description End of the range, exclusive; default now. */
                to?: string;
                /** @description Only events of this type. */
                type?: string;
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
                /** @description The `next_cursor` of the previous page. */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often; retry after `Retry-After` */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    ingestEvents: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes retries safe: a repeat with the same key gets the first response (see `idempotent-replayed`). */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["IngestEventsRequest"];
            };
        };
        responses: {
            /** @description Stored */
            201: {
                headers: {
                    "idempotent-replayed"?: string;
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IngestEventsResponse"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong API key (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope (`insufficient_scope`), or its tenant is not ready (`tenant_not_ready`) */
            403: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description An Idempotency-Key conflict (`idempotency_in_progress`, `idempotency_response_too_large`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`), or the batch does not fit in what is left of the plan's `events_per_day` quota (`quota_exceeded`); nothing was stored */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`), or a query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    listAudit: {
        parameters: {
            query?: {
                /** @description Only this tenant's entries. */
                tenant_id?: string;
                /** @description An action (`tenant.provisioned`) or a prefix ending in `*` (`tenant.*`). */
                action?: string;
                /** @description Entries at or after this instant. A range with `from` not before `to` is empty. */
                from?: string;
                /** @description Entries before this instant. */
                to?: string;
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
                /** @description The `next_cursor` of the previous page. */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    listApiKeys: {
        parameters: {
            query?: {
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
                /** @description The `next_cursor` of the previous page. */
                cursor?: string;
            };
            header?: never;
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ok */
            200: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyList"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant, or it is being deleted (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    createApiKey: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes retries safe: a repeat with the same key is refused (409 `idempotency_secret_not_replayable`) rather than creating a second key. */
                "Idempotency-Key"?: string;
            };
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateApiKeyRequest"];
            };
        };
        responses: {
            /** @description Created; the response carries the key (`Cache-Control: no-store`) */
            201: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedApiKey"];
                };
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant, or it is being deleted (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A request with this Idempotency-Key is in progress (`idempotency_in_progress`), or already created a key (`idempotency_secret_not_replayable`: the key is shown once and never replayed) */
            409: {
                headers: {
                    "idempotent-replayed"?: string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
    revokeApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                tenantId: string;
                keyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked */
            204: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The body is not JSON, or not a JSON object or array (`malformed_json`) */
            400: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Missing or wrong admin token (`missing_credentials`, `invalid_credentials`) */
            401: {
                headers: {
                    "WWW-Authenticate": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant or key (`not_found`) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is larger than `BODY_LIMIT` (`body_too_large`) */
            413: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The body is not `application/json` (`unsupported_media_type`), or its encoding is not supported (`unsupported_encoding`) */
            415: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input (`validation_failed`): a field, a query parameter or a header is invalid or unknown, or a required body is missing; `errors` names each */
            422: {
                headers: {
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`); retry after `Retry-After` */
            429: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A dependency is unavailable (`database_unavailable`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After": string;
                    "x-request-id": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
}
