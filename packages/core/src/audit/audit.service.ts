import type { Knex } from 'knex';
import { ValidationError } from '../errors.js';
import { decodeCursor, encodeCursor, isUuid, type Page, pageSize } from '../pagination.js';
import type { AuditRecord } from './audit.repository.js';

export interface AuditQuery {
  tenant_id?: string;
  /** An exact action, e.g. `tenant.provisioned`, or a prefix ending in `.` or `*` (`tenant.*`). */
  action?: string;
  /** Entries at or after this instant (ISO 8601). */
  from?: string;
  /** Entries before this instant (ISO 8601). */
  to?: string;
  limit?: number;
  cursor?: string;
}

const ACTION_RE = /^[a-z][a-z0-9_.]{0,99}\*?$/;

function instant(value: string | undefined, field: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  // A date-time with a zone, or a bare date (UTC midnight).
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value);
  const at = new Date(value);
  if (!ok || Number.isNaN(at.getTime())) {
    throw new ValidationError('Invalid time', [
      { field: `query.${field}`, message: 'must be an ISO 8601 date or date-time with a zone' },
    ]);
  }
  return at;
}

/** The audit log, newest first, filtered by tenant, action and time (for operators). */
export class AuditService {
  constructor(private readonly db: Knex) {}

  async list(query: AuditQuery = {}): Promise<Page<AuditRecord>> {
    const limit = pageSize(query.limit);
    const errors: Array<{ field: string; message: string }> = [];
    if (query.tenant_id !== undefined && !isUuid(query.tenant_id)) {
      errors.push({ field: 'query.tenant_id', message: 'must be a UUID' });
    }
    if (query.action !== undefined && !ACTION_RE.test(query.action)) {
      errors.push({
        field: 'query.action',
        message: 'must be an action such as tenant.provisioned, or a prefix ending in * (tenant.*)',
      });
    }
    if (errors.length > 0) throw new ValidationError('Invalid audit filter', errors);
    const from = instant(query.from, 'from');
    const to = instant(query.to, 'to');
    // A range with `from` not before `to` is empty, as the events' ranges are.
    if (from && to && from >= to) return { data: [], next_cursor: null };
    const after = query.cursor ? decodeCursor(query.cursor, 'bigint') : undefined;

    const q = this.db.withSchema('platform').table('audit_log').select('*');
    if (query.tenant_id) q.where('tenant_id', query.tenant_id);
    if (query.action) {
      if (query.action.endsWith('*')) {
        const prefix = query.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`);
        q.whereLike('action', `${prefix}%`);
      } else q.where('action', query.action);
    }
    if (from) q.where('occurred_at', '>=', from);
    if (to) q.where('occurred_at', '<', to);
    if (after) {
      // The log keeps microseconds, a cursor milliseconds: pages are ordered by the millisecond.
      q.whereRaw(
        `(date_trunc('milliseconds', occurred_at), id) < ('epoch'::timestamptz + ?::bigint * interval '1 millisecond', ?::bigint)`,
        [after.ms, after.id],
      );
    }
    q.orderByRaw("date_trunc('milliseconds', occurred_at) desc, id desc").limit(limit + 1);
    const rows = (await q) as Array<AuditRecord & { id: number | string }>;
    const data = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id) }));
    const last = data[data.length - 1];
    return {
      data,
      next_cursor: rows.length > limit && last ? encodeCursor(last.occurred_at, last.id) : null,
    };
  }
}
