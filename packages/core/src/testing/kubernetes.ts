import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import { REPO_ROOT } from './processes.js';

const run = promisify(execFile);
const CLUSTER = join(REPO_ROOT, 'scripts/k8s/cluster.sh');

export interface TestCluster {
  kubeconfig: string;
  server: string;
  /** Directory of the cached tools (helm, kubectl, …). */
  binDir: string;
  /** Stops the control plane if this call started it. */
  stop(): Promise<void>;
}

/**
 * A real Kubernetes control plane on loopback (scripts/k8s/cluster.sh: etcd, kube-apiserver and
 * kube-controller-manager built from the Go module proxy and cached). Started unless running.
 */
export async function ensureKubernetes(): Promise<TestCluster> {
  const running = await run('bash', [CLUSTER, 'status']).then(
    () => true,
    () => false,
  );
  if (!running) await startCluster();
  const { stdout } = await run('bash', [CLUSTER, 'env']);
  const value = (name: string) => new RegExp(`export ${name}='([^']*)'`).exec(stdout)?.[1] ?? '';
  const pathValue = /export PATH='([^']*)'/.exec(stdout)?.[1] ?? '';
  return {
    kubeconfig: value('KUBECONFIG'),
    server: value('PLATFORM_K8S_SERVER'),
    binDir: pathValue,
    async stop() {
      if (!running) await run('bash', [CLUSTER, 'stop']);
    },
  };
}

/**
 * `cluster.sh start`; a start that fails (a component that did not become ready in time, a port
 * not yet released by a control plane that just stopped) is reported, the control plane stopped
 * and started once more. The second failure is thrown with cluster.sh's output.
 */
async function startCluster(): Promise<void> {
  const start = () => run('bash', [CLUSTER, 'start'], { timeout: 3_600_000, maxBuffer: 64 * 1024 * 1024 });
  try {
    await start();
  } catch (err) {
    const output = (err as { stderr?: string }).stderr ?? String(err);
    console.warn(`cluster.sh start failed; stopping and starting again. Its output:\n${output}`);
    await run('bash', [CLUSTER, 'stop']).catch(() => undefined);
    await start().catch((again: { stderr?: string; message?: string }) => {
      throw new Error(`cluster.sh start failed twice: ${again.stderr ?? again.message}`);
    });
  }
}

/** The templates of the chart's Kubernetes identities: ServiceAccounts, RBAC, admission policy. */
const CHART_RBAC_TEMPLATES = [
  'api/serviceaccount.yaml',
  'worker/serviceaccount.yaml',
  'rbac/api-clusterrole.yaml',
  'rbac/api-clusterrolebinding.yaml',
  'rbac/worker-clusterrole.yaml',
  'rbac/worker-clusterrolebinding.yaml',
  'rbac/validatingadmissionpolicy.yaml',
  'rbac/validatingadmissionpolicybinding.yaml',
];

export interface ChartIdentities {
  /** The rendered objects, as applied. */
  objects: KubernetesObject[];
  /** Client configurations with a short-lived token of each component's ServiceAccount. */
  api: KubeConfig;
  worker: KubeConfig;
  /** kubeconfig files of the same, for KUBECONFIG. */
  files: { api: string; worker: string };
  /** Deletes the cluster-scoped objects (roles, bindings, the admission policy). */
  remove(): Promise<void>;
}

/**
 * Applies the chart's ServiceAccounts, ClusterRoles, bindings and ValidatingAdmissionPolicy
 * (rendered by `helm template` with ci/default-values.yaml for RELEASE in NAMESPACE) and returns
 * each component's token. Waits until the admission policy is in force: the API server loads a
 * new policy a moment after it is created.
 */
export async function installChartIdentities(
  cluster: TestCluster,
  release: string,
  namespace: string,
): Promise<ChartIdentities> {
  const { stdout } = await run(
    join(cluster.binDir, 'helm'),
    [
      'template',
      release,
      join(REPO_ROOT, 'charts/platform'),
      '--namespace',
      namespace,
      '-f',
      join(REPO_ROOT, 'charts/platform/ci/default-values.yaml'),
      ...CHART_RBAC_TEMPLATES.flatMap((t) => ['--show-only', `templates/${t}`]),
    ],
    { cwd: REPO_ROOT },
  );
  const objects = (loadAllYaml(stdout) as Array<KubernetesObject | null>).filter((o): o is KubernetesObject =>
    Boolean(o),
  );
  const admin = new KubeConfig();
  admin.loadFromFile(cluster.kubeconfig);
  const api = KubernetesObjectApi.makeApiClient(admin);
  const apply = (o: KubernetesObject) =>
    api.patch(o, undefined, undefined, 'platform-tests', true, PatchStrategy.ServerSideApply);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  for (const o of objects) await apply(o);

  const dir = await mkdtemp(join(tmpdir(), 'platform-kube-'));
  const tokenConfig = async (component: 'api' | 'worker') => {
    const name = `${release}-platform-${component}`;
    const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const current = admin.getCurrentCluster();
    const scoped = new KubeConfig();
    scoped.loadFromOptions({
      clusters: [
        { name: 'test', server: current?.server ?? '', caData: current?.caData, caFile: current?.caFile },
      ],
      users: [{ name, token: token.status?.token }],
      contexts: [{ name, cluster: 'test', user: name }],
      currentContext: name,
    });
    const file = join(dir, `${component}.kubeconfig`);
    await writeFile(file, scoped.exportConfig(), { mode: 0o600 });
    return { config: scoped, file };
  };
  const apiToken = await tokenConfig('api');
  const workerToken = await tokenConfig('worker');

  // In force once a dry-run deletion of an unmanaged namespace by the worker is refused by it.
  const probe = `policy-probe-${Date.now().toString(36)}`;
  const adminCore = admin.makeApiClient(CoreV1Api);
  await adminCore.createNamespace({ body: { metadata: { name: probe } } });
  try {
    const core = workerToken.config.makeApiClient(CoreV1Api);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const refused = await core.deleteNamespace({ name: probe, dryRun: 'All' }).then(
        () => false,
        (err: { body?: unknown }) => String(err.body ?? '').includes('ValidatingAdmissionPolicy'),
      );
      if (refused) break;
      if (Date.now() > deadline) throw new Error('the admission policy did not take effect within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await adminCore.deleteNamespace({ name: probe }).catch(() => undefined);
  }

  return {
    objects,
    api: apiToken.config,
    worker: workerToken.config,
    files: { api: apiToken.file, worker: workerToken.file },
    async remove() {
      for (const o of objects.filter((r) => r.kind !== 'ServiceAccount')) {
        await api.delete(o).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
