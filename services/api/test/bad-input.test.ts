import { createDatabase, schemaForSlug } from '@platform/core';
import { testDatabaseUrl } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  startTestApi,
  type TestApi,
  type TestClient,
  type TestTenant,
  uniqueSlug,
} from './helpers.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  request_id: string;
  errors?: Array<{ field: string; message: string }>;
}

type Who = 'anonymous' | 'admin' | 'wrong-admin' | 'tenant' | 'read-only';

interface Case {
  who: Who;
  method: string;
  /** `{tenantId}` and `{userId}` are replaced by the test tenant's id and its user's id. */
  path: string;
  /** An object is sent as JSON; a string is sent as is (with `content-type: application/json`). */
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** A field the problem's `errors` must name. */
  field?: string;
}

const NOW = new Date().toISOString();
const MB = 1024 * 1024;
const event = (extra: Record<string, unknown> = {}) => ({ type: 'page.viewed', occurred_at: NOW, ...extra });
const cursor = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
/** An events batch whose first payload is the given JSON text. */
const rawPayload = (json: string) =>
  JSON.stringify({ events: [event({ payload: 'P' })] }).replace('"P"', json);

/** Every slug here is invalid; the test checks afterwards that none became a tenant or a schema. */
const BAD_SLUGS: Array<[string, string]> = [
  ['uppercase', 'Acme-Corp'],
  ['too short', 'ab'],
  ['one character', 'a'],
  ['empty', ''],
  ['too long (41 characters)', `a${'b'.repeat(40)}`],
  ['leading digit', '1acme'],
  ['leading hyphen', '-acme'],
  ['trailing hyphen', 'acme-'],
  // Unique: the naive schema of `acme_corp` is the real one of the spec's example slug `acme-corp`.
  ['underscore', uniqueSlug('under').replaceAll('-', '_')],
  ['space', 'acme corp'],
  ['SQL: drop schema', 'a; drop schema public'],
  ['SQL: quote', "x' or '1'='1"],
  ['SQL: identifier quote', 'acme"; drop schema public cascade; --'],
  ['unicode letter', 'tenänt'],
  ['emoji', 'acme-🚀'],
  ['NUL character', 'acme\u0000corp'],
  ['newline', 'acme\ncorp'],
];
/** Valid slugs in requests refused for another reason: they must not be created either. */
const VALID_SLUG_BAD_PLAN = uniqueSlug('badplan');
const VALID_SLUG_UNKNOWN_FIELD = uniqueSlug('extra');
const VALID_SLUG_WRONG_TOKEN = uniqueSlug('wrongtoken');
const VALID_SLUG_TENANT_KEY = uniqueSlug('tenantkey');
const VALID_SLUG_NO_NAME = uniqueSlug('noname');
const VALID_SLUG_BIG = uniqueSlug('big');
const REFUSED_VALID_SLUGS = [
  VALID_SLUG_BAD_PLAN,
  VALID_SLUG_UNKNOWN_FIELD,
  VALID_SLUG_WRONG_TOKEN,
  VALID_SLUG_TENANT_KEY,
  VALID_SLUG_NO_NAME,
  VALID_SLUG_BIG,
];
const MARKER = `bad-input ${uniqueSlug('name')}`;

type Options = Partial<Pick<Case, 'body' | 'headers' | 'field'>>;
/** `route` is `METHOD /path`. */
function problem(who: Who, route: string, status: number, code: string, options: Options = {}): Case {
  const [method = '', path = ''] = route.split(' ');
  return { who, method, path, status, code, ...options };
}
/** A 422 `validation_failed` naming `field`. */
const invalid = (who: Who, route: string, body: unknown, field?: string): Case =>
  problem(who, route, 422, 'validation_failed', { body, field });

const USERS = 'POST /v1/users';
const EVENTS = 'POST /v1/events';
const TENANTS = 'POST /v1/tenants';
const KEYS = 'POST /v1/tenants/{tenantId}/api-keys';
const PATCH_USER = 'PATCH /v1/users/{userId}';

