import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestTenant } from './helpers.js';

/** fetch refuses TRACE; node:http sends any method. */
function send(
  method: string,
  url: string,
): Promise<{ status: number; allow?: string; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          allow: res.headers.allow,
          type: res.headers['content-type'],
          body,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

let t: TestApi;
let tenant: TestTenant;

beforeAll(async () => {
  t = await startTestApi();
  tenant = await t.createTenant();
});
afterAll(async () => {
  await t?.stop();
});

describe('the rules the spec states and the routes do not check themselves', () => {
  it('answers a method the spec does not declare with 405 and Allow; OPTIONS with 204 and Allow', async () => {
    for (const method of ['TRACE', 'PUT']) {
      const res = await send(method, `${t.api.url}/v1/users`);
      expect(res.status, method).toBe(405);
      expect(res.allow).toBe('POST, GET, HEAD, OPTIONS');
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect((JSON.parse(res.body) as { code: string }).code).toBe('method_not_allowed');
    }
    const item = await fetch(`${t.api.url}/v1/users/00000000-0000-0000-0000-000000000000`, {
      method: 'POST',
    });
    expect(item.status).toBe(405);
    expect(item.headers.get('allow')).toBe('GET, PATCH, DELETE, HEAD, OPTIONS');
    const options = await fetch(`${t.api.url}/v1/tenants`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('POST, GET, HEAD, OPTIONS');
    expect((await send('TRACE', `${t.api.url}/v1/nothing`)).status).toBe(404);
  });

  it('refuses unknown query parameters (422), after authentication (401 first)', async () => {
    const res = await tenant.client.get('/v1/users?limt=10');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'query.limt', message: 'is not a parameter of this operation' }],
    });
    expect((await t.anonymous.get('/v1/users?limt=10')).status).toBe(401);
    expect((await tenant.client.get('/v1/users?limit=10')).status).toBe(200);
  });

  it('checks credentials before the Idempotency-Key', async () => {
    const res = await t.anonymous.request(
      'POST',
      '/v1/users',
      { email: 'a@b.co', name: 'A' },
      {
        'idempotency-key': 'bad key with spaces',
      },
    );
    expect(res.status).toBe(401);
    const authed = await tenant.client.request(
      'POST',
      '/v1/users',
      { email: 'a@b.co', name: 'A' },
      {
        'idempotency-key': 'bad key with spaces',
      },
    );
    expect(authed.status).toBe(422);
  });

  it('refuses a PATCH without a body (422) and a body that is not JSON (415); nothing changes', async () => {
    const created = await tenant.client.post<{ id: string }>('/v1/users', { email: 'p@b.co', name: 'P' });
    const none = await tenant.client.request('PATCH', `/v1/users/${created.body.id}`);
    expect(none.status).toBe(422);
    expect(none.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'body' }] });
    const text = await tenant.client.request('PATCH', `/v1/users/${created.body.id}`, 'name=Q', {
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: 'unsupported_media_type' });
    expect((await tenant.client.get(`/v1/users/${created.body.id}`)).body).toMatchObject({ name: 'P' });
    expect((await t.anonymous.request('PATCH', `/v1/users/${created.body.id}`)).status).toBe(401);
  });

  it('refuses a non-object JSON body with 400 problem+json', async () => {
    const res = await tenant.client.request('POST', '/v1/users', '"text"');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'malformed_json' });
  });

  it('sends nosniff everywhere and no-store on API responses (a created key above all)', async () => {
    const key = await t.admin.post(`/v1/tenants/${tenant.id}/api-keys`, { name: 'k', scopes: ['read'] });
    expect(key.status).toBe(201);
    expect(key.headers.get('cache-control')).toBe('no-store');
    expect(key.headers.get('x-content-type-options')).toBe('nosniff');
    for (const res of [await tenant.client.get('/v1/users'), await t.anonymous.get('/v1/users')]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const spec = await t.anonymous.get('/openapi.json');
    expect(spec.headers.get('x-content-type-options')).toBe('nosniff');
    expect(spec.headers.get('cache-control')).toBe('no-cache');
  });
});
