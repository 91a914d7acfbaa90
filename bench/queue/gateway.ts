import { percentile, round } from '../lib/stats.js';
import { note } from '../lib/table.js';

/** A few iris rows (sepal/petal length and width), cycled through the requests. */
const IRIS_ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
  [4.9, 3.1, 1.5, 0.1],
  [6.3, 2.9, 5.6, 1.8],
];

export interface GatewayRun {
  instances_per_request: number;
  requests: number;
  concurrency: number;
  instances_per_s: number;
  requests_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  seconds: number;
}

function body(instances: number, offset: number): string {
  const rows = Array.from({ length: instances }, (_, i) => IRIS_ROWS[(offset + i) % IRIS_ROWS.length]);
  return JSON.stringify({ instances: rows });
}

/**
 * POSTs `requests` prediction requests of `instancesPerRequest` instances each to
 * `/v1/models/<model>/predict`, `concurrency` at a time (keep-alive), after `warmup` unmeasured
 * ones. Every response must be 200 with one prediction per instance.
 */
export async function measureGateway(options: {
  url: string;
  model: string;
  instancesPerRequest: number;
  requests: number;
  concurrency: number;
  warmup: number;
}): Promise<GatewayRun> {
  const bodies = IRIS_ROWS.map((_, i) => body(options.instancesPerRequest, i));
  const endpoint = `${options.url}/v1/models/${options.model}/predict`;
  const latencies: number[] = [];
  const one = async (i: number, record: boolean) => {
    const started = performance.now();
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodies[i % bodies.length],
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST ${endpoint}: ${res.status} ${text.slice(0, 500)}`);
    const out = JSON.parse(text) as { predictions?: unknown[] };
    if (out.predictions?.length !== options.instancesPerRequest) {
      throw new Error(
        `POST ${endpoint}: ${out.predictions?.length} predictions for ${options.instancesPerRequest} instances`,
      );
    }
    if (record) latencies.push(performance.now() - started);
  };
  const run = async (count: number, record: boolean) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency, count) }, async () => {
        while (next < count) await one(next++, record);
      }),
    );
  };
  await run(options.warmup, false);
  note(
    `ml-gateway: ${options.requests} requests of ${options.instancesPerRequest} instance(s), ${options.concurrency} in flight`,
  );
  const start = performance.now();
  await run(options.requests, true);
  const seconds = (performance.now() - start) / 1000;
  return {
    instances_per_request: options.instancesPerRequest,
    requests: options.requests,
    concurrency: options.concurrency,
    instances_per_s: round((options.requests * options.instancesPerRequest) / seconds, 1),
    requests_per_s: round(options.requests / seconds, 1),
    latency_p50_ms: round(percentile(latencies, 50), 3),
    latency_p99_ms: round(percentile(latencies, 99), 3),
    seconds: round(seconds, 3),
  };
}
