import type { Knex } from 'knex';
import { type PreparedStatement, queryPrepared } from '../db/prepared.js';
import { keysetPage, type Page } from '../pagination.js';
import type { Plan } from './plans.js';

export type ApiKeyScope = 'read' | 'write';

export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** An active key with what is needed to authenticate a request. */
export interface ApiKeyCredential {
  id: string;
  tenant_id: string;
  secret_hash: Buffer;
  scopes: ApiKeyScope[];
  tenant_slug: string;
  tenant_schema: string;
  tenant_status: string;
  tenant_plan: Plan;
}

const COLUMNS = ['id', 'tenant_id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'revoked_at'];
const apiKeys = (db: Knex) => db.withSchema('platform').table('api_keys');

export async function insertApiKey(
  db: Knex,
  key: { tenant_id: string; name: string; prefix: string; secret_hash: Buffer; scopes: ApiKeyScope[] },
): Promise<ApiKey> {
  const [row] = await apiKeys(db).insert(key).returning(COLUMNS);
  return row as ApiKey;
}

export function listApiKeys(
  db: Knex,
  tenantId: string,
  limit: number,
  cursor?: string,
): Promise<Page<ApiKey>> {
  return keysetPage<ApiKey>(apiKeys(db).select(COLUMNS).where({ tenant_id: tenantId }), {
    timeColumn: 'created_at',
    idType: 'uuid',
    limit,
    cursor,
  });
}

/** Revokes one key; returns false when the tenant has no such key. Revoking twice is a no-op. */
export async function revokeApiKey(db: Knex, tenantId: string, keyId: string): Promise<ApiKey | undefined> {
  const [row] = await apiKeys(db)
    .where({ tenant_id: tenantId, id: keyId })
    .update({ revoked_at: db.raw('coalesce(revoked_at, now())') })
    .returning(COLUMNS);
  return row as ApiKey | undefined;
}

export async function revokeTenantKeys(db: Knex, tenantId: string): Promise<number> {
  return apiKeys(db)
    .where({ tenant_id: tenantId })
    .whereNull('revoked_at')
    .update({ revoked_at: db.fn.now() });
}

/**
 * The key lookup of authenticated requests that miss the key cache, and of the cache's batched
 * refreshes: a prepared statement for any number of prefixes (`prefix` is unique).
 */
const FIND_CREDENTIALS: PreparedStatement = {
  name: 'api_keys.find_credentials',
  text: `select k.prefix, k.id, k.tenant_id, k.secret_hash, k.scopes, t.slug as tenant_slug,
                t.schema_name as tenant_schema, t.status as tenant_status, t.plan as tenant_plan
           from platform.api_keys k join platform.tenants t on t.id = k.tenant_id
          where k.prefix = any($1::text[]) and k.revoked_at is null`,
};

/** The active keys of several prefixes in one statement, by prefix (a prefix without one is absent). */
export async function findCredentialsByPrefixes(
  db: Knex,
  prefixes: readonly string[],
): Promise<Map<string, ApiKeyCredential>> {
  const found = new Map<string, ApiKeyCredential>();
  if (prefixes.length === 0) return found;
  const rows = await queryPrepared<ApiKeyCredential & { prefix: string }>(db, FIND_CREDENTIALS, [prefixes]);
  for (const { prefix, ...credential } of rows) found.set(prefix, credential);
  return found;
}

export async function findCredentialByPrefix(
  db: Knex,
  prefix: string,
): Promise<ApiKeyCredential | undefined> {
  return (await findCredentialsByPrefixes(db, [prefix])).get(prefix);
}

const TOUCH: PreparedStatement = {
  name: 'api_keys.touch',
  text: 'update platform.api_keys set last_used_at = now() where id = $1',
};

export async function touchApiKey(db: Knex, id: string): Promise<void> {
  await queryPrepared(db, TOUCH, [id]);
}

const TOUCH_MANY: PreparedStatement = {
  name: 'api_keys.touch_many',
  text: 'update platform.api_keys set last_used_at = now() where id = any($1::uuid[])',
};

/** Marks several keys used now, in one statement. */
export async function touchApiKeys(db: Knex, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await queryPrepared(db, TOUCH_MANY, [ids]);
}
