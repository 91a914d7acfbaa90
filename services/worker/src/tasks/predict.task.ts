import type { PredictionRunner } from '@platform/core';
import { handleTask } from '../engine/catalog.js';

/**
 * `ml.predict`: the prediction lifecycle lives in core's PredictionRunner; this adapts it. The
 * engine gathers queued deliveries into batches that the runner predicts with one ml-gateway call;
 * a delivery dead-lettered by the consumer reaper fails its prediction.
 */
export function predictTask(deps: { predictions: PredictionRunner }) {
  return handleTask('ml.predict', (payload, ctx) => deps.predictions.run(payload, ctx.signal), {
    batch: (payloads, ctx) => deps.predictions.runBatch(payloads, ctx.signal),
    // Its message will not run again (its workers kept dying): the prediction fails with why.
    deadLettered: async (payload, why) => {
      await deps.predictions.abandon(payload, why);
    },
  });
}
