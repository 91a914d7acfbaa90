import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, retryDelay } from '../src/core/retry.js';
import { randomUUID } from '../src/core/uuid.js';
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  BadRequestError,
  ConflictError,
  type FetchLike,
  InternalServerError,
  NotFoundError,
  PlatformClient,
  type PlatformClientOptions,
  PlatformError,
  parseRetryAfter,
  RateLimitError,
  UnprocessableEntityError,
  WaitTimeoutError,
} from '../src/index.js';
import {
  closedPort,
  type FakeServer,
  problem,
  type Script,
  sendJson,
  startFakeServer,
} from './support/fake-server.js';
import { waitUntil } from './support/wait.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const USER = {
  id: '6f1c1c1e-0000-4000-8000-000000000001',
  email: 'a@example.com',
  name: 'A',
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
};

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(script: Script, options: Partial<PlatformClientOptions> = {}) {
  server = await startFakeServer(script);
  const client = new PlatformClient({
    apiKey: 'plk_secret_key',
    baseUrl: server.url,
    initialRetryDelayMs: 10,
    ...options,
  });
  return { server, client };
}

const gaps = (s: FakeServer) => s.seen.slice(1).map((r, i) => r.at - (s.seen[i]?.at ?? 0));
const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );

describe('retries', () => {
  it('retries 5xx and reuses one Idempotency-Key across the retries of a POST', async () => {
    const { server, client } = await serve((_req, res, n) =>
      n < 2 ? sendJson(res, 503, problem(503, 'unavailable')) : sendJson(res, 201, USER),
    );
    const res = await client.request({
      method: 'POST',
      path: '/v1/users',
      body: { email: 'a@example.com', name: 'A' },
    });
    expect(res).toMatchObject({ status: 201, data: USER, retries: 2 });
    const keys = server.seen.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(UUID_V4);
    expect(new Set(keys).size).toBe(1);
    expect(server.seen.every((r) => r.body === '{"email":"a@example.com","name":"A"}')).toBe(true);
    expect(server.seen[0]?.headers['content-type']).toBe('application/json');
    expect(server.seen[0]?.headers.authorization).toBe('Bearer plk_secret_key');
  });

  it('gives each logical POST its own key, and uses a caller-given one', async () => {
    const { server, client } = await serve((_req, res) => sendJson(res, 201, USER));
    await client.users.create({ email: 'a@example.com', name: 'A' });
    await client.users.create({ email: 'a@example.com', name: 'A' });
    await client.users.create({ email: 'a@example.com', name: 'A' }, { idempotencyKey: 'order-42' });
    const [a, b, c] = server.seen.map((r) => r.headers['idempotency-key']);
    expect(a).toMatch(UUID_V4);
    expect(b).toMatch(UUID_V4);
    expect(a).not.toBe(b);
    expect(c).toBe('order-42');
  });

  it('sends no Idempotency-Key on GET, PATCH and DELETE', async () => {
    const { server, client } = await serve((req, res) => {
      if (req.method !== 'DELETE') return sendJson(res, 200, USER);
      res.writeHead(204);
      res.end();
    });
    await client.users.get(USER.id);
    await client.users.update(USER.id, { name: 'B' });
    await client.users.delete(USER.id);
    expect(server.seen.map((r) => [r.method, r.url, r.headers['idempotency-key']])).toEqual([
      ['GET', `/v1/users/${USER.id}`, undefined],
      ['PATCH', `/v1/users/${USER.id}`, undefined],
      ['DELETE', `/v1/users/${USER.id}`, undefined],
    ]);
  });

  it('backs off exponentially with jitter, then throws InternalServerError with the problem details', async () => {
    const { server, client } = await serve(
      (_req, res) => sendJson(res, 500, problem(500, 'internal_error'), { 'x-request-id': 'req-abc' }),
      { maxRetries: 3, initialRetryDelayMs: 100 },
    );
    const err = await caught(client.users.get(USER.id));
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err).toMatchObject({ status: 500, code: 'internal_error', requestId: 'req-abc' });
    expect((err as InternalServerError).problem.detail).toBe('detail of internal_error');
    expect(server.seen).toHaveLength(4);
    const [g1, g2, g3] = gaps(server) as [number, number, number];
    // 100, 200, 400 ms, each less at most 25% jitter (timers may fire a little late, never early)
    expect(g1).toBeGreaterThanOrEqual(74);
    expect(g2).toBeGreaterThanOrEqual(149);
    expect(g3).toBeGreaterThanOrEqual(299);
    expect(g3).toBeGreaterThan(g1);
  });

  it.each([
    [408, 'request_timeout'],
    [429, 'rate_limited'],
    [502, 'bad_gateway'],
    [409, 'idempotency_in_progress'],
  ])('retries %i (%s)', async (status, code) => {
    const { server, client } = await serve((_req, res, n) =>
      n === 0 ? sendJson(res, status, problem(status, code)) : sendJson(res, 201, USER),
    );
    await expect(client.users.create({ email: 'a@example.com', name: 'A' })).resolves.toEqual(USER);
    expect(server.seen).toHaveLength(2);
  });

  it.each([
    [400, 'malformed_json', BadRequestError],
    [404, 'not_found', NotFoundError],
    [409, 'email_taken', ConflictError],
    [422, 'validation_failed', UnprocessableEntityError],
  ])('does not retry %i (%s)', async (status, code, ErrorClass) => {
    const { server, client } = await serve((_req, res) => sendJson(res, status, problem(status, code)));
    const err = await caught(client.users.create({ email: 'a@example.com', name: 'A' }));
    expect(err).toBeInstanceOf(ErrorClass);
    expect(err).toMatchObject({ status, code });
    expect(server.seen).toHaveLength(1);
  });

  it('honours Retry-After in seconds', async () => {
    const { server, client } = await serve((_req, res, n) =>
      n === 0
        ? sendJson(res, 429, problem(429, 'rate_limited'), { 'retry-after': '1' })
        : sendJson(res, 200, USER),
    );
    await expect(client.users.get(USER.id)).resolves.toEqual(USER);
    const [gap] = gaps(server) as [number];
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(gap).toBeLessThan(3_000);
  });

  it('honours Retry-After as an HTTP date', async () => {
    let due = 0;
    const { server, client } = await serve((_req, res, n) => {
      if (n > 0) return sendJson(res, 200, USER);
      const date = new Date(Date.now() + 2_000);
      due = Math.floor(date.getTime() / 1000) * 1000; // HTTP dates have whole seconds
      sendJson(res, 503, problem(503, 'unavailable'), { 'retry-after': date.toUTCString() });
    });
    await expect(client.users.get(USER.id)).resolves.toEqual(USER);
    expect(server.seen[1]?.at).toBeGreaterThanOrEqual(due - 20);
    expect(gaps(server)[0]).toBeGreaterThanOrEqual(900);
  });

  it('does not wait for a Retry-After beyond maxRetryAfterMs: RateLimitError at once', async () => {
    const { server, client } = await serve((_req, res) =>
      sendJson(res, 429, problem(429, 'rate_limited'), { 'retry-after': '3600' }),
    );
    const err = await caught(client.models.list());
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBe(3_600_000);
    expect(server.seen).toHaveLength(1);
  });

  it('maxRetries: 0 (per client or per call) makes one attempt', async () => {
    const { server, client } = await serve((_req, res) => sendJson(res, 503, problem(503, 'unavailable')));
    await expect(client.users.get(USER.id, { maxRetries: 0 })).rejects.toBeInstanceOf(InternalServerError);
    expect(server.seen).toHaveLength(1);
  });

  it('wraps a non-problem error body (e.g. from a proxy) in the right error class', async () => {
    const { client } = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad Gateway</html>');
    });
    const err = await caught(client.users.get(USER.id, { maxRetries: 0 }));
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err).toMatchObject({ status: 502, code: 'http_502', requestId: null });
    expect((err as APIError).problem).toMatchObject({ status: 502, detail: '<html>Bad Gateway</html>' });
  });
});

