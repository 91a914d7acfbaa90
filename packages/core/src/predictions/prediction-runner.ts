import type { Knex } from 'knex';
import { isPgError } from '../errors.js';
import type { BatchPredictItem, BatchPredictOutcome, PredictResult } from '../ml/ml-gateway.client.js';
import { MlGatewayRejected } from '../ml/ml-gateway.client.js';
import { PermanentTaskError, PREDICT_RETRY, type TaskArgs } from '../tasks/catalog.js';
import type { TenantRef } from '../tenancy/context.js';
import { schemaForSlug } from '../tenancy/naming.js';
import { findTenants } from '../tenancy/tenants.repository.js';
import {
  type BatchClaim,
  type ClaimedTenantPrediction,
  claimPredictions,
  type FinishedTenantPrediction,
  failUnfinishedPrediction,
  findPrediction,
  type PredictionOutcome,
  recordPredictionOutcomes,
  type TenantPredictionIds,
  type TenantPredictionOutcome,
} from './predictions.repository.js';

/** Runs a model; the ml-gateway client is one. */
export interface PredictionModels {
  predict(model: string, instances: number[][], signal?: AbortSignal): Promise<PredictResult>;
  /** Several predictions in one call: one outcome per item, in order. */
  predictBatch(items: BatchPredictItem[], signal?: AbortSignal): Promise<BatchPredictOutcome[]>;
}

export interface PredictionTaskResult {
  prediction_id: string;
  model: string;
  status: 'succeeded' | 'failed';
  version?: string | null;
  predictions?: unknown;
  probabilities?: unknown;
  error?: string | null;
}

/** What one task of a batch ends with: its result, or the error its task fails (or retries) with. */
export type PredictionTaskOutcome = { ok: true; value: PredictionTaskResult } | { ok: false; error: Error };

/** A prediction is attempted at most this many times (the first run and its retries). */
export const MAX_PREDICTION_ATTEMPTS = PREDICT_RETRY.maxRetries + 1;

const key = (tenantId: string, predictionId: string) => `${tenantId}/${predictionId}`;

/** Tenants the runner remembers as ready at most (past that it starts over). */
const TENANT_CACHE_MAX = 10_000;
/** PostgreSQL: a table (or schema) that does not exist. */
const PG_UNDEFINED_TABLE = '42P01';
const PG_INVALID_SCHEMA_NAME = '3F000';

/**
 * The prediction lifecycle, the one place it is decided (the Python consumer in ml-gateway follows
 * the same contract, docs/tasks.md): queued -> running (attempt counted) -> succeeded | failed, or
 * back to queued with the error when a transient failure will be retried; after
 * MAX_PREDICTION_ATTEMPTS attempts it fails for good. Everything is read from the database: a task
 * message names a tenant and a prediction, nothing else is trusted.
 *
 * Tasks are run in batches (a batch of one is a single task): one query reads the batch's
 * tenants, one statement claims all its predictions, one ml-gateway call predicts them all, one
 * statement records every outcome. Each prediction still ends on its own: a bad input fails only
 * its own task.
 */
export class PredictionRunner {
  /** Tenants seen ready (see `knownTenants`), by id. */
  private readonly tenantCache = new Map<string, TenantRef>();

  constructor(
    private readonly db: Knex,
    private readonly models: PredictionModels,
    private readonly maxAttempts = MAX_PREDICTION_ATTEMPTS,
  ) {}

