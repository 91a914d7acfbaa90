import {
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { namespaceForSlug } from '../tenancy/naming.js';
import { PLANS, type Plan } from '../tenancy/plans.js';

export interface TenantNamespaceOptions {
  /** Namespace the platform runs in: its pods may reach tenant pods. */
  platformNamespace: string;
  /** Namespace of the ingress controller: it may reach tenant pods. */
  ingressNamespace: string;
}

export interface TenantResources {
  namespace: string;
  phase: string;
  quota: { hard: Record<string, string>; used: Record<string, string> };
  pods: Array<{ name: string; phase: string; ready: boolean }>;
}

/** Kubernetes is configured but could not be reached or refused: provisioning retries. */
export class KubernetesUnavailableError extends Error {
  override name = 'KubernetesUnavailableError';
}

const FIELD_MANAGER = 'platform';
const LABELS = (tenant: { id: string; slug: string; plan: Plan }) => ({
  'app.kubernetes.io/managed-by': 'platform',
  'platform.io/tenant-id': tenant.id,
  'platform.io/tenant-slug': tenant.slug,
  'platform.io/plan': tenant.plan,
});

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e?.code ?? e?.statusCode ?? e?.response?.statusCode;
}

function unavailable(err: unknown, what: string): KubernetesUnavailableError {
  const status = statusOf(err);
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new KubernetesUnavailableError(
    `Kubernetes ${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`.slice(0, 500),
  );
}

/**
 * Tenant namespaces: `tenant-<slug>` with platform labels, a ResourceQuota and LimitRange from the
 * plan, and NetworkPolicies (deny ingress by default; allow from the platform and the ingress
 * controller). Applied with server-side apply, so every call converges to the same objects.
 */
export class TenantNamespaces {
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: TenantNamespaceOptions,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  manifests(tenant: { id: string; slug: string; plan: Plan }): KubernetesObject[] {
    const namespace = namespaceForSlug(tenant.slug);
    const labels = LABELS(tenant);
    const meta = (name: string) => ({ name, namespace, labels });
    const from = (ns: string) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    });
    return [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: meta('tenant-quota'),
        spec: { hard: { ...PLANS[tenant.plan].quota } },
      } as KubernetesObject,
      {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: meta('tenant-limits'),
        spec: {
          limits: [
            {
              type: 'Container',
              defaultRequest: { cpu: '100m', memory: '128Mi' },
              // The client's model names `default` `_default` (a reserved word); it sends `default`.
              _default: { cpu: '500m', memory: '512Mi' },
            },
          ],
        },
      } as KubernetesObject,
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: meta('default-deny-ingress'),
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      } as KubernetesObject,
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: meta('allow-from-platform-and-ingress'),
        spec: {
          podSelector: {},
          policyTypes: ['Ingress'],
          // `_from`: the client's model name for `from`, which it sends as `from`.
          ingress: [{ _from: [from(this.options.platformNamespace), from(this.options.ingressNamespace)] }],
        },
      } as KubernetesObject,
    ];
  }

  /** Creates or updates the tenant's namespace and its policies. Idempotent. */
  async ensure(tenant: { id: string; slug: string; plan: Plan }): Promise<void> {
    for (const object of this.manifests(tenant)) {
      try {
        await this.objects.patch(
          object,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        );
      } catch (err) {
        throw unavailable(err, `apply of ${object.kind} ${object.metadata?.name}`);
      }
    }
  }

  /** Starts deleting the tenant's namespace (Kubernetes removes what is in it). Idempotent. */
  async remove(slug: string): Promise<void> {
    try {
      await this.core.deleteNamespace({ name: namespaceForSlug(slug) });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw unavailable(err, 'namespace deletion');
    }
  }

  /** Whether the namespace no longer exists (deletion finished). */
  async isGone(slug: string): Promise<boolean> {
    try {
      await this.core.readNamespace({ name: namespaceForSlug(slug) });
      return false;
    } catch (err) {
      if (statusOf(err) === 404) return true;
      throw unavailable(err, 'namespace read');
    }
  }

  /** Namespace phase, quota used vs hard, and pods with their status. */
  async resources(slug: string): Promise<TenantResources | undefined> {
    const namespace = namespaceForSlug(slug);
    try {
      const ns = await this.core.readNamespace({ name: namespace });
      const quotas = await this.core.listNamespacedResourceQuota({ namespace });
      const pods = await this.core.listNamespacedPod({ namespace });
      const quota = quotas.items[0]?.status ?? {};
      return {
        namespace,
        phase: ns.status?.phase ?? 'Unknown',
        quota: { hard: { ...(quota.hard ?? {}) }, used: { ...(quota.used ?? {}) } },
        pods: pods.items.map((p) => ({
          name: p.metadata?.name ?? '',
          phase: p.status?.phase ?? 'Unknown',
          ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
        })),
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw unavailable(err, 'read of tenant resources');
    }
  }
}

export interface KubernetesSettings {
  /** `off` disables it; `auto` uses a kubeconfig when given, else the in-cluster service account
   * when running in a pod; `on` requires one of them. */
  mode: 'auto' | 'on' | 'off';
  kubeconfig?: string;
  inCluster: boolean;
}

/** The Kubernetes client configuration, or undefined when Kubernetes is not configured. */
export function loadKubeConfig(settings: KubernetesSettings): KubeConfig | undefined {
  if (settings.mode === 'off') return undefined;
  const kc = new KubeConfig();
  if (settings.kubeconfig) {
    kc.loadFromFile(settings.kubeconfig);
    return kc;
  }
  if (settings.inCluster) {
    kc.loadFromCluster();
    return kc;
  }
  if (settings.mode === 'on') {
    throw new Error('KUBERNETES=on needs KUBECONFIG or an in-cluster service account');
  }
  return undefined;
}
