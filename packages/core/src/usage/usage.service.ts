import type { Knex } from 'knex';
import { NotFoundError, QuotaExceededError, ValidationError } from '../errors.js';
import { isUuid } from '../pagination.js';
import { currentTenant, type TenantRef } from '../tenancy/context.js';
import { schemaForSlug } from '../tenancy/naming.js';
import { PLANS } from '../tenancy/plans.js';
import { isGone } from '../tenancy/tenant-status.js';
import { findTenant } from '../tenancy/tenants.repository.js';
import { countUsers } from '../users/users.repository.js';
import {
  type CounterReading,
  USAGE_METRICS,
  type UsageAmounts,
  type UsageCounters,
  type UsageMetric,
} from './usage.counters.js';
import { applyUsageReadings, listUsage } from './usage.repository.js';

const DAY_MS = 86_400_000;
/** The longest `from`..`to` range of a usage report, in days. */
export const MAX_USAGE_RANGE_DAYS = 400;
/** Days a usage report covers when `from` is not given (ending with `to`). */
export const DEFAULT_USAGE_RANGE_DAYS = 30;

export type QuotaName = 'events_per_day' | 'predictions_per_day' | 'users';

/** The UTC day of an instant, `YYYY-MM-DD`. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** When the daily quotas of `at`'s UTC day reset: the next 00:00 UTC. */
export function nextUtcMidnight(at: Date): Date {
  return new Date(Date.parse(`${utcDay(at)}T00:00:00Z`) + DAY_MS);
}

/** Daily quotas and the metric each one limits. */
const DAILY_QUOTAS = {
  events: { quota: 'events_per_day', limit: (t: TenantRef) => PLANS[t.plan].limits.eventsPerDay },
  predictions: {
    quota: 'predictions_per_day',
    limit: (t: TenantRef) => PLANS[t.plan].limits.predictionsPerDay,
  },
} as const satisfies Partial<Record<UsageMetric, { quota: QuotaName; limit: (t: TenantRef) => number }>>;

/** Usage reserved against a quota; `release` gives it back when the write it was for failed. */
export interface Reservation {
  release(): Promise<void>;
}

/** Counts usage and enforces the daily quotas: what the domain services call. */
export interface UsageMeter {
  /**
   * Counts `amounts` for the tenant's current UTC day. When they include a metric with a daily
   * quota (events, predictions), they are counted only if the quota holds them all; otherwise
   * nothing is counted and a `QuotaExceededError` is thrown.
   */
  reserve(tenant: TenantRef, amounts: UsageAmounts, now?: Date): Promise<Reservation>;
}

export interface UsageDay {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  api_requests: number;
  events: number;
  predictions: number;
  prediction_instances: number;
}

export interface QuotaStatus {
  quota: QuotaName;
  limit: number;
  used: number;
  remaining: number;
  /** When it resets; null for a standing quota (users). */
  resets_at: Date | null;
}

export interface UsageReport {
  tenant_id: string;
  plan: TenantRef['plan'];
  from: string;
  to: string;
  /** One entry per day of the range, oldest first; days without usage are zeros. */
  daily: UsageDay[];
  /** Today (UTC) against each quota. */
  current: { day: string; quotas: QuotaStatus[] };
}

export interface FlushResult {
  /** Tenant-days read from Redis. */
  readings: number;
  /** (tenant, day, metric) rows written. */
  rows: number;
  /** Tenant-days dropped from the flush index: flushed and not counted since, or expired. */
  forgotten: number;
}

/** Tenant-days a flush reads and applies at once. */
const FLUSH_CHUNK = 500;

const NOOP: Reservation = { release: async () => undefined };

/**
 * Metered usage: counted in Redis as requests happen (`UsageCounters`), flushed to
 * `platform.usage` by the worker's `platform.usage_flush` (`flush`), reported per tenant
 * (`report`). When Redis is unreachable, counting fails open: the request goes on, uncounted,
 * and `onError` is told (the API logs it).
 */
export class UsageService implements UsageMeter {
  /** Requests counted in this turn of the event loop, by tenant and day (see `countRequest`). */
  private pendingRequests = new Map<string, { tenantId: string; day: string; n: number }>();
  private day = '';
  private dayEnds = 0;

  constructor(
    private readonly db: Knex,
    private readonly counters: UsageCounters,
    private readonly options: { onError?: (err: unknown) => void } = {},
  ) {}

  /**
   * Counts one API request of a tenant. Not awaited (it adds no latency): the requests counted in
   * one turn of the event loop are sent together when it ends, all tenants' in one call.
   */
  countRequest(tenantId: string, now?: Date): void {
    this.addPendingRequests(tenantId, now ? utcDay(now) : this.today(), 1);
  }

