import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APIError,
  AuthenticationError,
  ConflictError,
  NotFoundError,
  type Page,
  PermissionDeniedError,
  PlatformAdminClient,
  PlatformError,
  RateLimitError,
  type Tenant,
  UnprocessableEntityError,
  type User,
} from '../src/index.js';
import { type LiveApi, type LiveTenant, startLiveApi, uniqueSlug } from './support/live-api.js';
import { waitUntil } from './support/wait.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

let live: LiveApi;
let main: LiveTenant;

beforeAll(async () => {
  live = await startLiveApi();
  main = await live.createTenant();
});
afterAll(async () => {
  await live?.stop();
});

describe('full flow against the live API', () => {
  it('admin: creates a tenant with createAndWait, lists tenants page by page and by iteration', async () => {
    const slug = uniqueSlug();
    const tenant = await live.admin.tenants.createAndWait({ slug, name: 'Flow Inc', plan: 'free' });
    expect(tenant).toMatchObject({ slug, name: 'Flow Inc', plan: 'free', status: 'ready', last_error: null });
    expect(await live.admin.tenants.get(tenant.id)).toEqual(tenant);

    const first: Page<Tenant> = await live.admin.tenants.list({ limit: 1 }).firstPage();
    expect(first.data).toHaveLength(1);
    expect(first.hasNextPage()).toBe(true);
    const second = await first.nextPage();
    expect(second?.data).toHaveLength(1);
    expect(second?.data[0]?.id).not.toBe(first.data[0]?.id);

    const ids: string[] = [];
    for await (const t of live.admin.tenants.list({ limit: 1 })) ids.push(t.id);
    expect(ids).toEqual(expect.arrayContaining([tenant.id, main.tenant.id]));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('admin: creates, lists and revokes API keys; a revoked key gets AuthenticationError', async () => {
    const { tenant, client } = main;
    const created = await live.admin.apiKeys.create(tenant.id, { name: 'temporary', scopes: ['read'] });
    expect(created.key).toMatch(/^plk_/);
    expect(created).toMatchObject({
      tenant_id: tenant.id,
      name: 'temporary',
      scopes: ['read'],
      revoked_at: null,
    });
    const keys = await live.admin.apiKeys.list(tenant.id).toArray();
    expect(keys.map((k) => k.id)).toEqual(expect.arrayContaining([created.id]));
    expect(keys.find((k) => k.id === created.id)).not.toHaveProperty('key');

    const temporary = live.clientFor(created.key);
    expect((await temporary.users.list().firstPage()).data).toBeInstanceOf(Array);
    await live.admin.apiKeys.revoke(tenant.id, created.id);
    const err = await temporary.users
      .list()
      .firstPage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_credentials' });
    // the tenant's other key is unaffected
    await expect(client.users.list().firstPage()).resolves.toBeDefined();
  });

  it('users: create, get, update, list (auto-pagination and pages), delete', async () => {
    const { client } = await live.createTenant();
    const made: User[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(await client.users.create({ email: `user${i}@example.com`, name: `User ${i}` }));
    }
    const [u0] = made as [User];
    expect(u0).toMatchObject({ email: 'user0@example.com', name: 'User 0', id: expect.any(String) });
    expect(await client.users.get(u0.id)).toEqual(u0);

    const updated = await client.users.update(u0.id, { name: 'Renamed' });
    expect(updated).toMatchObject({ id: u0.id, name: 'Renamed', email: 'user0@example.com' });

    const iterated: string[] = [];
    for await (const user of client.users.list({ limit: 2 })) iterated.push(user.email);
    expect(iterated).toEqual(made.map((u) => u.email)); // oldest first, across 3 pages

    const pageSizes: number[] = [];
    for await (const page of client.users.list({ limit: 2 }).pages()) pageSizes.push(page.data.length);
    expect(pageSizes).toEqual([2, 2, 1]);

    let page: Page<User> | null = await client.users.list({ limit: 4 }).firstPage();
    expect(page.data).toHaveLength(4);
    page = await page.nextPage();
    expect(page?.data.map((u) => u.email)).toEqual(['user4@example.com']);
    expect(page?.hasNextPage()).toBe(false);
    expect(await page?.nextPage()).toBeNull();

    await client.users.delete(u0.id);
    await expect(client.users.get(u0.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.users.list().toArray()).toHaveLength(4);
  });

  it('events: ingest, then query with filters and pagination', async () => {
    const { client } = main;
    const user = await client.users.create({ email: `events-${Date.now()}@example.com`, name: 'Eve' });
    const base = Date.now() - 60 * 60_000;
    const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
    const result = await client.events.ingest({
      events: [
        { type: 'page.viewed', occurred_at: at(1), user_id: user.id, payload: { path: '/a' } },
        { type: 'page.viewed', occurred_at: at(2), payload: { path: '/b' } },
        { type: 'signup', occurred_at: at(3), user_id: user.id },
      ],
    });
    expect(result).toEqual({ accepted: 3 });

    const all = await client.events.query({ from: new Date(base), to: new Date() }).toArray();
    expect(all.map((e) => e.type)).toEqual(['page.viewed', 'page.viewed', 'signup']);
    expect(all[0]).toMatchObject({ user_id: user.id, payload: { path: '/a' } });

    const views = await client.events.query({ from: at(0), type: 'page.viewed', limit: 1 }).toArray();
    expect(views.map((e) => e.payload)).toEqual([{ path: '/a' }, { path: '/b' }]);
  });

  it('models: lists the ml-gateway models', async () => {
    const { data } = await main.client.models.list();
    expect(data.map((m) => m.name)).toEqual(expect.arrayContaining(['iris']));
    expect(data.find((m) => m.name === 'iris')?.input_schema.count).toBe(4);
  });

  it('predictions: createAndWait polls until succeeded; get and list show it', async () => {
    const { client } = main;
    const done = await client.predictions.createAndWait(
      { model: 'iris', inputs: [SETOSA, VIRGINICA] },
      { timeoutMs: 60_000, pollIntervalMs: 50 },
    );
    expect(done).toMatchObject({ status: 'succeeded', model: 'iris', error: null });
    expect(done.output?.predictions).toEqual(['setosa', 'virginica']);
    expect(await client.predictions.get(done.id)).toEqual(done);
    const listed = await client.predictions.list({ limit: 50 }).toArray();
    expect(listed.map((p) => p.id)).toContain(done.id);

    const queued = await client.predictions.create({ model: 'iris', inputs: [SETOSA] });
    expect(queued).toEqual({ id: expect.any(String), status: 'queued' });
    const waited = await client.predictions.wait(queued.id, { timeoutMs: 60_000, pollIntervalMs: 50 });
    expect(waited.status).toBe('succeeded');
  });

  it('admin: deletes a tenant (202); its key stops working', async () => {
    const doomed = await live.createTenant();
    const deleting = await live.admin.tenants.delete(doomed.tenant.id);
    expect(deleting.id).toBe(doomed.tenant.id);
    expect(['deleting', 'deleted']).toContain(deleting.status);
    await expect(doomed.client.users.list().firstPage()).rejects.toBeInstanceOf(AuthenticationError);
    const gone = await waitUntil('the tenant to be gone', async () => {
      const err = await live.admin.tenants.get(doomed.tenant.id).catch((e: unknown) => e);
      return err instanceof NotFoundError ? err : undefined;
    });
    expect(gone.code).toBe('not_found');
  });
});

describe('typed errors from the live API', () => {
  it('404: NotFoundError with code, problem details and the request id', async () => {
    const err = await main.client.users.get(MISSING_ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toBeInstanceOf(PlatformError);
    const e = err as NotFoundError;
    expect(e.name).toBe('NotFoundError');
    expect(e.status).toBe(404);
    expect(e.code).toBe('not_found');
    expect(e.problem).toMatchObject({
      type: 'urn:platform:problem:not_found',
      status: 404,
      code: 'not_found',
    });
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.problem.request_id).toBe(e.requestId);
    expect(e.headers.get('x-request-id')).toBe(e.requestId);
    expect(e.message).toContain(e.requestId as string);
  });

  it('422: UnprocessableEntityError listing the invalid fields', async () => {
    const err = await main.client.users.create({ email: 'not-an-email', name: '' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnprocessableEntityError);
    const e = err as UnprocessableEntityError;
    expect(e.code).toBe('validation_failed');
    expect(e.errors.map((f) => f.field)).toEqual(expect.arrayContaining(['body.email', 'body.name']));
    expect(e.problem.errors).toEqual(e.errors);

    const badLimit = await main.client.users
      .list({ limit: 100_000 })
      .firstPage()
      .catch((x: unknown) => x);
    expect(badLimit).toBeInstanceOf(UnprocessableEntityError);
    expect((badLimit as UnprocessableEntityError).errors.map((f) => f.field)).toContain('query.limit');
  });

  it('401: AuthenticationError for a wrong API key and a wrong admin token', async () => {
    const wrong = live.clientFor('plk_wrong');
    const err = await wrong.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_credentials' });

    const admin = new PlatformAdminClient({ adminToken: 'wrong', baseUrl: live.url });
    await expect(admin.tenants.list().firstPage()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('403: PermissionDeniedError for a read-only key that writes', async () => {
    const created = await live.admin.apiKeys.create(main.tenant.id, { name: 'reader', scopes: ['read'] });
    const reader = live.clientFor(created.key);
    const err = await reader.users.create({ email: 'r@example.com', name: 'R' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err).toMatchObject({ status: 403, code: 'insufficient_scope' });
  });

  it('409: ConflictError for a taken email and a taken tenant slug', async () => {
    const email = `dup-${Date.now()}@example.com`;
    await main.client.users.create({ email, name: 'First' });
    const err = await main.client.users.create({ email, name: 'Second' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ status: 409, code: 'email_taken' });

    const taken = await live.admin.tenants
      .create({ slug: main.tenant.slug, name: 'Again' })
      .catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(ConflictError);
    expect(taken).toMatchObject({ code: 'tenant_exists' });
  });
});

describe('usage and plans against the live API', () => {
  const today = () => new Date().toISOString().slice(0, 10);

  it('usage.get and admin tenants.usage report the day; tenants.update changes the plan', async () => {
    const mine = await live.createTenant();
    expect(
      await mine.client.events.ingest({
        events: [{ type: 'sdk.usage', occurred_at: new Date().toISOString() }],
      }),
    ).toEqual({
      accepted: 1,
    });
    const report = await mine.client.usage.get();
    expect(report).toMatchObject({ tenant_id: mine.tenant.id, plan: 'standard', to: today() });
    expect(report.daily).toHaveLength(30);
    expect(report.daily.at(-1)).toEqual({
      day: today(),
      api_requests: 2,
      events: 1,
      predictions: 0,
      prediction_instances: 0,
    });
    expect(report.current.quotas.map((q) => [q.quota, q.used])).toEqual([
      ['events_per_day', 1],
      ['predictions_per_day', 0],
      ['users', 0],
    ]);

    const admin = await live.admin.tenants.usage(mine.tenant.id, { from: new Date(), to: new Date() });
    expect(admin.daily).toEqual([report.daily.at(-1)]);

    const updated = await live.admin.tenants.update(mine.tenant.id, { plan: 'free', name: 'Downgraded' });
    expect(updated).toMatchObject({ id: mine.tenant.id, plan: 'free', name: 'Downgraded' });
    const after = await mine.client.usage.get({ from: today() });
    expect(after.plan).toBe('free');
    expect(after.current.quotas[0]).toMatchObject({ quota: 'events_per_day', limit: 10_000, used: 1 });

    const bad = await mine.client.usage.get({ from: 'last week' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UnprocessableEntityError);
  });

  it('quota_exceeded: a RateLimitError naming the quota, thrown at once (not retried)', async () => {
    const mine = await live.createTenant();
    await live.admin.tenants.update(mine.tenant.id, { plan: 'free' });
    const batch = (n: number) => ({
      events: Array.from({ length: n }, (_, i) => ({
        type: 'sdk.quota',
        occurred_at: new Date().toISOString(),
        payload: { i },
      })),
    });
    for (let i = 0; i < 10; i++) await mine.client.events.ingest(batch(1000));
    let attempts = 0;
    const counting = live.clientFor(mine.key, {
      fetch: (url, init) => {
        attempts++;
        return fetch(url, init);
      },
    });
    const err = await counting.events.ingest(batch(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const e = err as RateLimitError;
    expect(e.code).toBe('quota_exceeded');
    expect(e.problem).toMatchObject({ quota: 'events_per_day', limit: 10_000, used: 10_000, requested: 1 });
    expect(e.retryAfterMs).toBeGreaterThan(0);
    expect(attempts).toBe(1);
  });
});

describe('Idempotency-Key against the live API', () => {
  it('a POST repeated with the same key gets the first response, marked idempotent-replayed', async () => {
    const key = `sdk-test-${uniqueSlug()}`;
    const body = { email: `idem-${Date.now()}@example.com`, name: 'Idem' };
    const first = await main.client.request<User>(
      { method: 'POST', path: '/v1/users', body },
      { idempotencyKey: key },
    );
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await main.client.request<User>(
      { method: 'POST', path: '/v1/users', body },
      { idempotencyKey: key },
    );
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(first.data);
    // The resource method takes the same option: still one user.
    expect(await main.client.users.create(body, { idempotencyKey: key })).toEqual(first.data);
    const all = await main.client.users.list({ limit: 200 }).toArray();
    expect(all.filter((u) => u.email === body.email)).toHaveLength(1);
  });

  it('the same key with a different body: 422 idempotency_key_reused', async () => {
    const key = `sdk-test-${uniqueSlug()}`;
    await main.client.users.create(
      { email: `a-${Date.now()}@example.com`, name: 'A' },
      { idempotencyKey: key },
    );
    const err = await main.client.users
      .create({ email: `b-${Date.now()}@example.com`, name: 'B' }, { idempotencyKey: key })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnprocessableEntityError);
    expect(err).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
  });

  it('without an explicit key, two calls are two logical POSTs (two users, not a replay)', async () => {
    const a = await main.client.users.create({ email: `k1-${Date.now()}@example.com`, name: 'K' });
    const b = await main.client.users.create({ email: `k2-${Date.now()}@example.com`, name: 'K' });
    expect(a.id).not.toBe(b.id);
  });
});
