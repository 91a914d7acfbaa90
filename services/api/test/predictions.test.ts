import { createDatabase, schemaForSlug } from '@platform/core';
import { startPythonCeleryWorker, testDatabaseUrl, testRuntimeDatabaseUrl } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestTenant, waitFor } from './helpers.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];

let t: TestApi;
let tenant: TestTenant;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
beforeAll(async () => {
  t = await startTestApi();
  tenant = await t.createTenant();
});
afterAll(async () => {
  await t.stop();
  await db.destroy();
});

type PredictionBody = {
  id: string;
  status: string;
  output: { predictions: unknown[] } | null;
  error: string | null;
};

async function waitForPrediction(
  client: TestTenant['client'],
  id: string,
  status: string,
): Promise<PredictionBody> {
  return waitFor(`prediction ${id} to be ${status}`, async () => {
    const res = await client.get<PredictionBody>(`/v1/predictions/${id}`);
    return res.body.status === status ? res.body : undefined;
  });
}

describe('models', () => {
  it('lists the ml-gateway models with their input schemas, cached in Redis', async () => {
    await t.api.platform.redis.del('platform:ml:models');
    const res = await tenant.client.get<{ data: Array<{ name: string; input_schema: { count: number } }> }>(
      '/v1/models',
    );
    expect(res.status).toBe(200);
    const names = res.body.data.map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['iris', 'wine', 'breast-cancer', 'digits', 'diabetes']));
    expect(res.body.data.find((m) => m.name === 'iris')?.input_schema.count).toBe(4);
    expect(JSON.parse((await t.api.platform.redis.get('platform:ml:models')) as string)).toHaveLength(
      res.body.data.length,
    );
  });
});

describe('predictions', () => {
  it('queues a prediction (202), runs it through the worker and ml-gateway, and shows the result', async () => {
    const res = await tenant.client.post('/v1/predictions', { model: 'iris', inputs: [SETOSA, VIRGINICA] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.any(String), status: 'queued' });
    expect(res.headers.get('location')).toBe(`/v1/predictions/${res.body.id}`);
    const done = await waitForPrediction(tenant.client, res.body.id as string, 'succeeded');
    expect(done.output?.predictions).toEqual(['setosa', 'virginica']);

    const list = await tenant.client.get<{ data: Array<{ id: string }> }>('/v1/predictions?limit=50');
    expect(list.body.data.map((p) => p.id)).toContain(res.body.id);
  });

  it.each([
    ['an unknown model', { model: 'no-such-model', inputs: [SETOSA] }, 'body.model'],
    ['too few features', { model: 'iris', inputs: [SETOSA, [1, 2, 3]] }, 'body.inputs[1]'],
    ['too many features', { model: 'iris', inputs: [[...SETOSA, 9]] }, 'body.inputs[0]'],
    ['no instances', { model: 'iris', inputs: [] }, 'body.inputs'],
    ['a non-numeric value', { model: 'iris', inputs: [[1, 2, 'x', 4]] }, 'body.inputs[0][2]'],
  ])('rejects %s with 422 before anything is queued', async (_name, body, field) => {
    const before = await db.withSchema(schemaForSlug(tenant.slug)).table('predictions').count({ n: '*' });
    const res = await tenant.client.post<{ code: string; errors: Array<{ field: string }> }>(
      '/v1/predictions',
      body,
    );
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e) => e.field)).toEqual(expect.arrayContaining([field]));
    const after = await db.withSchema(schemaForSlug(tenant.slug)).table('predictions').count({ n: '*' });
    expect(after[0]?.n).toBe(before[0]?.n);
    expect(await t.api.platform.redis.llen(t.api.platform.config.queues.ml)).toBe(0);
  });

  it("keeps tenants apart: another tenant's key cannot see a prediction", async () => {
    const other = await t.createTenant();
    const res = await tenant.client.post('/v1/predictions', { model: 'iris', inputs: [SETOSA] });
    expect((await other.client.get(`/v1/predictions/${res.body.id}`)).status).toBe(404);
    const list = await other.client.get<{ data: unknown[] }>('/v1/predictions');
    expect(list.body.data).toEqual([]);
  });
});

describe('interop: a task published by the API, run by Python Celery', () => {
  it('is picked up and completed by a Python Celery 5 worker on the same Redis', async () => {
    const api = await startTestApi({}, { consumeMl: false });
    const python = startPythonCeleryWorker(api.api.platform.config.queues.ml, {
      REDIS_URL: api.api.platform.config.redisUrl,
      DATABASE_URL: testRuntimeDatabaseUrl(),
      ML_GATEWAY_URL: '',
    });
    try {
      const pyTenant = await api.createTenant();
      const res = await pyTenant.client.post('/v1/predictions', {
        model: 'wine',
        inputs: [[13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]],
      });
      expect(res.status).toBe(202);
      const done = await waitFor(
        'the Python worker to complete the prediction',
        async () => {
          if (python.child.exitCode !== null) throw new Error(`python worker exited:\n${python.output()}`);
          const r = await pyTenant.client.get<PredictionBody>(`/v1/predictions/${res.body.id}`);
          return r.body.status === 'succeeded' ? r.body : undefined;
        },
        40_000,
      );
      expect(done.output?.predictions).toHaveLength(1);
      expect(python.output()).toMatch(/ml\.predict/);
    } finally {
      await python.stop();
      await api.stop();
    }
  });
});
