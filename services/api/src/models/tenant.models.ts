export type TenantStatus = 'provisioning' | 'ready' | 'failed' | 'deleting' | 'deleted';
export type TenantPlan = 'free' | 'standard' | 'enterprise';
export type ApiKeyScope = 'read' | 'write';

export interface Tenant {
  /** @format uuid */
  id: string;
  slug: string;
  name: string;
  plan: TenantPlan;
  status: TenantStatus;
  /** Kubernetes namespace of the tenant. */
  namespace: string;
  /** Why provisioning last failed, when it did. */
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface CreateTenantRequest {
  /**
   * Lowercase letters, digits and hyphens; starts with a letter; 3-40 characters.
   * @pattern ^[a-z][a-z0-9-]{1,38}[a-z0-9]$
   * @example "acme-corp"
   */
  slug: string;
  /**
   * Not only spaces.
   * @minLength 1
   * @maxLength 200
   * @pattern \S
   */
  name: string;
  /** Defaults to `standard`. Decides event retention: free 7 days, standard 30, enterprise 365. */
  plan?: TenantPlan;
}

/** What `PATCH /v1/tenants/{id}` may change; absent fields stay as they are. */
export interface UpdateTenantRequest {
  /**
   * Not only spaces.
   * @minLength 1
   * @maxLength 200
   * @pattern \S
   */
  name?: string;
  /** The new plan: its quotas, rate limits and statement timeout apply at once, its retention and namespace quota follow. */
  plan?: TenantPlan;
}

export interface TenantList {
  data: Tenant[];
  next_cursor: string | null;
}

export interface ApiKey {
  /** @format uuid */
  id: string;
  /** @format uuid */
  tenant_id: string;
  name: string;
  /** Public part of the key, shown in lists to recognise it. */
  prefix: string;
  scopes: ApiKeyScope[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface CreatedApiKey extends ApiKey {
  /** The full key. Shown only in this response; store it now. */
  key: string;
}

export interface CreateApiKeyRequest {
  /**
   * @minLength 1
   * @maxLength 200
   */
  name: string;
  /**
   * @minItems 1
   * @maxItems 2
   */
  scopes: ApiKeyScope[];
}

export interface ApiKeyList {
  data: ApiKey[];
  next_cursor: string | null;
}

export interface TenantPod {
  name: string;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  ready: boolean;
}

export interface TenantResources {
  /** The tenant's Kubernetes namespace, `tenant-<slug>`. */
  namespace: string;
  /** Active or Terminating. */
  phase: string;
  /** The namespace's ResourceQuota: what the plan allows and what is in use. */
  quota: { hard: { [resource: string]: string }; used: { [resource: string]: string } };
  pods: TenantPod[];
}
