import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestTenant } from './helpers.js';

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
