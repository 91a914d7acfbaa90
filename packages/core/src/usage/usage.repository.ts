import type { Knex } from 'knex';
import { type PreparedStatement, queryPrepared } from '../db/prepared.js';
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
 * The upsert of `applyUsageReadings`: one row per (day, tenant, metric) from one JSON array, so
 * that a chunk of hundreds of tenant-days is one short statement with one parameter.
 */
const APPLY_READINGS: PreparedStatement = {
  name: 'platform_usage_apply_readings',
  text: `insert into platform.usage as u (day, tenant_id, metric, count, epoch, watermark)
         select r.day, r.tenant_id, r.metric, r.value, r.epoch, r.value
           from json_to_recordset($1::json)
                  as r(day date, tenant_id uuid, metric text, value bigint, epoch text)
         on conflict (day, tenant_id, metric) do update set
           count = u.count + case when u.epoch = excluded.epoch
                                  then greatest(excluded.watermark - u.watermark, 0)
                                  else excluded.watermark end,
           watermark = case when u.epoch = excluded.epoch
                            then greatest(u.watermark, excluded.watermark)
                            else excluded.watermark end,
           epoch = excluded.epoch,
           updated_at = now()`,
};

/**
 * Applies Redis counter readings to `platform.usage` in one statement (one transaction): per
 * tenant, day and metric, what the counter grew by since the last applied reading of the same
 * epoch (`value - watermark`, never negative) is added, and the watermark moves up. A reading
 * applied twice, or after a newer one, adds nothing; a reading of a new epoch (Redis lost the
 * counters and started again from 0) adds its whole value. So the flush is idempotent: killed
 * before the commit nothing was applied, killed after it the next flush adds nothing again.
 * Returns the rows written. The readings must be of distinct tenant-days.
 */
export async function applyUsageReadings(db: Knex, readings: CounterReading[]): Promise<number> {
  const rows: Array<{ day: string; tenant_id: string; metric: UsageMetric; value: number; epoch: string }> =
    [];
  for (const r of readings) {
    for (const metric of USAGE_METRICS) {
      const value = r.counts[metric];
      if (value > 0) rows.push({ day: r.day, tenant_id: r.tenantId, metric, value, epoch: r.epoch });
    }
  }
  if (rows.length === 0) return 0;
  await queryPrepared(db, APPLY_READINGS, [JSON.stringify(rows)]);
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
