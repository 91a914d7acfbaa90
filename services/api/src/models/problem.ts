/** One invalid field of a request. */
export interface FieldProblem {
  /** Where the problem is, e.g. `body.events[3].occurred_at` or `query.limit`. */
  field: string;
  message: string;
}

/** An RFC 9457 problem details object (`application/problem+json`). */
export interface ProblemDetails {
  /** A URI identifying the problem type: `urn:platform:problem:<code>`. */
  type: string;
  title: string;
  /** @isInt */
  status: number;
  detail?: string;
  /** Stable machine-readable code, e.g. `validation_failed`, `tenant_exists`, `invalid_credentials`. */
  code: string;
  /** The request id, also in the `x-request-id` response header. */
  request_id?: string;
  /** Per-field problems, for `validation_failed`. */
  errors?: FieldProblem[];
  /** For `quota_exceeded`: the quota, e.g. `events_per_day`, `predictions_per_day`, `users`. */
  quota?: string;
  /**
   * For `quota_exceeded`: the plan's limit; for `too_many_queued`: the plan's limit on
   * predictions waiting to run.
   * @isInt
   */
  limit?: number;
  /**
   * For `quota_exceeded`: how much of it is used.
   * @isInt
   */
  used?: number;
  /**
   * For `quota_exceeded`: how much the request asked for.
   * @isInt
   */
  requested?: number;
  /** For `quota_exceeded`: when the quota resets (00:00 UTC); null for a standing quota such as `users`. */
  resets_at?: Date | null;
}