describe('connection errors, timeouts and aborts', () => {
  it('retries connection errors, then throws APIConnectionError', async () => {
    const port = await closedPort();
    const debug = vi.fn();
    const client = new PlatformClient({
      apiKey: 'k',
      baseUrl: `http://127.0.0.1:${port}`,
      initialRetryDelayMs: 10,
      logger: { debug },
    });
    const err = await caught(client.users.get(USER.id));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).not.toBeInstanceOf(APIError);
    expect(err).not.toBeInstanceOf(APITimeoutError);
    expect((err as Error).message).toMatch(/ECONNREFUSED|fetch failed/);
    expect(debug.mock.calls.filter(([m]) => String(m).endsWith('request'))).toHaveLength(3);
  });

  it('retries a connection reset mid-request with the same Idempotency-Key', async () => {
    const { server, client } = await serve((req, res, n) =>
      n === 0 ? req.socket.destroy() : sendJson(res, 201, USER),
    );
    const res = await client.request({ method: 'POST', path: '/v1/users', body: {} });
    expect(res.retries).toBe(1);
    expect(server.seen[1]?.headers['idempotency-key']).toBe(server.seen[0]?.headers['idempotency-key']);
  });

  it('times out each attempt after timeoutMs (retried), then throws APITimeoutError', async () => {
    const { server, client } = await serve(() => undefined /* never answers */, {
      timeoutMs: 150,
      maxRetries: 1,
    });
    const started = Date.now();
    const err = await caught(client.users.get(USER.id));
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(err).not.toBeInstanceOf(APIConnectionError);
    expect(server.seen).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('the timeout covers a body that stalls after the headers', async () => {
    const { client } = await serve(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":');
      },
      { timeoutMs: 200, maxRetries: 0 },
    );
    await expect(client.users.get(USER.id)).rejects.toBeInstanceOf(APITimeoutError);
  });

  it('a per-call timeoutMs overrides the client one', async () => {
    const { client } = await serve(() => undefined, { timeoutMs: 60_000, maxRetries: 0 });
    await expect(client.users.get(USER.id, { timeoutMs: 100 })).rejects.toBeInstanceOf(APITimeoutError);
  });

  it('aborting the signal mid-request throws APIUserAbortError and stops retrying', async () => {
    const { server, client } = await serve(() => undefined);
    const controller = new AbortController();
    const pending = caught(client.users.get(USER.id, { signal: controller.signal }));
    await waitUntil('the request to arrive', () => (server.seen.length > 0 ? true : undefined));
    controller.abort();
    const err = await pending;
    expect(err).toBeInstanceOf(APIUserAbortError);
    expect(err).not.toBeInstanceOf(APITimeoutError);
    expect(server.seen).toHaveLength(1);
  });

  it('aborting during a retry wait ends it at once', async () => {
    const { server, client } = await serve((_req, res) =>
      sendJson(res, 503, problem(503, 'unavailable'), { 'retry-after': '30' }),
    );
    const controller = new AbortController();
    const started = Date.now();
    const pending = caught(client.users.get(USER.id, { signal: controller.signal }));
    await waitUntil('the first attempt', () => (server.seen.length > 0 ? true : undefined));
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.seen).toHaveLength(1);
  });

  it('an already-aborted signal sends nothing', async () => {
    const { server, client } = await serve((_req, res) => sendJson(res, 200, USER));
    await expect(client.users.get(USER.id, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      APIUserAbortError,
    );
    expect(server.seen).toHaveLength(0);
  });
});

