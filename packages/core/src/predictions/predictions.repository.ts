import type { Knex } from 'knex';
import { quoteIdent } from '../db/database.js';
import { type PreparedStatement, queryPrepared, type TenantStatements } from '../db/prepared.js';
import { keysetPage, type Page } from '../pagination.js';
import type { NewOutboxEntry } from '../tasks/outbox.repository.js';
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

/** The create with its backlog cap, as a prepared statement of the tenant's schema. */
function createPredictionStatement(tenant: TenantRef): PreparedStatement {
  return {
    name: `predictions.create:${tenant.schema}`,
    text: `with waiting as (
        select count(*)::int as n from (
          select 1 from platform.outbox
           where published_at is null and fairness_key is not null and queue = $6::text
             and fairness_key = $8::text
           limit $9::int) w),
      entry as (
        insert into platform.outbox (id, task, queue, kwargs, fairness_key)
        select $4::uuid, $5::text, $6::text, $7::jsonb, $8::text from waiting where n < $9::int
        returning id)
      insert into ${quoteIdent(tenant.schema)}.predictions (id, model, input, task_id, status)
      select $1::uuid, $2::text, $3::jsonb, entry.id::text, 'queued' from entry
      returning id, status`,
  };
}

/** What the create answers with (the rest of the row is what was sent, and the defaults). */
export type QueuedPredictionRow = Pick<Prediction, 'id' | 'status'>;

/**
 * The API's create: a queued prediction and its task's outbox entry, written only while fewer than
 * `cap` keyed entries of the task's fairness key wait to be admitted (the tenant's backlog), in
 * one prepared statement on the plan's pool: one round trip, both rows or neither, no
 * transaction. Undefined when the backlog is full (nothing written).
 */
