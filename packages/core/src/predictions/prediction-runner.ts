import type { Knex } from 'knex';
import type { PredictResult } from '../ml/ml-gateway.client.js';
import { MlGatewayRejected } from '../ml/ml-gateway.client.js';
import { PermanentTaskError, PREDICT_RETRY, type TaskArgs } from '../tasks/catalog.js';
import type { TenantRef } from '../tenancy/context.js';
import { schemaForSlug } from '../tenancy/naming.js';
import { findTenant } from '../tenancy/tenants.repository.js';
import {
  claimPrediction,
  findPrediction,
  type PredictionOutcome,
  recordPredictionOutcome,
} from './predictions.repository.js';

/** Runs a model; the ml-gateway client is one. */
export interface PredictionModels {
  predict(model: string, instances: number[][], signal?: AbortSignal): Promise<PredictResult>;
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

/** A prediction is attempted at most this many times (the first run and its retries). */
export const MAX_PREDICTION_ATTEMPTS = PREDICT_RETRY.maxRetries + 1;

/**
 * The prediction lifecycle, the one place it is decided (the Python consumer in ml-gateway follows
 * the same contract, docs/tasks.md): queued -> running (attempt counted) -> succeeded | failed, or
 * back to queued with the error when a transient failure will be retried; after
 * MAX_PREDICTION_ATTEMPTS attempts it fails for good. Everything is read from the database: a task
 * message names a tenant and a prediction, nothing else is trusted.
 */
export class PredictionRunner {
  constructor(
    private readonly db: Knex,
    private readonly models: PredictionModels,
    private readonly maxAttempts = MAX_PREDICTION_ATTEMPTS,
  ) {}

  async run(args: TaskArgs<'ml.predict'>, signal?: AbortSignal): Promise<PredictionTaskResult> {
    const tenant = await this.readyTenant(args.tenant_id);
    const claimed = await claimPrediction(this.db, tenant, args.prediction_id);
    if (!claimed) return this.finished(tenant, args.prediction_id);

    let outcome: PredictionOutcome;
    let failure: Error | undefined;
    try {
      const out = await this.models.predict(claimed.model, claimed.input, signal);
      outcome = {
        status: 'succeeded',
        output: { predictions: out.predictions, probabilities: out.probabilities },
        model_version: out.version,
      };
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      if (err instanceof MlGatewayRejected) {
        outcome = { status: 'failed', error: failure.message };
      } else if (claimed.attempts >= this.maxAttempts) {
        outcome = {
          status: 'failed',
          error: `gave up after ${claimed.attempts} attempts: ${failure.message}`,
        };
      } else {
        outcome = { status: 'queued', error: failure.message };
      }
    }
    await recordPredictionOutcome(this.db, tenant, claimed.id, outcome);
    // Rejected input fails the task at once. A transient failure is rethrown as it is: the task's
    // retry policy retries it, and after the last attempt dead-letters it with its cause.
    if (failure instanceof MlGatewayRejected) throw new PermanentTaskError(failure.message);
    if (failure) throw failure;
    if (outcome.status !== 'succeeded') throw new PermanentTaskError(outcome.error);
    return {
      prediction_id: claimed.id,
      model: claimed.model,
      status: 'succeeded',
      version: outcome.model_version,
      ...outcome.output,
    };
  }

  private async readyTenant(id: string): Promise<TenantRef> {
    const row = await findTenant(this.db, id);
    if (row?.status !== 'ready') throw new PermanentTaskError(`tenant ${id} is not ready`);
    return { id: row.id, slug: row.slug, schema: schemaForSlug(row.slug), plan: row.plan };
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
