import type { PredictionRunner } from '@platform/core';
import { handleTask } from '../engine/catalog.js';

/**
 * `ml.predict`: the prediction lifecycle lives in core's PredictionRunner; this adapts it. The
 * engine gathers queued deliveries into batches that the runner predicts with one ml-gateway call.
 */
export function predictTask(deps: { predictions: PredictionRunner }) {
  return handleTask(
    'ml.predict',
    (payload, ctx) => deps.predictions.run(payload, ctx.signal),
    (payloads, ctx) => deps.predictions.runBatch(payloads, ctx.signal),
  );
}