describe('createAndWait polling', () => {
  const queued = { id: 'p1', status: 'queued' };
  const prediction = (status: string) => ({
    id: 'p1',
    model: 'iris',
    model_version: '1',
    status,
    inputs: [[1, 2, 3, 4]],
    output: status === 'succeeded' ? { predictions: ['setosa'], probabilities: null } : null,
    error: status === 'failed' ? 'boom' : null,
    attempts: 1,
    created_at: '2025-01-01T00:00:00.000Z',
    completed_at: null,
  });

  it('polls with growing intervals until succeeded', async () => {
    const { server, client } = await serve((req, res, n) =>
      req.method === 'POST'
        ? sendJson(res, 202, queued)
        : sendJson(res, 200, prediction(n < 4 ? 'running' : 'succeeded')),
    );
    const done = await client.predictions.createAndWait(
      { model: 'iris', inputs: [[1, 2, 3, 4]] },
      { pollIntervalMs: 40, timeoutMs: 10_000 },
    );
    expect(done.status).toBe('succeeded');
    expect(server.seen.map((r) => r.method)).toEqual(['POST', 'GET', 'GET', 'GET', 'GET']);
    const [g1, , , g4] = gaps(server) as number[];
    expect(g1).toBeGreaterThanOrEqual(39); // 40, 60, 90, 135 ms
    expect(g4).toBeGreaterThanOrEqual(130);
  });

  it('returns a failed prediction (status failed) instead of throwing', async () => {
    const { client } = await serve((req, res) =>
      req.method === 'POST' ? sendJson(res, 202, queued) : sendJson(res, 200, prediction('failed')),
    );
    const done = await client.predictions.createAndWait(
      { model: 'iris', inputs: [[1]] },
      { pollIntervalMs: 10 },
    );
    expect(done).toMatchObject({ status: 'failed', error: 'boom' });
  });

  it('throws WaitTimeoutError (an APITimeoutError) with the last state after timeoutMs', async () => {
    const { client } = await serve((req, res) =>
      req.method === 'POST' ? sendJson(res, 202, queued) : sendJson(res, 200, prediction('running')),
    );
    const err = await caught(
      client.predictions.createAndWait(
        { model: 'iris', inputs: [[1]] },
        { timeoutMs: 300, pollIntervalMs: 20 },
      ),
    );
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err).toBeInstanceOf(APITimeoutError);
    expect((err as WaitTimeoutError<{ status: string }>).last?.status).toBe('running');
  });

  it('the wait deadline also cuts a poll that hangs', async () => {
    const { client } = await serve((req, res) =>
      req.method === 'POST' ? sendJson(res, 202, queued) : undefined,
    );
    const started = Date.now();
    const err = await caught(
      client.predictions.createAndWait({ model: 'iris', inputs: [[1]] }, { timeoutMs: 300 }),
    );
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('aborting the signal ends the wait with APIUserAbortError', async () => {
    const { server, client } = await serve((req, res) =>
      req.method === 'POST' ? sendJson(res, 202, queued) : sendJson(res, 200, prediction('running')),
    );
    const controller = new AbortController();
    const pending = caught(
      client.predictions.createAndWait(
        { model: 'iris', inputs: [[1]] },
        { signal: controller.signal, pollIntervalMs: 10 },
      ),
    );
    await waitUntil('a poll', () => (server.seen.length >= 2 ? true : undefined));
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
  });
});

describe('client set-up and logging', () => {
  it('logs requests and retries with the Authorization header masked', async () => {
    const lines: string[] = [];
    const { client } = await serve(
      (_req, res, n) =>
        n === 0 ? sendJson(res, 503, problem(503, 'unavailable')) : sendJson(res, 200, USER),
      { logger: { debug: (message, details) => lines.push(`${message} ${JSON.stringify(details)}`) } },
    );
    await client.users.get(USER.id);
    const log = lines.join('\n');
    expect(log).toContain('"authorization":"Bearer ***"');
    expect(log).toContain('retrying');
    expect(log).not.toContain('plk_secret_key');
  });

  it('sends default and per-call headers, never in place of its own Authorization', async () => {
    const { server, client } = await serve((_req, res) => sendJson(res, 200, USER), {
      defaultHeaders: { 'X-Trace': 'default' },
    });
    await client.users.get(USER.id, { headers: { Authorization: 'Bearer other', 'X-Call': 'call' } });
    expect(server.seen[0]?.headers).toMatchObject({
      authorization: 'Bearer plk_secret_key',
      'x-trace': 'default',
      'x-call': 'call',
      accept: 'application/json',
    });
  });

  it('uses a given fetch', async () => {
    const calls: string[] = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push(`${init.method} ${url}`);
      return new Response(JSON.stringify({ data: [], next_cursor: null }), { status: 200 });
    };
    const client = new PlatformClient({ apiKey: 'k', baseUrl: 'https://api.example.test/', fetch });
    expect(await client.users.list({ limit: 5, cursor: 'abc' }).toArray()).toEqual([]);
    expect(calls).toEqual(['GET https://api.example.test/v1/users?limit=5&cursor=abc']);
  });

  it('needs an API key and a base URL, from the options or the environment', () => {
    vi.stubEnv('PLATFORM_API_KEY', '');
    vi.stubEnv('PLATFORM_BASE_URL', '');
    expect(() => new PlatformClient({ baseUrl: 'http://x' })).toThrow(PlatformError);
    expect(() => new PlatformClient({ apiKey: 'k' })).toThrow(/baseUrl/);
    vi.stubEnv('PLATFORM_API_KEY', 'plk_env');
    vi.stubEnv('PLATFORM_BASE_URL', 'http://env.example.test');
    expect(new PlatformClient().baseUrl).toBe('http://env.example.test');
    vi.unstubAllEnvs();
  });
});

describe('retry and id helpers', () => {
  it('parses Retry-After: seconds, fractions, HTTP dates, past dates, garbage', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('computes backoff: doubling from the initial delay, capped, less up to 25% jitter', () => {
    const policy = { ...DEFAULT_RETRY_POLICY };
    expect([0, 1, 2, 3, 4, 5].map((r) => backoffDelay(r, policy, () => 0))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 8_000,
    ]);
    expect(backoffDelay(0, policy, () => 1)).toBe(375);
    expect(retryDelay(0, policy, new Headers({ 'retry-after': '2' }))).toBe(2_000);
    expect(retryDelay(0, policy, new Headers({ 'retry-after': '61' }))).toBeNull();
  });

  it('makes v4 UUIDs with and without crypto.randomUUID', () => {
    expect(randomUUID()).toMatch(UUID_V4);
    const real = globalThis.crypto;
    vi.stubGlobal('crypto', { getRandomValues: (bytes: Uint8Array) => real.getRandomValues(bytes) });
    try {
      const ids = new Set(Array.from({ length: 100 }, () => randomUUID()));
      expect(ids.size).toBe(100);
      for (const id of ids) expect(id).toMatch(UUID_V4);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
