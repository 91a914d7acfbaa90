import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import {
  type ApiKeyCredential,
  findCredentialByPrefix,
  findCredentialsByPrefixes,
  revokeApiKey,
} from '../src/tenancy/api-keys.repository.js';
import {
  ApiKeyVerifier,
  createApiKey,
  MAX_API_KEY_CACHE_TTL_MS,
  parseApiKey,
} from '../src/tenancy/api-keys.service.js';
import { newTenantRow, testDb } from './helpers.js';

let db: Database;
beforeAll(() => {
  db = testDb();
});
afterAll(() => db.destroy());

/** A lookup that runs the real query, then holds its answer until `release()`. */
function heldLookup() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started!: () => void;
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  let calls = 0;
  const find = async (knex: Database, prefix: string): Promise<ApiKeyCredential | undefined> => {
    calls += 1;
    const answer = await findCredentialByPrefix(knex, prefix);
    if (calls === 1) {
      started();
      await gate;
    }
    return answer;
  };
  return { find, running, release, calls: () => calls };
}

describe('ApiKeyVerifier', () => {
  it('lets a revocation win over a lookup that was in flight when it happened', async () => {
    const tenant = await newTenantRow(db);
    const key = await createApiKey(db, tenant.id, { name: 'race', scopes: ['read'] });
    const { prefix } = parseApiKey(key.key) as { prefix: string };
    const held = heldLookup();
    const verifier = new ApiKeyVerifier(db, { cacheTtlMs: MAX_API_KEY_CACHE_TTL_MS }, held.find);

    // 1. A request starts verifying the key; its query has read the (still active) row.
    const inFlight = verifier.verify(key.key);
    await held.running;
    // 2. The key is revoked and the revocation reaches this verifier while that lookup is held.
    await revokeApiKey(db, tenant.id, key.id);
    verifier.invalidate(prefix);
    // 3. The held answer arrives: it predates the revocation.
    held.release();

    expect(await inFlight).toBeUndefined();
    // Nothing stale was cached: the next request is refused at once, not after the TTL.
    expect(await verifier.verify(key.key)).toBeUndefined();
    expect(held.calls()).toBe(2);
  });

  it('a lookup that started after the revocation does not join one that started before it', async () => {
    const tenant = await newTenantRow(db);
    const key = await createApiKey(db, tenant.id, { name: 'join', scopes: ['read'] });
    const { prefix } = parseApiKey(key.key) as { prefix: string };
    const held = heldLookup();
    const verifier = new ApiKeyVerifier(db, {}, held.find);
    const before = verifier.verify(key.key);
    await held.running;
    await revokeApiKey(db, tenant.id, key.id);
    verifier.invalidate(prefix);
    const after = await verifier.verify(key.key);
    expect(after).toBeUndefined();
    held.release();
    expect(await before).toBeUndefined();
  });

  it('caches a verified key, and without a revocation an in-flight lookup is shared and kept', async () => {
    const tenant = await newTenantRow(db);
    const key = await createApiKey(db, tenant.id, { name: 'hot', scopes: ['read', 'write'] });
    const held = heldLookup();
    const verifier = new ApiKeyVerifier(db, {}, held.find);
    const a = verifier.verify(key.key);
    await held.running;
    const b = verifier.verify(key.key);
    held.release();
    expect((await a)?.id).toBe(key.id);
    expect((await b)?.id).toBe(key.id);
    expect((await verifier.verify(key.key))?.id).toBe(key.id);
    expect(held.calls()).toBe(1);
  });

  it('answers a key past its TTL from the cache while one lookup refreshes it, and uses what the refresh read', async () => {
    const tenant = await newTenantRow(db);
    const key = await createApiKey(db, tenant.id, { name: 'stale', scopes: ['read'] });
    let finds = 0;
    const find = (knex: Database, prefix: string) => {
      finds += 1;
      return findCredentialByPrefix(knex, prefix);
    };
    let refreshes = 0;
    let release: (() => void) | undefined;
    const findMany = async (knex: Database, prefixes: readonly string[]) => {
      refreshes += 1;
      // The refresh is held until released, before it reads the key.
      await new Promise<void>((resolve) => (release = resolve));
      return findCredentialsByPrefixes(knex, prefixes);
    };
    const verifier = new ApiKeyVerifier(db, { cacheTtlMs: 1, staleMs: 60_000 }, find, findMany);
    const { prefix } = parseApiKey(key.key) as { prefix: string };
    const entry = () =>
      (verifier as unknown as { cache: Map<string, { expires: number }> }).cache.get(prefix);
    const refreshing = () => (verifier as unknown as { refreshing: Set<string> }).refreshing.has(prefix);
    const pastTtl = async () => {
      const deadline = Date.now() + 5_000;
      while (Date.now() <= (entry()?.expires ?? 0)) {
        if (Date.now() > deadline) throw new Error('the entry never expired');
        await db.raw('select 1');
      }
    };

    expect((await verifier.verify(key.key))?.id).toBe(key.id);
    expect(finds).toBe(1);
    await pastTtl();
    // Past its TTL: answered at once although the refresh it started is held.
    expect((await verifier.verify(key.key))?.id).toBe(key.id);
    expect((await verifier.verify(key.key))?.id).toBe(key.id);

    // Revoked without the revocation reaching this verifier: the refresh reads it.
    await revokeApiKey(db, tenant.id, key.id);
    const deadline = Date.now() + 5_000;
    while (!release) {
      if (Date.now() > deadline) throw new Error('the refresh never started');
      await db.raw('select 1');
    }
    expect(refreshing()).toBe(true);
    release();
    while (refreshing()) {
      if (Date.now() > deadline) throw new Error('the refresh never finished');
      await db.raw('select 1');
    }
    // One refresh for both stale answers, and no lookup of its own.
    expect(refreshes).toBe(1);
    expect(finds).toBe(1);
    expect(await verifier.verify(key.key)).toBeUndefined();
  });

  it('refreshes the keys served stale together, in one statement, and keeps nothing of one revoked meanwhile', async () => {
    const tenant = await newTenantRow(db);
    const keys = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        createApiKey(db, tenant.id, { name: `batch-${i}`, scopes: ['read'] }),
      ),
    );
    const batches: string[][] = [];
    let release: (() => void) | undefined;
    const findMany = async (knex: Database, prefixes: readonly string[]) => {
      batches.push([...prefixes]);
      await new Promise<void>((resolve) => (release = resolve));
      return findCredentialsByPrefixes(knex, prefixes);
    };
    const verifier = new ApiKeyVerifier(
      db,
      { cacheTtlMs: 1, staleMs: 60_000, refreshBatchMs: 20 },
      findCredentialByPrefix,
      findMany,
    );
    for (const k of keys) expect((await verifier.verify(k.key))?.id).toBe(k.id);
    const settle = Date.now() + 5;
    while (Date.now() < settle) await db.raw('select 1');
    // All past their TTL: each answered from the cache, and queued for one refresh.
    for (const k of keys) expect((await verifier.verify(k.key))?.id).toBe(k.id);
    const deadline = Date.now() + 5_000;
    while (!release) {
      if (Date.now() > deadline) throw new Error('the refresh never started');
      await db.raw('select 1');
    }
    expect(batches).toHaveLength(1);
    expect(new Set(batches[0])).toEqual(
      new Set(keys.map((k) => (parseApiKey(k.key) as { prefix: string }).prefix)),
    );
    // The first key is revoked and the revocation reaches this verifier while the refresh runs.
    const [first, second] = keys as [(typeof keys)[0], (typeof keys)[0]];
    await revokeApiKey(db, tenant.id, first.id);
    verifier.invalidate((parseApiKey(first.key) as { prefix: string }).prefix);
    release();
    const refreshing = () => (verifier as unknown as { refreshing: Set<string> }).refreshing.size;
    while (refreshing() > 0) {
      if (Date.now() > deadline) throw new Error('the refresh never finished');
      await db.raw('select 1');
    }
    expect(await verifier.verify(first.key)).toBeUndefined();
    expect((await verifier.verify(second.key))?.id).toBe(second.id);
  });

  it('waits for the database once a key is past its TTL and its stale time', async () => {
    const tenant = await newTenantRow(db);
    const key = await createApiKey(db, tenant.id, { name: 'expired', scopes: ['read'] });
    let calls = 0;
    const find = (knex: Database, prefix: string) => {
      calls += 1;
      return findCredentialByPrefix(knex, prefix);
    };
    const verifier = new ApiKeyVerifier(db, { cacheTtlMs: 1, staleMs: 0 }, find);
    expect((await verifier.verify(key.key))?.id).toBe(key.id);
    const started = Date.now();
    while (Date.now() - started < 3) await db.raw('select 1');
    await revokeApiKey(db, tenant.id, key.id);
    // The request itself looks the key up again, and is refused.
    expect(await verifier.verify(key.key)).toBeUndefined();
    expect(calls).toBe(2);
  });

  it('caps the cache TTL', async () => {
    const tenant = await newTenantRow(db);
    const key = await createApiKey(db, tenant.id, { name: 'ttl', scopes: ['read'] });
    const verifier = new ApiKeyVerifier(db, { cacheTtlMs: 24 * 3600_000 });
    const before = Date.now();
    expect((await verifier.verify(key.key))?.id).toBe(key.id);
    const { prefix } = parseApiKey(key.key) as { prefix: string };
    const entry = (verifier as unknown as { cache: Map<string, { expires: number }> }).cache.get(prefix);
    expect(entry?.expires).toBeLessThanOrEqual(Date.now() + MAX_API_KEY_CACHE_TTL_MS);
    expect(entry?.expires).toBeGreaterThanOrEqual(before + MAX_API_KEY_CACHE_TTL_MS);
    // Nor is a key served stale past it.
    const staleUntil = (entry as { staleUntil?: number } | undefined)?.staleUntil;
    expect(staleUntil).toBeLessThanOrEqual(Date.now() + MAX_API_KEY_CACHE_TTL_MS);
    const defaults = new ApiKeyVerifier(db, { cacheTtlMs: 10_000 });
    const after = Date.now();
    expect((await defaults.verify(key.key))?.id).toBe(key.id);
    const served = (defaults as unknown as { cache: Map<string, { staleUntil: number }> }).cache.get(prefix);
    expect(served?.staleUntil).toBeGreaterThanOrEqual(after + MAX_API_KEY_CACHE_TTL_MS);
    expect(served?.staleUntil).toBeLessThanOrEqual(Date.now() + MAX_API_KEY_CACHE_TTL_MS);
  });
  it('keeps the keys used within the TTL, at most `maxEntries`', async () => {
    const tenant = await newTenantRow(db);
    const keys = await Promise.all(
      ['a', 'b', 'c'].map((name) => createApiKey(db, tenant.id, { name, scopes: ['read'] })),
    );
    const cached = (v: ApiKeyVerifier) =>
      [...(v as unknown as { cache: Map<string, unknown> }).cache.keys()].sort();
    const prefixes = keys.map((k) => (parseApiKey(k.key) as { prefix: string }).prefix);

    const bounded = new ApiKeyVerifier(db, { maxEntries: 2 });
    for (const k of keys) expect((await bounded.verify(k.key))?.id).toBe(k.id);
    expect(cached(bounded)).toEqual(prefixes.slice(1).sort());

    // Nothing outlives its TTL: an expired entry goes as soon as another comes in.
    const expiring = new ApiKeyVerifier(db, { cacheTtlMs: 0 });
    for (const k of keys) expect((await expiring.verify(k.key))?.id).toBe(k.id);
    expect(cached(expiring)).toEqual([prefixes[2]]);
  });

  it("writes keys' use together, at most once per key and interval", async () => {
    const tenant = await newTenantRow(db);
    const keys = await Promise.all(
      ['a', 'b'].map((name) => createApiKey(db, tenant.id, { name, scopes: ['read'] })),
    );
    const lastUsed = async () =>
      (
        await db
          .withSchema('platform')
          .table('api_keys')
          .whereIn(
            'id',
            keys.map((k) => k.id),
          )
          .orderBy('name')
          .select<Array<{ last_used_at: Date | null }>>('last_used_at')
      ).map((r) => r.last_used_at?.getTime() ?? null);
    const verifier = new ApiKeyVerifier(db, { touchFlushMs: 3_600_000 });
    for (const k of keys) await verifier.verify(k.key);
    expect(await lastUsed()).toEqual([null, null]);
    await verifier.flushTouches();
    const first = await lastUsed();
    expect(first.every((t) => t !== null)).toBe(true);
    // Used again within the interval: nothing more to write.
    for (const k of keys) await verifier.verify(k.key);
    expect((verifier as unknown as { pendingTouches: Set<string> }).pendingTouches.size).toBe(0);
    await verifier.flushTouches();
    expect(await lastUsed()).toEqual(first);
  });
});
