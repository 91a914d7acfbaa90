import type { PlatformAdminClient } from '@platform/sdk';
import { type FormEvent, useState } from 'react';
import { Empty, formatTime, Show, useLoad } from '../ui.js';

interface Filters {
  tenantId: string;
  action: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { tenantId: '', action: '', from: '', to: '' };
/** `datetime-local` is the browser's local time: sent as an instant. */
const instant = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function AuditScreen({ client }: { client: PlatformAdminClient }) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () =>
      client.audit
        .list({
          tenantId: filters.tenantId || undefined,
          action: filters.action || undefined,
          from: instant(filters.from),
          to: instant(filters.to),
          limit: 50,
          cursor,
        })
        .firstPage(),
    [client, filters, cursor],
  );
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setCursors([undefined]);
    setFilters({ ...draft, tenantId: draft.tenantId.trim(), action: draft.action.trim() });
  };
  const field = (key: keyof Filters) => ({
    value: draft[key],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value })),
  });
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form className="filters card" onSubmit={apply} aria-label="Filter the audit log">
        <div className="field">
          <label htmlFor="audit-tenant">Tenant id</label>
          <input id="audit-tenant" {...field('tenantId')} placeholder="uuid" />
        </div>
        <div className="field">
          <label htmlFor="audit-action">Action</label>
          <input id="audit-action" {...field('action')} placeholder="tenant.* or api_key.created" />
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          <input id="audit-from" type="datetime-local" {...field('from')} />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To</label>
          <input id="audit-to" type="datetime-local" {...field('to')} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <Show loaded={page} what="the audit log">
        {(p) =>
          p.data.length === 0 ? (
            <Empty>No entries match.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Audit entries, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Tenant</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {p.data.map((e) => (
                    <tr key={e.id}>
                      <td>{formatTime(e.occurred_at)}</td>
                      <td>
                        <code>{e.action}</code>
                      </td>
                      <td>{e.actor}</td>
                      <td>
                        {e.tenant_id ? (
                          <a href={`#/tenants/${e.tenant_id}`}>{e.tenant_id.slice(0, 8)}</a>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td>
                        <code className="small">{JSON.stringify(e.details)}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
      <nav className="pager" aria-label="Pages of the audit log">
        <button
          type="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => {
            const next = page.data?.nextCursor;
            if (next) setCursors((c) => [...c, next]);
          }}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
