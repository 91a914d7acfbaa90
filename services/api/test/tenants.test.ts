import { createDatabase, schemaForSlug } from '@platform/core';
import { testDatabaseUrl } from '@platform/core/testing';
import { loadWorkerConfig, startWorker } from '@platform/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reply, startTestApi, type TestApi, uniqueSlug } from './helpers.js';

let t: TestApi;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t.stop();
  await db.destroy();
});

async function schemaExists(schema: string): Promise<boolean> {
  const res = await db.raw<{ rows: unknown[] }>('select 1 from pg_namespace where nspname = ?', [schema]);
  return res.rows.length > 0;
}

describe('tenant lifecycle', () => {
  it('creates a tenant: 202 with Location, provisioning, then ready', async () => {
    const slug = uniqueSlug('acme');
    const res = await t.admin.post('/v1/tenants', { slug, name: 'Acme', plan: 'enterprise' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ slug, name: 'Acme', plan: 'enterprise', status: 'provisioning' });
    expect(res.headers.get('location')).toBe(`/v1/tenants/${res.body.id}`);

    const ready = await t.waitForStatus(res.body.id as string, 'ready');
    expect(ready).toMatchObject({ id: res.body.id, namespace: `tenant-${slug}`, last_error: null });
    expect(await schemaExists(schemaForSlug(slug))).toBe(true);
  });

  it('creates exactly one tenant when 20 requests race for one slug; the rest get 409', async () => {
    const slug = uniqueSlug('race');
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => t.admin.post('/v1/tenants', { slug, name: 'Race' })),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(replies.find((r) => r.status === 409)?.body.code).toBe('tenant_exists');
    const rows = await db.withSchema('platform').table('tenants').where({ slug });
    expect(rows).toHaveLength(1);
    await t.waitForStatus(rows[0].id, 'ready');
  });

  it('lists tenants with cursor pagination, each exactly once', async () => {
    const created = [];
    for (let i = 0; i < 3; i++)
      created.push((await t.admin.post('/v1/tenants', { slug: uniqueSlug(), name: 'P' })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: Array<{ id: string }>; next_cursor: string | null } } =
        await t.admin.get(`/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((x) => x.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of created) expect(seen).toContain(id);
  });

  it('gets a tenant; unknown and malformed ids are 404', async () => {
    const { id } = await t.createTenant();
    expect((await t.admin.get(`/v1/tenants/${id}`)).body.id).toBe(id);
    expect((await t.admin.get('/v1/tenants/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await t.admin.get('/v1/tenants/not-a-uuid')).status).toBe(404);
  });

  it('deletes a tenant: keys stop working at once, then the schema and partman config are gone', async () => {
    const tenant = await t.createTenant();
    expect((await tenant.client.get('/v1/users')).status).toBe(200);

    const res = await t.admin.delete(`/v1/tenants/${tenant.id}`);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('deleting');
    expect((await tenant.client.get('/v1/users')).status).toBe(401);
    // Gone from the API at once: 404 under its paths, not listed, a second delete is 404.
    expect((await t.admin.get(`/v1/tenants/${tenant.id}`)).status).toBe(404);
    expect((await t.admin.get(`/v1/tenants/${tenant.id}/api-keys`)).status).toBe(404);
    expect((await t.admin.delete(`/v1/tenants/${tenant.id}`)).status).toBe(404);
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply<{ data: Array<{ id: string }>; next_cursor: string | null }> = await t.admin.get(
        `/v1/tenants?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
      );
      listed.push(...page.body.data.map((x) => x.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed).not.toContain(tenant.id);

    await t.waitForStatus(tenant.id, 'deleted');
    const schema = schemaForSlug(tenant.slug);
    expect(await schemaExists(schema)).toBe(false);
    const config = await db.raw<{ rows: unknown[] }>(
      'select 1 from partman.part_config where parent_table = ?',
      [`${schema}.events`],
    );
    expect(config.rows).toHaveLength(0);
    const keys = await db.withSchema('platform').table('api_keys').where({ tenant_id: tenant.id });
    expect(keys.every((k: { revoked_at: Date | null }) => k.revoked_at !== null)).toBe(true);
    const audit = await db
      .withSchema('platform')
      .table('audit_log')
      .where({ tenant_id: tenant.id })
      .pluck('action');
    expect(audit).toEqual(
      expect.arrayContaining(['tenant.created', 'tenant.delete_requested', 'tenant.deleted']),
    );
    expect((await t.admin.get(`/v1/tenants/${tenant.id}`)).status).toBe(404);

    // The slug is free again.
    const again = await t.admin.post('/v1/tenants', { slug: tenant.slug, name: 'Again' });
    expect(again.status).toBe(202);
    await t.waitForStatus(again.body.id as string, 'ready');
  });

  it('shows a failed provisioning with its error, and a retry makes it ready', async () => {
    const slug = uniqueSlug('fail');
    const schema = schemaForSlug(slug);
    // An object in the way makes the users migration fail.
    await db.raw(`create schema "${schema}"`);
    await db.raw(`create table "${schema}".users (id int)`);

    const res = await t.admin.post('/v1/tenants', { slug, name: 'Fails' });
    const failed = await t.waitForStatus(res.body.id as string, 'failed');
    expect(failed.last_error).toMatch(/already exists/);

    const notFailed = await t.createTenant();
    expect((await t.admin.post(`/v1/tenants/${notFailed.id}/retry`)).status).toBe(409);

    await db.raw(`drop table "${schema}".users`);
    const retry = await t.admin.post(`/v1/tenants/${res.body.id}/retry`);
    expect(retry.status).toBe(202);
    const ready = await t.waitForStatus(res.body.id as string, 'ready');
    expect(ready.last_error).toBeNull();
  });

  it('resumes tenants left in provisioning when a worker starts', async () => {
    const slug = uniqueSlug('resume');
    // A tenant row whose provisioning task was never published (its API died right after the insert).
    const [row] = await db
      .withSchema('platform')
      .table('tenants')
      .insert({
        slug,
        name: 'Resume',
        plan: 'standard',
        status: 'provisioning',
        schema_name: schemaForSlug(slug),
        namespace: `tenant-${slug}`,
      })
      .returning('id');
    // A worker with its scheduler on, consuming this API's queues, picks it up at start.
    const config = t.api.platform.config;
    const other = await startWorker(
      loadWorkerConfig({
        DATABASE_URL: config.databaseUrl,
        DATABASE_OWNER_URL: testDatabaseUrl(),
        REDIS_URL: config.redisUrl,
        QUEUE_ML: config.queues.ml,
        QUEUE_PLATFORM: config.queues.platform,
        HTTP_PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      }),
    );
    try {
      await t.waitForStatus(row.id, 'ready');
    } finally {
      await other.stop();
    }
  });
});
