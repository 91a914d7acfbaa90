import { buildEnvelope } from '@platform/celery';
import { waitFor } from '@platform/core/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestTenant } from './helpers.js';

let t: TestApi;
let tenant: TestTenant;
let redis: Redis;

beforeAll(async () => {
  t = await startTestApi();
  tenant = await t.createTenant();
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
});

afterAll(async () => {
  const queue = t?.api.platform.config.queues.platform;
  if (queue) await redis?.del(queue, `${queue}.dead`);
  await redis?.quit();
  await t?.stop();
});

type Problem = { code: string; detail: string; errors?: Array<{ field: string }> };
type AuditEntry = {
  action: string;
  actor: string;
  tenant_id: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
};

describe('GET /v1/audit', () => {
  it("lists a tenant's entries newest first, by action prefix, page by page", async () => {
    const all = await t.admin.get<{ data: Array<{ action: string; id: number }> }>(
      `/v1/audit?tenant_id=${tenant.id}`,
    );
    expect(all.status).toBe(200);
    const actions = all.body.data.map((e) => e.action);
    expect(actions).toEqual(['api_key.created', 'tenant.provisioned', 'tenant.created']);

    const tenantOnly = await t.admin.get<{ data: Array<{ action: string }> }>(
      `/v1/audit?tenant_id=${tenant.id}&action=tenant.*`,
    );
    expect(tenantOnly.body.data.map((e) => e.action)).toEqual(['tenant.provisioned', 'tenant.created']);
    const exact = await t.admin.get<{ data: Array<{ action: string }> }>(
      `/v1/audit?tenant_id=${tenant.id}&action=tenant.created`,
    );
    expect(exact.body.data.map((e) => e.action)).toEqual(['tenant.created']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: Array<{ action: string }>; next_cursor: string | null } } =
        await t.admin.get(
          `/v1/audit?tenant_id=${tenant.id}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(1);
      seen.push(...page.body.data.map((e) => e.action));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(actions);
  });

  it('filters by time', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await t.admin.get<{ data: unknown[] }>(`/v1/audit?tenant_id=${tenant.id}&from=${future}`);
    expect(none.body.data).toEqual([]);
    const before = await t.admin.get<{ data: unknown[] }>(`/v1/audit?tenant_id=${tenant.id}&to=${future}`);
    expect(before.body.data).toHaveLength(3);
    // A range with `from` not before `to` is empty, not an error.
    const empty = await t.admin.get<{ data: unknown[] }>(
      `/v1/audit?tenant_id=${tenant.id}&from=${future}&to=${future}`,
    );
    expect(empty.status).toBe(200);
    expect(empty.body.data).toEqual([]);
  });

  it('answers bad filters with 422 problem+json, and needs the admin token', async () => {
    for (const [query, field] of [
      ['tenant_id=nope', 'query.tenant_id'],
      ['action=DROP%20TABLE', 'query.action'],
      ['from=yesterday', 'query.from'],
      ['cursor=bm90LWEtY3Vyc29y', 'query.cursor'],
      ['limit=0', 'query.limit'],
    ] as const) {
      const res = await t.admin.get<Problem>(`/v1/audit?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(res.body.errors), query).toContain(field.replace('query.', ''));
    }
    expect((await t.anonymous.get('/v1/audit')).status).toBe(401);
    expect((await tenant.client.get('/v1/audit')).status).toBe(401);
  });
});

