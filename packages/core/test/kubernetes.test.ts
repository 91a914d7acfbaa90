import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deprovisionTenant,
  findTenant,
  KubernetesUnavailableError,
  namespaceForSlug,
  PLANS,
  provisionTenant,
  TenantNamespaces,
} from '../src/index.js';
import { ensureKubernetes, REPO_ROOT, type TestCluster, waitFor } from '../src/testing/index.js';
import { newTenantRow, testDb } from './helpers.js';

const db = testDb();
let cluster: TestCluster;
let admin: KubeConfig;
let namespaces: TenantNamespaces;
const options = { platformNamespace: 'platform', ingressNamespace: 'ingress-nginx' };

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
    expect(failed?.last_error).toMatch(/^Kubernetes apply of Namespace tenant-.* failed/);
    // Retried once Kubernetes is back: ready.
    await expect(provisionTenant(db, tenant.id, { namespaces })).resolves.toBe('done');
  });
});

describe("least privilege: the chart's ClusterRole", () => {
  it('provisions with its service account token, which cannot read Secrets in other namespaces', async () => {
    const { stdout } = await promisify(execFile)(
      join(cluster.binDir, 'helm'),
      [
        'template',
        'rbac-test',
        join(REPO_ROOT, 'charts/platform'),
        '--namespace',
        'platform',
        '-f',
        join(REPO_ROOT, 'charts/platform/ci/default-values.yaml'),
        '--show-only',
        'templates/rbac/clusterrole.yaml',
      ],
      { cwd: REPO_ROOT },
    );
    const clusterRole = parseYaml(stdout);
    expect(clusterRole.kind).toBe('ClusterRole');
    const name = 'platform-test-provisioner';
    const objects = KubernetesObjectApi.makeApiClient(admin);
    const apply = (o: KubernetesObject) =>
      objects.patch(o, undefined, undefined, 'platform-tests', true, PatchStrategy.ServerSideApply);
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'platform' } });
    await apply({ ...clusterRole, metadata: { name } });
    await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'platform' } });
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'platform' }],
    } as KubernetesObject);
    const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name,
      namespace: 'platform',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const cluster0 = admin.getCurrentCluster();
    const scoped = new KubeConfig();
    scoped.loadFromOptions({
      clusters: [
        { name: 'test', server: cluster0?.server ?? '', caData: cluster0?.caData, caFile: cluster0?.caFile },
      ],
      users: [{ name: 'sa', token: token.status?.token }],
      contexts: [{ name: 'sa', cluster: 'test', user: 'sa' }],
      currentContext: 'sa',
    });
    const dir = await mkdtemp(join(tmpdir(), 'kube-'));
    await writeFile(join(dir, 'kubeconfig'), scoped.exportConfig());

    const tenant = await newTenantRow(db);
    await expect(
      provisionTenant(db, tenant.id, { namespaces: new TenantNamespaces(scoped, options) }),
    ).resolves.toBe('done');
    const secrets = scoped.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'kube-system' });
    await expect(secrets).rejects.toMatchObject({ code: 403 });
    const rbac = scoped.makeApiClient(RbacAuthorizationV1Api).listClusterRole();
    await expect(rbac).rejects.toMatchObject({ code: 403 });
  });
});

/** The single document `helm template --show-only` prints. */
function parseYaml(text: string): KubernetesObject & Record<string, unknown> {
  return loadYaml(text.replace(/^---\s*$/m, '').replace(/^# Source:.*$/m, ''));
}
