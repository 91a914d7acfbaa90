import type { Knex } from 'knex';
import { keysetPage, type Page } from '../pagination.js';
import type { TenantRef } from '../tenancy/context.js';
import { tenantTable } from '../tenancy/tenant-db.js';

export type PredictionStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Prediction {
  id: string;
  model: string;
  model_version: string | null;
  input: number[][];
  status: PredictionStatus;
  output: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
  task_id: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

const COLUMNS = [
  'id',
  'model',
  'model_version',
  'input',
  'status',
  'output',
  'error',
  'attempts',
  'task_id',
  'created_at',
  'updated_at',
  'completed_at',
];

const table = (db: Knex, tenant: TenantRef) => tenantTable(db, tenant, 'predictions');

export async function insertPrediction(
  db: Knex,
  tenant: TenantRef,
  row: { id: string; model: string; input: number[][]; task_id: string },
): Promise<Prediction> {
  const [created] = await table(db, tenant)
    .insert({ ...row, input: JSON.stringify(row.input), status: 'queued' })
    .returning(COLUMNS);
  return created as Prediction;
}

export async function findPrediction(
  db: Knex,
  tenant: TenantRef,
  id: string,
): Promise<Prediction | undefined> {
  return table(db, tenant).select(COLUMNS).where({ id }).first();
}

export function listPredictions(
  db: Knex,
  tenant: TenantRef,
  limit: number,
  cursor?: string,
): Promise<Page<Prediction>> {
  return keysetPage<Prediction>(table(db, tenant).select(COLUMNS), {
    timeColumn: 'created_at',
    idType: 'uuid',
    limit,
    cursor,
  });
}

/** What a worker needs to run a prediction it has claimed. */
export interface ClaimedPrediction {
  id: string;
  model: string;
  input: number[][];
  attempts: number;
}

/**
 * Claims a prediction for an attempt, in one statement: `queued` (or `running`, when a previous
 * attempt's worker died) becomes `running` and the attempt is counted. A finished prediction is
 * not claimed (undefined).
 */
export async function claimPrediction(
  db: Knex,
  tenant: TenantRef,
  id: string,
): Promise<ClaimedPrediction | undefined> {
  const [row] = await table(db, tenant)
    .where({ id })
    .whereIn('status', ['queued', 'running'])
    .update({ status: 'running', attempts: db.raw('attempts + 1'), updated_at: db.fn.now() })
    .returning(['id', 'model', 'input', 'attempts']);
  return row as ClaimedPrediction | undefined;
}

export type PredictionOutcome =
  | { status: 'succeeded'; output: Record<string, unknown>; model_version: string }
  | { status: 'failed'; error: string }
  | { status: 'queued'; error: string };

/**
 * Records the outcome of the running attempt: `succeeded` or `failed` (final), or `queued` again
 * with the error when it will be retried. Only a running prediction changes: a redelivered task
 * can never overwrite a final outcome.
 */
export async function recordPredictionOutcome(
  db: Knex,
  tenant: TenantRef,
  id: string,
  outcome: PredictionOutcome,
): Promise<boolean> {
  const patch =
    outcome.status === 'succeeded'
      ? {
          status: 'succeeded',
          output: JSON.stringify(outcome.output),
          model_version: outcome.model_version,
          error: null,
          completed_at: db.fn.now(),
        }
      : outcome.status === 'failed'
        ? { status: 'failed', error: outcome.error, completed_at: db.fn.now() }
        : { status: 'queued', error: outcome.error };
  const count = await table(db, tenant)
    .where({ id, status: 'running' })
    .update({ ...patch, updated_at: db.fn.now() });
  return count > 0;
}

/**
 * The task ids of every prediction in a tenant schema (their results are `celery-task-meta-<id>`
 * in Redis); none when the schema is already gone (a deprovisioning that resumes).
 */
export async function listPredictionTaskIds(db: Knex, schema: string): Promise<string[]> {
  const exists = await db.raw<{ rows: unknown[] }>(
    "select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = 'predictions'",
    [schema],
  );
  if (exists.rows.length === 0) return [];
  const rows = await db.withSchema(schema).table('predictions').whereNotNull('task_id').pluck('task_id');
  return rows as string[];
}
