import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyUsageReadings,
  type IndexedReading,
  listUsage,
  QuotaExceededError,
  schemaForSlug,
  UsageCounters,
  UsageService,
  utcDay,
} from '../src/index.js';
import { partConfig, testDb } from './helpers.js';

const db = testDb();
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
const counters = new UsageCounters(redis);
const usage = new UsageService(db, counters);
afterAll(async () => {
  await redis.quit();
  await db.destroy();
});

const DAY = 86_400_000;

/** What a flush reads of one tenant-day of the index. */
async function indexed(member: string): Promise<IndexedReading> {
  for await (const chunk of counters.readIndexed()) {
    const found = chunk.find((r) => r.member === member);
    if (found) return found;
  }
  throw new Error(`${member} is not in the index`);
}

async function flushed(tenantId: string, day: string): Promise<Record<string, number>> {
  const rows = await listUsage(db, tenantId, day, day);
  return Object.fromEntries(rows.map((r) => [r.metric, r.count]));
}

describe('usage counters and flush', () => {
  it('platform.usage is partitioned by pg_partman with its retention', async () => {
    expect(await partConfig(db, 'platform.usage')).toMatchObject({ retention: '400 days' });
  });

  it('flushes idempotently: repeated, concurrent and out-of-order readings add nothing twice', async () => {
    const tenantId = randomUUID();
    const day = utcDay(new Date());
    await counters.increment(tenantId, day, { api_requests: 5, events: 40 });
    await usage.flush();
    await usage.flush();
    expect(await flushed(tenantId, day)).toEqual({ api_requests: 5, events: 40 });

    const older = await counters.read(tenantId, day);
    await counters.increment(tenantId, day, { api_requests: 3 });
    await Promise.all([usage.flush(), usage.flush(), usage.flush()]);
    expect(await flushed(tenantId, day)).toEqual({ api_requests: 8, events: 40 });

    // A reading taken before the last flush (a slow or redelivered flush) changes nothing.
    if (!older) throw new Error('no reading');
    await applyUsageReadings(db, [older]);
    expect(await flushed(tenantId, day)).toEqual({ api_requests: 8, events: 40 });
  });

  it('carries the count over when Redis loses the counters (a new epoch)', async () => {
    const tenantId = randomUUID();
    const day = utcDay(new Date());
    await counters.increment(tenantId, day, { predictions: 2, prediction_instances: 9 });
    await usage.flush();
    const before = await counters.read(tenantId, day);
    await redis.del(`platform:usage:${tenantId}:${day}`);
    await counters.increment(tenantId, day, { predictions: 1, prediction_instances: 4 });
    const after = await counters.read(tenantId, day);
    expect(after?.epoch).not.toBe(before?.epoch);
    await usage.flush();
    await usage.flush();
    expect(await flushed(tenantId, day)).toEqual({ predictions: 3, prediction_instances: 13 });
  });

  it('checks a quota and counts in one step: nothing is added past the limit', async () => {
    const tenantId = randomUUID();
    const day = utcDay(new Date());
    const check = { metric: 'events' as const, limit: 10 };
    expect(await counters.increment(tenantId, day, { events: 7 }, check)).toEqual({ added: true, used: 0 });
    expect(await counters.increment(tenantId, day, { events: 4 }, check)).toEqual({ added: false, used: 7 });
    expect(await counters.increment(tenantId, day, { events: 3 }, check)).toEqual({ added: true, used: 7 });
    expect((await counters.read(tenantId, day))?.counts.events).toBe(10);
    // Concurrent reservations never pass the limit together.
    const other = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => counters.increment(other, day, { events: 1 }, check)),
    );
    expect(results.filter((r) => r.added)).toHaveLength(10);
    expect((await counters.read(other, day))?.counts.events).toBe(10);
  });

  it('flushes only the tenant-days counted since their last flush, whatever their day', async () => {
    const tenantId = randomUUID();
    const now = new Date();
    const old = utcDay(new Date(now.getTime() - 3 * DAY));
    const today = utcDay(now);
    const members = () => redis.smembers('platform:usage:index');
    await counters.increment(tenantId, old, { events: 6 });
    await counters.increment(tenantId, today, { events: 1 });
    expect(await members()).toEqual(expect.arrayContaining([`${tenantId}:${old}`, `${tenantId}:${today}`]));
    await usage.flush();
    expect(await flushed(tenantId, old)).toEqual({ events: 6 });
    expect(await flushed(tenantId, today)).toEqual({ events: 1 });
    // Both applied and not counted since: a later flush does not read them again.
    expect(await members()).not.toContain(`${tenantId}:${old}`);
    expect(await members()).not.toContain(`${tenantId}:${today}`);
    // Counted again: back in the index, and the next flush adds only what is new.
    await counters.increment(tenantId, today, { events: 2, api_requests: 1 });
    expect(await members()).toContain(`${tenantId}:${today}`);
    await usage.flush();
    expect(await flushed(tenantId, today)).toEqual({ events: 3, api_requests: 1 });
    expect(await members()).not.toContain(`${tenantId}:${today}`);
  });

  it('keeps a tenant-day counted while a flush applied it, for the next flush', async () => {
    const tenantId = randomUUID();
    const day = utcDay(new Date());
    const member = `${tenantId}:${day}`;
    await counters.increment(tenantId, day, { events: 4 });
    const read = await indexed(member);
    if (!read.reading) throw new Error('no reading');
    // A flush read 4 and applied it; a request counted 1 more before the flush dropped the tenant-day.
    await applyUsageReadings(db, [read.reading]);
    await counters.increment(tenantId, day, { events: 1 });
    expect(await counters.forgetUnchanged([read])).toBe(0);
    expect(await redis.smembers('platform:usage:index')).toContain(member);
    await usage.flush();
    expect(await flushed(tenantId, day)).toEqual({ events: 5 });
    expect(await redis.smembers('platform:usage:index')).not.toContain(member);
    // A new epoch (Redis lost the hash) with the same counts is a change too.
    await counters.increment(tenantId, day, { events: 1 });
    const before = await indexed(member);
    await redis.del(`platform:usage:${member}`);
    await counters.increment(tenantId, day, { events: 6 });
    expect(await counters.forgetUnchanged([before])).toBe(0);
    expect(await redis.smembers('platform:usage:index')).toContain(member);
    // Unchanged since it was read: dropped.
    expect(await counters.forgetUnchanged([await indexed(member)])).toBe(1);
    expect(await redis.smembers('platform:usage:index')).not.toContain(member);
  });

  it('drops from the index a tenant-day whose counters expired, unless counted again', async () => {
    const [gone, back] = [randomUUID(), randomUUID()];
    const day = utcDay(new Date());
    await redis.sadd('platform:usage:index', `${gone}:${day}`, `${back}:${day}`);
    const read = [await indexed(`${gone}:${day}`), await indexed(`${back}:${day}`)];
    expect(read.map((r) => r.reading)).toEqual([undefined, undefined]);
    // Counted after the flush found no hash for it: it stays.
    await counters.increment(back, day, { predictions: 1 });
    expect(await counters.forgetUnchanged(read)).toBe(1);
    const members = await redis.smembers('platform:usage:index');
    expect(members).not.toContain(`${gone}:${day}`);
    expect(members).toContain(`${back}:${day}`);
    await usage.flush();
    expect(await flushed(back, day)).toEqual({ predictions: 1 });
    expect(await flushed(gone, day)).toEqual({});
  });

  it('counts the API requests of one event-loop turn together: every tenant and day, each once', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const now = new Date();
    const today = utcDay(now);
    const yesterday = utcDay(new Date(now.getTime() - DAY));
    for (let i = 0; i < 5; i++) usage.countRequest(a);
    for (let i = 0; i < 3; i++) usage.countRequest(b);
    usage.countRequest(a, new Date(now.getTime() - DAY));
    // Sent when the turn ends, in one call for both tenants and both days.
    await new Promise((resolve) => setImmediate(resolve));
    const read = async () =>
      Promise.all([counters.read(a, today), counters.read(b, today), counters.read(a, yesterday)]);
    let readings = await read();
    for (let i = 0; i < 50 && readings.some((r) => r === undefined); i++) readings = await read();
    expect(readings.map((r) => r?.counts.api_requests)).toEqual([5, 3, 1]);
    expect(await redis.smembers('platform:usage:index')).toEqual(
      expect.arrayContaining([`${a}:${today}`, `${b}:${today}`, `${a}:${yesterday}`]),
    );
    // A later turn adds to the same counters, keeping their epoch.
    const epoch = readings[0]?.epoch;
    usage.countRequest(a);
    await new Promise((resolve) => setImmediate(resolve));
    let again = await counters.read(a, today);
    for (let i = 0; i < 50 && again?.counts.api_requests !== 6; i++) again = await counters.read(a, today);
    expect(again).toMatchObject({ epoch, counts: { api_requests: 6 } });
  });

  it('sends the request counts of the turn with a reservation of the same tenant-day, and on their own when it is refused', async () => {
    const id = randomUUID();
    const slug = `u${id.slice(0, 8)}`;
    const tenant = { id, slug, schema: schemaForSlug(slug), plan: 'free' as const };
    const today = utcDay(new Date());
    usage.countRequest(id);
    usage.countRequest(id);
    // In the same turn: the reservation carries the two requests.
    const reservation = await usage.reserve(tenant, { predictions: 1, prediction_instances: 1 });
    expect((await counters.read(id, today))?.counts).toMatchObject({
      api_requests: 2,
      predictions: 1,
      prediction_instances: 1,
    });
    // Nothing is left for the end of the turn, and a release gives back the prediction only.
    await new Promise((resolve) => setImmediate(resolve));
    await reservation.release();
    expect((await counters.read(id, today))?.counts).toMatchObject({ api_requests: 2, predictions: 0 });
    // A refused reservation adds nothing: the request is counted when the turn ends.
    usage.countRequest(id);
    await expect(usage.reserve(tenant, { predictions: 1_000_000 })).rejects.toBeInstanceOf(
      QuotaExceededError,
    );
    let reading = await counters.read(id, today);
    for (let i = 0; i < 50 && reading?.counts.api_requests !== 3; i++)
      reading = await counters.read(id, today);
    expect(reading?.counts).toMatchObject({ api_requests: 3, predictions: 0 });
  });
});
