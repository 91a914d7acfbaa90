import { createDatabase, eventsInRange, schemaForSlug, type TenantRef } from '@platform/core';
import { testDatabaseUrl } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reply, startTestApi, type TestApi, type TestClient, type TestTenant } from './helpers.js';

interface Event {
  id: number;
  type: string;
  occurred_at: string;
  user_id: string | null;
  payload: Record<string, unknown>;
  received_at: string;
}

interface EventList {
  data: Event[];
  next_cursor: string | null;
}

interface Problem {
  status: number;
  code: string;
  title: string;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}

interface EventInput {
  type: string;
  occurred_at: string;
  user_id?: string | null;
  payload?: Record<string, unknown>;
  [extra: string]: unknown;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let t: TestApi;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 4 });

beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.stop();
  await db.destroy();
});

const iso = (ms: number) => new Date(ms).toISOString();

function tenantRef(tenant: TestTenant): TenantRef {
  return { id: tenant.id, slug: tenant.slug, schema: schemaForSlug(tenant.slug), plan: 'standard' };
}

async function ingest(client: TestClient, events: EventInput[]) {
  return client.post<{ accepted: number } & Problem>('/v1/events', { events });
}

/** The tenant's events straight from its schema, ordered like the API orders them. */
async function eventsInDb(
  tenant: TestTenant,
): Promise<Array<{ id: number; type: string; occurred_at: Date }>> {
  return db
    .withSchema(schemaForSlug(tenant.slug))
    .table('events')
    .select('id', 'type', 'occurred_at')
    .orderBy([{ column: 'occurred_at' }, { column: 'id' }]);
}

