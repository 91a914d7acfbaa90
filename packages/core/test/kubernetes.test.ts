import {
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deprovisionTenant,
  findTenant,
  KubernetesFieldConflictError,
  KubernetesUnavailableError,
  NamespaceNotManagedError,
  namespaceForSlug,
  PLANS,
  POD_SECURITY_LABELS,
  provisionTenant,
  TenantNamespaces,
} from '../src/index.js';
import {
  type ChartIdentities,
  ensureKubernetes,
  installChartIdentities,
  type TestCluster,
  waitFor,
} from '../src/testing/index.js';
import { newTenantRow, testDb } from './helpers.js';

const db = testDb();
let cluster: TestCluster;
let admin: KubeConfig;
let namespaces: TenantNamespaces;
const options = {
  platformNamespace: 'platform',
  ingressNamespace: 'ingress-nginx',
  egressCidrs: ['203.0.113.0/24'],
};

beforeAll(async () => {
  cluster = await ensureKubernetes();
  admin = new KubeConfig();
  admin.loadFromFile(cluster.kubeconfig);
  namespaces = new TenantNamespaces(admin, options);
}, 3_600_000);
afterAll(async () => {
  await db.destroy();
  await cluster?.stop();
});

describe('tenant namespaces on a real Kubernetes API server', () => {
  it('provisions tenant-<slug> with labels, plan quota, limits and network policies, idempotently', async () => {
    const tenant = await newTenantRow(db, 'free');
    await expect(provisionTenant(db, tenant.id, { namespaces })).resolves.toBe('done');
    expect((await findTenant(db, tenant.id))?.status).toBe('ready');

    const name = namespaceForSlug(tenant.slug);
    const core = admin.makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name });
    expect(ns.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'platform',
      'platform.io/tenant-id': tenant.id,
      'platform.io/plan': 'free',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    const quotas = await core.listNamespacedResourceQuota({ namespace: name });
    expect(quotas.items[0]?.spec?.hard).toEqual(PLANS.free.quota);
    const limits = await core.listNamespacedLimitRange({ namespace: name });
    expect(limits.items[0]?.spec?.limits[0]?._default).toEqual({ cpu: '500m', memory: '512Mi' });
    const policies = await admin
      .makeApiClient(NetworkingV1Api)
      .listNamespacedNetworkPolicy({ namespace: name });
    const byName = Object.fromEntries(policies.items.map((p) => [p.metadata?.name, p.spec]));
    expect(byName['default-deny-ingress']).toMatchObject({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(JSON.stringify(byName['allow-from-platform-and-ingress'])).toContain(
      '"kubernetes.io/metadata.name":"platform"',
    );
    // Egress: the cluster DNS and the configured CIDRs only.
    expect(byName['restrict-egress']?.policyTypes).toEqual(['Egress']);
    expect(JSON.parse(JSON.stringify(byName['restrict-egress']?.egress))).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }] },
    ]);

    // Running it again (a retried task) converges to the same objects.
    await db
      .withSchema('platform')
      .table('tenants')
      .where({ id: tenant.id })
      .update({ status: 'provisioning' });
    await expect(provisionTenant(db, tenant.id, { namespaces })).resolves.toBe('done');
    expect((await core.listNamespacedResourceQuota({ namespace: name })).items).toHaveLength(1);

    const resources = await namespaces.resources(tenant.slug);
    expect(resources).toMatchObject({ namespace: name, phase: 'Active', pods: [] });
    expect(resources?.quota.hard.pods).toBe(PLANS.free.quota.pods);
  });

  it('deletes the namespace with the tenant; it is really gone afterwards', async () => {
    const tenant = await newTenantRow(db);
    await provisionTenant(db, tenant.id, { namespaces });
    await db.withSchema('platform').table('tenants').where({ id: tenant.id }).update({ status: 'deleting' });
    await expect(deprovisionTenant(db, tenant.id, { namespaces })).resolves.toBe('done');
    await waitFor(
      'the namespace to be gone',
      async () => ((await namespaces.isGone(tenant.slug)) ? true : undefined),
      60_000,
    );
  });

  it('enforces the restricted Pod Security Standard in tenant namespaces (admission on the real API server)', async () => {
    const tenant = await newTenantRow(db);
    await provisionTenant(db, tenant.id, { namespaces });
    const namespace = namespaceForSlug(tenant.slug);
    const core = admin.makeApiClient(CoreV1Api);
    const pod = (
      securityContext: Record<string, unknown>,
      podSecurity: Record<string, unknown> = {},
    ): V1Pod => ({
      metadata: { name: 'probe' },
      spec: {
        securityContext: podSecurity,
        containers: [{ name: 'c', image: 'registry.example.com/app:1', securityContext }],
      },
    });
    // A privileged, root pod is refused by Pod Security admission, even for the cluster admin.
    const refused = await core
      .createNamespacedPod({ namespace, body: pod({ privileged: true }), dryRun: 'All' })
      .then(
        () => undefined,
        (err: { code?: number; body?: unknown }) => err,
      );
    expect(refused?.code).toBe(403);
    expect(JSON.parse(String(refused?.body)).message).toMatch(/violates PodSecurity "restricted:latest"/);
    // A pod that meets the standard is admitted.
    const admitted = await core.createNamespacedPod({
      namespace,
      dryRun: 'All',
      body: pod(
        { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      ),
    });
    expect(admitted.metadata?.namespace).toBe(namespace);
    expect(POD_SECURITY_LABELS['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('never patches nor deletes a namespace of that name the platform does not manage', async () => {
    const tenant = await newTenantRow(db);
    const name = namespaceForSlug(tenant.slug);
    const core = admin.makeApiClient(CoreV1Api);
    // Someone else's namespace that happens to have the tenant's name, without the platform's label.
    await core.createNamespace({ body: { metadata: { name, labels: { team: 'other' } } } });
    try {
      await expect(namespaces.ensure(tenant)).rejects.toBeInstanceOf(NamespaceNotManagedError);
      await expect(namespaces.remove(tenant.slug)).rejects.toBeInstanceOf(NamespaceNotManagedError);
      const ns = await core.readNamespace({ name });
      expect(ns.metadata?.deletionTimestamp).toBeUndefined();
      expect(ns.metadata?.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
      expect((await core.listNamespacedResourceQuota({ namespace: name })).items).toHaveLength(0);
      // Provisioning fails with the reason, and the tenant is not ready.
      await expect(provisionTenant(db, tenant.id, { namespaces })).rejects.toThrow(
        /not managed by the platform/,
      );
      expect((await findTenant(db, tenant.id))?.status).toBe('failed');
    } finally {
      await core.deleteNamespace({ name });
    }
  });

  it('does not force its apply over fields another manager took: a conflict, their value kept', async () => {
    const tenant = await newTenantRow(db, 'free');
    await provisionTenant(db, tenant.id, { namespaces });
    const namespace = namespaceForSlug(tenant.slug);
    const objects = KubernetesObjectApi.makeApiClient(admin);
    // An operator takes over the quota's pod count (a forced apply by another field manager).
    await objects.patch(
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'tenant-quota', namespace },
        spec: { hard: { pods: '99' } },
      } as KubernetesObject,
      undefined,
      undefined,
      'operator',
      true,
      PatchStrategy.ServerSideApply,
    );
    await expect(namespaces.ensure(tenant)).rejects.toBeInstanceOf(KubernetesFieldConflictError);
    const quota = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedResourceQuota({ name: 'tenant-quota', namespace });
    expect(quota.spec?.hard?.pods).toBe('99');
  });

  it('fails provisioning with a clear error when Kubernetes is unreachable, and never marks the tenant ready', async () => {
    const unreachable = new KubeConfig();
    unreachable.loadFromOptions({
      clusters: [{ name: 'gone', server: 'https://127.0.0.1:9', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'c', cluster: 'gone', user: 'u' }],
      currentContext: 'c',
    });
    const tenant = await newTenantRow(db);
    await expect(
      provisionTenant(db, tenant.id, { namespaces: new TenantNamespaces(unreachable, options) }),
    ).rejects.toBeInstanceOf(KubernetesUnavailableError);
    const failed = await findTenant(db, tenant.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.last_error).toMatch(/^Kubernetes read of Namespace tenant-.* failed/);
    // Retried once Kubernetes is back: ready.
    await expect(provisionTenant(db, tenant.id, { namespaces })).resolves.toBe('done');
  });
});

