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
         *     today; at most 400 days), and today against each quota of its plan.
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
        /** @description Lists tenants, oldest first. */
        get: operations["listTenants"];
        put?: never;
        /** @description Creates a tenant. It starts in `provisioning`; poll the Location until `ready` (or `failed`). */
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
        get: operations["getTenant"];
        put?: never;
        post?: never;
        /** @description Deletes a tenant: its keys stop working at once; its schema and data are then dropped. */
        delete: operations["deleteTenant"];
        options?: never;
        head?: never;
        /**
         * @description Changes a tenant's name and/or plan. A new plan's limits apply on every API replica within
         *     seconds; its event retention and namespace quota follow. Audited as `tenant.updated`.
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
         *     today; at most 400 days), and today against each quota of its plan.
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
         * @description Queues a prediction. The model must exist and every input must fit its input schema; poll
         *     `GET /v1/predictions/{id}` until `succeeded` or `failed`.
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
         *     ordered by time.
         */
        get: operations["queryEvents"];
        put?: never;
        /** @description Stores a batch of up to 1,000 events. Every event is validated; the batch is stored whole or not at all. */
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
            predictions: (number | string)[];
            /** @description Class probabilities per instance, for classifiers. */
            probabilities: number[][] | null;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserList"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After"?: string;
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
                /** @description Makes retries safe: a repeated request with the same key gets the first response. */
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
            /** @description Created */
            201: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A user with this email exists */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After"?: string;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such user */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After"?: string;
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
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such user */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After"?: string;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such user */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A user with this email exists */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After"?: string;
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
                /** @description First day, `YYYY-MM-DD` (UTC). */
                from?: string;
                /** @description Last day, `YYYY-MM-DD` (UTC); default today. */
                to?: string;
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
                    "application/json": components["schemas"]["UsageReport"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantList"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
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
                /** @description Makes retries safe: a repeated request with the same key gets the first response. */
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
            /** @description Accepted: provisioning started */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A tenant with this slug exists (`tenant_exists`), or the platform holds MAX_TENANTS tenants (`tenant_limit_reached`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
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
            /** @description Accepted: deletion started */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The tenant is being provisioned */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The tenant is being provisioned or deleted */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Kubernetes is unreachable; nothing was changed */
            503: {
                headers: {
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
                /** @description First day, `YYYY-MM-DD` (UTC). */
                from?: string;
                /** @description Last day, `YYYY-MM-DD` (UTC); default today. */
                to?: string;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageReport"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantResources"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant or namespace */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Kubernetes is not configured */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Kubernetes is unreachable */
            503: {
                headers: {
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
                /** @description Makes retries safe: a repeated request with the same key gets the first response. */
                "Idempotency-Key"?: string;
            };
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Accepted: provisioning restarted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The tenant is not failed */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
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
            /** @description Missing or wrong admin token */
            401: {
                headers: {
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
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
            /** @description Missing or wrong admin token */
            401: {
                headers: {
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
            /** @description Not a task message: it can only be discarded */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
            /** @description Missing or wrong admin token */
            401: {
                headers: {
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
            /** @description Invalid input */
            422: {
                headers: {
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PredictionList"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
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
                /** @description Makes retries safe: a repeated request with the same key gets the first response. */
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
            /** @description Queued */
            202: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueuedPrediction"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The model catalog is unavailable */
            503: {
                headers: {
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Prediction"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such prediction */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelList"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The model catalog is unavailable */
            503: {
                headers: {
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
                from?: string;
                to?: string;
                type?: string;
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventList"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Rate limited (`rate_limited`): a budget of the key or of the tenant is spent, or this address failed to authenticate too often */
            429: {
                headers: {
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After"?: string;
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
                /** @description Makes retries safe: a repeated request with the same key gets the first response. */
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
                    RateLimit?: string;
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IngestEventsResponse"];
                };
            };
            /** @description Missing or wrong API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description The key lacks the scope, or the tenant is not ready */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A query ran past the plan's statement timeout (`query_timeout`); retry after `Retry-After` */
            503: {
                headers: {
                    "Retry-After"?: string;
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
                /** @description Entries at or after this instant (ISO 8601 date or date-time). */
                from?: string;
                /** @description Entries before this instant (ISO 8601 date or date-time). */
                to?: string;
                /** @description Page size, 1-200 (default 50). */
                limit?: number;
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
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
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
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyList"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
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
                /** @description Makes retries safe: a repeated request with the same key gets the first response. */
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
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedApiKey"];
                };
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description A request with this Idempotency-Key is in progress, or already created a key (`idempotency_secret_not_replayable`: the key is shown once and never replayed) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
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
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or wrong admin token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description No such tenant */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description Invalid input */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
            /** @description This address failed to authenticate too often (`rate_limited`) */
            429: {
                headers: {
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDetails"];
                };
            };
        };
    };
}
