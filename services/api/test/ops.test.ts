import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLog, startTestApi, type TestApi } from './helpers.js';

const { log, lines: logLines } = capturedLog();

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({}, { log });
});
afterAll(() => t.stop());

async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

describe('operations endpoints', () => {
  it('answers /healthz and /readyz on the ops port, with Postgres and Redis checked', async () => {
    expect((await getJson(`${t.api.opsUrl}/healthz`)).body).toEqual({ status: 'ok' });
    const ready = await getJson(`${t.api.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ready: true, checks: { postgres: { ok: true }, redis: { ok: true } } });
  });

  it('keeps only a minimal /healthz on the public port: no /readyz detail, no /metrics', async () => {
    expect((await t.anonymous.get('/healthz')).body).toEqual({ status: 'ok' });
    for (const path of ['/readyz', '/metrics']) {
      const res = await t.anonymous.get(path);
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toMatch(/postgres|redis|http_requests_total/);
    }
    expect(new URL(t.api.opsUrl).port).not.toBe(new URL(t.api.url).port);
  });

  it('reports not ready (503) when a dependency is down', async () => {
    const broken = await startTestApi();
    try {
      await broken.api.platform.db.destroy(); // the pool is gone: Postgres is unreachable for this API
      const ready = await getJson<{ ready: boolean; checks: Record<string, { ok: boolean }> }>(
        `${broken.api.opsUrl}/readyz`,
      );
      expect(ready.status).toBe(503);
      expect(ready.body.ready).toBe(false);
      expect(ready.body.checks.postgres?.ok).toBe(false);
      expect(ready.body.checks.redis?.ok).toBe(true);
    } finally {
      await broken.api.platform.redis.quit();
      broken.api.server.close();
      broken.api.opsServer.close();
      await broken.worker.stop();
    }
  });

  it('exposes Prometheus metrics by route template and status, and pool stats, on the ops port', async () => {
    const tenant = await t.createTenant();
    await tenant.client.get('/v1/users/00000000-0000-0000-0000-000000000000');
    const text = await (await fetch(`${t.api.opsUrl}/metrics`)).text();
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/v1\/users\/:userId",status="404"\} [1-9]/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.1",method="GET",route="\/v1\/users\/:userId"\}/,
    );
    expect(text).toMatch(/db_pool_connections\{state="max"\} 10/);
  });

  it('serves the OpenAPI spec and the API docs', async () => {
    const spec = await t.anonymous.get<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json');
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toContain('/v1/users/{userId}');
    for (const path of ['/docs', '/docs/']) {
      const docs = await t.anonymous.get<string>(path);
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
      expect(docs.body).toContain('Platform API');
      expect(docs.body).toContain('/v1/users/{userId}');
      // Bundled: no script or style is loaded from elsewhere.
      expect(docs.body).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    }
  });
});

describe('request ids and logs', () => {
  it('puts x-request-id on every response, accepting a well-formed one from the caller', async () => {
    const generated = await t.anonymous.get('/healthz');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await t.anonymous.request('GET', '/nope', undefined, { 'x-request-id': 'req-123.abc' });
    expect(given.headers.get('x-request-id')).toBe('req-123.abc');
    expect(given.body.request_id).toBe('req-123.abc');
    for (const hostile of ['a b<script>', 'x'.repeat(129), '../../etc']) {
      const res = await t.anonymous.request('GET', '/healthz', undefined, { 'x-request-id': hostile });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('logs one JSON line per request with request id and tenant, with credentials redacted', async () => {
    const tenant = await t.createTenant();
    const res = await tenant.client.request('GET', '/v1/users', undefined, { 'x-request-id': 'log-check-1' });
    expect(res.status).toBe(200);
    const lines = logLines.filter((l) => l.request_id === 'log-check-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ tenant: tenant.slug, status: 200, method: 'GET', path: '/v1/users' });
    const all = JSON.stringify(logLines);
    expect(all).not.toContain(tenant.key);
    expect(all).not.toContain(tenant.key.slice(21));
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new connections, then closes pools', async () => {
    const doomed = await startTestApi();
    const tenant = await doomed.createTenant();
    const url = new URL(`${doomed.api.url}/v1/events`);
    // A request whose body is still arriving when shutdown starts.
    const req = httpRequest(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
    });
    const received = once(doomed.api.server, 'request');
    const response = once(req, 'response');
    req.write('{"events": [');
    await received; // the server is handling the request; its body is not complete yet
    const stopped = doomed.stop();
    req.end(`{"type": "late", "occurred_at": "${new Date().toISOString()}"}]}`);
    const [res] = (await response) as [import('node:http').IncomingMessage];
    let body = '';
    for await (const chunk of res) body += chunk;
    expect(res.statusCode).toBe(201);
    expect(JSON.parse(body)).toEqual({ accepted: 1 });
    await stopped;
    await expect(fetch(`${doomed.api.url}/healthz`)).rejects.toThrow();
    await expect(doomed.api.platform.db.raw('select 1')).rejects.toThrow();
  });
});
