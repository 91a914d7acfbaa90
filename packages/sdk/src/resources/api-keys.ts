import { PageIterator } from '../core/pagination.js';
import type { RequestOptions } from '../core/transport.js';
import type { ApiKey, CreateApiKeyRequest, CreatedApiKey, ListParams } from '../types.js';
import { APIResource, segment } from './resource.js';

/** A tenant's API keys (admin): `/v1/tenants/{tenantId}/api-keys`. */
export class ApiKeys extends APIResource {
  /** Creates a key; the full `key` is in this response only. */
  create(tenantId: string, body: CreateApiKeyRequest, options?: RequestOptions): Promise<CreatedApiKey> {
    return this.transport.post(`/v1/tenants/${segment(tenantId)}/api-keys`, body, options);
  }

  list(tenantId: string, params: ListParams = {}, options?: RequestOptions): PageIterator<ApiKey> {
    return new PageIterator(
      this.pager<ApiKey>(
        `/v1/tenants/${segment(tenantId)}/api-keys`,
        { limit: params.limit, cursor: params.cursor },
        options,
      ),
    );
  }

  /** Revokes a key: it stops working (within the API's key cache TTL). */
  async revoke(tenantId: string, keyId: string, options?: RequestOptions): Promise<void> {
    await this.transport.delete<undefined>(
      `/v1/tenants/${segment(tenantId)}/api-keys/${segment(keyId)}`,
      options,
    );
  }
}
