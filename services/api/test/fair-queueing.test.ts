import { createDatabase, FAIR_SLOTS_PREFIX, PLANS, schemaForSlug } from '@platform/core';
import { testDatabaseUrl } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestTenant, waitFor } from './helpers.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];

let t: TestApi;
let tenant: TestTenant;
const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
// Nothing consumes the ML queue, and one slot per tenant: every prediction after the first waits
// in the outbox, as a flood's backlog does.
beforeAll(async () => {
  t = await startTestApi(
    { RATE_LIMITS: 'off' },
    { consumeMl: false, workerEnv: { FAIR_SLOTS_PER_TENANT: '1' } },
  );
  tenant = await t.createTenant({ plan: 'free' });
});
afterAll(async () => {
  await t.stop();
  await db.destroy();
});

async function predictionCount(): Promise<number> {
  const rows = await db.withSchema(schemaForSlug(tenant.slug)).table('predictions').count({ n: '*' });
  return Number(rows[0]?.n ?? 0);
}

describe('the per-tenant cap on predictions waiting to run', () => {
  it("answers 429 too_many_queued with Retry-After once the plan's waiting predictions are reached, writing nothing", async () => {
    const limit = PLANS.free.limits.queuedPredictions;
    // One is admitted to the broker (its slot), `limit` wait for admission; the next is refused.
    const slot = `${FAIR_SLOTS_PREFIX}:${t.api.platform.config.queues.ml}:${tenant.id}`;
    for (let i = 0; i < limit + 1; i++) {
      const res = await tenant.client.post('/v1/predictions', { model: 'iris', inputs: [SETOSA] });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      if (i === 0)
        await waitFor('the first to take the slot', async () =>
          (await t.api.platform.redis.zcard(slot)) === 1 ? true : undefined,
        );
    }
    const usageBefore = await tenant.client.get<{
      current: { quotas: Array<{ quota: string; used: number }> };
    }>('/v1/usage');
    const before = await predictionCount();
    const refused = await tenant.client.post<{ code: string; limit: number; status: number }>(
      '/v1/predictions',
      {
        model: 'iris',
        inputs: [SETOSA],
      },
    );
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'too_many_queued', limit, status: 429 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The plain form above is answered in front of Express; Express's route (trailing slash) alike.
    const viaExpress = await tenant.client.post<Record<string, unknown>>('/v1/predictions/', {
      model: 'iris',
      inputs: [SETOSA],
    });
    const answer = (r: typeof viaExpress) => ({
      status: r.status,
      body: { ...r.body, request_id: typeof r.body.request_id },
      type: r.headers.get('content-type'),
      retryAfter: r.headers.get('retry-after'),
    });
    expect(answer(viaExpress)).toEqual(answer(refused as unknown as typeof viaExpress));
    expect(await predictionCount()).toBe(before);
    const usageAfter = await tenant.client.get<{
      current: { quotas: Array<{ quota: string; used: number }> };
    }>('/v1/usage');
    const used = (u: typeof usageAfter) =>
      u.body.current.quotas.find((q) => q.quota === 'predictions_per_day')?.used;
    expect(used(usageAfter)).toBe(used(usageBefore));

    // Another tenant is not held back by this one's backlog.
    const other = await t.createTenant({ plan: 'free' });
    expect((await other.client.post('/v1/predictions', { model: 'iris', inputs: [SETOSA] })).status).toBe(
      202,
    );
  });

  it('declares too_many_queued on createPrediction in the spec', async () => {
    const spec = (await t.anonymous.get<Record<string, never>>('/openapi.json')).body as unknown as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { description: string; headers?: object }> }>
      >;
    };
    const response = spec.paths['/v1/predictions']?.post?.responses['429'];
    expect(response?.description).toMatch(/too_many_queued/);
    expect(response?.headers).toHaveProperty('Retry-After');
  });
});