describe('queues and dead letters', () => {
  type Letter = {
    id: string;
    task: string | null;
    reason: string;
    tenant_id: string | null;
    requeueable: boolean;
  };
  const deadLetters = async () =>
    (await t.admin.get<{ data: Letter[]; total: number }>('/v1/queues/platform/dead-letters')).body;

  it('lists the queues with their depth and dead letters', async () => {
    const res = await t.admin.get<{
      data: Array<{ kind: string; name: string; depth: number; dead_letters: number }>;
    }>('/v1/queues');
    expect(res.status).toBe(200);
    expect(res.body.data.map((q) => q.kind)).toEqual(['ml', 'platform']);
    expect(res.body.data[1]?.name).toBe(t.api.platform.config.queues.platform);
    expect((await t.anonymous.get('/v1/queues')).status).toBe(401);
  });

  it('shows what the worker dead-lettered, requeues it onto its queue, and discards it', async () => {
    const queue = t.api.platform.config.queues.platform;
    // A task this worker does not know: the worker dead-letters it (`unknown_task`).
    const envelope = buildEnvelope({ task: 'platform.not_a_task', queue, kwargs: { tenant_id: tenant.id } });
    await redis.lpush(queue, JSON.stringify(envelope));
    const first = await waitFor('the dead letter', async () => (await deadLetters()).data[0]);
    expect(first).toMatchObject({
      task: 'platform.not_a_task',
      reason: 'unknown_task',
      tenant_id: tenant.id,
      requeueable: true,
    });
    const queues = await t.admin.get<{ data: Array<{ kind: string; dead_letters: number }> }>('/v1/queues');
    expect(queues.body.data.find((q) => q.kind === 'platform')?.dead_letters).toBe(1);

    const requeued = await t.admin.post<Letter>(`/v1/queues/platform/dead-letters/${first.id}/requeue`);
    expect(requeued.status).toBe(200);
    expect(requeued.body.id).toBe(first.id);
    // Gone from the list; a second requeue of the same letter finds nothing.
    const again = await t.admin.post<Problem>(`/v1/queues/platform/dead-letters/${first.id}/requeue`);
    expect(again.status).toBe(404);
    // The worker took it from the queue again (and, not knowing it, dead-lettered it anew).
    const second = await waitFor('the requeued message to be dead-lettered again', async () => {
      const letter = (await deadLetters()).data[0];
      return letter && letter.id !== first.id ? letter : undefined;
    });
    expect(second.task).toBe('platform.not_a_task');
    expect((await redis.lrange(`${queue}.dead`, 0, -1)).map((r) => JSON.parse(r).headers.retries)).toEqual([
      0,
    ]);

    const discarded = await t.admin.delete<Letter>(`/v1/queues/platform/dead-letters/${second.id}`);
    expect(discarded.status).toBe(200);
    expect((await deadLetters()).total).toBe(0);
    expect((await t.admin.delete(`/v1/queues/platform/dead-letters/${second.id}`)).status).toBe(404);

    // Both actions are in the audit log, by the admin, under the tenant the message names; the
    // refused second requeue and second discard left no entry.
    const audit = await t.admin.get<{ data: AuditEntry[] }>(
      `/v1/audit?tenant_id=${tenant.id}&action=dead_letter.*`,
    );
    expect(audit.status).toBe(200);
    expect(audit.body.data.map((e) => [e.action, e.details.dead_letter_id])).toEqual([
      ['dead_letter.discarded', second.id],
      ['dead_letter.requeued', first.id],
    ]);
    for (const entry of audit.body.data) {
      expect(entry).toMatchObject({
        actor: 'admin',
        tenant_id: tenant.id,
        details: { queue: 'platform', task: 'platform.not_a_task', reason: 'unknown_task' },
      });
      expect(entry.request_id).toMatch(/\S/);
    }
    expect(audit.body.data[1]?.request_id).toBe(requeued.headers.get('x-request-id'));
  });

  it('keeps an unparseable message: it can only be discarded', async () => {
    const queue = t.api.platform.config.queues.platform;
    await redis.lpush(queue, 'not json at all');
    const letter = await waitFor('the unparseable dead letter', async () => (await deadLetters()).data[0]);
    expect(letter).toMatchObject({ reason: 'unparseable', task: null, requeueable: false });
    const requeue = await t.admin.post<Problem>(`/v1/queues/platform/dead-letters/${letter.id}/requeue`);
    expect(requeue.status).toBe(409);
    expect(requeue.body.code).toBe('dead_letter_not_requeueable');
    expect((await deadLetters()).total).toBe(1);
    expect((await t.admin.delete(`/v1/queues/platform/dead-letters/${letter.id}`)).status).toBe(200);
    expect((await deadLetters()).total).toBe(0);
    // Audited without a tenant (the message names none); the refused requeue left no entry.
    const audit = await t.admin.get<{ data: AuditEntry[] }>('/v1/audit?action=dead_letter.*&limit=100');
    const entries = audit.body.data.filter((e) => e.details.dead_letter_id === letter.id);
    expect(entries.map((e) => [e.action, e.tenant_id, e.details.reason])).toEqual([
      ['dead_letter.discarded', null, 'unparseable'],
    ]);
  });

  it('answers bad input with 4xx problem+json', async () => {
    const bad = await t.admin.post<Problem>('/v1/queues/platform/dead-letters/xyz/requeue');
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const noQueue = await t.admin.get<Problem>('/v1/queues/nope/dead-letters');
    expect(noQueue.status).toBe(422);
    const limit = await t.admin.get<Problem>('/v1/queues/ml/dead-letters?limit=500');
    expect(limit.status).toBe(422);
    const missing = await t.admin.delete<Problem>(`/v1/queues/ml/dead-letters/${'0'.repeat(32)}`);
    expect(missing.status).toBe(404);
  });
});

describe('GET /v1/tenants?slug=', () => {
  it('keeps the tenants whose slug contains the text, and refuses a bad filter', async () => {
    const part = tenant.slug.slice(2);
    const res = await t.admin.get<{ data: Array<{ id: string }> }>(`/v1/tenants?slug=${part}`);
    expect(res.body.data.map((x) => x.id)).toEqual([tenant.id]);
    const bad = await t.admin.get<Problem>('/v1/tenants?slug=%25');
    expect(bad.status).toBe(422);
  });
});