/** Follows `next_cursor` from the first page of `query` until it is null. */
async function allPages(
  client: TestClient,
  query: Record<string, string>,
  limit: number,
): Promise<EventList[]> {
  const pages: EventList[] = [];
  let cursor: string | null = null;
  do {
    const params: URLSearchParams = new URLSearchParams({
      ...query,
      limit: String(limit),
      ...(cursor ? { cursor } : {}),
    });
    const res: Reply<EventList> = await client.get<EventList>(`/v1/events?${params}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    pages.push(res.body);
    cursor = res.body.next_cursor;
    expect(pages.length).toBeLessThan(100);
  } while (cursor);
  return pages;
}

/** Asserts that events are strictly increasing by (occurred_at, id). */
function expectOrdered(events: Event[]): void {
  for (let i = 1; i < events.length; i++) {
    const prev = events[i - 1]!;
    const cur = events[i]!;
    const dt = Date.parse(cur.occurred_at) - Date.parse(prev.occurred_at);
    expect(
      dt > 0 || (dt === 0 && cur.id > prev.id),
      `${JSON.stringify(prev)} then ${JSON.stringify(cur)}`,
    ).toBe(true);
  }
}

describe('event ingestion', () => {
  it('stores a batch: 201 with the number accepted, every field kept', async () => {
    const tenant = await t.createTenant();
    const now = Date.now();
    const userId = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
    const events: EventInput[] = [
      { type: 'page.viewed', occurred_at: iso(now - HOUR), payload: { path: '/home', n: 1 } },
      { type: 'user:signed_up', occurred_at: iso(now - 2 * HOUR), user_id: userId },
      {
        type: 'A-b_c.d:e',
        occurred_at: iso(now - 3 * HOUR),
        user_id: null,
        payload: { nested: { a: [1, 2] } },
      },
    ];
    const res = await ingest(tenant.client, events);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({ accepted: 3 });

    const listed = await tenant.client.get<EventList>('/v1/events');
    expect(listed.status).toBe(200);
    expect(listed.body.next_cursor).toBeNull();
    expect(listed.body.data).toEqual([
      {
        id: expect.any(Number),
        type: 'A-b_c.d:e',
        occurred_at: events[2]!.occurred_at,
        user_id: null,
        payload: { nested: { a: [1, 2] } },
        received_at: expect.any(String),
      },
      {
        id: expect.any(Number),
        type: 'user:signed_up',
        occurred_at: events[1]!.occurred_at,
        user_id: userId,
        payload: {},
        received_at: expect.any(String),
      },
      {
        id: expect.any(Number),
        type: 'page.viewed',
        occurred_at: events[0]!.occurred_at,
        user_id: null,
        payload: { path: '/home', n: 1 },
        received_at: expect.any(String),
      },
    ]);
    expect(await eventsInDb(tenant)).toHaveLength(3);
  });

  it('keeps payload text that COPY escapes (backslashes, tabs, line breaks, \\N, \\.) exactly', async () => {
    const tenant = await t.createTenant();
    const payload = {
      backslash: 'C:\\temp\\new',
      tab: 'a\tb',
      lines: 'one\ntwo\r\nthree\r',
      null_marker: '\\N',
      end_marker: '\\.',
      quotes: `"double" 'single'`,
      unicode: 'Zürich – 東京 🚀',
      'key\twith\ttabs': ['\\', '\n', null, true, 1.5],
    };
    const res = await ingest(tenant.client, [
      { type: 'text.checked', occurred_at: iso(Date.now() - HOUR), payload },
      { type: 'text.checked', occurred_at: iso(Date.now() - 2 * HOUR), payload: { only: '\\.' } },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const listed = await tenant.client.get<EventList>('/v1/events');
    expect(listed.body.data.map((e) => e.payload)).toEqual([{ only: '\\.' }, payload]);
  });

  it('accepts a batch of 1,000 events and refuses 1,001 (422), storing none of it', async () => {
    const tenant = await t.createTenant();
    const now = Date.now();
    const batch = (n: number, type: string) =>
      Array.from({ length: n }, (_, i) => ({
        type,
        occurred_at: iso(now - (i % 48) * HOUR),
        payload: { i },
      }));

    const tooMany = await ingest(tenant.client, batch(1001, 'too.many'));
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.code).toBe('validation_failed');
    expect(tooMany.body.errors).toEqual([expect.objectContaining({ field: 'body.events' })]);
    expect(await eventsInDb(tenant)).toHaveLength(0);

    const full = await ingest(tenant.client, batch(1000, 'full.batch'));
    expect(full.status, JSON.stringify(full.body)).toBe(201);
    expect(full.body).toEqual({ accepted: 1000 });
    const stored = await eventsInDb(tenant);
    expect(stored).toHaveLength(1000);
    expect(new Set(stored.map((e) => e.type))).toEqual(new Set(['full.batch']));
  });

  it('refuses an empty batch', async () => {
    const tenant = await t.createTenant();
    const res = await ingest(tenant.client, []);
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'body.events' })]);
  });

  const now = Date.now();
  const good = (i: number): EventInput => ({
    type: 'ok.event',
    occurred_at: iso(now - i * HOUR),
    payload: { i },
  });
  it.each<[string, EventInput, string]>([
    ['a malformed date', { type: 'x', occurred_at: 'yesterday' }, 'body.events[3].occurred_at'],
    [
      'a date that does not exist',
      { type: 'x', occurred_at: '2026-02-30T10:00:00Z' },
      'body.events[3].occurred_at',
    ],
    [
      'a number as date',
      { type: 'x', occurred_at: 1700000000000 as unknown as string },
      'body.events[3].occurred_at',
    ],
    [
      'a date 400 days ago (out of retention)',
      { type: 'x', occurred_at: iso(now - 400 * DAY) },
      'body.events[3].occurred_at',
    ],
    [
      'a date 31 days ago (standard plan keeps 30)',
      { type: 'x', occurred_at: iso(now - 31 * DAY) },
      'body.events[3].occurred_at',
    ],
    ['a date 2 days ahead', { type: 'x', occurred_at: iso(now + 2 * DAY) }, 'body.events[3].occurred_at'],
    ['a type with a space', { type: 'page viewed', occurred_at: iso(now) }, 'body.events[3].type'],
    [
      'a type with a quote',
      { type: "x'; drop table events; --", occurred_at: iso(now) },
      'body.events[3].type',
    ],
    ['an empty type', { type: '', occurred_at: iso(now) }, 'body.events[3].type'],
    ['a type of 101 characters', { type: 'a'.repeat(101), occurred_at: iso(now) }, 'body.events[3].type'],
    ['a missing type', { occurred_at: iso(now) } as EventInput, 'body.events[3].type'],
    ['an unknown field', { type: 'x', occurred_at: iso(now), colour: 'red' }, 'body.events[3].colour'],
    [
      'a user_id that is not a uuid',
      { type: 'x', occurred_at: iso(now), user_id: 'bob' },
      'body.events[3].user_id',
    ],
    [
      'a payload that is not an object',
      { type: 'x', occurred_at: iso(now), payload: 'x' as unknown as Record<string, unknown> },
      'body.events[3].payload',
    ],
  ])('refuses a batch holding %s at index 3 (422) and stores nothing of it', async (_name, bad, field) => {
    const tenant = await t.createTenant();
    const events = [good(1), good(2), good(3), bad, good(4)];
    const res = await ingest(tenant.client, events);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toContainEqual({ field, message: expect.any(String) });
    expect(res.body.errors?.every((e) => e.field.startsWith('body.events[3]'))).toBe(true);

    expect(await eventsInDb(tenant)).toHaveLength(0);
    const listed = await tenant.client.get<EventList>(
      `/v1/events?from=${encodeURIComponent(iso(now - 30 * DAY))}&to=${encodeURIComponent(iso(now + DAY))}`,
    );
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([]);

    // The same batch without the bad event is fine.
    const ok = await ingest(tenant.client, [good(1), good(2), good(3), good(4)]);
    expect(ok.body).toEqual({ accepted: 4 });
  });

  it('names every invalid event of a batch', async () => {
    const tenant = await t.createTenant();
    const base = Date.now();
    const res = await ingest(tenant.client, [
      { type: 'ok', occurred_at: iso(base) },
      { type: 'old', occurred_at: iso(base - 400 * DAY) },
      { type: 'ok', occurred_at: iso(base) },
      { type: 'future', occurred_at: iso(base + 3 * DAY) },
    ]);
    expect(res.status).toBe(422);
    expect(res.body.errors?.map((e) => e.field).sort()).toEqual([
      'body.events[1].occurred_at',
      'body.events[3].occurred_at',
    ]);
    expect(await eventsInDb(tenant)).toHaveLength(0);
  });

  it('reports every problem of every event, those of the spec and those of the plan alike', async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const base = Date.now();
    const res = await ingest(tenant.client, [
      { type: 'ok', occurred_at: iso(base) },
      // Two problems in one event: a type the spec refuses, a time outside the plan's retention.
      { type: 'page viewed', occurred_at: iso(base - 10 * DAY) },
      // A user_id the spec refuses, a time too far ahead.
      { type: 'ok', occurred_at: iso(base + 3 * DAY), user_id: 'bob' },
      // Both rules of the plan and the clock alone.
      { type: 'ok', occurred_at: iso(base - 400 * DAY) },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors?.map((e) => e.field).sort()).toEqual([
      'body.events[1].occurred_at',
      'body.events[1].type',
      'body.events[2].occurred_at',
      'body.events[2].user_id',
      'body.events[3].occurred_at',
    ]);
    expect(res.body.errors?.every((e) => e.message.length > 0)).toBe(true);
    expect(await eventsInDb(tenant)).toHaveLength(0);
  });

  it('applies the retention of the tenant plan', async () => {
    const free = await t.createTenant({ plan: 'free' });
    const enterprise = await t.createTenant({ plan: 'enterprise' });
    const tenDaysAgo = iso(Date.now() - 10 * DAY);
    const refused = await ingest(free.client, [{ type: 'x', occurred_at: tenDaysAgo }]);
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([expect.objectContaining({ field: 'body.events[0].occurred_at' })]);
    const accepted = await ingest(enterprise.client, [
      { type: 'x', occurred_at: tenDaysAgo },
      { type: 'x', occurred_at: iso(Date.now() - 300 * DAY) },
    ]);
    expect(accepted.status).toBe(201);
    expect(await eventsInDb(free)).toHaveLength(0);
    expect(await eventsInDb(enterprise)).toHaveLength(2);
  });
});

describe('event queries', () => {
  /**
   * 24 events over three days: every type in turn, and pairs sharing the same instant so that
   * pages must break ties on the id.
   */
  async function seed(tenant: TestTenant, base: number) {
    const types = ['page.viewed', 'user.signed_up', 'order.paid'];
    const events: EventInput[] = [];
    for (let i = 0; i < 24; i++) {
      const at = base - Math.floor(i / 2) * 6 * HOUR; // two events per instant
      events.push({ type: types[i % 3]!, occurred_at: iso(at), payload: { n: i } });
    }
    const res = await ingest(tenant.client, events);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return events;
  }

  it('pages through a time range: every event in it once, ordered by occurred_at then id', async () => {
    const tenant = await t.createTenant();
    const base = Date.now() - HOUR;
    const events = await seed(tenant, base);
    const from = base - 48 * HOUR; // inclusive; an event sits exactly on it
    const to = base - 6 * HOUR; // exclusive; an event sits exactly on it
    const expected = events.filter(
      (e) => Date.parse(e.occurred_at) >= from && Date.parse(e.occurred_at) < to,
    );
    expect(expected.length).toBe(14);

    for (const limit of [1, 3, 14, 200]) {
      const pages = await allPages(tenant.client, { from: iso(from), to: iso(to) }, limit);
      const listed = pages.flatMap((p) => p.data);
      expect(pages.at(-1)?.next_cursor).toBeNull();
      expect(pages.slice(0, -1).every((p) => p.data.length === limit)).toBe(true);
      expect(listed.map((e) => e.payload.n).sort((a, b) => Number(a) - Number(b))).toEqual(
        expected.map((e) => e.payload?.n).sort((a, b) => Number(a) - Number(b)),
      );
      expect(new Set(listed.map((e) => e.id)).size).toBe(listed.length);
      expectOrdered(listed);
      const inDb = (await eventsInDb(tenant)).filter(
        (e) => e.occurred_at.getTime() >= from && e.occurred_at.getTime() < to,
      );
      expect(listed.map((e) => e.id)).toEqual(inDb.map((e) => e.id));
    }
  });

  it('pages through one type', async () => {
    const tenant = await t.createTenant();
    const base = Date.now() - HOUR;
    const events = await seed(tenant, base);
    const from = iso(base - 4 * DAY);
    const to = iso(base + HOUR);
    const expected = events.filter((e) => e.type === 'user.signed_up');
    expect(expected).toHaveLength(8);

    const pages = await allPages(tenant.client, { from, to, type: 'user.signed_up' }, 3);
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 2]);
    const listed = pages.flatMap((p) => p.data);
    expect(listed.every((e) => e.type === 'user.signed_up')).toBe(true);
    expect(listed.map((e) => e.payload.n).sort()).toEqual(expected.map((e) => e.payload?.n).sort());
    expectOrdered(listed);

    const none = await tenant.client.get<EventList>(`/v1/events?from=${from}&to=${to}&type=no.such.type`);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ data: [], next_cursor: null });
  });

  it('defaults to the last 24 hours', async () => {
    const tenant = await t.createTenant();
    const now = Date.now();
    await ingest(tenant.client, [
      { type: 'recent', occurred_at: iso(now - HOUR) },
      { type: 'old', occurred_at: iso(now - 25 * HOUR) },
      { type: 'ahead', occurred_at: iso(now + HOUR) },
    ]);
    const res = await tenant.client.get<EventList>('/v1/events');
    expect(res.status).toBe(200);
    expect(res.body.data.map((e) => e.type)).toEqual(['recent']);
  });

  it('answers an empty range (from >= to) with an empty page', async () => {
    const tenant = await t.createTenant();
    const at = iso(Date.now() - HOUR);
    await ingest(tenant.client, [{ type: 'x', occurred_at: at }]);
    for (const [from, to] of [
      [at, at],
      [iso(Date.now()), iso(Date.now() - DAY)],
    ]) {
      const res = await tenant.client.get<EventList>(`/v1/events?from=${from}&to=${to}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: [], next_cursor: null });
    }
  });

  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  it.each<[string, string]>([
    ['not base64 JSON', 'not-a-cursor'],
    ['base64 of plain text', Buffer.from('hello').toString('base64url')],
    ['an object', cursor({ t: '2026-01-01T00:00:00.000Z', id: 1 })],
    ['one element', cursor(['2026-01-01T00:00:00.000Z'])],
    ['three elements', cursor(['2026-01-01T00:00:00.000Z', 1, 2])],
    ['a bad time', cursor(['not a time', 1])],
    ['a null time', cursor([null, 1])],
    ['an infinite time', Buffer.from('[1e400, 1]').toString('base64url')],
    ['the time infinity', cursor(['infinity', 1])],
    ['a time without zone', cursor(['2026-01-01 00:00:00', 1])],
    ['a negative id', cursor(['2026-01-01T00:00:00.000Z', -1])],
    ['an id beyond bigint', cursor(['2026-01-01T00:00:00.000Z', '99999999999999999999999'])],
    ['a non-numeric id', cursor(['2026-01-01T00:00:00.000Z', 'abc'])],
    ['a fractional id', cursor(['2026-01-01T00:00:00.000Z', 1.5])],
    ['an SQL injection', cursor(["2026-01-01'); drop table events; --", 1])],
    ['the old base64 form', cursor(['2026-01-01T00:00:00.000Z', 1])],
    ['a uuid id', '1767225600000_00000000-0000-0000-0000-000000000000'],
    ['milliseconds beyond the pattern', '9999999999999999_1'],
    ['a leading zero', '01767225600000_1'],
  ])('refuses a bad cursor: %s (422)', async (_name, bad) => {
    const tenant = await t.createTenant();
    await ingest(tenant.client, [{ type: 'x', occurred_at: iso(Date.now() - HOUR) }]);
    const res = await tenant.client.get<Problem>(`/v1/events?cursor=${encodeURIComponent(bad)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'query.cursor' })]);
    expect(await eventsInDb(tenant)).toHaveLength(1);
  });
});

describe('partition pruning', () => {
  interface Partition {
    name: string;
    lower: Date;
    upper: Date;
  }

  /** The daily partitions of the tenant's events table with their bounds (not the default one). */
  async function partitions(schema: string): Promise<Partition[]> {
    const res = await db.raw<{ rows: Partition[] }>(
      `select c.relname as name,
              (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz as lower,
              (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz as upper
         from pg_inherits i
         join pg_class c on c.oid = i.inhrelid
         join pg_class p on p.oid = i.inhparent
         join pg_namespace n on n.oid = p.relnamespace
        where n.nspname = ? and p.relname = 'events' and c.relkind = 'r'
          and pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
        order by c.relname`,
      [schema],
    );
    return res.rows;
  }

  /** Every `Relation Name` in an EXPLAIN (FORMAT JSON) plan. */
  function relations(node: unknown, into: string[] = []): string[] {
    if (Array.isArray(node)) {
      for (const child of node) relations(child, into);
    } else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'Relation Name' && typeof value === 'string') into.push(value);
        else relations(value, into);
      }
    }
    return into;
  }

  async function scannedRelations(query: { toString(): string }): Promise<string[]> {
    const res = await db.raw<{ rows: Array<{ 'QUERY PLAN': unknown }> }>(
      `explain (format json) ${query.toString()}`,
    );
    const plan = res.rows[0]?.['QUERY PLAN'];
    const parsed = typeof plan === 'string' ? (JSON.parse(plan) as unknown) : plan;
    return relations(parsed).sort();
  }

  it('a one-day range reads only that day; a two-day range only those two days', async () => {
    const tenant = await t.createTenant();
    const schema = schemaForSlug(tenant.slug);
    const now = Date.now();
    // Data in several days, so the pruned partitions are not empty ones.
    const seeded = await ingest(
      tenant.client,
      [-3, -2, -1, 0].map((d) => ({ type: 'day', occurred_at: iso(now + d * DAY), payload: { d } })),
    );
    expect(seeded.status).toBe(201);

    const parts = await partitions(schema);
    expect(parts.length).toBeGreaterThanOrEqual(5);
    expect(parts.map((p) => p.name)).not.toContain('events_default');
    const dayOf = (at: number) => {
      const part = parts.find((p) => p.lower.getTime() <= at && at < p.upper.getTime());
      if (!part) throw new Error(`no partition holds ${iso(at)}: ${JSON.stringify(parts)}`);
      return part;
    };
    const yesterday = dayOf(now - DAY);
    const today = dayOf(now);
    expect(yesterday.upper.getTime() - yesterday.lower.getTime()).toBe(DAY);
    expect(today.lower.getTime()).toBe(yesterday.upper.getTime());

    const ref = tenantRef(tenant);
    const oneDay = eventsInRange(db, ref, { from: yesterday.lower, to: yesterday.upper });
    const oneDayRelations = await scannedRelations(oneDay);
    expect(oneDayRelations.length).toBeGreaterThan(0);
    expect(new Set(oneDayRelations)).toEqual(new Set([yesterday.name]));
    expect(oneDayRelations).not.toContain('events_default');
    expect(oneDayRelations).not.toContain('events');
    // And the query finds the day's event.
    const rows = (await eventsInRange(db, ref, { from: yesterday.lower, to: yesterday.upper })) as Array<{
      payload: { d: number };
    }>;
    expect(rows.map((r) => r.payload.d)).toEqual([-1]);

    const twoDays = await scannedRelations(
      eventsInRange(db, ref, { from: yesterday.lower, to: today.upper }),
    );
    expect(new Set(twoDays)).toEqual(new Set([yesterday.name, today.name]));
    expect(twoDays).not.toContain('events_default');

    // With a type filter it still reads only the one day.
    const typed = await scannedRelations(
      eventsInRange(db, ref, { from: yesterday.lower, to: yesterday.upper, type: 'day' }),
    );
    expect(new Set(typed)).toEqual(new Set([yesterday.name]));

    // A part of a day reads only that day too.
    const hour = await scannedRelations(
      eventsInRange(db, ref, {
        from: new Date(today.lower.getTime() + HOUR),
        to: new Date(today.lower.getTime() + 2 * HOUR),
      }),
    );
    expect(new Set(hour)).toEqual(new Set([today.name]));
  });
});
