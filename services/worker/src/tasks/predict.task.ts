import type { PredictionRunner } from '@platform/core';
import { handleTask } from '../engine/catalog.js';

/** `ml.predict`: the prediction lifecycle lives in core's PredictionRunner; this adapts it. */
export function predictTask(deps: { predictions: PredictionRunner }) {
  return handleTask('ml.predict', (payload, ctx) => deps.predictions.run(payload, ctx.signal));
}
