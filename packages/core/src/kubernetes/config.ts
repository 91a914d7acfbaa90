import { z } from 'zod';

/**
 * The environment variables of the Kubernetes connection, shared by every service that manages
 * tenant namespaces (the API and the worker spread it into their own schema).
 */
export const kubernetesEnvShape = {
  KUBERNETES: z
    .enum(['auto', 'on', 'off'])
    .default('auto')
    .describe(
      'Tenant namespaces on Kubernetes: `auto` is on in a cluster (`KUBERNETES_SERVICE_HOST`) or with `KUBECONFIG`; `on` requires one of them',
    ),
  KUBECONFIG: z
    .string()
    .optional()
    .describe('Kubeconfig file of the cluster for tenant namespaces, outside a cluster'),
  KUBERNETES_SERVICE_HOST: z
    .string()
    .optional()
    .describe('Set by Kubernetes in every pod: the service then uses its service account (in-cluster)'),
  PLATFORM_NAMESPACE: z
    .string()
    .default('platform')
    .describe("Namespace the platform runs in; tenant namespaces' network policies let it in"),
  INGRESS_NAMESPACE: z
    .string()
    .default('ingress-nginx')
    .describe("Namespace of the ingress controller; tenant namespaces' network policies let it in"),
};

type KubernetesEnv = z.output<z.ZodObject<typeof kubernetesEnvShape>>;

/** The parsed variables of `kubernetesEnvShape` as the services' `kubernetes` settings. */
export function kubernetesSettingsFrom(env: KubernetesEnv) {
  return {
    mode: env.KUBERNETES,
    kubeconfig: env.KUBECONFIG || undefined,
    inCluster: Boolean(env.KUBERNETES_SERVICE_HOST),
    platformNamespace: env.PLATFORM_NAMESPACE,
    ingressNamespace: env.INGRESS_NAMESPACE,
  };
}
