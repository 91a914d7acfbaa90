import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { ValidationError } from '../errors.js';
import {
  type ApiKey,
  type ApiKeyCredential,
  type ApiKeyScope,
  findCredentialByPrefix,
  findCredentialsByPrefixes,
  insertApiKey,
  touchApiKeys,
} from './api-keys.repository.js';

export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['read', 'write'];
const KEY_RE = /^plk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export interface CreatedApiKey extends ApiKey {
  /** The full key. Returned once, at creation; only its hash is stored. */
  key: string;
}

export async function createApiKey(
  db: Knex,
  tenantId: string,
  input: { name: string; scopes: ApiKeyScope[] },
): Promise<CreatedApiKey> {
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0 || !scopes.every((s) => API_KEY_SCOPES.includes(s))) {
    throw new ValidationError('Invalid scopes', [
      { field: 'body.scopes', message: `must be a non-empty subset of ${API_KEY_SCOPES.join(', ')}` },
    ]);
  }
  const prefix = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row = await insertApiKey(db, {
    tenant_id: tenantId,
    name: input.name,
    prefix,
    secret_hash: hashSecret(secret),
    scopes,
  });
  return { ...row, key: `plk_${prefix}_${secret}` };
}

export function parseApiKey(token: string): { prefix: string; secret: string } | undefined {
  const match = KEY_RE.exec(token);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

/**
 * The longest an API key lookup may be used after it was read (cached, then served while it is
 * refreshed): a revocation that misses a replica lasts no longer.
 */
export const MAX_API_KEY_CACHE_TTL_MS = 60_000;

type FindCredential = (db: Knex, prefix: string) => Promise<ApiKeyCredential | undefined>;
type FindCredentials = (db: Knex, prefixes: readonly string[]) => Promise<Map<string, ApiKeyCredential>>;

/** Prefixes refreshed in one statement at most. */
const REFRESH_BATCH_MAX = 1_000;

/** Options of `ApiKeyVerifier`. */
export interface ApiKeyVerifierOptions {
  /** How long a found key stays cached (at most MAX_API_KEY_CACHE_TTL_MS). */
  cacheTtlMs: number;
  /**
   * How long after `cacheTtlMs` a found key is still served, at once, while one lookup refreshes
   * it in the background (default: the rest of MAX_API_KEY_CACHE_TTL_MS, none when `cacheTtlMs`
   * is 0). `cacheTtlMs + staleMs` is at most MAX_API_KEY_CACHE_TTL_MS.
   */
  staleMs: number;
  /** A key's `last_used_at` is written at most this often. */
  touchIntervalMs: number;
  /** Keys whose use is written together, after at most this long. */
  touchFlushMs: number;
  /** Prefixes cached at most. */
  maxEntries: number;
  /**
   * Keys served stale within this long are refreshed together, in one statement. With 10,000
   * tenants and a 10 s TTL a busy replica refreshes about 1,000 keys a second: one lookup each
   * would cost about as much as the requests themselves.
   */
  refreshBatchMs: number;
}

/**
 * Prefixes cached at most by default: every active key of 10,000+ tenants (a few hundred bytes
 * each). Entries past their time are dropped as new ones come in, so the cache holds the keys
 * used within the last `cacheTtlMs`, however many keys have been seen.
 */
export const DEFAULT_API_KEY_CACHE_ENTRIES = 200_000;

/**
 * Verifies API keys. Lookups by prefix are cached so a hot key costs no query: found keys for
 * `cacheTtlMs`, unknown prefixes for a second, at most `maxEntries` prefixes (oldest dropped
 * first, and expired ones as new ones come in); concurrent lookups of one prefix share a query.
 * A found key used after its `cacheTtlMs` but within `staleMs` more is answered from the cache
 * and refreshed in the background, with the other keys served stale within `refreshBatchMs`, in
 * one statement, so a key used at least once a minute never
 * waits for the database (with 10,000 tenants each key may be used less often than every
 * `cacheTtlMs`); what the refresh reads (a revoked key, a changed plan) answers the next request.
 * A found key is never used longer than MAX_API_KEY_CACHE_TTL_MS after it was read.
 * `invalidate` drops a cached prefix at once (called on revocation, across replicas by the API)
 * and wins over a lookup in flight: every prefix has a generation, bumped by `invalidate`, and a
 * lookup whose prefix changed generation while its query ran neither caches nor returns that
 * result but asks again. The secret is always compared in constant time against the stored hash.
 * Uses are written (`last_used_at`) at most every `touchIntervalMs` per key, for every key used
 * within `touchFlushMs` in one statement.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<
    string,
    { credential: ApiKeyCredential | undefined; expires: number; staleUntil: number }
  >();
  private readonly inflight = new Map<string, Promise<ApiKeyCredential | undefined>>();
  /** Prefixes waiting for the next batched refresh, and those whose refresh is running. */
  private refreshQueue = new Set<string>();
  private readonly refreshing = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  /** When each key's use was last written, oldest first. */
  private readonly touched = new Map<string, number>();
  private pendingTouches = new Set<string>();
  private touchTimer: NodeJS.Timeout | undefined;
  /** Per-prefix generations, and an epoch for `invalidate()` of everything (and for trimming). */
  private readonly generations = new Map<string, number>();
  private epoch = 0;
  private readonly options: ApiKeyVerifierOptions;

  constructor(
    private readonly db: Knex,
    options: Partial<ApiKeyVerifierOptions> = {},
    private readonly find: FindCredential = findCredentialByPrefix,
    private readonly findMany: FindCredentials = findCredentialsByPrefixes,
  ) {
    const merged = {
      cacheTtlMs: 10_000,
      touchIntervalMs: 60_000,
      touchFlushMs: 1_000,
      maxEntries: DEFAULT_API_KEY_CACHE_ENTRIES,
      refreshBatchMs: 50,
      ...options,
    };
    merged.cacheTtlMs = Math.min(merged.cacheTtlMs, MAX_API_KEY_CACHE_TTL_MS);
    const staleMs =
      options.staleMs ?? (merged.cacheTtlMs > 0 ? MAX_API_KEY_CACHE_TTL_MS - merged.cacheTtlMs : 0);
    this.options = {
      ...merged,
      staleMs: Math.max(0, Math.min(staleMs, MAX_API_KEY_CACHE_TTL_MS - merged.cacheTtlMs)),
    };
  }

  private generation(prefix: string): string {
    return `${this.epoch}:${this.generations.get(prefix) ?? 0}`;
  }

  /** Room for one more entry: expired entries at the front go, then the oldest if still full. */
  private makeRoom(now: number): void {
    for (const [prefix, entry] of this.cache) {
      // Entries are in insertion order; a found key outlives the unknown prefixes cached after it.
      if (entry.staleUntil > now && this.cache.size < this.options.maxEntries) break;
      this.cache.delete(prefix);
    }
  }

  private async lookup(prefix: string): Promise<ApiKeyCredential | undefined> {
    const entry = this.cache.get(prefix);
    if (entry && entry.expires > Date.now()) return entry.credential;
    for (;;) {
      const generation = this.generation(prefix);
      let pending = this.inflight.get(prefix);
      if (!pending) {
        const query = this.find(this.db, prefix).finally(() => {
          if (this.inflight.get(prefix) === query) this.inflight.delete(prefix);
        });
        pending = query;
        this.inflight.set(prefix, query);
      }
      const credential = await pending;
      // Revoked while the query ran: the answer may predate the revocation. Ask again.
      if (this.generation(prefix) !== generation) continue;
      this.store(prefix, credential);
      return credential;
    }
  }

  /** Caches what a lookup read of a prefix. */
  private store(prefix: string, credential: ApiKeyCredential | undefined): void {
    const now = Date.now();
    this.cache.delete(prefix);
    this.makeRoom(now);
    const ttl = credential ? this.options.cacheTtlMs : Math.min(1000, this.options.cacheTtlMs);
    const staleUntil = now + ttl + (credential ? this.options.staleMs : 0);
    this.cache.set(prefix, { credential, expires: now + ttl, staleUntil });
  }

  /** Looks a cached key up again in the background, with the others due within `refreshBatchMs`. */
  private refresh(prefix: string): void {
    if (this.inflight.has(prefix) || this.refreshQueue.has(prefix) || this.refreshing.has(prefix)) return;
    this.refreshQueue.add(prefix);
    if (!this.refreshTimer) {
      this.refreshTimer = setTimeout(() => void this.refreshQueued(), this.options.refreshBatchMs);
      this.refreshTimer.unref();
    }
  }

  /**
   * Refreshes the queued prefixes, up to REFRESH_BATCH_MAX a statement. A prefix invalidated while
   * its statement ran keeps nothing of it (its next request looks it up); a failed statement
   * keeps the entries until their `staleUntil`, after which the requests ask themselves.
   */
  private async refreshQueued(): Promise<void> {
    this.refreshTimer = undefined;
    const queued = [...this.refreshQueue];
    this.refreshQueue = new Set();
    for (let i = 0; i < queued.length; i += REFRESH_BATCH_MAX) {
      const prefixes = queued.slice(i, i + REFRESH_BATCH_MAX);
      const generations = prefixes.map((p) => this.generation(p));
      for (const p of prefixes) this.refreshing.add(p);
      try {
        const found = await this.findMany(this.db, prefixes);
        prefixes.forEach((p, k) => {
          if (this.generation(p) === generations[k]) this.store(p, found.get(p));
        });
      } catch {
        // Kept until `staleUntil` (above).
      } finally {
        for (const p of prefixes) this.refreshing.delete(p);
      }
    }
  }

  /** Records a use of the key, written with the others of the next `touchFlushMs`. */
  private touch(id: string, now: number): void {
    const last = this.touched.get(id);
    if (last !== undefined && now - last < this.options.touchIntervalMs) return;
    this.touched.delete(id);
    // Keys written longer ago than the interval would be written on their next use anyway.
    for (const [oldest, at] of this.touched) {
      if (now - at < this.options.touchIntervalMs && this.touched.size < this.options.maxEntries) break;
      this.touched.delete(oldest);
    }
    this.touched.set(id, now);
    this.pendingTouches.add(id);
    if (!this.touchTimer) {
      this.touchTimer = setTimeout(() => void this.flushTouches(), this.options.touchFlushMs);
      this.touchTimer.unref();
    }
  }

  /** Writes the uses recorded so far (on a timer; call it before closing the database). */
  async flushTouches(): Promise<void> {
    clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    const ids = [...this.pendingTouches];
    this.pendingTouches = new Set();
    try {
      await touchApiKeys(this.db, ids);
    } catch {
      // Not written: the next use of these keys writes it.
      for (const id of ids) this.touched.delete(id);
    }
  }

  async verify(token: string): Promise<ApiKeyCredential | undefined> {
    const parsed = parseApiKey(token);
    if (!parsed) return undefined;
    // A cached key is checked without waiting for anything; one past its TTL is refreshed meanwhile.
    const now = Date.now();
    const entry = this.cache.get(parsed.prefix);
    let credential: ApiKeyCredential | undefined;
    if (entry && entry.expires > now) {
      credential = entry.credential;
    } else if (entry?.credential && entry.staleUntil > now) {
      credential = entry.credential;
      this.refresh(parsed.prefix);
    } else {
      credential = await this.lookup(parsed.prefix);
    }
    if (!credential || !timingSafeEqual(hashSecret(parsed.secret), credential.secret_hash)) return undefined;
    this.touch(credential.id, Date.now());
    return credential;
  }

  /** Drops a prefix (or everything) from the cache; lookups in flight for it ask again. */
  invalidate(prefix?: string): void {
    if (prefix) {
      this.cache.delete(prefix);
      this.inflight.delete(prefix);
      if (this.generations.size >= this.options.maxEntries) {
        this.generations.clear();
        this.epoch += 1;
      }
      this.generations.set(prefix, (this.generations.get(prefix) ?? 0) + 1);
    } else {
      this.cache.clear();
      this.inflight.clear();
      this.generations.clear();
      this.epoch += 1;
    }
  }

  /** Drops every cached key of a tenant (its plan or status changed). */
  invalidateTenant(tenantId: string): void {
    for (const [prefix, entry] of this.cache) {
      if (entry.credential?.tenant_id === tenantId) this.cache.delete(prefix);
    }
  }
}
