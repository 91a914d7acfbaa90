import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { namespaceForSlug, PLANS } from '@platform/core';
import { ensureKubernetes, installChartIdentities, type TestCluster } from '@platform/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, waitFor } from './helpers.js';

let cluster: TestCluster;
let t: TestApi;
let core: CoreV1Api;
beforeAll(async () => {
  cluster = await ensureKubernetes();
  t = await startTestApi({ KUBERNETES: 'on', KUBECONFIG: cluster.kubeconfig });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
}, 3_600_000);
afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
});

describe('tenants on Kubernetes, through the API and the worker', () => {
  it('creates the namespace with provisioning, reports its resources, and deletes it with the tenant', async () => {
    const tenant = await t.createTenant({ plan: 'enterprise' });
    const namespace = namespaceForSlug(tenant.slug);
    expect((await core.readNamespace({ name: namespace })).status?.phase).toBe('Active');

    const res = await t.admin.get<{
      namespace: string;
      phase: string;
      quota: { hard: Record<string, string> };
      pods: unknown[];
    }>(`/v1/tenants/${tenant.id}/resources`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ namespace, phase: 'Active', pods: [] });
    expect(res.body.quota.hard['limits.memory']).toBe('64Gi');

    expect((await t.admin.delete(`/v1/tenants/${tenant.id}`)).status).toBe(202);
    await t.waitForStatus(tenant.id, 'deleted');
    await waitFor(
      'the namespace to be gone',
      async () => {
        try {
          await core.readNamespace({ name: namespace });
          return undefined;
        } catch (err) {
          return (err as { code?: number }).code === 404 ? true : undefined;
        }
      },
      60_000,
    );
  });

  it("applies the new plan's ResourceQuota to the namespace on PATCH /v1/tenants/{id}", async () => {
    const tenant = await t.createTenant({ plan: 'free' });
    const namespace = namespaceForSlug(tenant.slug);
    const hard = async () =>
      (await core.readNamespacedResourceQuota({ name: 'tenant-quota', namespace })).spec?.hard ?? {};
    expect(await hard()).toMatchObject({
      pods: PLANS.free.quota.pods,
      'limits.memory': PLANS.free.quota['limits.memory'],
    });

    const res = await t.admin.patch(`/v1/tenants/${tenant.id}`, { plan: 'enterprise' });
    expect(res.status).toBe(200);
    expect(res.body.plan).toBe('enterprise');
    // Applied by the worker (platform.apply_tenant_plan, from the outbox): the API only reads.
    await waitFor('the enterprise quota on the namespace', async () =>
      (await hard()).pods === PLANS.enterprise.quota.pods ? true : undefined,
    );
    expect(await hard()).toMatchObject({
      pods: PLANS.enterprise.quota.pods,
      'limits.memory': PLANS.enterprise.quota['limits.memory'],
    });
    const ns = await core.readNamespace({ name: namespace });
    expect(ns.metadata?.labels?.['platform.io/plan']).toBe('enterprise');
  });

  it("works with the chart's least-privilege accounts: the worker's token provisions, the api's read-only one reports", async () => {
    const identities = await installChartIdentities(cluster, 'api-test', 'platform');
    const scoped = await startTestApi(
      { KUBERNETES: 'on', KUBECONFIG: identities.files.api },
      { workerEnv: { KUBECONFIG: identities.files.worker } },
    );
    try {
      const tenant = await scoped.createTenant({ plan: 'free' });
      const namespace = namespaceForSlug(tenant.slug);
      const ns = await core.readNamespace({ name: namespace });
      expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');

      const res = await scoped.admin.get<{ namespace: string; phase: string }>(
        `/v1/tenants/${tenant.id}/resources`,
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ namespace, phase: 'Active' });

      expect((await scoped.admin.delete(`/v1/tenants/${tenant.id}`)).status).toBe(202);
      await scoped.waitForStatus(tenant.id, 'deleted');
    } finally {
      await scoped.stop();
      await identities.remove();
    }
  });

  it('answers 409 for resources when the platform does not manage Kubernetes', async () => {
    const plain = await startTestApi();
    try {
      const tenant = await plain.createTenant();
      const res = await plain.admin.get(`/v1/tenants/${tenant.id}/resources`);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('kubernetes_not_configured');
    } finally {
      await plain.stop();
    }
  });
});
