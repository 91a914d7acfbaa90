import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOT_READS, matchHotRead } from '../src/hot-reads.js';
import { openapi } from '../src/operations.js';
import { capturedLog, type Reply, startTestApi, type TestApi, type TestTenant } from './helpers.js';

// The hot-read router answers the plainest form of a few tenant reads in front of Express; the
// same operation with a trailing slash is Express's (tsoa's route). Both must answer alike.

const { log, lines: logLines } = capturedLog();

let t: TestApi;
let tenant: TestTenant;
let other: TestTenant;
let writeOnly: TestTenant;
let userId: string;
let otherUserId: string;

beforeAll(async () => {
  t = await startTestApi({ RATE_LIMITS: 'on', RATE_LIMIT_HOLD_MS: '0' }, { log });
  [tenant, other] = await Promise.all([t.createTenant(), t.createTenant()]);
  writeOnly = await t.createTenant({ scopes: ['write'] });
  const created = await tenant.client.post<{ id: string }>('/v1/users', {
    email: 'a@example.com',
    name: 'A',
  });
  const theirs = await other.client.post<{ id: string }>('/v1/users', { email: 'b@example.com', name: 'B' });
  expect([created.status, theirs.status]).toEqual([201, 201]);
  userId = created.body.id;
  otherUserId = theirs.body.id;
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/** What must be equal on both paths: status, body but its request id, and the headers that matter. */
function comparable(reply: Reply) {
  const body = { ...(reply.body as Record<string, unknown>) };
  const requestId = body.request_id;
  if ('request_id' in body) body.request_id = '<id>';
  const h = reply.headers;
  return {
    status: reply.status,
    body,
    bodyRequestIdIsHeader: requestId === undefined || requestId === h.get('x-request-id'),
    headers: {
      'content-type': h.get('content-type'),
      'cache-control': h.get('cache-control'),
      'x-content-type-options': h.get('x-content-type-options'),
      'www-authenticate': h.get('www-authenticate'),
      'ratelimit-policy': h.get('ratelimit-policy'),
      ratelimit: h.get('ratelimit')?.replace(/r=\d+/g, 'r=<n>').replace(/t=\d+/g, 't=<n>'),
      'retry-after': h.get('retry-after'),
      'x-powered-by': h.get('x-powered-by'),
      etag: h.get('etag'),
      'has content-length': h.has('content-length'),
    },
  };
}

describe('the hot-read router', () => {
  it('takes only the plainest form of a hot read; the rest goes to Express', () => {
    const get = (url: string, headers: Record<string, string> = {}) =>
      matchHotRead({ method: 'GET', url, headers })?.operationId;
    expect(get('/v1/users/0b6a3c4e-0000-4000-8000-000000000000')).toBe('getUser');
    expect(get('/v1/users/not-a-uuid')).toBe('getUser');
    for (const url of [
      '/v1/users/abc/',
      '/v1/users/abc?x=1',
      '/v1/users/abc?',
      '/v1/users/%61bc',
      '/v1/users/',
      '/v1/users',
      '/v1/users/abc/def',
      '/V1/users/abc',
      '/v1/events',
    ]) {
      expect(get(url), url).toBeUndefined();
    }
    expect(get('/v1/users/abc', { origin: 'https://app.example.com' })).toBeUndefined();
    expect(matchHotRead({ method: 'HEAD', url: '/v1/users/abc', headers: {} })).toBeUndefined();
    expect(matchHotRead({ method: 'DELETE', url: '/v1/users/abc', headers: {} })).toBeUndefined();
  });

  it('serves exactly the operations of the spec it names: path, method, security, no query, no body', () => {
    const paths = openapi.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const read of HOT_READS) {
      const found = Object.entries(paths).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([, op]) => op.operationId === read.operationId)
          .map(([method, op]) => ({ path, method, op })),
      );
      expect(found, read.operationId).toHaveLength(1);
      const { path, method, op } = found[0] as (typeof found)[number];
      expect(method).toBe('get');
      expect(path).toMatch(new RegExp(`^${read.prefix}\\{[A-Za-z]+\\}$`));
      expect(read.route).toBe(path.replace(/\{([A-Za-z]+)\}/, ':$1'));
      expect(op.security).toEqual([{ [read.security.name]: [...read.security.scopes] }]);
      const params = (op.parameters ?? []) as Array<{ in: string }>;
      expect(params.filter((p) => p.in !== 'path')).toEqual([]);
      expect(op.requestBody).toBeUndefined();
    }
  });

  it('answers like the Express route: success, 404, 401, 403, isolation, rate-limit headers', async () => {
    const wrongKey = `${tenant.key.slice(0, -4)}AAAA`;
    const cases: Array<{ name: string; id: string; token: string | undefined; status: number }> = [
      { name: 'own user', id: userId, token: tenant.key, status: 200 },
      { name: 'unknown id', id: '0b6a3c4e-0000-4000-8000-000000000000', token: tenant.key, status: 404 },
      { name: 'malformed id', id: 'not-a-uuid', token: tenant.key, status: 404 },
      { name: "another tenant's user", id: otherUserId, token: tenant.key, status: 404 },
      { name: 'no credentials', id: userId, token: undefined, status: 401 },
      { name: 'wrong key', id: userId, token: wrongKey, status: 401 },
      { name: 'not a key', id: userId, token: 'nope', status: 401 },
      { name: 'write-only key', id: userId, token: writeOnly.key, status: 403 },
    ];
    for (const c of cases) {
      const client = t.anonymous.as(c.token);
      const hot = await client.get(`/v1/users/${c.id}`);
      const viaExpress = await client.get(`/v1/users/${c.id}/`);
      expect(hot.status, c.name).toBe(c.status);
      expect(comparable(hot), c.name).toEqual(comparable(viaExpress));
      expect(comparable(hot).bodyRequestIdIsHeader, c.name).toBe(true);
    }
    const own = await tenant.client.get<{ id: string; email: string }>(`/v1/users/${userId}`);
    expect(own.body).toMatchObject({ id: userId, email: 'a@example.com', name: 'A' });
    expect(own.headers.get('ratelimit-policy')).toContain('"key-read"');
  });

  it('echoes a well-formed request id and logs one access-log line with the tenant', async () => {
    const res = await tenant.client.request('GET', `/v1/users/${userId}`, undefined, {
      'x-request-id': 'hot-read-log-1',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('hot-read-log-1');
    const lines = logLines.filter((l) => l.request_id === 'hot-read-log-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      tenant: tenant.slug,
      method: 'GET',
      path: `/v1/users/${userId}`,
      status: 200,
    });
    expect(typeof lines[0]?.ms).toBe('number');
    expect(JSON.stringify(logLines)).not.toContain(tenant.key);
  });

  it('counts its requests in the metrics under the route template', async () => {
    const metric = async () => {
      const text = await (await fetch(`${t.api.opsUrl}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('http_requests_total{') &&
            l.includes('method="GET"') &&
            l.includes('route="/v1/users/:userId"') &&
            l.includes('status="200"'),
        );
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await metric();
    for (let i = 0; i < 3; i++) expect((await tenant.client.get(`/v1/users/${userId}`)).status).toBe(200);
    expect(await metric()).toBe(before + 3);
  });

  it('refuses a query string the operation does not declare (Express, 422), after authentication', async () => {
    const res = await tenant.client.get(`/v1/users/${userId}?expand=all`);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect((await t.anonymous.get(`/v1/users/${userId}?expand=all`)).status).toBe(401);
  });
});
