import type { Knex } from 'knex';
import { type CounterReading, USAGE_METRICS, type UsageMetric } from './usage.counters.js';

const usage = (db: Knex) => db.withSchema('platform').table('usage');

export interface UsageRow {
  /** `YYYY-MM-DD`. */
  day: string;
  metric: UsageMetric;
  count: number;
  epoch: string;
  watermark: number;
}

/**
 * Applies Redis counter readings to `platform.usage` in one statement (one transaction): per
 * tenant, day and metric, what the counter grew by since the last applied reading of the same
 * epoch (`value - watermark`, never negative) is added, and the watermark moves up. A reading
 * applied twice, or after a newer one, adds nothing; a reading of a new epoch (Redis lost the
 * counters and started again from 0) adds its whole value. So the flush is idempotent: killed
 * before the commit nothing was applied, killed after it the next flush adds nothing again.
 */
export async function applyUsageReadings(db: Knex, readings: CounterReading[]): Promise<number> {
  const rows = readings.flatMap((r) =>
    USAGE_METRICS.filter((m) => r.counts[m] > 0).map((metric) => ({
      day: r.day,
      tenant_id: r.tenantId,
      metric,
      count: r.counts[metric],
      epoch: r.epoch,
      watermark: r.counts[metric],
    })),
  );
  if (rows.length === 0) return 0;
  const sameEpoch = '"usage".epoch = excluded.epoch';
  await usage(db)
    .insert(rows)
    .onConflict(['day', 'tenant_id', 'metric'])
    .merge({
      count: db.raw(
        `"usage".count + case when ${sameEpoch} then greatest(excluded.watermark - "usage".watermark, 0) else excluded.watermark end`,
      ),
      watermark: db.raw(
        `case when ${sameEpoch} then greatest("usage".watermark, excluded.watermark) else excluded.watermark end`,
      ),
      epoch: db.raw('excluded.epoch'),
      updated_at: db.fn.now(),
    });
  return rows.length;
}

/** A tenant's flushed usage rows for days in `[from, to]`, by day. */
export async function listUsage(db: Knex, tenantId: string, from: string, to: string): Promise<UsageRow[]> {
  return usage(db)
    .select(db.raw(`to_char(day, 'YYYY-MM-DD') as day`), 'metric', 'count', 'epoch', 'watermark')
    .where({ tenant_id: tenantId })
    .whereBetween('day', [from, to])
    .orderBy('day');
}
