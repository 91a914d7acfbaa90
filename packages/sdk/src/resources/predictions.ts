import { PageIterator } from '../core/pagination.js';
import { pollUntil, type WaitOptions } from '../core/polling.js';
import type { RequestOptions } from '../core/transport.js';
import type { CreatePredictionRequest, ListParams, Prediction, QueuedPrediction } from '../types.js';
import { APIResource, segment } from './resource.js';

/** Default deadline of `wait`/`createAndWait` for a prediction. */
export const PREDICTION_WAIT_TIMEOUT_MS = 120_000;

const isFinal = (p: Prediction) => p.status === 'succeeded' || p.status === 'failed';

/** Asynchronous predictions: `/v1/predictions`. */
export class Predictions extends APIResource {
  /** Queues a prediction (`{ id, status: 'queued' }`); see `createAndWait`. */
  create(body: CreatePredictionRequest, options?: RequestOptions): Promise<QueuedPrediction> {
    return this.transport.post('/v1/predictions', body, options);
  }

  get(predictionId: string, options?: RequestOptions): Promise<Prediction> {
    return this.transport.get(`/v1/predictions/${segment(predictionId)}`, undefined, options);
  }

  /** The tenant's predictions, newest first. */
  list(params: ListParams = {}, options?: RequestOptions): PageIterator<Prediction> {
    return new PageIterator(
      this.pager<Prediction>('/v1/predictions', { limit: params.limit, cursor: params.cursor }, options),
    );
  }

  /**
   * Polls a prediction (with backoff) until it is `succeeded` or `failed`, and returns it: check
   * `status`; a failed prediction is returned, not thrown. Throws `WaitTimeoutError` after
   * `timeoutMs` (default 2 minutes) and `APIUserAbortError` when `signal` aborts.
   */
  wait(predictionId: string, options: WaitOptions = {}): Promise<Prediction> {
    return this.waitFrom(predictionId, options, false);
  }

  /** `create`, then `wait`; `timeoutMs` covers both. */
  async createAndWait(body: CreatePredictionRequest, options: WaitOptions = {}): Promise<Prediction> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? PREDICTION_WAIT_TIMEOUT_MS;
    const queued = await this.create(body, { ...options, timeoutMs: options.requestTimeoutMs });
    return this.waitFrom(queued.id, { ...options, timeoutMs: timeoutMs - (Date.now() - started) }, true);
  }

  private waitFrom(predictionId: string, options: WaitOptions, sleepFirst: boolean): Promise<Prediction> {
    return pollUntil(
      `prediction ${predictionId}`,
      (requestOptions) => this.get(predictionId, requestOptions),
      isFinal,
      options,
      PREDICTION_WAIT_TIMEOUT_MS,
      sleepFirst,
    );
  }
}
