import { createDatabase, schemaForSlug } from '@platform/core';
import { testDatabaseUrl } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reply, startTestApi, type TestApi, type TestTenant } from './helpers.js';

interface User {
  id: string;
  email: string;
  name: string;
  created_at: string;
  updated_at: string;
}

interface Event {
  id: number;
  type: string;
  occurred_at: string;
  user_id: string | null;
  payload: Record<string, unknown>;
}

interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

let t: TestApi;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 4 });

beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.stop();
  await db.destroy();
});

async function usersInDb(tenant: TestTenant): Promise<Array<{ id: string; email: string; name: string }>> {
  return db
    .withSchema(schemaForSlug(tenant.slug))
    .table('users')
    .select('id', 'email', 'name')
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
}

async function eventsInDb(
  tenant: TestTenant,
): Promise<Array<{ id: number; type: string; payload: { tenant?: string } }>> {
  return db
    .withSchema(schemaForSlug(tenant.slug))
    .table('events')
    .select('id', 'type', 'payload')
    .orderBy([{ column: 'occurred_at' }, { column: 'id' }]);
}

/** An email that names its tenant: `<local>@<slug>.example.com`. */
const emailOf = (tenant: TestTenant, local: string) => `${local}@${tenant.slug}.example.com`;

describe('tenant isolation, endpoint by endpoint', () => {
  let a: TestTenant;
  let b: TestTenant;
  let bUser: User;
  let bEvents: Event[];
  const window = () =>
    `from=${encodeURIComponent(iso(Date.now() - 10 * HOUR))}&to=${encodeURIComponent(iso(Date.now() + HOUR))}`;

  beforeAll(async () => {
    [a, b] = await Promise.all([t.createTenant(), t.createTenant()]);
    const created = await b.client.post<User>('/v1/users', { email: emailOf(b, 'victim'), name: 'B user' });
    expect(created.status).toBe(201);
    bUser = created.body;
    for (let i = 0; i < 3; i++) {
      expect((await b.client.post('/v1/users', { email: emailOf(b, `b${i}`), name: `B ${i}` })).status).toBe(
        201,
      );
    }
    const ingested = await b.client.post('/v1/events', {
      events: [1, 2, 3].map((h) => ({
        type: 'b.secret',
        occurred_at: iso(Date.now() - h * HOUR),
        user_id: bUser.id,
        payload: { tenant: b.slug },
      })),
    });
    expect(ingested.status).toBe(201);
    const listed = await b.client.get<Page<Event>>(`/v1/events?${window()}`);
    bEvents = listed.body.data;
    expect(bEvents).toHaveLength(3);
    expect((await a.client.post('/v1/users', { email: emailOf(a, 'own'), name: 'A user' })).status).toBe(201);
  });

  it("GET /v1/users/{id}: A cannot read B's user (404)", async () => {
    const res = await a.client.get(`/v1/users/${bUser.id}`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
    expect(JSON.stringify(res.body)).not.toContain(bUser.email);
    // B still can.
    expect((await b.client.get<User>(`/v1/users/${bUser.id}`)).body).toEqual(bUser);
  });

  it("PATCH /v1/users/{id}: A cannot change B's user (404), which stays unchanged", async () => {
    const res = await a.client.patch(`/v1/users/${bUser.id}`, {
      name: 'Hijacked',
      email: emailOf(a, 'hijacked'),
    });
    expect(res.status).toBe(404);
    expect((await b.client.get<User>(`/v1/users/${bUser.id}`)).body).toEqual(bUser);
    expect((await usersInDb(b)).find((u) => u.id === bUser.id)).toEqual({
      id: bUser.id,
      email: bUser.email,
      name: 'B user',
    });
  });

  it("DELETE /v1/users/{id}: A cannot delete B's user (404), which stays", async () => {
    const res = await a.client.delete(`/v1/users/${bUser.id}`);
    expect(res.status).toBe(404);
    expect((await b.client.get(`/v1/users/${bUser.id}`)).status).toBe(200);
    expect((await usersInDb(b)).map((u) => u.id)).toContain(bUser.id);
  });

  it("GET /v1/users: A's list holds none of B's users, whatever the page size or cursor", async () => {
    const aIds = new Set((await usersInDb(a)).map((u) => u.id));
    const bIds = new Set((await usersInDb(b)).map((u) => u.id));
    expect(bIds.size).toBe(4);
    for (const limit of [1, 200]) {
      const seen: User[] = [];
      let cursor: string | null = null;
      do {
        const page: Reply<Page<User>> = await a.client.get<Page<User>>(
          `/v1/users?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        seen.push(...page.body.data);
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(new Set(seen.map((u) => u.id))).toEqual(aIds);
      expect(seen.every((u) => u.email.endsWith(`@${a.slug}.example.com`))).toBe(true);
    }
    // A cursor taken from B's list only moves through A's rows.
    const bPage = await b.client.get<Page<User>>('/v1/users?limit=1');
    expect(bPage.body.next_cursor).not.toBeNull();
    const withBCursor = await a.client.get<Page<User>>(`/v1/users?cursor=${bPage.body.next_cursor}`);
    expect(withBCursor.status).toBe(200);
    expect(withBCursor.body.data.every((u) => aIds.has(u.id) && !bIds.has(u.id))).toBe(true);
  });

  it("GET /v1/events: A's queries return none of B's events", async () => {
    for (const query of [window(), `${window()}&type=b.secret`, `${window()}&limit=1`, '']) {
      const res = await a.client.get<Page<Event>>(`/v1/events?${query}`);
      expect(res.status).toBe(200);
      expect(res.body.data.filter((e) => e.type === 'b.secret' || e.payload.tenant === b.slug)).toEqual([]);
    }
    const typed = await a.client.get<Page<Event>>(`/v1/events?${window()}&type=b.secret`);
    expect(typed.body).toEqual({ data: [], next_cursor: null });
    // A cursor from B's events gives A nothing of B's.
    const bPage = await b.client.get<Page<Event>>(`/v1/events?${window()}&limit=1`);
    const cursor = bPage.body.next_cursor;
    expect(cursor).not.toBeNull();
    const withBCursor = await a.client.get<Page<Event>>(`/v1/events?${window()}&cursor=${cursor}`);
    expect(withBCursor.status).toBe(200);
    expect(withBCursor.body.data).toEqual([]);
  });

  it("POST /v1/users and /v1/events: A's writes land in A only", async () => {
    const bUsersBefore = await usersInDb(b);
    const bEventsBefore = await eventsInDb(b);

    // B's email is not "taken" for A: the uniqueness check is per tenant.
    const sameEmail = await a.client.post<User>('/v1/users', { email: bUser.email, name: 'A twin' });
    expect(sameEmail.status).toBe(201);
    const created = await a.client.post<User>('/v1/users', { email: emailOf(a, 'writer'), name: 'Writer' });
    expect(created.status).toBe(201);
    const events = await a.client.post('/v1/events', {
      events: [
        {
          type: 'a.write',
          occurred_at: iso(Date.now() - HOUR),
          user_id: bUser.id,
          payload: { tenant: a.slug },
        },
      ],
    });
    expect(events.status).toBe(201);

    expect(await usersInDb(b)).toEqual(bUsersBefore);
    expect(await eventsInDb(b)).toEqual(bEventsBefore);
    const aUsers = await usersInDb(a);
    expect(aUsers.map((u) => u.id)).toEqual(expect.arrayContaining([sameEmail.body.id, created.body.id]));
    expect((await eventsInDb(a)).map((e) => e.type)).toEqual(['a.write']);
    // And B does not see them.
    expect((await b.client.get(`/v1/users/${created.body.id}`)).status).toBe(404);
    const bList = await b.client.get<Page<Event>>(`/v1/events?${window()}`);
    expect(bList.body.data.map((e) => e.id).sort()).toEqual(bEvents.map((e) => e.id).sort());
  });

  it("A's key does not open the admin endpoints of B (401)", async () => {
    for (const [method, path] of [
      ['GET', `/v1/tenants/${b.id}`],
      ['GET', `/v1/tenants/${b.id}/api-keys`],
      ['POST', `/v1/tenants/${b.id}/api-keys`],
      ['DELETE', `/v1/tenants/${b.id}`],
    ] as const) {
      const res = await a.client.request(
        method,
        path,
        method === 'POST' ? { name: 'x', scopes: ['read'] } : undefined,
      );
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect((await t.admin.get(`/v1/tenants/${b.id}`)).body.status).toBe('ready');
  });
});

describe('tenant isolation under concurrent load on a small pool', () => {
  let small: TestApi;
  beforeAll(async () => {
    small = await startTestApi({ DATABASE_POOL_MAX: '2' });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('400 interleaved requests of 8 tenants each see only their own rows; search_path stays default', async () => {
    expect(small.api.platform.config.databasePoolMax).toBe(2);
    const tenants: TestTenant[] = [];
    for (let i = 0; i < 8; i++) tenants.push(await small.createTenant());

    // Distinct seed data per tenant: users and events that name their tenant.
    const seeded = new Map<string, User[]>();
    await Promise.all(
      tenants.map(async (tenant) => {
        const users: User[] = [];
        for (let i = 0; i < 3; i++) {
          const res = await tenant.client.post<User>('/v1/users', {
            email: emailOf(tenant, `seed${i}`),
            name: tenant.slug,
          });
          expect(res.status).toBe(201);
          users.push(res.body);
        }
        seeded.set(tenant.id, users);
        const events = await tenant.client.post('/v1/events', {
          events: Array.from({ length: 5 }, (_, i) => ({
            type: `seed.${tenant.slug}`,
            occurred_at: iso(Date.now() - (i + 1) * HOUR),
            payload: { tenant: tenant.slug },
          })),
        });
        expect(events.status).toBe(201);
      }),
    );

    type Check = { tenant: TestTenant; what: string; run: () => Promise<string | undefined> };
    const problems: string[] = [];
    const ownEmail = (tenant: TestTenant, u: User) => u.email.endsWith(`@${tenant.slug}.example.com`);
    const checks: Check[] = [];
    for (let n = 0; n < 400; n++) {
      const tenant = tenants[n % tenants.length]!;
      const other = tenants[(n + 3) % tenants.length]!;
      const c = tenant.client;
      switch (n % 8) {
        case 0:
          checks.push({
            tenant,
            what: 'create user',
            run: async () => {
              const res = await c.post<User>('/v1/users', {
                email: emailOf(tenant, `load${n}`),
                name: tenant.slug,
              });
              if (res.status !== 201) return `status ${res.status} ${JSON.stringify(res.body)}`;
              return ownEmail(tenant, res.body) && res.body.name === tenant.slug
                ? undefined
                : JSON.stringify(res.body);
            },
          });
          break;
        case 1:
        case 5:
          checks.push({
            tenant,
            what: 'list users',
            run: async () => {
              const res = await c.get<Page<User>>('/v1/users?limit=200');
              if (res.status !== 200) return `status ${res.status}`;
              const foreign = res.body.data.filter((u) => !ownEmail(tenant, u) || u.name !== tenant.slug);
              return res.body.data.length >= 3 && foreign.length === 0 ? undefined : JSON.stringify(foreign);
            },
          });
          break;
        case 2:
          checks.push({
            tenant,
            what: 'get own user',
            run: async () => {
              const own = seeded.get(tenant.id)![n % 3]!;
              const res = await c.get<User>(`/v1/users/${own.id}`);
              return res.status === 200 && res.body.id === own.id && ownEmail(tenant, res.body)
                ? undefined
                : `status ${res.status} ${JSON.stringify(res.body)}`;
            },
          });
          break;
        case 3:
          checks.push({
            tenant,
            what: "get another tenant's user",
            run: async () => {
              const foreign = seeded.get(other.id)![n % 3]!;
              const res = await c.get(`/v1/users/${foreign.id}`);
              return res.status === 404 ? undefined : `status ${res.status} ${JSON.stringify(res.body)}`;
            },
          });
          break;
        case 4:
          checks.push({
            tenant,
            what: 'ingest events',
            run: async () => {
              const res = await c.post('/v1/events', {
                events: [
                  {
                    type: `load.${tenant.slug}`,
                    occurred_at: iso(Date.now() - HOUR / 2),
                    payload: { tenant: tenant.slug, n },
                  },
                ],
              });
              return res.status === 201 && res.body.accepted === 1 ? undefined : `status ${res.status}`;
            },
          });
          break;
        case 6:
          checks.push({
            tenant,
            what: 'query events',
            run: async () => {
              const res = await c.get<Page<Event>>('/v1/events?limit=200');
              if (res.status !== 200) return `status ${res.status}`;
              const foreign = res.body.data.filter(
                (e) => e.payload.tenant !== tenant.slug || !e.type.endsWith(tenant.slug),
              );
              return res.body.data.length >= 5 && foreign.length === 0 ? undefined : JSON.stringify(foreign);
            },
          });
          break;
        case 7:
          checks.push({
            tenant,
            what: "patch another tenant's user",
            run: async () => {
              const foreign = seeded.get(other.id)![n % 3]!;
              const res = await c.patch(`/v1/users/${foreign.id}`, { name: `hijacked by ${tenant.slug}` });
              return res.status === 404 ? undefined : `status ${res.status} ${JSON.stringify(res.body)}`;
            },
          });
          break;
      }
    }
    await Promise.all(
      checks.map(async (check) => {
        const problem = await check.run().catch((err: unknown) => String(err));
        if (problem) problems.push(`${check.tenant.slug} ${check.what}: ${problem}`);
      }),
    );
    expect(problems).toEqual([]);

    // The stored data agrees: every tenant holds its own rows only, and every create landed.
    for (const tenant of tenants) {
      const users = await usersInDb(tenant);
      expect(
        users.every((u) => u.email.endsWith(`@${tenant.slug}.example.com`) && u.name === tenant.slug),
      ).toBe(true);
      const creates = checks.filter((c) => c.tenant === tenant && c.what === 'create user').length;
      expect(users).toHaveLength(3 + creates);
      const events = await eventsInDb(tenant);
      expect(events.every((e) => e.payload.tenant === tenant.slug)).toBe(true);
      const ingests = checks.filter((c) => c.tenant === tenant && c.what === 'ingest events').length;
      expect(events).toHaveLength(5 + ingests);
    }

    // No pooled connection had its search_path changed. Hold both connections of the pool at
    // once so that each is inspected, then a burst of plain queries.
    const pool = small.api.platform.db;
    const held: Array<{ pid: number; path: string }> = [];
    let release!: () => void;
    const bothHeld = new Promise<void>((resolve) => {
      release = resolve;
    });
    await Promise.all(
      [0, 1].map(() =>
        pool.transaction(async (trx) => {
          const pid = await trx.raw<{ rows: Array<{ pid: number }> }>('select pg_backend_pid() as pid');
          const path = await trx.raw<{ rows: Array<{ search_path: string }> }>('show search_path');
          held.push({ pid: pid.rows[0]!.pid, path: path.rows[0]!.search_path });
          if (held.length === 2) release();
          await bothHeld;
        }),
      ),
    );
    expect(new Set(held.map((h) => h.pid)).size).toBe(2);
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        pool.raw<{ rows: Array<{ search_path: string }> }>('show search_path'),
      ),
    );
    for (const path of [...held.map((h) => h.path), ...burst.map((r) => r.rows[0]!.search_path)]) {
      expect(path).toBe('"$user", public');
    }
  });
});
