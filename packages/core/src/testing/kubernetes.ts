import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
  if (!running) await run('bash', [CLUSTER, 'start'], { timeout: 3_600_000, maxBuffer: 64 * 1024 * 1024 });
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
