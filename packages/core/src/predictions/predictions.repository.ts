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

/** Marks an attempt as running. A prediction that already succeeded is left alone. */
export async function markPredictionRunning(db: Knex, tenant: TenantRef, id: string): Promise<boolean> {
  const count = await table(db, tenant)
    .where({ id })
    .whereNot('status', 'succeeded')
    .update({ status: 'running', attempts: db.raw('attempts + 1'), updated_at: db.fn.now() });
  return count > 0;
}

/**
 * Records the outcome. Written at most once as succeeded: a redelivered task finding it succeeded
 * changes nothing.
 */
export async function completePrediction(
  db: Knex,
  tenant: TenantRef,
  id: string,
  outcome:
    | { status: 'succeeded'; output: Record<string, unknown>; model_version: string }
    | { status: 'failed'; error: string },
): Promise<boolean> {
  const patch =
    outcome.status === 'succeeded'
      ? {
          status: 'succeeded',
          output: JSON.stringify(outcome.output),
          model_version: outcome.model_version,
          error: null,
        }
      : { status: 'failed', error: outcome.error };
  const count = await table(db, tenant)
    .where({ id })
    .whereNot('status', 'succeeded')
    .update({ ...patch, completed_at: db.fn.now(), updated_at: db.fn.now() });
  return count > 0;
}
