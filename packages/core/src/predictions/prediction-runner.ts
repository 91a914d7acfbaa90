import type { Knex } from 'knex';
import type { BatchPredictItem, BatchPredictOutcome, PredictResult } from '../ml/ml-gateway.client.js';
import { MlGatewayRejected } from '../ml/ml-gateway.client.js';
import { PermanentTaskError, PREDICT_RETRY, type TaskArgs } from '../tasks/catalog.js';
import type { TenantRef } from '../tenancy/context.js';
import { schemaForSlug } from '../tenancy/naming.js';
import { findTenants } from '../tenancy/tenants.repository.js';
import {
  type ClaimedTenantPrediction,
  claimPredictions,
  findPrediction,
  type PredictionOutcome,
  recordPredictionOutcomes,
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
    const tenants = await this.readyTenants(tasks.map((t) => t.tenant_id));

    // Claim every prediction of a ready tenant (a task delivered twice claims its row once).
    const groups = new Map<string, { tenant: TenantRef; ids: Set<string> }>();
    tasks.forEach((task, i) => {
      const tenant = tenants.get(task.tenant_id);
      if (!tenant) {
        outcomes[i] = { ok: false, error: new PermanentTaskError(`tenant ${task.tenant_id} is not ready`) };
        return;
      }
      const group = groups.get(tenant.id) ?? { tenant, ids: new Set<string>() };
      groups.set(tenant.id, group);
      group.ids.add(task.prediction_id.toLowerCase());
    });
    const claimed = await claimPredictions(
      this.db,
      [...groups.values()].map((g) => ({ tenant: g.tenant, ids: [...g.ids] })),
    );

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
        // Not claimed: a redelivered task of a finished prediction (or one that does not exist).
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

  /** A redelivered task of a finished prediction: the stored outcome, nothing written. */
  private async finished(tenant: TenantRef, id: string): Promise<PredictionTaskResult> {
    const row = await findPrediction(this.db, tenant, id);
    if (!row) throw new PermanentTaskError(`prediction ${id} does not exist`);
    if (row.status === 'failed') throw new PermanentTaskError(row.error ?? 'prediction failed');
    return {
      prediction_id: row.id,
      model: row.model,
      status: 'succeeded',
      version: row.model_version,
      ...(row.output ?? {}),
    };
  }
}
