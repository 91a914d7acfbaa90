import {
  completePrediction,
  type Database,
  findPrediction,
  findTenant,
  type MlGatewayClient,
  MlGatewayRejected,
  markPredictionRunning,
  runWithContext,
  schemaForSlug,
  TASKS,
  type TenantRef,
} from '@platform/core';
import { z } from 'zod';
import { defineTask, PermanentError } from '../engine/catalog.js';

export const predictPayload = z.object({
  tenant_id: z.string().uuid(),
  tenant_schema: z.string(),
  prediction_id: z.string().uuid(),
  model: z.string().min(1),
  inputs: z.array(z.array(z.number())).min(1),
});

export const PREDICT_RETRY = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 10_000 };

/**
 * `ml.predict`: runs the model on ml-gateway and records the outcome in the tenant's
 * `predictions` row. Idempotent: a redelivered task whose prediction already succeeded returns the
 * stored output and writes nothing.
 */
export function predictTask(deps: { db: Database; mlGateway: MlGatewayClient }) {
  return defineTask({
    name: TASKS.predict,
    payload: predictPayload,
    retry: PREDICT_RETRY,
    timeoutMs: 30_000,
    async handler(payload, ctx) {
      const tenantRow = await findTenant(deps.db, payload.tenant_id);
      if (tenantRow?.status !== 'ready') {
        throw new PermanentError(`tenant ${payload.tenant_id} is not ready`);
      }
      const tenant: TenantRef = {
        id: tenantRow.id,
        slug: tenantRow.slug,
        schema: schemaForSlug(tenantRow.slug),
        plan: tenantRow.plan,
      };
      return runWithContext({ requestId: ctx.taskId, tenant, actor: 'worker' }, async () => {
        const row = await findPrediction(deps.db, tenant, payload.prediction_id);
        // The API inserts the row in the transaction that publishes the task: it may not be visible yet.
        if (!row) throw new Error(`prediction ${payload.prediction_id} not found (yet)`);
        const result = { prediction_id: row.id, model: row.model };
        if (row.status === 'succeeded') return { ...result, ...row.output, version: row.model_version };
        await markPredictionRunning(deps.db, tenant, row.id);
        try {
          const out = await deps.mlGateway.predict(payload.model, payload.inputs, ctx.signal);
          const output = { predictions: out.predictions, probabilities: out.probabilities };
          await completePrediction(deps.db, tenant, row.id, {
            status: 'succeeded',
            output,
            model_version: out.version,
          });
          return { ...result, version: out.version, ...output };
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (err instanceof MlGatewayRejected) {
            await completePrediction(deps.db, tenant, row.id, { status: 'failed', error: message });
            throw new PermanentError(message);
          }
          if (ctx.retries >= PREDICT_RETRY.maxRetries) {
            await completePrediction(deps.db, tenant, row.id, {
              status: 'failed',
              error: `gave up after ${ctx.retries + 1} attempts: ${message}`,
            });
          }
          throw err;
        }
      });
    },
  });
}