describe("least privilege: the chart's RBAC and admission policy, with the service accounts' tokens", () => {
  let identities: ChartIdentities;
  let worker: KubeConfig;
  let api: KubeConfig;
  const unmanaged = `unmanaged-${Date.now().toString(36)}`;

  beforeAll(async () => {
    identities = await installChartIdentities(cluster, 'rbac-test', 'platform');
    expect(identities.objects.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRole',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'ServiceAccount',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    worker = identities.worker;
    api = identities.api;
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: unmanaged } } });
  });
  afterAll(async () => {
    await identities?.remove();
    await admin
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: unmanaged })
      .catch(() => undefined);
  });

  it("the worker's token provisions and deletes a tenant, and reads no Secrets nor RBAC", async () => {
    const scoped = new TenantNamespaces(worker, options);
    const tenant = await newTenantRow(db);
    await expect(provisionTenant(db, tenant.id, { namespaces: scoped })).resolves.toBe('done');
    const secrets = worker.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'kube-system' });
    await expect(secrets).rejects.toMatchObject({ code: 403 });
    const rbac = worker.makeApiClient(RbacAuthorizationV1Api).listClusterRole();
    await expect(rbac).rejects.toMatchObject({ code: 403 });
    await db.withSchema('platform').table('tenants').where({ id: tenant.id }).update({ status: 'deleting' });
    await expect(deprovisionTenant(db, tenant.id, { namespaces: scoped })).resolves.toBe('done');
    await waitFor('the namespace to be gone', async () =>
      (await namespaces.isGone(tenant.slug)) ? true : undefined,
    );
  });

  it("the worker's token cannot delete kube-system nor change a namespace the platform does not manage", async () => {
    const core = worker.makeApiClient(CoreV1Api);
    const objects = KubernetesObjectApi.makeApiClient(worker);
    const label = (name: string, labels: Record<string, string>) =>
      objects.patch(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
        undefined,
        undefined,
        'platform',
        undefined,
        PatchStrategy.MergePatch,
      );

    expect(await refusal(core.deleteNamespace({ name: 'kube-system' }))).toMatchObject({ code: 403 });
    const byPolicy = { code: 403, message: expect.stringContaining('ValidatingAdmissionPolicy') };
    expect(await refusal(core.deleteNamespace({ name: unmanaged }))).toMatchObject(byPolicy);
    expect(await refusal(label('kube-system', { 'example.com/x': 'y' }))).toMatchObject(byPolicy);
    expect(await refusal(label(unmanaged, { 'example.com/x': 'y' }))).toMatchObject(byPolicy);
    // Nor take one over by adding the platform's label, nor create an unlabelled one.
    expect(await refusal(label(unmanaged, { 'app.kubernetes.io/managed-by': 'platform' }))).toMatchObject(
      byPolicy,
    );
    expect(
      await refusal(core.createNamespace({ body: { metadata: { name: `tenant-${unmanaged}` } } })),
    ).toMatchObject(byPolicy);
    // Nor put quotas or network policies into it.
    expect(
      await refusal(
        core.createNamespacedResourceQuota({
          namespace: unmanaged,
          body: { metadata: { name: 'q' }, spec: { hard: { pods: '0' } } },
        }),
      ),
    ).toMatchObject(byPolicy);
    expect(
      await refusal(
        worker.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({
          namespace: 'kube-system',
          body: { metadata: { name: 'deny' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
        }),
      ),
    ).toMatchObject(byPolicy);

    const adminCore = admin.makeApiClient(CoreV1Api);
    const kept = await adminCore.readNamespace({ name: unmanaged });
    expect(kept.metadata?.deletionTimestamp).toBeUndefined();
    expect(kept.metadata?.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    expect((await adminCore.readNamespace({ name: 'kube-system' })).status?.phase).toBe('Active');
  });

  it("the api's token reads a tenant's resources and cannot write anything", async () => {
    const tenant = await newTenantRow(db);
    await provisionTenant(db, tenant.id, { namespaces });
    const namespace = namespaceForSlug(tenant.slug);
    const reader = new TenantNamespaces(api, options);
    await expect(reader.resources(tenant.slug)).resolves.toMatchObject({ namespace, phase: 'Active' });

    // What the API server says this token may do in the tenant's namespace: reads only (besides
    // the self-review requests every authenticated user may create).
    const review = await api.makeApiClient(AuthorizationV1Api).createSelfSubjectRulesReview({
      body: { spec: { namespace } },
    });
    const writes = (review.status?.resourceRules ?? []).filter(
      (r) =>
        !(r.apiGroups ?? []).every((g) => g === 'authorization.k8s.io' || g === 'authentication.k8s.io') &&
        r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)),
    );
    expect(writes).toEqual([]);

    const core = api.makeApiClient(CoreV1Api);
    const forbidden = { code: 403 };
    expect(await refusal(core.deleteNamespace({ name: namespace }))).toMatchObject(forbidden);
    expect(
      await refusal(core.createNamespace({ body: { metadata: { name: `tenant-${unmanaged}` } } })),
    ).toMatchObject(forbidden);
    expect(
      await refusal(
        core.createNamespacedResourceQuota({
          namespace,
          body: { metadata: { name: 'q' }, spec: { hard: { pods: '0' } } },
        }),
      ),
    ).toMatchObject(forbidden);
    expect(
      await refusal(core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'c' } } })),
    ).toMatchObject(forbidden);
    expect(
      await refusal(
        core.createNamespacedPod({
          namespace,
          body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
        }),
      ),
    ).toMatchObject(forbidden);
    // Applying the tenant's objects (what the worker does) is refused too, and nothing changes.
    await expect(reader.ensure({ ...tenant, plan: 'enterprise' })).rejects.toThrow(/HTTP 403/);
    const ns = await admin.makeApiClient(CoreV1Api).readNamespace({ name: namespace });
    expect(ns.metadata?.labels?.['platform.io/plan']).toBe(tenant.plan);
    expect(ns.metadata?.deletionTimestamp).toBeUndefined();
  });
});

/** The HTTP status and message of a refused request; undefined when it succeeded. */
async function refusal(request: Promise<unknown>): Promise<{ code: number; message: string } | undefined> {
  try {
    await request;
    return undefined;
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message?: string };
    return { code: e.code ?? 0, message: `${e.message ?? ''} ${String(e.body ?? '')}` };
  }
}
