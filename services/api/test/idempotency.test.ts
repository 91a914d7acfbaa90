import { PLANS } from '@platform/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../src/server.js';
import { startTestApi, type TestApi, TestClient, type TestTenant, testConfig } from './helpers.js';

let t: TestApi;
let tenant: TestTenant;
beforeAll(async () => {
  t = await startTestApi({ CORS_ORIGINS: 'http://127.0.0.1:5173, https://app.example.test' });
  tenant = await t.createTenant();
});
afterAll(() => t.stop());

describe('Idempotency-Key', () => {
  it('replays the first response to a repeated POST and writes once', async () => {
    const key = `idem-${Date.now()}`;
    const body = { email: `${key}@example.com`, name: 'Once' };
    const first = await tenant.client.request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const again = await tenant.client.request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const list = await tenant.client.get<{ data: Array<{ email: string }> }>('/v1/users?limit=200');
    expect(list.body.data.filter((u) => u.email === body.email)).toHaveLength(1);
  });

  it('replays a 202 with its Location header', async () => {
    const key = `tenant-${Date.now()}`;
    const body = { slug: `idem-${Date.now().toString(36)}`, name: 'Idem' };
    const first = await t.admin.request('POST', '/v1/tenants', body, { 'idempotency-key': key });
    const again = await t.admin.request('POST', '/v1/tenants', body, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.body).toEqual(first.body);
    await t.waitForStatus(first.body.id as string, 'ready');
  });

  it('refuses the same key with a different request (422), and keys are per credential', async () => {
    const key = `reuse-${Date.now()}`;
    await tenant.client.request(
      'POST',
      '/v1/users',
      { email: `${key}@example.com`, name: 'A' },
      { 'idempotency-key': key },
    );
    const other = await tenant.client.request(
      'POST',
      '/v1/users',
      { email: `${key}-2@example.com`, name: 'B' },
      { 'idempotency-key': key },
    );
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const otherTenant = await t.createTenant();
    const elsewhere = await otherTenant.client.request(
      'POST',
      '/v1/users',
      { email: `${key}@example.com`, name: 'A' },
      { 'idempotency-key': key },
    );
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.headers.get('idempotent-replayed')).toBeNull();
  });

  it('authenticates first: no credentials or a wrong one get 401 before the key is looked at', async () => {
    const malformed = { 'idempotency-key': 'x'.repeat(300) };
    const body = { email: 'anon@example.com', name: 'Anon' };
    const missing = await t.anonymous.request('POST', '/v1/users', body, malformed);
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('missing_credentials');
    const wrong = await t.anonymous
      .as('plk_0000000000000000_x')
      .request('POST', '/v1/users', body, malformed);
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    const wrongAdmin = await t.anonymous
      .as('not-the-admin-token')
      .request('POST', '/v1/tenants', body, malformed);
    expect(wrongAdmin.status).toBe(401);
  });

  it('does not keep answers to unauthenticated requests', async () => {
    const key = `anon-${Date.now()}`;
    const body = { email: `${key}@example.com`, name: 'Later' };
    const refused = await t.anonymous
      .as('plk_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro')
      .request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(refused.status).toBe(401);
    const real = await tenant.client.request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(real.status).toBe(201);
    expect(real.headers.get('idempotent-replayed')).toBeNull();
    const stored = await t.api.platform.redis.keys('platform:idempotency:*');
    expect(stored.every((k) => /^platform:idempotency:(admin|key:[0-9a-f-]{36}):[0-9a-f]{64}$/.test(k))).toBe(
      true,
    );
  });

  it('scopes keys by the authenticated principal: another key of the same tenant is not replayed', async () => {
    const second = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, {
      name: 'second',
      scopes: ['read', 'write'],
    });
    expect(second.status).toBe(201);
    const other = tenant.client.as(second.body.key as string);
    const key = `principal-${Date.now()}`;
    const body = { email: `${key}@example.com`, name: 'P' };
    const first = await tenant.client.request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    // Same request, same Idempotency-Key, other principal: it runs (and meets the first user).
    const again = await other.request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('email_taken');
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });

  it('gives a revoked key 401, not its stored responses', async () => {
    const created = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, {
      name: 'to-revoke',
      scopes: ['read', 'write'],
    });
    const client = tenant.client.as(created.body.key as string);
    const key = `revoked-${Date.now()}`;
    const body = { email: `${key}@example.com`, name: 'R' };
    const first = await client.request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const revoked = await t.admin.delete(`/v1/tenants/${tenant.id}/api-keys/${created.body.id as string}`);
    expect(revoked.status).toBe(204);
    const replay = await client.request('POST', '/v1/users', body, { 'idempotency-key': key });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('idempotent-replayed')).toBeNull();
  });

  it('never keeps a created API key: the key is not in Redis and a replay answers 409', async () => {
    const key = `apikey-${Date.now()}`;
    const body = { name: 'once', scopes: ['read'] };
    const path = `/v1/tenants/${tenant.id}/api-keys`;
    const first = await t.admin.request('POST', path, body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const secret = first.body.key as string;
    expect(secret).toMatch(/^plk_/);
    const redis = t.api.platform.redis;
    for (const k of await redis.keys('platform:idempotency:*')) {
      expect(await redis.get(k)).not.toContain(secret.slice(-43));
    }
    const replay = await t.admin.request('POST', path, body, { 'idempotency-key': key });
    expect(replay.status).toBe(409);
    expect(replay.headers.get('content-type')).toContain('application/problem+json');
    expect(replay.body.code).toBe('idempotency_secret_not_replayable');
    expect(JSON.stringify(replay.body)).not.toContain(secret.slice(-43));
    const keys = await t.admin.get<{ data: Array<{ name: string }> }>(`${path}?limit=200`);
    expect(keys.body.data.filter((k) => k.name === 'once')).toHaveLength(1);
    // A failed creation (no such tenant) carries no secret and is replayed as usual.
    const missing = `/v1/tenants/00000000-0000-4000-8000-000000000000/api-keys`;
    const notFound = await t.admin.request('POST', missing, body, { 'idempotency-key': `${key}-404` });
    expect(notFound.status).toBe(404);
    const notFoundAgain = await t.admin.request('POST', missing, body, { 'idempotency-key': `${key}-404` });
    expect(notFoundAgain.status).toBe(404);
    expect(notFoundAgain.headers.get('idempotent-replayed')).toBe('true');
  });

  it('keeps bodies up to IDEMPOTENCY_MAX_RESPONSE_BYTES; a larger response is not run again (409)', async () => {
    const small = await startApi(testConfig({ IDEMPOTENCY_MAX_RESPONSE_BYTES: '64' }));
    try {
      const client = new TestClient(small, tenant.key);
      const key = `large-${Date.now()}`;
      const body = { email: `${key}@example.com`, name: 'Large enough to pass 64 bytes' };
      const first = await client.request('POST', '/v1/users', body, { 'idempotency-key': key });
      expect(first.status).toBe(201);
      expect(JSON.stringify(first.body).length).toBeGreaterThan(64);
      const replay = await client.request('POST', '/v1/users', body, { 'idempotency-key': key });
      expect(replay.status).toBe(409);
      expect(replay.body.code).toBe('idempotency_response_too_large');
      const list = await tenant.client.get<{ data: Array<{ email: string }> }>('/v1/users?limit=200');
      expect(list.body.data.filter((u) => u.email === body.email)).toHaveLength(1);
    } finally {
      await small.stop();
    }
  });

  it('answers a body nested too deep for JSON.stringify with a 4xx, not a 500', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const raw = `{"email":"deep@example.com","name":"Deep","x":${deep}}`;
    const headers = { 'content-type': 'application/json' };
    const user = await tenant.client.request('POST', '/v1/users', raw, {
      ...headers,
      'idempotency-key': `deep-${Date.now()}`,
    });
    expect(user.status).toBeGreaterThanOrEqual(400);
    expect(user.status).toBeLessThan(500);
    const events = `{"events":[{"type":"deep","occurred_at":"${new Date().toISOString()}","payload":${deep}}]}`;
    const ingest = await tenant.client.request('POST', '/v1/events', events, {
      ...headers,
      'idempotency-key': `deep-events-${Date.now()}`,
    });
    expect(ingest.status).toBe(422);
    expect(ingest.body.code).toBe('validation_failed');
  });

  it('forgets a 429, so a retry with the same key runs again', async () => {
    const free = await t.createTenant({ plan: 'free' });
    const now = new Date().toISOString();
    const batch = (n: number) => ({
      events: Array.from({ length: n }, () => ({ type: 'x', occurred_at: now })),
    });
    for (let sent = 0; sent < PLANS.free.limits.eventsPerDay; sent += 1000) {
      expect((await free.client.post('/v1/events', batch(1000))).status).toBe(201);
    }
    const key = `quota-${Date.now()}`;
    const refused = await free.client.request('POST', '/v1/events', batch(1), { 'idempotency-key': key });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'quota_exceeded', requested: 1 });
    // Had the 429 been kept, another body with the key would be 422 idempotency_key_reused.
    const again = await free.client.request('POST', '/v1/events', batch(2), { 'idempotency-key': key });
    expect(again.status).toBe(429);
    expect(again.body).toMatchObject({ code: 'quota_exceeded', requested: 2 });
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });

  it('rejects a malformed key', async () => {
    const res = await tenant.client.request(
      'POST',
      '/v1/users',
      { email: 'x@example.com', name: 'X' },
      {
        'idempotency-key': 'x'.repeat(300),
      },
    );
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
  });
});

describe('CORS', () => {
  it('answers preflights and exposes headers for configured origins only', async () => {
    const ok = await fetch(`${t.api.url}/v1/users`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    expect(ok.headers.get('access-control-allow-headers')).toContain('idempotency-key');

    const get = await fetch(`${t.api.url}/healthz`, { headers: { origin: 'https://app.example.test' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    expect(get.headers.get('access-control-expose-headers')).toContain('x-request-id');

    const other = await fetch(`${t.api.url}/healthz`, { headers: { origin: 'https://evil.example.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
