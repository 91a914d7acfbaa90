import { PageIterator } from '../core/pagination.js';
import type { RequestOptions } from '../core/transport.js';
import type { AuditEntry, AuditQueryParams } from '../types.js';
import { APIResource } from './resource.js';

const iso = (value: string | Date | undefined) => (value instanceof Date ? value.toISOString() : value);

/** The platform's audit log (admin): `/v1/audit`, newest first. */
export class Audit extends APIResource {
  /** Entries filtered by tenant, action (`tenant.provisioned`, or a prefix `tenant.*`) and time. */
  list(params: AuditQueryParams = {}, options?: RequestOptions): PageIterator<AuditEntry> {
    return new PageIterator(
      this.pager<AuditEntry>(
        '/v1/audit',
        {
          tenant_id: params.tenantId,
          action: params.action,
          from: iso(params.from),
          to: iso(params.to),
          limit: params.limit,
          cursor: params.cursor,
        },
        options,
      ),
    );
  }
}
