/**
 * Tenant A's flood, in a process of its own (so that it never shares an event loop with the
 * measurement of tenant B): `BENCH_FLOOD_READ_CONNECTIONS` loops reading `GET /v1/users/{id}` as
 * fast as answers come, and `BENCH_FLOOD_POST_CONNECTIONS` loops posting predictions until
 * `BENCH_FLOOD_PREDICTIONS` were attempted; a flood ignores `Retry-After`. Runs until SIGTERM or
 * `BENCH_FLOOD_SECONDS`, then prints one JSON line: status counts of reads and of posts.
 */
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

const reads: Record<string, number> = {};
const posts: Record<string, number> = {};
/** Problem codes of the posts' 429s (`rate_limited`, `too_many_queued`, `quota_exceeded`). */
const postCodes: Record<string, number> = {};
let stopping = false;
let attempted = 0;
const headers = { authorization: `Bearer ${key}` };
const body = JSON.stringify({ model: 'iris', inputs: [[5.1, 3.5, 1.4, 0.2]] });

async function hit(
  counts: Record<string, number>,
  init: () => Promise<Response>,
  codes?: Record<string, number>,
): Promise<void> {
  let status = 'error';
  try {
    const res = await init();
    const text = await res.text();
    status = String(res.status);
    if (codes && res.status === 429) {
      const code = String((JSON.parse(text) as { code?: string }).code);
      codes[code] = (codes[code] ?? 0) + 1;
    }
  } catch {
    // a connection error or timeout: counted as such
  }
  counts[status] = (counts[status] ?? 0) + 1;
}

async function readLoop(): Promise<void> {
  while (!stopping) {
    await hit(reads, () =>
      fetch(`${url}/v1/users/${userId}`, { headers, signal: AbortSignal.timeout(10_000) }),
    );
  }
}

async function postLoop(): Promise<void> {
  while (!stopping && attempted < predictions) {
    attempted++;
    await hit(
      posts,
      () =>
        fetch(`${url}/v1/predictions`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        }),
      postCodes,
    );
  }
}

const stop = () => {
  stopping = true;
};
process.on('SIGTERM', stop);
setTimeout(stop, seconds * 1000).unref();
const loops = [
  ...Array.from({ length: readConnections }, readLoop),
  ...Array.from({ length: postConnections }, postLoop),
];
process.stderr.write('flood started\n');
await Promise.all(loops);
process.stdout.write(`${JSON.stringify({ reads, posts, post_429_codes: postCodes, attempted })}\n`);
