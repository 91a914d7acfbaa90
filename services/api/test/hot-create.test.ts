import { PLANS, schemaForSlug } from '@platform/core';
import { fetchMiddlewares } from '@tsoa/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PredictionsController } from '../src/controllers/predictions.controller.js';
import {
  bodyLimitBytes,
  HOT_CREATE,
  isPlainCreateBody,
  matchHotCreate,
  NOT_JSON,
  parseJsonBody,
} from '../src/hot-create.js';
import { idempotent } from '../src/middleware/idempotency.js';
import { openapi } from '../src/operations.js';
import { capturedLog, type Reply, startTestApi, type TestApi, type TestTenant } from './helpers.js';

// The plainest form of POST /v1/predictions is answered in front of Express; the same operation
// with a trailing slash is Express's (tsoa's route). Both must answer alike, and every other form
// must reach Express.

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const { log, lines: logLines } = capturedLog();

let t: TestApi;
let tenant: TestTenant;
let readOnly: TestTenant;
let full: TestTenant;

beforeAll(async () => {
  t = await startTestApi({ RATE_LIMITS: 'on', RATE_LIMIT_HOLD_MS: '0' }, { log });
  [tenant, readOnly, full] = await Promise.all([
    t.createTenant({ plan: 'standard' }),
    t.createTenant({ plan: 'standard', scopes: ['read'] }),
    t.createTenant({ plan: 'free' }),
  ]);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/** POST requests counted as answered in front of Express (under any route: `unmatched` for not JSON). */
async function frontCount(): Promise<number> {
  const text = await (await fetch(`${t.api.opsUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('http_front_requests_total{') && l.includes('method="POST"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** What must be equal on both paths: status, body but its ids, and the headers that matter. */
function comparable(reply: Reply) {
  const body =
    reply.body !== null && typeof reply.body === 'object'
      ? { ...(reply.body as Record<string, unknown>) }
      : reply.body;
  const h = reply.headers;
  let requestIdIsHeader = true;
  if (body !== null && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if ('request_id' in b) {
      requestIdIsHeader = b.request_id === h.get('x-request-id');
      b.request_id = '<id>';
    }
    if (reply.status === 202) {
      expect(h.get('location')).toBe(`/v1/predictions/${String(b.id)}`);
      b.id = '<id>';
    }
  }
  return {
    status: reply.status,
    body,
    requestIdIsHeader,
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
      'has location': h.has('location'),
      'has x-request-id': h.has('x-request-id'),
      'has content-length': h.has('content-length'),
    },
  };
}

/** POSTs the raw `body` to the fast path's URL and to Express's; returns both replies. */
async function both(
  token: string | undefined,
  body: string,
  headers: Record<string, string> = {},
): Promise<[Reply, Reply]> {
  const client = t.anonymous.as(token);
  const h = { 'content-type': 'application/json', ...headers };
  const fast = await client.request('POST', '/v1/predictions', body, h);
  const viaExpress = await client.request('POST', '/v1/predictions/', body, h);
  return [fast, viaExpress];
}

describe('the plain create path of POST /v1/predictions', () => {
  it('takes only the plainest form; the rest goes to Express', () => {
    const limit = bodyLimitBytes('1mb');
    expect(limit).toBe(1024 * 1024);
    expect(bodyLimitBytes('512kb')).toBe(512 * 1024);
    expect(bodyLimitBytes('100b')).toBe(100);
    const plain = { 'content-type': 'application/json', 'content-length': '60' };
    const take = (url: string, headers: Record<string, string>, method = 'POST') =>
      matchHotCreate({ method, url, headers }, limit);
    expect(take('/v1/predictions', plain)).toBe(true);
    expect(take('/v1/predictions', { ...plain, 'content-type': 'application/json; charset=utf-8' })).toBe(
      true,
    );
    expect(take('/v1/predictions', { ...plain, 'content-length': String(limit) })).toBe(true);
    for (const [name, url, headers, method] of [
      ['trailing slash', '/v1/predictions/', plain, 'POST'],
      ['query', '/v1/predictions?x=1', plain, 'POST'],
      ['empty query', '/v1/predictions?', plain, 'POST'],
      ['GET', '/v1/predictions', plain, 'GET'],
      ['PUT', '/v1/predictions', plain, 'PUT'],
      ['idempotency key', '/v1/predictions', { ...plain, 'idempotency-key': 'k1' }, 'POST'],
      ['origin', '/v1/predictions', { ...plain, origin: 'https://app.example.com' }, 'POST'],
      ['chunked', '/v1/predictions', { ...plain, 'transfer-encoding': 'chunked' }, 'POST'],
      ['gzip', '/v1/predictions', { ...plain, 'content-encoding': 'gzip' }, 'POST'],
      ['identity', '/v1/predictions', { ...plain, 'content-encoding': 'identity' }, 'POST'],
      ['over the limit', '/v1/predictions', { ...plain, 'content-length': String(limit + 1) }, 'POST'],
      ['empty body', '/v1/predictions', { ...plain, 'content-length': '0' }, 'POST'],
      ['no length', '/v1/predictions', { 'content-type': 'application/json' }, 'POST'],
      ['text', '/v1/predictions', { ...plain, 'content-type': 'text/plain' }, 'POST'],
      [
        'latin-1',
        '/v1/predictions',
        { ...plain, 'content-type': 'application/json; charset=latin1' },
        'POST',
      ],
      [
        'json variant',
        '/v1/predictions',
        { ...plain, 'content-type': 'application/merge-patch+json' },
        'POST',
      ],
      ['no type', '/v1/predictions', { 'content-length': '60' }, 'POST'],
    ] as Array<[string, string, Record<string, string>, string]>) {
      expect(take(url, headers, method), name).toBe(false);
    }
  });

  it('takes as they are only bodies the spec validates unchanged', () => {
    expect(isPlainCreateBody({ model: 'iris', inputs: [SETOSA] })).toBe(true);
    expect(isPlainCreateBody({ inputs: [SETOSA, []], model: '' })).toBe(true);
    for (const body of [
      null,
      [],
      'iris',
      { model: 'iris' },
      { inputs: [SETOSA] },
      { model: 'iris', inputs: [SETOSA], extra: 1 },
      { model: 1, inputs: [SETOSA] },
      { model: 'ir\u0000is', inputs: [SETOSA] },
      { model: 'ir\ud800is', inputs: [SETOSA] },
      { model: 'iris', inputs: [] },
      { model: 'iris', inputs: Array.from({ length: 1001 }, () => SETOSA) },
      { model: 'iris', inputs: SETOSA },
      { model: 'iris', inputs: [['5.1', 3.5, 1.4, 0.2]] },
      { model: 'iris', inputs: [[null, 3.5, 1.4, 0.2]] },
      { model: 'iris', inputs: [[Number.POSITIVE_INFINITY, 3.5, 1.4, 0.2]] },
    ]) {
      expect(isPlainCreateBody(body), JSON.stringify(body)).toBe(false);
    }
    expect(parseJsonBody(Buffer.from('\ufeff {"a":1}'))).toEqual({ a: 1 });
    for (const text of ['', ' ', '"iris"', '1', 'null', '{"a":', '{"a":1}}']) {
      expect(parseJsonBody(Buffer.from(text)), text).toBe(NOT_JSON);
    }
  });

  it('serves exactly the operation of the spec: path, method, security, parameters, body, middlewares', () => {
    const paths = openapi.paths as Record<string, Record<string, Record<string, unknown>>>;
    const op = paths[HOT_CREATE.route]?.post as Record<string, unknown>;
    expect(op.operationId).toBe(HOT_CREATE.operationId);
    expect(op.security).toEqual([{ [HOT_CREATE.security.name]: [...HOT_CREATE.security.scopes] }]);
    const params = (op.parameters ?? []) as Array<{ in: string; name: string }>;
    expect(params.map((p) => `${p.in}:${p.name}`)).toEqual(['header:Idempotency-Key']);
    expect(Object.keys((op.responses ?? {}) as object)).toContain(String(HOT_CREATE.status));
    const schemas = (
      (openapi as unknown as { components: unknown }).components as {
        schemas: Record<string, Record<string, unknown>>;
      }
    ).schemas;
    const request = schemas.CreatePredictionRequest as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(Object.keys(request.properties).sort()).toEqual(['inputs', 'model']);
    expect(request.required.sort()).toEqual(['inputs', 'model']);
    expect(request.additionalProperties).toBe(false);
    expect(request.properties.model).toMatchObject({ type: 'string' });
    expect(request.properties.inputs).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { type: 'array', items: { type: 'number', format: 'double' } },
    });
    // The one route middleware is the idempotency one, which does nothing without the header.
    expect(fetchMiddlewares(PredictionsController)).toEqual([]);
    expect(fetchMiddlewares(PredictionsController.prototype.createPrediction)).toEqual([idempotent]);
  });

  it('answers like the Express route, good and bad, and answers the plain forms itself', async () => {
    const wrongKey = `${tenant.key.slice(0, -4)}AAAA`;
    const good = JSON.stringify({ model: 'iris', inputs: [SETOSA] });
    const cases: Array<{
      name: string;
      token: string | undefined;
      body: string;
      status: number;
      fast: boolean;
    }> = [
      { name: 'good', token: tenant.key, body: good, status: 202, fast: true },
      {
        name: 'good, several instances and edge numbers',
        token: tenant.key,
        body: '{"inputs":[[1e-7,1e21,-0,5e-324],[5.1,3.5,1.4,0.2]],"model":"iris"}',
        status: 202,
        fast: true,
      },
      {
        name: 'good after a byte-order mark',
        token: tenant.key,
        body: `\ufeff${good}`,
        status: 202,
        fast: true,
      },
      { name: 'not JSON', token: tenant.key, body: '{"model":', status: 400, fast: true },
      { name: 'not JSON, no key', token: undefined, body: '{"model":', status: 400, fast: true },
      { name: 'a JSON string', token: tenant.key, body: '"iris"', status: 400, fast: true },
      {
        name: 'unknown model',
        token: tenant.key,
        body: '{"model":"nope","inputs":[[1,2,3,4]]}',
        status: 422,
        fast: true,
      },
      {
        name: 'wrong feature count',
        token: tenant.key,
        body: '{"model":"iris","inputs":[[1,2,3]]}',
        status: 422,
        fast: true,
      },
      {
        name: 'empty instance',
        token: tenant.key,
        body: '{"model":"iris","inputs":[[]]}',
        status: 422,
        fast: true,
      },
      { name: 'no credentials', token: undefined, body: good, status: 401, fast: true },
      { name: 'wrong key', token: wrongKey, body: good, status: 401, fast: true },
      { name: 'not a key', token: 'nope', body: good, status: 401, fast: true },
      { name: 'read-only key', token: readOnly.key, body: good, status: 403, fast: true },
      // Left to Express, already parsed.
      {
        name: 'model not a string',
        token: tenant.key,
        body: '{"model":1,"inputs":[[1,2,3,4]]}',
        status: 422,
        fast: false,
      },
      {
        name: 'a string feature',
        token: tenant.key,
        body: '{"model":"iris","inputs":[["x",2,3,4]]}',
        status: 422,
        fast: false,
      },
      {
        name: 'a numeric string feature',
        token: tenant.key,
        body: '{"model":"iris","inputs":[["5.1",3.5,1.4,0.2]]}',
        status: 422,
        fast: false,
      },
      {
        name: 'a null feature',
        token: tenant.key,
        body: '{"model":"iris","inputs":[[null,2,3,4]]}',
        status: 422,
        fast: false,
      },
      {
        name: 'no instances',
        token: tenant.key,
        body: '{"model":"iris","inputs":[]}',
        status: 422,
        fast: false,
      },
      {
        name: 'inputs flat',
        token: tenant.key,
        body: '{"model":"iris","inputs":[1,2,3,4]}',
        status: 422,
        fast: false,
      },
      { name: 'missing inputs', token: tenant.key, body: '{"model":"iris"}', status: 422, fast: false },
      {
        name: 'extra field',
        token: tenant.key,
        body: `{"model":"iris","inputs":[[1,2,3,4]],"x":1}`,
        status: 422,
        fast: false,
      },
      { name: 'an array body', token: tenant.key, body: '[]', status: 422, fast: false },
      {
        name: 'too big a number',
        token: tenant.key,
        body: '{"model":"iris","inputs":[[1e400,2,3,4]]}',
        status: 422,
        fast: false,
      },
      {
        name: 'NUL in the model',
        token: tenant.key,
        body: '{"model":"ir\\u0000is","inputs":[[1,2,3,4]]}',
        status: 422,
        fast: false,
      },
      {
        name: 'NUL in the model, no key',
        token: undefined,
        body: '{"model":"ir\\u0000is","inputs":[[1,2,3,4]]}',
        status: 422,
        fast: false,
      },
      { name: 'wrong types, no key', token: undefined, body: '{"model":1}', status: 401, fast: false },
      {
        name: 'wrong types, read-only key',
        token: readOnly.key,
        body: '{"model":1}',
        status: 403,
        fast: false,
      },
    ];
    for (const c of cases) {
      const before = await frontCount();
      const [fast, viaExpress] = await both(c.token, c.body);
      const after = await frontCount();
      expect(fast.status, `${c.name}: ${JSON.stringify(fast.body)}`).toBe(c.status);
      expect(comparable(fast), c.name).toEqual(comparable(viaExpress));
      expect(comparable(fast).requestIdIsHeader, c.name).toBe(true);
      // Only the fast path counts itself; the request with a trailing slash never does.
      expect(after - before, c.name).toBe(c.fast ? 1 : 0);
    }
    const created = await tenant.client.post<{ id: string; status: string }>('/v1/predictions', {
      model: 'iris',
      inputs: [SETOSA],
    });
    expect(created.body.status).toBe('queued');
    expect(created.headers.get('ratelimit-policy')).toContain('"key-write"');
    const stored = await tenant.client.get<{ id: string; inputs: number[][] }>(
      `/v1/predictions/${created.body.id}`,
    );
    expect(stored.body).toMatchObject({ id: created.body.id, model: 'iris', inputs: [SETOSA] });
  });

  it('leaves every other form to Express, which answers it unchanged', async () => {
    const good = JSON.stringify({ model: 'iris', inputs: [SETOSA] });
    const before = await frontCount();
    const huge = JSON.stringify({ model: 'iris', inputs: [SETOSA], pad: 'x'.repeat(1024 * 1024) });
    const tooLarge = await tenant.client.request('POST', '/v1/predictions', huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ code: 'body_too_large' });
    const text = await tenant.client.request('POST', '/v1/predictions', good, {
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    const withQuery = await tenant.client.request('POST', '/v1/predictions?x=1', good);
    expect(withQuery.status).toBe(422);
    expect(withQuery.body).toMatchObject({ errors: [{ field: 'query.x' }] });
    const first = await tenant.client.request('POST', '/v1/predictions', good, { 'idempotency-key': 'hc-1' });
    const replay = await tenant.client.request('POST', '/v1/predictions', good, {
      'idempotency-key': 'hc-1',
    });
    expect([first.status, replay.status]).toEqual([202, 202]);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const badKey = await tenant.client.request('POST', '/v1/predictions', good, { 'idempotency-key': ' ' });
    expect(badKey.status).toBe(422);
    expect(await frontCount()).toBe(before);
  });

  it("answers the plan's predictions-per-day quota like Express: 429, nothing written", async () => {
    const platform = t.api.platform;
    const ref = { id: full.id, slug: full.slug, schema: schemaForSlug(full.slug), plan: 'free' as const };
    const limit = PLANS.free.limits.predictionsPerDay;
    await platform.usage.reserve(ref, { predictions: limit - 1 });
    const good = JSON.stringify({ model: 'iris', inputs: [SETOSA] });
    const last = await full.client.request('POST', '/v1/predictions', good);
    expect(last.status).toBe(202);
    const before = await frontCount();
    const [fast, viaExpress] = await both(full.key, good);
    expect(await frontCount()).toBe(before + 1);
    expect(fast.status).toBe(429);
    expect(fast.body).toMatchObject({ code: 'quota_exceeded', quota: 'predictions_per_day', limit });
    // Retry-After counts the seconds to midnight (UTC): the two answers may be a second apart.
    const retryAfter = (r: Reply) => Number(r.headers.get('retry-after'));
    expect(Math.abs(retryAfter(fast) - retryAfter(viaExpress))).toBeLessThanOrEqual(1);
    const sansRetryAfter = (r: Reply) => ({
      ...comparable(r),
      headers: { ...comparable(r).headers, 'retry-after': '<s>' },
    });
    expect(sansRetryAfter(fast)).toEqual(sansRetryAfter(viaExpress));
    const rows = await platform.db.withSchema(ref.schema).table('predictions').count({ n: '*' });
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it('logs one access-log line with the tenant and counts the request under its route', async () => {
    const metric = async () => {
      const text = await (await fetch(`${t.api.opsUrl}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('http_requests_total{') &&
            l.includes('method="POST"') &&
            l.includes('route="/v1/predictions"') &&
            l.includes('status="202"'),
        );
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await metric();
    const res = await tenant.client.request(
      'POST',
      '/v1/predictions',
      { model: 'iris', inputs: [SETOSA] },
      { 'x-request-id': 'hot-create-log-1' },
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe('hot-create-log-1');
    expect(await metric()).toBe(before + 1);
    const lines = logLines.filter((l) => l.request_id === 'hot-create-log-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      tenant: tenant.slug,
      method: 'POST',
      path: '/v1/predictions',
      status: 202,
    });
    expect(JSON.stringify(logLines)).not.toContain(tenant.key);
  });
});
