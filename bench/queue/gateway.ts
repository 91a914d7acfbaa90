import autocannon from 'autocannon';
import { machineBusyMs, snapshot, spent } from '../lib/cpu.js';
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

/** CPU time during the measured requests (from /proc), per request and in cores. */
export interface GatewayCpu {
  /** The ml-gateway process (null when it was not started by the benchmark). */
  gateway_us_per_request: number | null;
  gateway_cores: number | null;
  /** This process: the load generator (autocannon) and the response checks. */
  client_us_per_request: number;
  client_cores: number;
  /** Everything else on the machine meanwhile (other work disturbing the run). */
  other_processes_cores: number | null;
}

export interface GatewayRun {
  instances_per_request: number;
  requests: number;
  concurrency: number;
  instances_per_s: number;
  requests_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  seconds: number;
  cpu: GatewayCpu;
}

function body(instances: number, offset: number): string {
  const rows = Array.from({ length: instances }, (_, i) => IRIS_ROWS[(offset + i) % IRIS_ROWS.length]);
  return JSON.stringify({ instances: rows });
}

/**
 * `count` requests through autocannon (its own HTTP/1.1 client: prebuilt requests, keep-alive,
 * one in flight per connection), every response checked: 200 and one prediction per instance.
 */
async function load(
  url: string,
  path: string,
  bodies: string[],
  instancesPerRequest: number,
  count: number,
  connections: number,
): Promise<{ latencies: number[]; seconds: number; elapsed: number }> {
  const latencies: number[] = [];
  let bad = 0;
  let firstBad = '';
  const check = (status: number, text: string) => {
    let predictions: number | undefined;
    if (status === 200) {
      try {
        predictions = (JSON.parse(text) as { predictions?: unknown[] }).predictions?.length;
      } catch {
        predictions = undefined;
      }
    }
    if (predictions !== instancesPerRequest) {
      bad++;
      firstBad ||= `${status} ${text.slice(0, 500)}`;
    }
  };
  const requests: autocannon.Request[] = bodies.map((b) => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: b,
    onResponse: check,
  }));
  // autocannon notices it is done on its next sample tick (every second): the run ends at the
  // last response, not when autocannon returns.
  let last = 0;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url, connections, amount: count, pipelining: 1, timeout: 30, requests },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      last = performance.now();
    });
  });
  const seconds = (last - started) / 1000;
  const elapsed = (performance.now() - started) / 1000;
  const answered = result['2xx'] + result.non2xx;
  if (bad > 0 || result.errors > 0 || result.timeouts > 0 || answered !== count) {
    throw new Error(
      `POST ${url}${path}: ${bad} of ${answered} responses not 200 with ${instancesPerRequest} prediction(s) ` +
        `(first: ${firstBad || '-'}); ${result.errors} connection errors, ${result.timeouts} timeouts, ${count} sent`,
    );
  }
  return { latencies, seconds, elapsed };
}

/**
 * POSTs `requests` prediction requests of `instancesPerRequest` instances each to
 * `/v1/models/<model>/predict`, `concurrency` at a time (keep-alive), after `warmup` unmeasured
 * ones. Every response must be 200 with one prediction per instance. With `gatewayPid`, the
 * gateway's CPU time per request is reported beside the client's own.
 */
