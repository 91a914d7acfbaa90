import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformClient } from '../src/index.js';
import { type LiveApi, startLiveApi, uniqueSlug } from './support/live-api.js';

// A window long enough that the SDK's next call comes before the spent budget gets a request back
// (GCRA returns one per window / quota: 1 s for the free key's reads, 2 s for its writes), short
// enough that honouring Retry-After keeps the test quick.
const WINDOW_S = 20;

let live: LiveApi;
let key: string;
beforeAll(async () => {
  live = await startLiveApi({
    RATE_LIMITS: 'on',
    RATE_LIMIT_WINDOW_S: String(WINDOW_S),
    RATE_LIMIT_HOLD_MS: '0',
  });
  const tenant = await live.admin.tenants.createAndWait(
    { slug: uniqueSlug(), name: 'Rate limited', plan: 'free' },
    { timeoutMs: 60_000 },
  );
  key = (await live.admin.apiKeys.create(tenant.id, { name: 'rl', scopes: ['read', 'write'] })).key;
});
afterAll(async () => {
  await live?.stop();
});

/** Sends raw requests (no SDK, no retries) until the API answers 429; returns its Retry-After. */
async function spend(method: string, path: string, body?: () => unknown): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${live.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body()) : undefined,
    });
    await res.text();
    if (res.status === 429) return Number(res.headers.get('retry-after'));
    expect(res.status).toBeLessThan(300);
  }
  throw new Error('no 429 within 100 requests');
}

function recordingClient(): { client: PlatformClient; retries: Array<Record<string, unknown>> } {
  const retries: Array<Record<string, unknown>> = [];
  const logger = {
    debug(message: string, details?: Record<string, unknown>) {
      if (message.endsWith('retrying') && details) retries.push(details);
    },
  };
  return { client: live.clientFor(key, { logger, maxRetries: 3 }), retries };
}

describe('the SDK against the real API’s rate limits', () => {
  it('retries a 429 read after the Retry-After the API sent, then succeeds', async () => {
    const retryAfter = await spend('GET', '/v1/users?limit=1');
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
    const { client, retries } = recordingClient();
    const started = Date.now();
    const page = await client.users.list({ limit: 1 }).firstPage();
    const elapsed = Date.now() - started;
    expect(page.data).toBeInstanceOf(Array);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    const first = retries[0] as { status: number; delayMs: number };
    expect(first.status).toBe(429);
    // Whole seconds from the API, waited as sent (no backoff, no jitter).
    expect(first.delayMs % 1000).toBe(0);
    expect(first.delayMs).toBeGreaterThanOrEqual(1000);
    expect(first.delayMs).toBeLessThanOrEqual(WINDOW_S * 1000);
    expect(elapsed).toBeGreaterThanOrEqual(first.delayMs);
  });

  it('retries a 429 POST with its Idempotency-Key: the 429 is not replayed and the user is created once', async () => {
    let n = 0;
    await spend('POST', '/v1/users', () => ({ email: `spend-${Date.now()}-${n++}@example.com`, name: 'S' }));
    const { client, retries } = recordingClient();
    const email = `after-429-${Date.now()}@example.com`;
    const user = await client.users.create({ email, name: 'After' });
    expect(user.email).toBe(email);
    expect((retries[0] as { status: number }).status).toBe(429);
    const all = await client.users.list({ limit: 200 }).toArray();
    expect(all.filter((u) => u.email === email)).toHaveLength(1);
  });
});