export async function createPredictionUnderCap(
  statements: TenantStatements,
  tenant: TenantRef,
  row: { id: string; model: string; input: number[][] },
  task: NewOutboxEntry,
  cap: number,
): Promise<QueuedPredictionRow | undefined> {
  const rows = await statements.query<QueuedPredictionRow>(tenant, createPredictionStatement(tenant), [
    row.id,
    row.model,
    JSON.stringify(row.input),
    task.id,
    task.task,
    task.queue,
    JSON.stringify(task.kwargs),
    task.fairness_key ?? null,
    cap,
  ]);
  return rows[0];
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
 * Fails a prediction that will not be attempted again (its task was dead-lettered), unless it
 * already ended: `queued` or `running` becomes `failed` with `error`. Returns whether it changed.
 */
export async function failUnfinishedPrediction(
  db: Knex,
  tenant: TenantRef,
  id: string,
  error: string,
): Promise<boolean> {
  const count = await table(db, tenant)
    .where({ id })
    .whereIn('status', ['queued', 'running'])
    .update({ status: 'failed', error, completed_at: db.fn.now(), updated_at: db.fn.now() });
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

/** Predictions of one tenant, for the statements that span a batch of tenants. */
export interface TenantPredictionIds {
  tenant: TenantRef;
  ids: string[];
}

/** A claimed prediction and the tenant it belongs to. */
export interface ClaimedTenantPrediction extends ClaimedPrediction {
  tenant_id: string;
}

/** A prediction of a batch that had already ended (its task was delivered again), as it ended. */
export interface FinishedTenantPrediction {
  tenant_id: string;
  id: string;
  model: string;
  status: 'succeeded' | 'failed';
  output: Record<string, unknown> | null;
  model_version: string | null;
  error: string | null;
}

/** What the claim of a batch found: the predictions it claimed, and those that had ended. */
export interface BatchClaim {
  claimed: ClaimedTenantPrediction[];
  finished: FinishedTenantPrediction[];
}

/**
 * Claims the predictions of a batch, across tenants, in one statement (one `update` per tenant
 * schema, joined in a `with`): as `claimPrediction` does for each, and only while the tenant is
 * `ready` in `platform.tenants` (checked in the same statement). The same statement returns the
 * outcome of those that had already ended (`succeeded` or `failed`: a task delivered again after
 * its outcome was recorded, its result or acknowledgement lost), so that their results can be
 * stored again without running them. A prediction missing, or whose tenant is not ready, is in
 * neither list; so is one that ended while the statement ran (read it again).
 */
export async function claimPredictions(db: Knex, groups: TenantPredictionIds[]): Promise<BatchClaim> {
  const parts = groups.filter((g) => g.ids.length > 0);
  if (parts.length === 0) return { claimed: [], finished: [] };
  // Per tenant: $ids (a JSON array) and $tenant; the schema is part of the text.
  const ctes = parts.map((g, i) => {
    const schema = quoteIdent(g.tenant.schema);
    const ids = `$${2 * i + 1}`;
    const tenant = `$${2 * i + 2}::uuid`;
    return `i${i} as (select value::uuid as id from json_array_elements_text(${ids}::json)),
      r${i} as (select exists (select 1 from platform.tenants t where t.id = ${tenant} and t.status = 'ready') as ready),
      c${i} as (update ${schema}.predictions set status = 'running', attempts = attempts + 1, updated_at = now()
        where id in (select id from i${i}) and status in ('queued', 'running') and (select ready from r${i})
        returning ${tenant} as tenant_id, id, model, input, attempts),
      f${i} as (select ${tenant} as tenant_id, id, model, status, output, model_version, error from ${schema}.predictions
        where id in (select id from i${i}) and status in ('succeeded', 'failed') and (select ready from r${i}))`;
  });
  const selects = parts.map(
    (_, i) =>
      `select false as finished, tenant_id, id, model, input, attempts, null::text as status, null::jsonb as output,
              null::text as model_version, null::text as error from c${i}
       union all
       select true, tenant_id, id, model, null, null, status, output, model_version, error from f${i}`,
  );
  // A batch of one tenant (the usual one) is a named statement of that tenant's schema, prepared
  // once per connection; a batch spanning tenants runs unnamed (its text seldom repeats).
  const statement: PreparedStatement = {
    name: parts.length === 1 ? `predictions.claim:${parts[0]?.tenant.schema}` : '',
    text: `with ${ctes.join(', ')} ${selects.join(' union all ')}`,
  };
  const rows = await queryPrepared<
    ClaimedTenantPrediction &
      Omit<FinishedTenantPrediction, 'status'> & { finished: boolean; status: string | null }
  >(
    db,
    statement,
    parts.flatMap((g) => [JSON.stringify(g.ids), g.tenant.id]),
  );
  const claim: BatchClaim = { claimed: [], finished: [] };
  for (const row of rows) {
    if (row.finished)
      claim.finished.push({
        tenant_id: row.tenant_id,
        id: row.id,
        model: row.model,
        status: row.status as FinishedTenantPrediction['status'],
        output: row.output,
        model_version: row.model_version,
        error: row.error,
      });
    else
      claim.claimed.push({
        tenant_id: row.tenant_id,
        id: row.id,
        model: row.model,
        input: row.input,
        attempts: row.attempts,
      });
  }
  return claim;
}

/** The outcome of one running prediction of a batch. */
export interface TenantPredictionOutcome {
  tenant: TenantRef;
  id: string;
  outcome: PredictionOutcome;
}

/**
 * Records the outcomes of a batch, across tenants, in one statement, with the rules of
 * `recordPredictionOutcome`: only a running prediction changes. Returns how many changed.
 */
export async function recordPredictionOutcomes(
  db: Knex,
  outcomes: TenantPredictionOutcome[],
): Promise<number> {
  if (outcomes.length === 0) return 0;
  const byTenant = new Map<string, { tenant: TenantRef; rows: unknown[] }>();
  for (const { tenant, id, outcome } of outcomes) {
    const group = byTenant.get(tenant.id) ?? { tenant, rows: [] };
    byTenant.set(tenant.id, group);
    group.rows.push(
      outcome.status === 'succeeded'
        ? {
            id,
            status: 'succeeded',
            output: outcome.output,
            model_version: outcome.model_version,
            error: null,
          }
        : { id, status: outcome.status, output: null, model_version: null, error: outcome.error },
    );
  }
  const parts = [...byTenant.values()];
  const ctes = parts.map(
    (g, i) =>
      `u${i} as (update ${quoteIdent(g.tenant.schema)}.predictions p
        set status = v.status,
            output = case when v.status = 'succeeded' then v.output else p.output end,
            model_version = case when v.status = 'succeeded' then v.model_version else p.model_version end,
            error = v.error,
            completed_at = case when v.status = 'queued' then p.completed_at else now() end,
            updated_at = now()
        from json_to_recordset($${i + 1}::json) as v(id uuid, status text, output jsonb, model_version text, error text)
        where p.id = v.id and p.status = 'running'
        returning p.id)`,
  );
  // Named for a batch of one tenant, as the claim.
  const statement: PreparedStatement = {
    name: parts.length === 1 ? `predictions.record:${parts[0]?.tenant.schema}` : '',
    text: `with ${ctes.join(', ')} select count(*)::int as n from (${parts
      .map((_, i) => `select id from u${i}`)
      .join(' union all ')}) changed`,
  };
  const rows = await queryPrepared<{ n: number }>(
    db,
    statement,
    parts.map((g) => JSON.stringify(g.rows)),
  );
  return rows[0]?.n ?? 0;
}