  private addPendingRequests(tenantId: string, day: string, n: number): void {
    const key = `${tenantId}:${day}`;
    const pending = this.pendingRequests.get(key);
    if (pending) {
      pending.n += n;
      return;
    }
    if (this.pendingRequests.size === 0) setImmediate(() => this.sendRequestCounts());
    this.pendingRequests.set(key, { tenantId, day, n });
  }

  /** Today's UTC day, computed again only once the clock has left it. */
  private today(): string {
    const t = Date.now();
    if (t >= this.dayEnds || t < this.dayEnds - DAY_MS) {
      const now = new Date(t);
      this.day = utcDay(now);
      this.dayEnds = nextUtcMidnight(now).getTime();
    }
    return this.day;
  }

  private sendRequestCounts(): void {
    const batch = this.pendingRequests;
    this.pendingRequests = new Map();
    if (batch.size === 0) return;
    const amounts = [...batch.values()].map(({ tenantId, day, n }) => ({ tenantId, day, amount: n }));
    this.counters.incrementEach('api_requests', amounts).catch((err) => this.failed(err));
  }

  async reserve(tenant: TenantRef, amounts: UsageAmounts, now = new Date()): Promise<Reservation> {
    const day = utcDay(now);
    const checked = (Object.keys(DAILY_QUOTAS) as Array<keyof typeof DAILY_QUOTAS>).find((m) => amounts[m]);
    const limit = checked ? DAILY_QUOTAS[checked].limit(tenant) : 0;
    // The tenant-day's request counts not sent yet (the request being served is one) go with the
    // reservation, in the same call: one round trip fewer. A reservation refused adds nothing,
    // so they go back to be sent on their own; they are not part of what a release gives back.
    const key = `${tenant.id}:${day}`;
    const requests = this.pendingRequests.get(key)?.n ?? 0;
    if (requests > 0) this.pendingRequests.delete(key);
    const counted =
      requests > 0 ? { ...amounts, api_requests: (amounts.api_requests ?? 0) + requests } : amounts;
    let result: { added: boolean; used: number };
    try {
      result = await this.counters.increment(
        tenant.id,
        day,
        counted,
        checked ? { metric: checked, limit } : undefined,
      );
    } catch (err) {
      this.failed(err);
      return NOOP;
    }
    if (!result.added && checked) {
      if (requests > 0) this.addPendingRequests(tenant.id, day, requests);
      throw new QuotaExceededError(
        DAILY_QUOTAS[checked].quota,
        limit,
        result.used,
        amounts[checked] ?? 0,
        nextUtcMidnight(now),
        now,
      );
    }
    const released: UsageAmounts = {};
    for (const [metric, amount] of Object.entries(amounts)) released[metric as UsageMetric] = -(amount ?? 0);
    return {
      release: async () => {
        await this.counters.increment(tenant.id, day, released).catch((err) => this.failed(err));
      },
    };
  }

  /**
   * Moves the Redis counters into `platform.usage`, idempotently (see `applyUsageReadings`): safe
   * to run on several workers at once and to kill at any point. It reads only the tenant-days
   * counted since their last flush (the index), `FLUSH_CHUNK` at a time, each chunk applied in
   * one statement; a tenant-day is dropped from the index once applied unless it was counted
   * again meanwhile (`forgetUnchanged`). So an idle tenant costs a flush nothing, and a flush
   * holds one chunk at a time however many tenants were counted. Redis expires the hashes.
   */
  async flush(): Promise<FlushResult> {
    const result: FlushResult = { readings: 0, rows: 0, forgotten: 0 };
    for await (const chunk of this.counters.readIndexed(FLUSH_CHUNK)) {
      const readings = chunk.flatMap((c) => (c.reading ? [c.reading] : []));
      result.rows += await applyUsageReadings(this.db, readings);
      result.readings += readings.length;
      result.forgotten += await this.counters.forgetUnchanged(chunk);
    }
    return result;
  }

  /** The usage report of the current request's tenant. */
  reportForCurrentTenant(range: { from?: string; to?: string }, now = new Date()): Promise<UsageReport> {
    return this.report(currentTenant(), range, now);
  }