export async function measureGateway(options: {
  url: string;
  model: string;
  instancesPerRequest: number;
  requests: number;
  concurrency: number;
  warmup: number;
  gatewayPid?: number;
  label?: string;
}): Promise<GatewayRun> {
  const bodies = IRIS_ROWS.map((_, i) => body(options.instancesPerRequest, i));
  const path = `/v1/models/${options.model}/predict`;
  const run = (count: number) =>
    load(options.url, path, bodies, options.instancesPerRequest, count, Math.min(options.concurrency, count));
  if (options.warmup > 0) await run(options.warmup);
  note(
    `ml-gateway${options.label ? ` (${options.label})` : ''}: ${options.requests} requests of ${options.instancesPerRequest} instance(s), ${options.concurrency} in flight`,
  );
  const pids = options.gatewayPid === undefined ? [] : [options.gatewayPid];
  const gatewayBefore = snapshot(pids);
  const clientBefore = process.cpuUsage();
  const machineBefore = machineBusyMs();
  const { latencies, seconds, elapsed } = await run(options.requests);
  const machineAfter = machineBusyMs();
  const clientUs = process.cpuUsage(clientBefore);
  const gatewayMs = pids.length > 0 ? spent(gatewayBefore, snapshot(pids)) : null;
  const clientMs = (clientUs.user + clientUs.system) / 1000;
  const perRequest = (ms: number) => round((ms * 1000) / options.requests, 1);
  const cores = (ms: number) => round(ms / (seconds * 1000), 2);
  return {
    instances_per_request: options.instancesPerRequest,
    requests: options.requests,
    concurrency: options.concurrency,
    instances_per_s: round((options.requests * options.instancesPerRequest) / seconds, 1),
    requests_per_s: round(options.requests / seconds, 1),
    latency_p50_ms: round(percentile(latencies, 50), 3),
    latency_p99_ms: round(percentile(latencies, 99), 3),
    seconds: round(seconds, 3),
    cpu: {
      gateway_us_per_request: gatewayMs === null ? null : perRequest(gatewayMs),
      gateway_cores: gatewayMs === null ? null : cores(gatewayMs),
      client_us_per_request: perRequest(clientMs),
      client_cores: cores(clientMs),
      other_processes_cores:
        machineBefore === undefined || machineAfter === undefined
          ? null
          : round(
              Math.max(0, machineAfter - machineBefore - clientMs - (gatewayMs ?? 0)) / (elapsed * 1000),
              2,
            ),
    },
  };
}

/** What the gateway section measures, in one run (see `measureGatewaySection`). */
export interface GatewaySection {
  /** Single-instance requests against the gateway with its defaults (batching on, adaptive). */
  single: GatewayRun;
  /** The same requests against the same code with BATCHING_ENABLED=false, in the same run. */
  single_unbatched: GatewayRun;
  /** Each round, in the order run. */
  rounds: Array<{ batched: GatewayRun; unbatched: GatewayRun }>;
  /** Requests of `batchSize` instances (defaults). */
  batch: GatewayRun;
  ratio_single_vs_unbatched: number;
  ratio_batch_vs_single: number;
}

function medianRun(runs: GatewayRun[]): GatewayRun {
  const sorted = [...runs].sort((a, b) => a.instances_per_s - b.instances_per_s);
  return sorted[Math.floor((sorted.length - 1) / 2)] as GatewayRun;
}

/**
 * Single-instance requests against the gateway (its defaults) and against a second gateway
 * of the same code with BATCHING_ENABLED=false, in alternating rounds (the figures are the
 * median rounds), then requests of `batchSize` instances against the first.
 */
export async function measureGatewaySection(options: {
  url: string;
  pid?: number;
  unbatched: { url: string; pid: number };
  requests: number;
  batchRequests: number;
  batchSize: number;
  concurrency: number;
  rounds: number;
}): Promise<GatewaySection> {
  const single = (url: string, pid: number | undefined, label: string) =>
    measureGateway({
      url,
      model: 'iris',
      instancesPerRequest: 1,
      requests: options.requests,
      concurrency: options.concurrency,
      warmup: 500,
      gatewayPid: pid,
      label,
    });
  const rounds: GatewaySection['rounds'] = [];
  for (let r = 1; r <= options.rounds; r++) {
    const batched = () => single(options.url, options.pid, `batched, round ${r}/${options.rounds}`);
    const unbatched = () =>
      single(
        options.unbatched.url,
        options.unbatched.pid,
        `BATCHING_ENABLED=false, round ${r}/${options.rounds}`,
      );
    if (r % 2 === 1) {
      const b = await batched();
      rounds.push({ batched: b, unbatched: await unbatched() });
    } else {
      const u = await unbatched();
      rounds.push({ batched: await batched(), unbatched: u });
    }
  }
  const batch = await measureGateway({
    url: options.url,
    model: 'iris',
    instancesPerRequest: options.batchSize,
    requests: options.batchRequests,
    concurrency: options.concurrency,
    warmup: 10,
    gatewayPid: options.pid,
  });
  const singleRun = medianRun(rounds.map((r) => r.batched));
  const unbatchedRun = medianRun(rounds.map((r) => r.unbatched));
  return {
    single: singleRun,
    single_unbatched: unbatchedRun,
    rounds,
    batch,
    ratio_single_vs_unbatched: round(singleRun.instances_per_s / unbatchedRun.instances_per_s, 2),
    ratio_batch_vs_single: round(batch.instances_per_s / singleRun.instances_per_s, 2),
  };
}
