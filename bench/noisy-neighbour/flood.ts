/**
 * Tenant A's flood, in a process of its own (so that it never shares an event loop with the
 * measurement of tenant B), driven by autocannon (a few µs of client CPU per request, so the
 * flood's own client takes little of the machine): `BENCH_FLOOD_READ_CONNECTIONS` connections
 * reading `GET /v1/users/{id}` as fast as answers come, and `BENCH_FLOOD_POST_CONNECTIONS` posting
 * predictions until `BENCH_FLOOD_PREDICTIONS` were sent; a flood ignores `Retry-After`. Runs until
 * SIGTERM or `BENCH_FLOOD_SECONDS`, then prints one JSON line: status counts of reads and of posts,
 * the problem codes of the posts' 429s, and the process's own CPU time.
 */
import autocannon from 'autocannon';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const url = env('BENCH_FLOOD_URL');
const key = env('BENCH_FLOOD_KEY');
const userId = env('BENCH_FLOOD_USER_ID');
const readConnections = Number(env('BENCH_FLOOD_READ_CONNECTIONS'));
const postConnections = Number(env('BENCH_FLOOD_POST_CONNECTIONS'));
const predictions = Number(env('BENCH_FLOOD_PREDICTIONS'));
const seconds = Number(env('BENCH_FLOOD_SECONDS'));

/** Problem codes of the posts' 429s (`rate_limited`, `too_many_queued`, `quota_exceeded`). */
const postCodes: Record<string, number> = {};
const headers = { authorization: `Bearer ${key}` };

const statusCounts = (result: autocannon.Result): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) counts[code] = stat.count ?? 0;
  const failed = result.errors + result.timeouts;
  if (failed > 0) counts.error = failed;
  return counts;
};

function run(options: autocannon.Options): {
  instance: autocannon.Instance;
  done: Promise<autocannon.Result>;
} {
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
  });
  return { instance: instance as autocannon.Instance, done };
}

const reads = run({
  url,
  connections: readConnections,
  duration: seconds,
  timeout: 10,
  requests: [{ method: 'GET', path: `/v1/users/${userId}`, headers }],
});
const posts = run({
  url,
  connections: postConnections,
  amount: predictions,
  timeout: 10,
  requests: [
    {
      method: 'POST',
      path: '/v1/predictions',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'iris', inputs: [[5.1, 3.5, 1.4, 0.2]] }),
      onResponse: (status: number, body: string) => {
        if (status !== 429) return;
        const code = String((JSON.parse(body) as { code?: string }).code);
        postCodes[code] = (postCodes[code] ?? 0) + 1;
      },
    },
  ],
});
const stop = () => {
  reads.instance.stop();
  posts.instance.stop();
};
process.on('SIGTERM', stop);
setTimeout(stop, seconds * 1000).unref();
process.stderr.write('flood started\n');
const [readResult, postResult] = await Promise.all([reads.done, posts.done]);
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({
    reads: statusCounts(readResult),
    posts: statusCounts(postResult),
    post_429_codes: postCodes,
    attempted: postResult.requests.total,
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
  })}\n`,
);
