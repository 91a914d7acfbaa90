export type PredictionStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface CreatePredictionRequest {
  /**
   * A model name from `GET /v1/models`.
   * @example "iris"
   */
  model: string;
  /**
   * Instances to predict, each a list of the model's features in order.
   * @minItems 1
   * @maxItems 1000
   * @example [[5.1, 3.5, 1.4, 0.2]]
   */
  inputs: number[][];
}

export interface PredictionOutput {
  /** One per instance; null where the model's result is not a finite number. */
  predictions: Array<number | string | null>;
  /** Class probabilities per instance, for classifiers; null where one is not a finite number. */
  probabilities: Array<Array<number | null>> | null;
}

export interface Prediction {
  /** @format uuid */
  id: string;
  model: string;
  model_version: string | null;
  status: PredictionStatus;
  inputs: number[][];
  output: PredictionOutput | null;
  error: string | null;
  /** @isInt */
  attempts: number;
  created_at: Date;
  completed_at: Date | null;
}

export interface QueuedPrediction {
  /** @format uuid */
  id: string;
  status: PredictionStatus;
}

export interface PredictionList {
  data: Prediction[];
  next_cursor: string | null;
}

export interface ModelFeature {
  name: string;
  type: string;
}

export interface ModelInputSchema {
  features: ModelFeature[];
  /** @isInt */
  count: number;
}

export interface Model {
  name: string;
  version: string;
  kind: 'classifier' | 'regressor';
  input_schema: ModelInputSchema;
  output: { description: string; classes?: unknown[] | null };
}

export interface ModelList {
  data: Model[];
}
