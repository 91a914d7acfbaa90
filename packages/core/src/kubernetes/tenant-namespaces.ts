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
  /** Destinations (CIDRs) tenant pods may reach besides the cluster DNS; none by default. */
  egressCidrs?: readonly string[];
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

/**
 * The namespace exists but the platform does not manage it (no `app.kubernetes.io/managed-by:
 * platform` label, or another tenant's): the platform neither patches nor deletes it.
 */
export class NamespaceNotManagedError extends Error {
  override name = 'NamespaceNotManagedError';
}

/** Another field manager owns a field the platform applies: never forced; an operator decides. */
export class KubernetesFieldConflictError extends Error {
  override name = 'KubernetesFieldConflictError';
}

/** The label that marks what the platform manages; checked before any patch or delete. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'platform';
const TENANT_ID_LABEL = 'platform.io/tenant-id';

const FIELD_MANAGER = 'platform';
const LABELS = (tenant: { id: string; slug: string; plan: Plan }) => ({
  [MANAGED_BY_LABEL]: MANAGED_BY,
  [TENANT_ID_LABEL]: tenant.id,
  'platform.io/tenant-slug': tenant.slug,
  'platform.io/plan': tenant.plan,
});

/** Pod Security admission: tenant pods must meet the `restricted` standard (enforced, warned, audited). */
export const POD_SECURITY_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
} as const;

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e?.code ?? e?.statusCode ?? e?.response?.statusCode;
}

function errorDetail(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
}

function unavailable(err: unknown, what: string): KubernetesUnavailableError {
  const status = statusOf(err);
  const detail = errorDetail(err);
  return new KubernetesUnavailableError(
    `Kubernetes ${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`.slice(0, 500),
  );
}

/**
 * Tenant namespaces: `tenant-<slug>` with platform labels and the `restricted` Pod Security
 * Standard, a ResourceQuota and LimitRange from the plan, and NetworkPolicies (deny ingress by
 * default; allow from the platform and the ingress controller; egress only to the cluster DNS and
 * the configured CIDRs). Applied with server-side apply, so every call converges to the same
 * objects; never forced over fields another manager owns. A namespace without the platform's
 * `app.kubernetes.io/managed-by` label (or labelled for another tenant) is never patched or deleted.
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
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels: { ...labels, ...POD_SECURITY_LABELS } },
      },
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
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: meta('restrict-egress'),
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            // The cluster DNS (kube-dns / CoreDNS in kube-system, as on kind, k3s and managed clusters).
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
            ...(this.options.egressCidrs?.length
              ? [{ to: this.options.egressCidrs.map((cidr) => ({ ipBlock: { cidr } })) }]
              : []),
          ],
        },
      } as KubernetesObject,
    ];
  }

  /**
   * The namespace as it is, or undefined when it does not exist; throws NamespaceNotManagedError
   * when it exists but is not this tenant's platform-managed namespace.
   */
  private async managedNamespace(name: string, tenantId?: string) {
    let ns: Awaited<ReturnType<CoreV1Api['readNamespace']>>;
    try {
      ns = await this.core.readNamespace({ name });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw unavailable(err, `read of Namespace ${name}`);
    }
    const labels = ns.metadata?.labels ?? {};
    if (labels[MANAGED_BY_LABEL] !== MANAGED_BY) {
      throw new NamespaceNotManagedError(
        `Namespace ${name} exists but is not managed by the platform (label ${MANAGED_BY_LABEL}=${MANAGED_BY} missing): not changed`,
      );
    }
    if (tenantId && labels[TENANT_ID_LABEL] && labels[TENANT_ID_LABEL] !== tenantId) {
      throw new NamespaceNotManagedError(
        `Namespace ${name} belongs to another tenant (${TENANT_ID_LABEL}=${labels[TENANT_ID_LABEL]}): not changed`,
      );
    }
    return ns;
  }

  /**
   * Creates or updates the tenant's namespace and its policies. Idempotent. Refuses a namespace of
   * that name the platform does not manage; a field another manager owns is a conflict, not forced.
   */
  async ensure(tenant: { id: string; slug: string; plan: Plan }): Promise<void> {
    await this.managedNamespace(namespaceForSlug(tenant.slug), tenant.id);
    for (const object of this.manifests(tenant)) {
      const what = `${object.kind} ${object.metadata?.name}`;
      try {
        await this.objects.patch(
          object,
          undefined,
          undefined,
          FIELD_MANAGER,
          false,
          PatchStrategy.ServerSideApply,
        );
      } catch (err) {
        if (statusOf(err) === 409) {
          throw new KubernetesFieldConflictError(
            `Kubernetes apply of ${what} conflicts with fields another manager owns (not forced): ${errorDetail(err)}`.slice(
              0,
              500,
            ),
          );
        }
        throw unavailable(err, `apply of ${what}`);
      }
    }
  }

  /**
   * Starts deleting the tenant's namespace (Kubernetes removes what is in it). Idempotent. Only a
   * namespace labelled as the platform's is deleted, and only the one that was checked (uid and
   * resourceVersion preconditions).
   */
  async remove(slug: string): Promise<void> {
    const name = namespaceForSlug(slug);
    // A precondition fails (409) when the namespace changed after the check: check it again.
    for (let attempt = 1; ; attempt++) {
      const ns = await this.managedNamespace(name);
      if (!ns || ns.metadata?.deletionTimestamp) return;
      try {
        await this.core.deleteNamespace({
          name,
          body: { preconditions: { uid: ns.metadata?.uid, resourceVersion: ns.metadata?.resourceVersion } },
        });
        return;
      } catch (err) {
        if (statusOf(err) === 404) return;
        if (statusOf(err) === 409 && attempt < 3) continue;
        throw unavailable(err, 'namespace deletion');
      }
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
