/** The ml-gateway's HTTP API, as the platform uses it. */
export interface ModelInfo {
  name: string;
  version: string;
  kind: 'classifier' | 'regressor';
  input_schema: { features: Array<{ name: string; type: string }>; count: number };
  output: { description: string; classes?: unknown[] | null };
  metrics?: Record<string, number>;
}

export interface PredictResult {
  model: string;
  version: string;
  predictions: Array<number | string>;
  probabilities: number[][] | null;
}

/** One item of `POST /v1/predictions/batch`: a model and its instances. */
export interface BatchPredictItem {
  model: string;
  instances: number[][];
}

/** The outcome of one batch item: its prediction, or the error it would have had alone. */
export type BatchPredictOutcome = { ok: true; result: PredictResult } | { ok: false; error: Error };

interface BatchItemWire {
  ok: boolean;
  model: string;
  version: string | null;
  predictions: Array<number | string> | null;
  probabilities: number[][] | null;
  error: { status: number; code: string; message: string } | null;
}

/** The gateway answered 4xx: the request itself is wrong and retrying will not help. */
export class MlGatewayRejected extends Error {
  override name = 'MlGatewayRejected';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The gateway is unreachable or failed (5xx, timeout): worth retrying. */
export class MlGatewayUnavailable extends Error {
  override name = 'MlGatewayUnavailable';
}

export class MlGatewayClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private async request<T>(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        ...init,
        headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new MlGatewayUnavailable(`ml-gateway unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (res.status >= 500)
      throw new MlGatewayUnavailable(`ml-gateway answered ${res.status}: ${text.slice(0, 200)}`);
    if (res.status >= 400) {
      let detail = text;
      try {
        const body = JSON.parse(text) as { detail?: unknown };
        detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail ?? body);
      } catch {
        // keep the text
      }
      throw new MlGatewayRejected(res.status, detail.slice(0, 500));
    }
    return JSON.parse(text) as T;
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const body = await this.request<ModelInfo[] | { data: ModelInfo[] }>('/v1/models', {}, signal);
    return Array.isArray(body) ? body : body.data;
  }

  /**
   * Several predictions in one request (`POST /v1/predictions/batch`, items for the same model
   * share model calls): one outcome per item, in order. An item the gateway refuses (404, 422) is
   * an `MlGatewayRejected`, a server-side fault of one item (500) an `MlGatewayUnavailable`; the
   * whole call throws only when the request itself fails.
   */
  async predictBatch(items: BatchPredictItem[], signal?: AbortSignal): Promise<BatchPredictOutcome[]> {
    const body = await this.request<{ results: BatchItemWire[] }>(
      '/v1/predictions/batch',
      { method: 'POST', body: JSON.stringify({ items }) },
      signal,
    );
    if (body.results?.length !== items.length) {
      throw new MlGatewayUnavailable(
        `ml-gateway answered ${body.results?.length} results for ${items.length} items`,
      );
    }
    return body.results.map((r): BatchPredictOutcome => {
      if (r.ok) {
        return {
          ok: true,
          result: {
            model: r.model,
            version: r.version ?? '',
            predictions: r.predictions ?? [],
            probabilities: r.probabilities,
          },
        };
      }
      const status = r.error?.status ?? 500;
      const message = (r.error?.message ?? 'prediction failed').slice(0, 500);
      return {
        ok: false,
        error:
          status >= 400 && status < 500
            ? new MlGatewayRejected(status, message)
            : new MlGatewayUnavailable(`ml-gateway failed the item (${status}): ${message}`),
      };
    });
  }

  predict(model: string, instances: number[][], signal?: AbortSignal): Promise<PredictResult> {
    return this.request<PredictResult>(
      `/v1/models/${encodeURIComponent(model)}/predict`,
      { method: 'POST', body: JSON.stringify({ instances }) },
      signal,
    );
  }
}
