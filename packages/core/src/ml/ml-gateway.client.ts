import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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

/** Idle kept-alive connections are closed after this long (below uvicorn's 5 s keep-alive). */
const IDLE_SOCKET_MS = 4_000;

/** A socket error of a kept-alive connection the server had closed meanwhile: worth one more try. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

/**
 * The ml-gateway's client, on node:http with kept-alive connections rather than fetch: the worker
 * calls it once per batch and the API for its model list, and fetch (its WHATWG streams, Request
 * and Response objects and combined abort signals) costs several times the CPU of a plain request.
 */
export class MlGatewayClient {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.url = new URL(baseUrl);
    const https = this.url.protocol === 'https:';
    const options = { keepAlive: true, timeout: IDLE_SOCKET_MS };
    this.agent = https ? new HttpsAgent(options) : new HttpAgent(options);
    this.send = https ? httpsRequest : httpRequest;
  }

  /** Closes the kept-alive connections (they never hold a process open: idle ones are unref'd). */
  close(): void {
    this.agent.destroy();
  }

  /** One request: status and body, or a throw when no answer came (unreachable, timeout, aborted). */
  private exchange(
    path: string,
    method: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
    retried = false,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error('This operation was aborted'));
        return;
      }
      const headers: Record<string, string | number> = { 'content-type': 'application/json' };
      if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
      const req = this.send({
        agent: this.agent,
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        port: this.url.port,
        path: `${this.url.pathname.replace(/\/$/, '')}${path}`,
        method,
        headers,
      });
      let answered = false;
      let settled = false;
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer after ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      const onAbort = () =>
        req.destroy(
          signal?.reason instanceof Error ? signal.reason : new Error('This operation was aborted'),
        );
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      req.once('response', (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          if (settled) return;
          done();
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          if (settled) return;
          done();
          reject(err);
        });
      });
      // `on`, not `once`: a second error of a destroyed request must not go unhandled.
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        done();
        // A kept-alive connection the server closed while it was idle: once more, on a new one.
        if (
          !answered &&
          !retried &&
          req.reusedSocket &&
          STALE_SOCKET.has(err.code ?? '') &&
          !signal?.aborted
        ) {
          this.exchange(path, method, body, signal, true).then(resolve, reject);
          return;
        }
        reject(err);
      });
      req.end(body);
    });
  }

  private async request<T>(
    path: string,
    init: { method?: string; body?: string } = {},
    signal?: AbortSignal,
  ): Promise<T> {
    let res: { status: number; text: string };
    try {
      res = await this.exchange(path, init.method ?? 'GET', init.body, signal);
    } catch (err) {
      throw new MlGatewayUnavailable(`ml-gateway unreachable: ${(err as Error).message}`);
    }
    const { text } = res;
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
