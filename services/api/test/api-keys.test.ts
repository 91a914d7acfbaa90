import { createDatabase } from '@platform/core';
import { testDatabaseUrl } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.js';

let t: TestApi;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t.stop();
  await db.destroy();
});

describe('API keys', () => {
  it('shows the secret once and stores only a hash of it', async () => {
    const tenant = await t.createTenant();
    const created = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, { name: 'ci', scopes: ['read'] });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^plk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({
      name: 'ci',
      scopes: ['read'],
      tenant_id: tenant.id,
      revoked_at: null,
    });

    const listed = await t.admin.get<{ data: Array<Record<string, unknown>> }>(
      `/v1/tenants/${tenant.id}/api-keys`,
    );
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k) => k.id)).toContain(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(key.slice(21));

    const row = await db.withSchema('platform').table('api_keys').where({ id: created.body.id }).first();
    expect(JSON.stringify(row)).not.toContain(key.slice(21));
    expect(Buffer.isBuffer(row.secret_hash) && row.secret_hash.length).toBe(32);
  });

  it('enforces scopes: a read key reads but cannot write (403)', async () => {
    const tenant = await t.createTenant({ scopes: ['read'] });
    expect((await tenant.client.get('/v1/users')).status).toBe(200);
    const write = await tenant.client.post('/v1/users', { email: 'a@example.com', name: 'A' });
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('insufficient_scope');
  });

  it('refuses a revoked key at once (401), and revoking twice is harmless', async () => {
    const tenant = await t.createTenant();
    const keys = await t.admin.get<{ data: Array<{ id: string }> }>(`/v1/tenants/${tenant.id}/api-keys`);
    const keyId = keys.body.data[0]?.id;
    expect((await tenant.client.get('/v1/users')).status).toBe(200);
    expect((await t.admin.delete(`/v1/tenants/${tenant.id}/api-keys/${keyId}`)).status).toBe(204);
    const after = await tenant.client.get('/v1/users');
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('invalid_credentials');
    expect((await t.admin.delete(`/v1/tenants/${tenant.id}/api-keys/${keyId}`)).status).toBe(204);
    expect((await t.admin.delete(`/v1/tenants/${tenant.id}/api-keys/not-a-key`)).status).toBe(404);
  });

  it('propagates a revocation to the key cache of another API replica', async () => {
    const tenant = await t.createTenant();
    const replica = await startTestApi();
    try {
      const viaReplica = replica.anonymous.as(tenant.key);
      expect((await viaReplica.get('/v1/users')).status).toBe(200); // cached in the replica now
      const keys = await t.admin.get<{ data: Array<{ id: string }> }>(`/v1/tenants/${tenant.id}/api-keys`);
      await t.admin.delete(`/v1/tenants/${tenant.id}/api-keys/${keys.body.data[0]?.id}`);
      const deadline = Date.now() + 5000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) status = (await viaReplica.get('/v1/users')).status;
      expect(status).toBe(401);
    } finally {
      await replica.stop();
    }
  });

  it('rejects wrong and malformed credentials with 401, and keys on admin routes', async () => {
    const tenant = await t.createTenant();
    const forged = `${tenant.key.slice(0, -4)}AAAA`;
    for (const token of [forged, 'plk_nothing', 'x'.repeat(500)]) {
      const res = await t.anonymous.as(token).get('/v1/users');
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(
      (await t.anonymous.request('GET', '/v1/users', undefined, { authorization: 'Basic abc' })).status,
    ).toBe(401);
    expect((await tenant.client.get('/v1/tenants')).status).toBe(401);
    expect((await t.admin.get('/v1/users')).status).toBe(401);
  });

  it('validates key creation input', async () => {
    const tenant = await t.createTenant();
    const bad = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, { name: 'x', scopes: ['admin'] });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');
    const none = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, { name: 'x', scopes: [] });
    expect(none.status).toBe(422);
    const unknown = await t.admin.post('/v1/tenants/00000000-0000-0000-0000-000000000000/api-keys', {
      name: 'x',
      scopes: ['read'],
    });
    expect(unknown.status).toBe(404);
  });
});
