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

  predict(model: string, instances: number[][], signal?: AbortSignal): Promise<PredictResult> {
    return this.request<PredictResult>(
      `/v1/models/${encodeURIComponent(model)}/predict`,
      { method: 'POST', body: JSON.stringify({ instances }) },
      signal,
    );
  }
}