const CASES: Array<[string, Case]> = [
  // Malformed JSON
  [
    'malformed JSON: truncated object',
    problem('tenant', USERS, 400, 'malformed_json', { body: '{"email": "a",' }),
  ],
  [
    'malformed JSON: single quotes',
    problem('admin', TENANTS, 400, 'malformed_json', { body: "{'slug': 'abc'}" }),
  ],
  [
    'malformed JSON: unquoted keys',
    problem('tenant', EVENTS, 400, 'malformed_json', { body: '{events: []}' }),
  ],
  ['malformed JSON: bare null', problem('tenant', PATCH_USER, 400, 'malformed_json', { body: 'null' })],
  ['malformed JSON: bare string', problem('tenant', USERS, 400, 'malformed_json', { body: '"hello"' })],
  ['malformed JSON: api key', problem('admin', KEYS, 400, 'malformed_json', { body: '[' })],
  // Wrong types and values
  [
    'wrong type: user name is a number',
    invalid('tenant', USERS, { email: 'a@b.co', name: 123 }, 'body.name'),
  ],
  [
    'wrong type: user email is an array',
    invalid('tenant', USERS, { email: ['a@b.co'], name: 'x' }, 'body.email'),
  ],
  ['wrong type: user name is null', invalid('tenant', PATCH_USER, { name: null }, 'body.name')],
  ['wrong type: user body is an array', invalid('tenant', USERS, [1, 2], 'body')],
  ['wrong type: events is a string', invalid('tenant', EVENTS, { events: 'x' })],
  [
    'wrong type: event type is a number',
    invalid('tenant', EVENTS, { events: [event({ type: 5 })] }, 'body.events[0].type'),
  ],
  [
    'wrong type: event user_id is a number',
    invalid('tenant', EVENTS, { events: [event({ user_id: 5 })] }, 'body.events[0].user_id'),
  ],
  [
    'wrong type: event payload is a string',
    invalid('tenant', EVENTS, { events: [event({ payload: 'x' })] }, 'body.events[0].payload'),
  ],
  [
    'wrong type: event payload is an array',
    invalid('tenant', EVENTS, { events: [event({ payload: [1] })] }, 'body.events[0].payload'),
  ],
  ['wrong type: users limit=abc', invalid('tenant', 'GET /v1/users?limit=abc', undefined, 'query.limit')],
  ['wrong type: events limit=abc', invalid('tenant', 'GET /v1/events?limit=abc', undefined, 'query.limit')],
  ['wrong type: tenants limit=abc', invalid('admin', 'GET /v1/tenants?limit=abc', undefined, 'query.limit')],
  [
    'wrong type: keys limit=abc',
    invalid('admin', 'GET /v1/tenants/{tenantId}/api-keys?limit=abc', undefined, 'query.limit'),
  ],
  [
    'wrong type: repeated limit',
    invalid('tenant', 'GET /v1/users?limit=1&limit=2', undefined, 'query.limit'),
  ],
  ['out of range: limit=0', invalid('tenant', 'GET /v1/users?limit=0', undefined, 'query.limit')],
  ['out of range: limit=201', invalid('tenant', 'GET /v1/events?limit=201', undefined, 'query.limit')],
  ['out of range: limit=1.5', invalid('tenant', 'GET /v1/users?limit=1.5', undefined, 'query.limit')],
  ['out of range: limit=-1', invalid('tenant', 'GET /v1/users?limit=-1', undefined, 'query.limit')],
  ['wrong type: from=yesterday', invalid('tenant', 'GET /v1/events?from=yesterday', undefined, 'query.from')],
  ['wrong type: to=123', invalid('tenant', 'GET /v1/events?to=123', undefined, 'query.to')],
  [
    'unknown query parameter',
    invalid('tenant', 'GET /v1/events?form=2026-01-01T00:00:00Z', undefined, 'query.form'),
  ],
  ['wrong type: slug is a number', invalid('admin', TENANTS, { slug: 123, name: MARKER }, 'body.slug')],
  [
    'unknown plan',
    invalid('admin', TENANTS, { slug: VALID_SLUG_BAD_PLAN, name: MARKER, plan: 'gold' }, 'body.plan'),
  ],
  ['unknown scope', invalid('admin', KEYS, { name: 'k', scopes: ['admin'] }, 'body.scopes[0]')],
  ['wrong type: key name is a number', invalid('admin', KEYS, { name: 5, scopes: ['read'] }, 'body.name')],
  ['invalid email', invalid('tenant', USERS, { email: 'not an email', name: 'x' }, 'body.email')],
  ['empty name', invalid('tenant', USERS, { email: 'a@b.co', name: '' }, 'body.name')],
  ['name of 201 characters', invalid('tenant', PATCH_USER, { name: 'x'.repeat(201) }, 'body.name')],
  // Unknown fields
  [
    'unknown field: user role',
    invalid('tenant', USERS, { email: 'a@b.co', name: 'x', role: 'admin' }, 'body.role'),
  ],
  ['unknown field: user patch', invalid('tenant', PATCH_USER, { nickname: 'x' }, 'body.nickname')],
  [
    'unknown field: __proto__',
    invalid('tenant', USERS, '{"email":"a@b.co","name":"x","__proto__":{}}', 'body.__proto__'),
  ],
  [
    'unknown field: events batch',
    invalid('tenant', EVENTS, { events: [event()], dry_run: true }, 'body.dry_run'),
  ],
  [
    'unknown field: event',
    invalid('tenant', EVENTS, { events: [event(), event({ colour: 'red' })] }, 'body.events[1].colour'),
  ],
  [
    'unknown field: tenant schema_name',
    invalid(
      'admin',
      TENANTS,
      { slug: VALID_SLUG_UNKNOWN_FIELD, name: MARKER, schema_name: 'public' },
      'body.schema_name',
    ),
  ],
  [
    'unknown field: api key tenant_id',
    invalid('admin', KEYS, { name: 'k', scopes: ['read'], tenant_id: 'x' }, 'body.tenant_id'),
  ],
  // Missing required fields
  ['missing: user email', invalid('tenant', USERS, { name: 'x' }, 'body.email')],
  ['missing: user name', invalid('tenant', USERS, { email: 'a@b.co' }, 'body.name')],
  [
    'missing: body not JSON',
    problem('tenant', USERS, 415, 'unsupported_media_type', {
      body: 'email=a@b.co',
      headers: { 'content-type': 'text/plain' },
    }),
  ],
  ['missing: events', invalid('tenant', EVENTS, {}, 'body.events')],
  [
    'missing: event occurred_at',
    invalid('tenant', EVENTS, { events: [{ type: 'x' }] }, 'body.events[0].occurred_at'),
  ],
  ['missing: tenant slug', invalid('admin', TENANTS, { name: MARKER }, 'body.slug')],
  ['missing: tenant name', invalid('admin', TENANTS, { slug: VALID_SLUG_NO_NAME }, 'body.name')],
  ['missing: api key scopes', invalid('admin', KEYS, { name: 'k' }, 'body.scopes')],
  // Text PostgreSQL cannot store
  ['NUL in user name', invalid('tenant', USERS, { email: 'nul@b.co', name: 'a\u0000b' }, 'body.name')],
  ['NUL in patched email', invalid('tenant', PATCH_USER, { email: 'a\u0000b@b.co' }, 'body.email')],
  ['NUL in event type filter', invalid('tenant', 'GET /v1/events?type=a%00b', undefined, 'query.type')],
  [
    'NUL in event payload value',
    invalid('tenant', EVENTS, { events: [event({ payload: { a: 'x\u0000' } })] }, 'body.events[0].payload.a'),
  ],
  [
    'NUL in event payload key',
    invalid('tenant', EVENTS, { events: [event({ payload: { 'k\u0000': 1 } })] }, 'body.events[0].payload'),
  ],
  [
    'unpaired surrogate in payload',
    invalid('tenant', EVENTS, rawPayload('{"a":["\\ud800"]}'), 'body.events[0].payload.a[0]'),
  ],
  [
    'payload nested 100,000 deep',
    invalid(
      'tenant',
      EVENTS,
      rawPayload(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`),
      'body.events[0].payload',
    ),
  ],
  // Cursors
  ['users cursor: garbage', invalid('tenant', 'GET /v1/users?cursor=%%%', undefined, 'query.cursor')],
  ['users cursor: not a cursor', invalid('tenant', 'GET /v1/users?cursor=abc', undefined, 'query.cursor')],
  [
    'users cursor: bad values',
    invalid('tenant', `GET /v1/users?cursor=${cursor(['x', 'y'])}`, undefined, 'query.cursor'),
  ],
  [
    'events cursor: bad values',
    invalid('tenant', `GET /v1/events?cursor=${cursor(['x', 'y'])}`, undefined, 'query.cursor'),
  ],
  // Oversized bodies (the limit is 1 MB)
  [
    'oversized: user',
    problem('tenant', USERS, 413, 'body_too_large', { body: { email: 'a@b.co', name: 'x'.repeat(MB) } }),
  ],
  [
    'oversized: events',
    problem('tenant', EVENTS, 413, 'body_too_large', {
      body: { events: [event({ payload: { x: 'x'.repeat(MB) } })] },
    }),
  ],
  [
    'oversized: tenant',
    problem('admin', TENANTS, 413, 'body_too_large', {
      body: { slug: VALID_SLUG_BIG, name: 'x'.repeat(MB) },
    }),
  ],
  // Encodings
  [
    'unsupported charset',
    problem('tenant', USERS, 415, 'unsupported_encoding', {
      body: '{}',
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    }),
  ],
  [
    'unsupported content-encoding',
    problem('tenant', USERS, 415, 'unsupported_encoding', {
      body: '{}',
      headers: { 'content-encoding': 'br' },
    }),
  ],
  [
    'gzip that is not gzip',
    problem('tenant', USERS, 400, 'bad_request', { body: '{}', headers: { 'content-encoding': 'gzip' } }),
  ],
  // Bad slugs
  ...BAD_SLUGS.map(([name, slug]): [string, Case] => [
    `bad slug: ${name}`,
    invalid('admin', TENANTS, { slug, name: MARKER }, 'body.slug'),
  ]),
  // Unknown routes and ids
  ['unknown route', problem('tenant', 'GET /v1/nope', 404, 'route_not_found')],
  ['unknown version', problem('tenant', 'GET /v2/users', 404, 'route_not_found')],
  ['unknown route without auth', problem('anonymous', 'GET /', 404, 'route_not_found')],
  ['unrouted method: DELETE /v1/events', problem('tenant', 'DELETE /v1/events', 405, 'method_not_allowed')],
  [
    'unrouted method: PUT /v1/users/{id}',
    problem('tenant', 'PUT /v1/users/{userId}', 405, 'method_not_allowed', { body: { name: 'x' } }),
  ],
  ['nested unknown route', problem('tenant', 'GET /v1/users/{userId}/events', 404, 'route_not_found')],
  ['malformed percent-encoding in path', problem('tenant', 'GET /v1/users/%ZZ', 400, 'bad_request')],
  ['user id not a uuid', problem('tenant', 'GET /v1/users/1%20or%201=1', 404, 'not_found')],
  ['tenant id not a uuid', problem('admin', "GET /v1/tenants/x'--", 404, 'not_found')],
  [
    'api key id not a uuid',
    problem('admin', 'DELETE /v1/tenants/{tenantId}/api-keys/nope', 404, 'not_found'),
  ],
  // Authentication and authorisation
  ['missing auth: list users', problem('anonymous', 'GET /v1/users', 401, 'missing_credentials')],
  [
    'missing auth: ingest events',
    problem('anonymous', EVENTS, 401, 'missing_credentials', { body: { events: [event()] } }),
  ],
  ['missing auth: admin route', problem('anonymous', 'GET /v1/tenants', 401, 'missing_credentials')],
  [
    'not a bearer token',
    problem('anonymous', 'GET /v1/users', 401, 'invalid_credentials', {
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    }),
  ],
  [
    'empty bearer token',
    problem('anonymous', 'GET /v1/users', 401, 'invalid_credentials', {
      headers: { authorization: 'Bearer ' },
    }),
  ],
  [
    'garbage API key',
    problem('anonymous', 'GET /v1/users', 401, 'invalid_credentials', {
      headers: { authorization: 'Bearer plk_nope' },
    }),
  ],
  [
    'well-formed unknown API key',
    problem('anonymous', 'GET /v1/users', 401, 'invalid_credentials', {
      headers: { authorization: `Bearer plk_0123456789abcdef_${'A'.repeat(43)}` },
    }),
  ],
  ['admin token on a tenant route', problem('admin', 'GET /v1/users', 401, 'invalid_credentials')],
  ['wrong admin token: list tenants', problem('wrong-admin', 'GET /v1/tenants', 401, 'invalid_credentials')],
  [
    'wrong admin token: create tenant',
    problem('wrong-admin', TENANTS, 401, 'invalid_credentials', {
      body: { slug: VALID_SLUG_WRONG_TOKEN, name: MARKER },
    }),
  ],
  [
    'wrong admin token: create api key',
    problem('wrong-admin', KEYS, 401, 'invalid_credentials', { body: { name: 'k', scopes: ['read'] } }),
  ],
  [
    'tenant key on admin route: list tenants',
    problem('tenant', 'GET /v1/tenants', 401, 'invalid_credentials'),
  ],
  [
    'tenant key on admin route: create tenant',
    problem('tenant', TENANTS, 401, 'invalid_credentials', {
      body: { slug: VALID_SLUG_TENANT_KEY, name: MARKER },
    }),
  ],
  [
    'tenant key on admin route: own tenant',
    problem('tenant', 'GET /v1/tenants/{tenantId}', 401, 'invalid_credentials'),
  ],
  [
    'tenant key on admin route: create api key',
    problem('tenant', KEYS, 401, 'invalid_credentials', { body: { name: 'k', scopes: ['read', 'write'] } }),
  ],
  [
    'tenant key on admin route: delete own tenant',
    problem('tenant', 'DELETE /v1/tenants/{tenantId}', 401, 'invalid_credentials'),
  ],
  [
    'read-only key writes events',
    problem('read-only', EVENTS, 403, 'insufficient_scope', { body: { events: [event()] } }),
  ],
  [
    'read-only key deletes a user',
    problem('read-only', 'DELETE /v1/users/{userId}', 403, 'insufficient_scope'),
  ],
];

let t: TestApi;
let tenant: TestTenant;
let userId: string;
let readOnly: TestClient;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });

beforeAll(async () => {
  t = await startTestApi();
  tenant = await t.createTenant();
  const user = await tenant.client.post('/v1/users', { email: 'seed@example.com', name: 'Seed' });
  expect(user.status).toBe(201);
  userId = user.body.id as string;
  const key = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, {
    name: 'read only',
    scopes: ['read'],
  });
  expect(key.status).toBe(201);
  readOnly = t.anonymous.as(key.body.key as string);
});
afterAll(async () => {
  await t?.stop();
  await db.destroy();
});

function clientFor(who: Who): TestClient {
  switch (who) {
    case 'anonymous':
      return t.anonymous;
    case 'admin':
      return t.admin;
    case 'wrong-admin':
      return t.anonymous.as(`${ADMIN_TOKEN}x`);
    case 'tenant':
      return tenant.client;
    case 'read-only':
      return readOnly;
  }
}

describe('bad input', () => {
  it.each(CASES)('%s', async (_name, c) => {
    const path = c.path.replaceAll('{tenantId}', tenant.id).replaceAll('{userId}', userId);
    const res = await clientFor(c.who).request<Problem>(c.method, path, c.body, c.headers);
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    expect(res.body).toMatchObject({
      type: `urn:platform:problem:${c.code}`,
      code: c.code,
      status: c.status,
      title: expect.stringMatching(/\S/),
      request_id: requestId,
    });
    if (c.status === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer');
    if (c.field) {
      expect(res.body.errors?.map((e) => e.field)).toContain(c.field);
      for (const e of res.body.errors ?? []) expect(e.message).toMatch(/\S/);
    }
    if (c.status === 422 && !c.field) expect(res.body.errors?.length).toBeGreaterThan(0);
  });

  it('echoes a well-formed x-request-id in the header and the problem, and replaces a malformed one', async () => {
    const given = await tenant.client.request<Problem>('GET', '/v1/nope', undefined, {
      'x-request-id': 'trace-42:a.b_c',
    });
    expect(given.headers.get('x-request-id')).toBe('trace-42:a.b_c');
    expect(given.body.request_id).toBe('trace-42:a.b_c');

    const malformed = await tenant.client.request<Problem>('GET', '/v1/nope', undefined, {
      'x-request-id': 'no spaces; or <script>',
    });
    const replaced = malformed.headers.get('x-request-id');
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    expect(malformed.body.request_id).toBe(replaced);
  });

  it('left nothing behind: no tenant, schema, user, event or key from the refused requests', async () => {
    const slugs = [...BAD_SLUGS.map(([, slug]) => slug), ...REFUSED_VALID_SLUGS];
    const tenants = await db
      .withSchema('platform')
      .table('tenants')
      .whereIn(
        'slug',
        slugs.map((s) => s.replaceAll('\u0000', '')),
      )
      .orWhere('name', MARKER)
      .select('slug');
    expect(tenants).toEqual([]);

    // Schemas derived from the slugs (naively for the invalid ones), and anything that looks like an injection.
    const naive = slugs.map((s) => `tenant_${s.replaceAll('\u0000', '').replaceAll('-', '_')}`);
    const schemas = await db.raw<{ rows: Array<{ nspname: string }> }>(
      `select nspname from pg_namespace
        where nspname = any(?) or nspname ~* '(drop|select|--|;|''|")' or nspname ~ '[A-Z]' or nspname ~ '[^\\x01-\\x7f]'`,
      [naive],
    );
    expect(schemas.rows).toEqual([]);
    const publicSchema = await db.raw<{ rows: unknown[] }>(
      "select 1 from pg_namespace where nspname = 'public'",
    );
    expect(publicSchema.rows).toHaveLength(1);
    // The test tenant is intact: still ready, its one user unchanged, no events, only its two keys.
    const status = await t.admin.get(`/v1/tenants/${tenant.id}`);
    expect(status.body.status).toBe('ready');
    const users = await db
      .withSchema(schemaForSlug(tenant.slug))
      .table('users')
      .select('id', 'email', 'name');
    expect(users).toEqual([{ id: userId, email: 'seed@example.com', name: 'Seed' }]);
    const events = await db
      .withSchema(schemaForSlug(tenant.slug))
      .table('events')
      .count<{ count: number }[]>('* as count');
    expect(events[0]?.count).toBe(0);
    const keys = await db
      .withSchema('platform')
      .table('api_keys')
      .where({ tenant_id: tenant.id })
      .select('name');
    expect(keys.map((k: { name: string }) => k.name).sort()).toEqual(['read only', 'test']);
  });
});
