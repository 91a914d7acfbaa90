import { createDatabase, schemaForSlug } from '@platform/core';
import { testDatabaseUrl } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestClient, type TestTenant } from './helpers.js';

interface User {
  id: string;
  email: string;
  name: string;
  created_at: string;
  updated_at: string;
}

interface UserList {
  data: User[];
  next_cursor: string | null;
}

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  request_id: string;
  errors?: Array<{ field: string; message: string }>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let t: TestApi;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });

beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.stop();
  await db.destroy();
});

async function createUser(client: TestClient, email: string, name: string): Promise<User> {
  const res = await client.post<User>('/v1/users', { email, name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** The tenant's users straight from its schema, oldest first. */
async function usersInDb(tenant: TestTenant): Promise<Array<{ id: string; email: string; name: string }>> {
  return db
    .withSchema(schemaForSlug(tenant.slug))
    .table('users')
    .select('id', 'email', 'name')
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
}

/** The API's order: `created_at`, then `id` (uuids compare like their lowercase text). */
function byCreation(a: User, b: User): number {
  const t = Date.parse(a.created_at) - Date.parse(b.created_at);
  return t !== 0 ? t : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Follows `next_cursor` until it is null; returns every page. */
async function allPages(client: TestClient, limit: number): Promise<UserList[]> {
  const pages: UserList[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await client.get<UserList>(`/v1/users?${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    pages.push(res.body);
    cursor = res.body.next_cursor;
    expect(pages.length).toBeLessThan(50);
  } while (cursor);
  return pages;
}

describe('users', () => {
  it('creates a user: 201 with its fields, stored in the tenant schema', async () => {
    const tenant = await t.createTenant();
    const before = Date.now();
    const res = await tenant.client.post<User>('/v1/users', {
      email: 'ada@example.com',
      name: 'Ada Lovelace',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      id: expect.stringMatching(UUID_RE),
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const created = Date.parse(res.body.created_at);
    expect(created).toBeGreaterThanOrEqual(before - 5_000);
    expect(created).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(Number.isNaN(Date.parse(res.body.updated_at))).toBe(false);

    expect(await usersInDb(tenant)).toEqual([
      { id: res.body.id, email: 'ada@example.com', name: 'Ada Lovelace' },
    ]);
  });

  it('gets a user by id', async () => {
    const tenant = await t.createTenant();
    const user = await createUser(tenant.client, 'grace@example.com', 'Grace Hopper');
    const res = await tenant.client.get<User>(`/v1/users/${user.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(user);
  });

  it('lists users with cursor pagination: limit=2 over 5 users gives each once, oldest first', async () => {
    const tenant = await t.createTenant();
    const created: User[] = [];
    for (let i = 0; i < 5; i++)
      created.push(await createUser(tenant.client, `user${i}@example.com`, `User ${i}`));

    const pages = await allPages(tenant.client, 2);
    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.next_cursor === null)).toEqual([false, false, true]);
    const listed = pages.flatMap((p) => p.data);
    // Oldest first: by (created_at, id). Users created in the same millisecond tie on created_at.
    const expected = [...created].sort(byCreation);
    expect(listed).toEqual(expected);
    expect(new Set(listed.map((u) => u.id)).size).toBe(5);
    // The API's order is the order of the data: (created_at, id).
    expect(listed.map((u) => u.id)).toEqual((await usersInDb(tenant)).map((u) => u.id));

    // An exact multiple of the page size ends with an empty next_cursor, not an empty page.
    const evenPages = await allPages(tenant.client, 5);
    expect(evenPages).toHaveLength(1);
    expect(evenPages[0]?.data.map((u) => u.id)).toEqual(expected.map((u) => u.id));

    // Default page size holds them all.
    const all = await tenant.client.get<UserList>('/v1/users');
    expect(all.status).toBe(200);
    expect(all.body.data.map((u) => u.id)).toEqual(expected.map((u) => u.id));
    expect(all.body.next_cursor).toBeNull();
  });

  it('lists an empty tenant as an empty page', async () => {
    const tenant = await t.createTenant();
    const res = await tenant.client.get<UserList>('/v1/users');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], next_cursor: null });
  });

  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  it.each<[string, string]>([
    ['not a cursor', 'garbage'],
    ['a bad time', cursor(['yesterday', '00000000-0000-0000-0000-000000000000'])],
    ['the time infinity', cursor(['infinity', '00000000-0000-0000-0000-000000000000'])],
    ['an id that is not a uuid', cursor(['2026-01-01T00:00:00.000Z', 'abc'])],
    ['a numeric id', cursor(['2026-01-01T00:00:00.000Z', 7])],
    ['the old base64 form', cursor(['2026-01-01T00:00:00.000Z', '00000000-0000-0000-0000-000000000000'])],
    ['a bigint id', '1767225600000_7'],
    ['an uppercase uuid', '1767225600000_0000000A-0000-0000-0000-000000000000'],
  ])('refuses a bad list cursor: %s (422 on query.cursor)', async (_name, bad) => {
    const tenant = await t.createTenant();
    const res = await tenant.client.get<Problem>(`/v1/users?limit=2&cursor=${encodeURIComponent(bad)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'query.cursor' })]);
  });

  it('patches name and email', async () => {
    const tenant = await t.createTenant();
    const user = await createUser(tenant.client, 'old@example.com', 'Old Name');
    const other = await createUser(tenant.client, 'other@example.com', 'Other');

    const renamed = await tenant.client.patch<User>(`/v1/users/${user.id}`, { name: 'New Name' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: user.id, email: 'old@example.com', name: 'New Name' });
    expect(renamed.body.created_at).toBe(user.created_at);
    expect(Date.parse(renamed.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(user.updated_at));

    const moved = await tenant.client.patch<User>(`/v1/users/${user.id}`, { email: 'new@example.com' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: user.id, email: 'new@example.com', name: 'New Name' });

    const both = await tenant.client.patch<User>(`/v1/users/${user.id}`, {
      email: 'both@example.com',
      name: 'Both',
    });
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({ id: user.id, email: 'both@example.com', name: 'Both' });

    expect((await tenant.client.get<User>(`/v1/users/${user.id}`)).body).toEqual(both.body);
    expect(await usersInDb(tenant)).toEqual(
      expect.arrayContaining([
        { id: user.id, email: 'both@example.com', name: 'Both' },
        { id: other.id, email: 'other@example.com', name: 'Other' },
      ]),
    );
    expect(await usersInDb(tenant)).toHaveLength(2);
  });

  it('deletes a user: 204, then 404 on get, patch and delete', async () => {
    const tenant = await t.createTenant();
    const user = await createUser(tenant.client, 'gone@example.com', 'Gone');
    const kept = await createUser(tenant.client, 'kept@example.com', 'Kept');

    const res = await tenant.client.delete(`/v1/users/${user.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();

    const get = await tenant.client.get<Problem>(`/v1/users/${user.id}`);
    expect(get.status).toBe(404);
    expect(get.body.code).toBe('not_found');
    expect((await tenant.client.patch(`/v1/users/${user.id}`, { name: 'Back' })).status).toBe(404);
    expect((await tenant.client.delete(`/v1/users/${user.id}`)).status).toBe(404);
    expect((await usersInDb(tenant)).map((u) => u.id)).toEqual([kept.id]);

    // The email is free again.
    await createUser(tenant.client, 'gone@example.com', 'Back again');
  });

  it('refuses a duplicate email within a tenant, case-insensitively (409 email_taken)', async () => {
    const tenant = await t.createTenant();
    const first = await createUser(tenant.client, 'Dup@Example.com', 'First');

    for (const email of ['Dup@Example.com', 'dup@example.com', 'DUP@EXAMPLE.COM']) {
      const res = await tenant.client.post<Problem>('/v1/users', { email, name: 'Second' });
      expect(res.status, email).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, code: 'email_taken', title: 'Conflict' });
    }

    // Patching another user onto the taken email is refused too, and changes nothing.
    const second = await createUser(tenant.client, 'second@example.com', 'Second');
    const patch = await tenant.client.patch<Problem>(`/v1/users/${second.id}`, { email: 'dUP@example.COM' });
    expect(patch.status).toBe(409);
    expect(patch.body.code).toBe('email_taken');
    // A user may change the case of its own email.
    const own = await tenant.client.patch<User>(`/v1/users/${first.id}`, { email: 'dup@example.com' });
    expect(own.status).toBe(200);

    const stored = await usersInDb(tenant);
    expect(stored).toHaveLength(2);
    expect(stored).toEqual(
      expect.arrayContaining([
        { id: first.id, email: 'dup@example.com', name: 'First' },
        { id: second.id, email: 'second@example.com', name: 'Second' },
      ]),
    );
  });

  it('accepts the same email in another tenant', async () => {
    const [a, b] = await Promise.all([t.createTenant(), t.createTenant()]);
    const inA = await createUser(a.client, 'shared@example.com', 'In A');
    const inB = await createUser(b.client, 'SHARED@example.com', 'In B');
    expect(inB.id).not.toBe(inA.id);
    expect((await usersInDb(a)).map((u) => u.email)).toEqual(['shared@example.com']);
    expect((await usersInDb(b)).map((u) => u.email)).toEqual(['SHARED@example.com']);
  });

  it('answers 404 for unknown and malformed user ids', async () => {
    const tenant = await t.createTenant();
    await createUser(tenant.client, 'someone@example.com', 'Someone');
    const ids = [
      '00000000-0000-0000-0000-000000000000',
      'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      'not-a-uuid',
      '42',
    ];
    for (const id of ids) {
      const get = await tenant.client.get<Problem>(`/v1/users/${id}`);
      expect(get.status, `GET ${id}`).toBe(404);
      expect(get.body.code).toBe('not_found');
      expect((await tenant.client.patch(`/v1/users/${id}`, { name: 'X' })).status, `PATCH ${id}`).toBe(404);
      expect((await tenant.client.delete(`/v1/users/${id}`)).status, `DELETE ${id}`).toBe(404);
    }
    expect(await usersInDb(tenant)).toHaveLength(1);
  });

  it('a read-only key can read but not write (403 insufficient_scope)', async () => {
    const tenant = await t.createTenant();
    const user = await createUser(tenant.client, 'reader@example.com', 'Reader');
    const key = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, {
      name: 'read only',
      scopes: ['read'],
    });
    expect(key.status).toBe(201);
    const reader = t.anonymous.as(key.body.key as string);

    expect((await reader.get<UserList>('/v1/users')).body.data.map((u) => u.id)).toEqual([user.id]);
    expect((await reader.get<User>(`/v1/users/${user.id}`)).status).toBe(200);

    const create = await reader.post<Problem>('/v1/users', { email: 'nope@example.com', name: 'Nope' });
    expect(create.status).toBe(403);
    expect(create.body).toMatchObject({ status: 403, code: 'insufficient_scope' });
    const patch = await reader.patch<Problem>(`/v1/users/${user.id}`, { name: 'Nope' });
    expect(patch.status).toBe(403);
    expect(patch.body.code).toBe('insufficient_scope');
    const del = await reader.delete<Problem>(`/v1/users/${user.id}`);
    expect(del.status).toBe(403);
    expect(del.body.code).toBe('insufficient_scope');

    expect(await usersInDb(tenant)).toEqual([{ id: user.id, email: 'reader@example.com', name: 'Reader' }]);
  });

  it('a revoked key gets 401 at once; other keys keep working', async () => {
    const tenant = await t.createTenant();
    const key = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, {
      name: 'to revoke',
      scopes: ['read', 'write'],
    });
    expect(key.status).toBe(201);
    const doomed = t.anonymous.as(key.body.key as string);
    const user = await createUser(doomed, 'revoked@example.com', 'Revoked');
    expect((await doomed.get('/v1/users')).status).toBe(200);

    const revoke = await t.admin.delete(`/v1/tenants/${tenant.id}/api-keys/${key.body.id}`);
    expect(revoke.status).toBe(204);

    const read = await doomed.get<Problem>('/v1/users');
    expect(read.status).toBe(401);
    expect(read.body).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(read.headers.get('www-authenticate')).toBe('Bearer');
    const write = await doomed.post<Problem>('/v1/users', { email: 'after@example.com', name: 'After' });
    expect(write.status).toBe(401);
    expect((await doomed.delete(`/v1/users/${user.id}`)).status).toBe(401);

    expect((await tenant.client.get<UserList>('/v1/users')).body.data.map((u) => u.id)).toEqual([user.id]);
    expect(await usersInDb(tenant)).toHaveLength(1);
  });
});
