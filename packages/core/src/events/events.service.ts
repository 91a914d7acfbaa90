import type { Knex } from 'knex';
import type { TenantStatements } from '../db/prepared.js';
import { type FieldError, ValidationError } from '../errors.js';
import { isUuid, type Page, pageSize } from '../pagination.js';
import { currentTenant } from '../tenancy/context.js';
import { PLANS, type Plan } from '../tenancy/plans.js';
import { inTenantTransaction } from '../tenancy/tenant-db.js';
import type { UsageMeter } from '../usage/usage.service.js';
import {
  copyEvents,
  type EventRecord,
  insertEvents,
  type NewEvent,
  queryEvents,
} from './events.repository.js';

export const MAX_EVENTS_PER_BATCH = 1000;
const DAY_MS = 86_400_000;
/** How far ahead of the server clock an event may be stamped (clock skew). */
const MAX_FUTURE_MS = DAY_MS;

/** How deeply an event payload may nest objects and arrays (the payload itself is level 1). */
export const MAX_PAYLOAD_DEPTH = 32;
/**
 * Why a payload cannot be stored, if it cannot: nested too deep (which would also overflow the
 * stack of `JSON.stringify` and of PostgreSQL's JSON parser). Walks the payload without recursion,
 * so any depth the body parser accepted is safe to check.
 */
function payloadProblem(payload: unknown): string | undefined {
  const stack: Array<[unknown, number]> = [[payload, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_PAYLOAD_DEPTH) {
      return `must not nest objects and arrays more than ${MAX_PAYLOAD_DEPTH} levels deep`;
    }
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
      continue;
    }
    for (const item of Object.values(value)) stack.push([item, depth + 1]);
  }
  return undefined;
}

export interface EventInput {
  type: string;
  occurred_at: Date;
  user_id?: string | null;
  payload?: Record<string, unknown>;
}

/**
 * The problems of a batch's events under the rules that depend on the tenant's plan and the
 * clock (`occurred_at` within the plan's retention and at most 24 hours ahead), and on the
 * payload's depth: every problem of every event, named `body.events[i].<field>`. Takes parsed
 * events or the raw JSON body's (an `occurred_at` string, anything else left to the schema), so
 * the API can report these next to the problems its schema validation finds in the same batch.
 */
export function eventRuleProblems(events: readonly unknown[], plan: Plan, now: Date): FieldError[] {
  const retentionDays = PLANS[plan].eventRetentionDays;
  const oldest = now.getTime() - retentionDays * DAY_MS;
  const newest = now.getTime() + MAX_FUTURE_MS;
  const errors: FieldError[] = [];
  events.forEach((event, i) => {
    if (event === null || typeof event !== 'object' || Array.isArray(event)) return;
    const e = event as Record<string, unknown>;
    const at = e.occurred_at;
    const t = at instanceof Date ? at.getTime() : typeof at === 'string' ? Date.parse(at) : Number.NaN;
    if (Number.isNaN(t) || t < oldest || t > newest) {
      errors.push({
        field: `body.events[${i}].occurred_at`,
        message: `must be a date-time within the plan's retention (${retentionDays} days) and at most 24 hours ahead`,
      });
    }
    if (e.user_id != null && (typeof e.user_id !== 'string' || !isUuid(e.user_id))) {
      errors.push({ field: `body.events[${i}].user_id`, message: 'must be a UUID' });
    }
    const payload = e.payload === undefined ? undefined : payloadProblem(e.payload);
    if (payload) errors.push({ field: `body.events[${i}].payload`, message: payload });
  });
  return errors;
}

/**
 * Events of the current tenant. Every query runs under the plan's statement timeout: in a
 * transaction, or, for the batch insert when `statements` is given, as one `COPY` on a connection
 * of the plan's pool. Ingestion is metered and held to the plan's `events_per_day` quota.
 */
export class EventsService {
  constructor(
    private readonly db: Knex,
    private readonly usage?: UsageMeter,
    private readonly statements?: TenantStatements,
  ) {}

  /**
   * Validates every event, reserves the batch against the daily quota, then inserts the batch in
   * one statement. One invalid event rejects the batch with a per-field error for each problem; a
   * batch that does not fit in what is left of the quota is rejected whole (429
   * `quota_exceeded`). Either way nothing is written or counted.
   */
  async ingest(events: EventInput[], now = new Date()): Promise<{ accepted: number }> {
    const tenant = currentTenant();
    if (events.length === 0 || events.length > MAX_EVENTS_PER_BATCH) {
      throw new ValidationError('Invalid batch size', [
        { field: 'body.events', message: `must hold between 1 and ${MAX_EVENTS_PER_BATCH} events` },
      ]);
    }
    const errors = eventRuleProblems(events, tenant.plan, now);
    if (errors.length > 0) throw new ValidationError('Some events are invalid; none were stored', errors);
    const rows: NewEvent[] = events;
    const reservation = await this.usage?.reserve(tenant, { events: rows.length }, now);
    try {
      const { statements } = this;
      const accepted = statements
        ? await statements.withConnection(tenant, (connection) => copyEvents(connection, tenant, rows))
        : await inTenantTransaction(this.db, tenant, (trx) => insertEvents(trx, tenant, rows));
      return { accepted };
    } catch (err) {
      await reservation?.release();
      throw err;
    }
  }

  /** Events in `[from, to)`; defaults to the last 24 hours; an empty range is an empty page. */
  query(q: {
    from?: Date;
    to?: Date;
    type?: string;
    limit?: number;
    cursor?: string;
  }): Promise<Page<EventRecord>> {
    const to = q.to ?? new Date();
    const from = q.from ?? new Date(to.getTime() - DAY_MS);
    // An empty range (`from` not before `to`) holds no events.
    if (from.getTime() >= to.getTime()) return Promise.resolve({ data: [], next_cursor: null });
    const tenant = currentTenant();
    return inTenantTransaction(this.db, tenant, (trx) =>
      queryEvents(trx, tenant, { from, to, type: q.type, limit: pageSize(q.limit), cursor: q.cursor }),
    );
  }
}