  /** The usage report of a tenant, by id (admin). */
  async reportForTenant(
    tenantId: string,
    range: { from?: string; to?: string },
    now = new Date(),
  ): Promise<UsageReport> {
    const tenant = isUuid(tenantId) ? await findTenant(this.db, tenantId) : undefined;
    if (!tenant || isGone(tenant.status)) throw new NotFoundError('Tenant');
    return this.report(
      { id: tenant.id, slug: tenant.slug, schema: schemaForSlug(tenant.slug), plan: tenant.plan },
      range,
      now,
      tenant.status === 'ready',
    );
  }

  /**
   * Daily usage in `[from, to]` (days, UTC; default the last 30 days) and today against each
   * quota. Flushed counts come from PostgreSQL; what the flush has not moved yet is added from
   * the live counters, so the report is exact whatever the flush's progress.
   */
  private async report(
    tenant: TenantRef,
    range: { from?: string; to?: string },
    now: Date,
    hasSchema = true,
  ): Promise<UsageReport> {
    const { from, to } = parseRange(range, now);
    const today = utcDay(now);
    const rows = await listUsage(this.db, tenant.id, from, to);
    const daily = new Map<string, UsageDay>();
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS) {
      const day = utcDay(new Date(t));
      daily.set(day, { day, api_requests: 0, events: 0, predictions: 0, prediction_instances: 0 });
    }
    const flushed = new Map<string, { count: number; epoch: string; watermark: number }>();
    for (const row of rows) {
      const entry = daily.get(row.day);
      if (entry) entry[row.metric] = row.count;
      flushed.set(`${row.day}:${row.metric}`, row);
    }
    // Live counters exist for the last few days only (their TTL).
    const liveDays = [...daily.keys()].filter(
      (d) => Date.parse(`${d}T00:00:00Z`) > now.getTime() - 4 * DAY_MS,
    );
    const readings = await Promise.all(liveDays.map((d) => this.liveReading(tenant.id, d)));
    for (const reading of readings) {
      if (!reading) continue;
      const entry = daily.get(reading.day);
      if (!entry) continue;
      for (const metric of USAGE_METRICS) {
        const row = flushed.get(`${reading.day}:${metric}`);
        const value = reading.counts[metric];
        const pending = row && row.epoch === reading.epoch ? Math.max(0, value - row.watermark) : value;
        entry[metric] = (row?.count ?? 0) + pending;
      }
    }

    // Today against the quotas as they are enforced: the live counters.
    const todayUsage = (await this.liveReading(tenant.id, today))?.counts ?? { events: 0, predictions: 0 };
    const limits = PLANS[tenant.plan].limits;
    const resetsAt = nextUtcMidnight(now);
    const users = hasSchema ? await countUsers(this.db, tenant, limits.users) : 0;
    const status = (quota: QuotaName, limit: number, used: number, resets: Date | null): QuotaStatus => ({
      quota,
      limit,
      used,
      remaining: Math.max(0, limit - used),
      resets_at: resets,
    });
    return {
      tenant_id: tenant.id,
      plan: tenant.plan,
      from,
      to,
      daily: [...daily.values()],
      current: {
        day: today,
        quotas: [
          status('events_per_day', limits.eventsPerDay, todayUsage.events, resetsAt),
          status('predictions_per_day', limits.predictionsPerDay, todayUsage.predictions, resetsAt),
          status('users', limits.users, users, null),
        ],
      },
    };
  }

  private async liveReading(tenantId: string, day: string): Promise<CounterReading | undefined> {
    try {
      return await this.counters.read(tenantId, day);
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  private failed(err: unknown): void {
    this.options.onError?.(err);
  }
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

function parseDay(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const t = DAY_RE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(t) || utcDay(new Date(t)) !== value) {
    throw new ValidationError('Invalid date', [{ field, message: 'must be a date, YYYY-MM-DD' }]);
  }
  return value;
}

/**
 * The days of a report: `from` to `to` inclusive. A `from` after `to` is an empty range (no
 * days); a range longer than MAX_USAGE_RANGE_DAYS keeps its last MAX_USAGE_RANGE_DAYS days (the
 * report's `from` says where it starts).
 */
function parseRange(range: { from?: string; to?: string }, now: Date): { from: string; to: string } {
  const to = parseDay(range.to, 'query.to') ?? utcDay(now);
  const toMs = Date.parse(`${to}T00:00:00Z`);
  const earliest = utcDay(new Date(toMs - (MAX_USAGE_RANGE_DAYS - 1) * DAY_MS));
  const from =
    parseDay(range.from, 'query.from') ?? utcDay(new Date(toMs - (DEFAULT_USAGE_RANGE_DAYS - 1) * DAY_MS));
  // Days compare as text (YYYY-MM-DD).
  if (from < earliest) return { from: earliest, to };
  return { from, to };
}