  async run(args: TaskArgs<'ml.predict'>, signal?: AbortSignal): Promise<PredictionTaskResult> {
    const [outcome] = await this.runBatch([args], signal);
    if (!outcome) throw new Error('no outcome for the prediction');
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** Runs the tasks of a batch: one outcome per task, in order. */
  async runBatch(
    tasks: Array<TaskArgs<'ml.predict'>>,
    signal?: AbortSignal,
  ): Promise<PredictionTaskOutcome[]> {
    const outcomes = new Array<PredictionTaskOutcome | undefined>(tasks.length);
    const tenantIds = [...new Set(tasks.map((t) => t.tenant_id))];
    let tenants = await this.knownTenants(tenantIds);
    let claim: BatchClaim;
    try {
      claim = await claimPredictions(this.db, this.claimGroups(tasks, tenants, outcomes));
    } catch (err) {
      if (!isPgError(err, PG_UNDEFINED_TABLE) && !isPgError(err, PG_INVALID_SCHEMA_NAME)) throw err;
      // A tenant known as ready lost its schema (deprovisioned since): read them all again.
      for (const id of tenantIds) this.tenantCache.delete(id);
      tenants = await this.knownTenants(tenantIds);
      outcomes.fill(undefined);
      claim = await claimPredictions(this.db, this.claimGroups(tasks, tenants, outcomes));
    }
    const { claimed } = claim;
    // Already ended (a redelivery after its outcome was recorded): the outcome as it was recorded,
    // read by the claim itself; nothing runs again.
    const finished = new Map(claim.finished.map((f) => [key(f.tenant_id, f.id), f]));
    // Neither claimed nor ended: missing, or its tenant is not ready any more (the claim checks);
    // the tenants of those are read again.
    const claimedKeys = new Set(claimed.map((c) => key(c.tenant_id, c.id)));
    const unclaimedTenants = new Set<string>();
    tasks.forEach((task, i) => {
      const k = key(task.tenant_id, task.prediction_id.toLowerCase());
      if (!outcomes[i] && !claimedKeys.has(k) && !finished.has(k)) unclaimedTenants.add(task.tenant_id);
    });
    if (unclaimedTenants.size > 0) {
      for (const id of unclaimedTenants) this.tenantCache.delete(id);
      const fresh = await this.knownTenants([...unclaimedTenants]);
      const answered = new Set([...claimed, ...claim.finished].map((c) => c.tenant_id));
      for (const id of unclaimedTenants) if (!fresh.has(id) && !answered.has(id)) tenants.delete(id);
      tasks.forEach((task, i) => {
        if (!outcomes[i] && !tenants.has(task.tenant_id)) outcomes[i] = this.notReady(task);
      });
    }

    // One ml-gateway call for everything claimed.
    const predicted = new Map<string, PredictionOutcome>();
    const failures = new Map<string, Error>();
    if (claimed.length > 0) {
      let results: BatchPredictOutcome[];
      try {
        results = await this.models.predictBatch(
          claimed.map((c) => ({ model: c.model, instances: c.input })),
          signal,
        );
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        results = claimed.map(() => ({ ok: false, error }));
      }
      claimed.forEach((c, i) => {
        const r = results[i] as BatchPredictOutcome;
        const k = key(c.tenant_id, c.id);
        if (r.ok) {
          predicted.set(k, {
            status: 'succeeded',
            output: { predictions: r.result.predictions, probabilities: r.result.probabilities },
            model_version: r.result.version,
          });
          return;
        }
        failures.set(k, r.error);
        predicted.set(k, this.failedOutcome(c, r.error));
      });
      await recordPredictionOutcomes(
        this.db,
        claimed.map(
          (c): TenantPredictionOutcome => ({
            tenant: tenants.get(c.tenant_id) as TenantRef,
            id: c.id,
            outcome: predicted.get(key(c.tenant_id, c.id)) as PredictionOutcome,
          }),
        ),
      );
    }

    const byKey = new Map(claimed.map((c) => [key(c.tenant_id, c.id), c]));
    for (const [i, task] of tasks.entries()) {
      if (outcomes[i]) continue;
      const tenant = tenants.get(task.tenant_id) as TenantRef;
      const k = key(tenant.id, task.prediction_id.toLowerCase());
      const c = byKey.get(k);
      if (!c) {
        const ended = finished.get(k);
        if (ended) {
          outcomes[i] = this.endedOutcome(ended);
          continue;
        }
        // Neither claimed nor seen ended: missing, or it ended while the claim ran (read again).
        outcomes[i] = await this.finished(tenant, task.prediction_id).then(
          (value): PredictionTaskOutcome => ({ ok: true, value }),
          (error: Error): PredictionTaskOutcome => ({ ok: false, error }),
        );
        continue;
      }
      outcomes[i] = this.taskOutcome(c, predicted.get(k) as PredictionOutcome, failures.get(k));
    }
    return outcomes as PredictionTaskOutcome[];
  }

  /**
   * The task of a prediction was dead-lettered before an outcome was recorded (`killed_consumers`:
   * each worker running it died): it will not run again, so the prediction fails, with why,
   * unless it already ended. Returns whether it changed. A tenant that is gone or not ready any
   * more is left alone (its rows go with it).
   */
  async abandon(args: TaskArgs<'ml.predict'>, why: { reason: string; error: string }): Promise<boolean> {
    const tenant = (await this.readyTenants([args.tenant_id])).get(args.tenant_id);
    if (!tenant) return false;
    return failUnfinishedPrediction(
      this.db,
      tenant,
      args.prediction_id.toLowerCase(),
      `dead-lettered (${why.reason}): ${why.error}`,
    );
  }

  /** The recorded outcome of a failed attempt: final, or queued again to be retried. */
  private failedOutcome(c: ClaimedTenantPrediction, failure: Error): PredictionOutcome {
    if (failure instanceof MlGatewayRejected) return { status: 'failed', error: failure.message };
    if (c.attempts >= this.maxAttempts)
      return { status: 'failed', error: `gave up after ${c.attempts} attempts: ${failure.message}` };
    return { status: 'queued', error: failure.message };
  }

  /**
   * Rejected input fails the task at once. A transient failure is passed on as it is: the task's
   * retry policy retries it, and after the last attempt dead-letters it with its cause.
   */
  private taskOutcome(
    c: ClaimedTenantPrediction,
    outcome: PredictionOutcome,
    failure: Error | undefined,
  ): PredictionTaskOutcome {
    if (failure instanceof MlGatewayRejected)
      return { ok: false, error: new PermanentTaskError(failure.message) };
    if (failure) return { ok: false, error: failure };
    if (outcome.status !== 'succeeded') return { ok: false, error: new PermanentTaskError(outcome.error) };
    return {
      ok: true,
      value: {
        prediction_id: c.id,
        model: c.model,
        status: 'succeeded',
        version: outcome.model_version,
        ...outcome.output,
      },
    };
  }

  /**
   * The batch's claim groups: each prediction of a tenant known as ready, once (a task delivered
   * twice claims its row once); the tasks of other tenants fail now (in `outcomes`).
   */
  private claimGroups(
    tasks: Array<TaskArgs<'ml.predict'>>,
    tenants: Map<string, TenantRef>,
    outcomes: Array<PredictionTaskOutcome | undefined>,
  ): TenantPredictionIds[] {
    const groups = new Map<string, { tenant: TenantRef; ids: Set<string> }>();
    tasks.forEach((task, i) => {
      const tenant = tenants.get(task.tenant_id);
      if (!tenant) {
        outcomes[i] = this.notReady(task);
        return;
      }
      const group = groups.get(tenant.id) ?? { tenant, ids: new Set<string>() };
      groups.set(tenant.id, group);
      group.ids.add(task.prediction_id.toLowerCase());
    });
    return [...groups.values()].map((g) => ({ tenant: g.tenant, ids: [...g.ids] }));
  }

  private notReady(task: TaskArgs<'ml.predict'>): PredictionTaskOutcome {
    return { ok: false, error: new PermanentTaskError(`tenant ${task.tenant_id} is not ready`) };
  }

  /**
   * The tenants among `ids` that are ready, from the cache or read once: a tenant's id, slug and
   * schema never change, and whether it is still ready is checked by the claim itself, so a batch
   * of known tenants needs no read of `platform.tenants`.
   */
  private async knownTenants(ids: string[]): Promise<Map<string, TenantRef>> {
    const found = new Map<string, TenantRef>();
    const missing: string[] = [];
    for (const id of ids) {
      const tenant = this.tenantCache.get(id);
      if (tenant) found.set(id, tenant);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    if (this.tenantCache.size + missing.length > TENANT_CACHE_MAX) this.tenantCache.clear();
    for (const [id, tenant] of await this.readyTenants(missing)) {
      found.set(id, tenant);
      this.tenantCache.set(id, tenant);
    }
    return found;
  }

  private async readyTenants(ids: string[]): Promise<Map<string, TenantRef>> {
    const rows = await findTenants(this.db, [...new Set(ids)]);
    return new Map(
      rows
        .filter((row) => row.status === 'ready')
        .map((row) => [
          row.id,
          { id: row.id, slug: row.slug, schema: schemaForSlug(row.slug), plan: row.plan },
        ]),
    );
  }

  /**
   * A redelivered task of a prediction that had ended: the outcome it ended with (its task's
   * result is stored again, then acknowledged), nothing written to the database.
   */
  private endedOutcome(
    row: Pick<FinishedTenantPrediction, 'id' | 'model' | 'status' | 'output' | 'model_version' | 'error'>,
  ): PredictionTaskOutcome {
    if (row.status === 'failed')
      return { ok: false, error: new PermanentTaskError(row.error ?? 'prediction failed') };
    return {
      ok: true,
      value: {
        prediction_id: row.id,
        model: row.model,
        status: 'succeeded',
        version: row.model_version,
        ...(row.output ?? {}),
      },
    };
  }

  /** A task whose prediction was neither claimed nor seen ended: read it again. */
  private async finished(tenant: TenantRef, id: string): Promise<PredictionTaskResult> {
    const row = await findPrediction(this.db, tenant, id);
    if (!row) throw new PermanentTaskError(`prediction ${id} does not exist`);
    if (row.status !== 'succeeded' && row.status !== 'failed')
      throw new Error(`prediction ${id} is ${row.status}: claimed by another attempt`);
    const outcome = this.endedOutcome({ ...row, status: row.status });
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }
}
