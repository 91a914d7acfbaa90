import type { PlatformAdminClient, Tenant, TenantPlan } from '@platform/sdk';
import { type FormEvent, useState } from 'react';
import { type ShownError, showError } from '../api.js';
import { slugProblem } from '../slug.js';
import { Empty, ErrorBox, formatTime, Show, StatusBadge, useLoad } from '../ui.js';

const PLANS: TenantPlan[] = ['free', 'standard', 'enterprise'];
const PAGE = 20;

function CreateTenant({
  client,
  onCreated,
}: {
  client: PlatformAdminClient;
  onCreated: (t: Tenant) => void;
}) {
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [plan, setPlan] = useState<TenantPlan>('standard');
  const [error, setError] = useState<ShownError>();
  const [busy, setBusy] = useState(false);
  const problem = slugProblem(slug);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const tenant = await client.tenants.create({ slug, name: name || slug, plan });
      setSlug('');
      setName('');
      onCreated(tenant);
    } catch (err) {
      setError(showError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card create" onSubmit={submit} aria-labelledby="create-tenant">
      <h2 id="create-tenant">New tenant</h2>
      <div className="field">
        <label htmlFor="tenant-slug">Slug</label>
        <input
          id="tenant-slug"
          value={slug}
          onChange={(e) => setSlug(e.target.value)}
          aria-invalid={problem ? true : undefined}
          aria-describedby="tenant-slug-help"
          autoComplete="off"
          required
        />
        <p id="tenant-slug-help" className={problem ? 'invalid' : 'muted'} aria-live="polite">
          {problem ?? '3-40 lowercase letters, digits and hyphens, starting with a letter.'}
        </p>
      </div>
      <div className="field">
        <label htmlFor="tenant-name">Name</label>
        <input id="tenant-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
      </div>
      <div className="field">
        <label htmlFor="tenant-plan">Plan</label>
        <select id="tenant-plan" value={plan} onChange={(e) => setPlan(e.target.value as TenantPlan)}>
          {PLANS.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </div>
      <button type="submit" disabled={busy || slug === '' || problem !== undefined}>
        {busy ? 'Creating…' : 'Create tenant'}
      </button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

export function TenantsScreen({ client }: { client: PlatformAdminClient }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  // The cursors of the pages before this one, to go back.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [actionError, setActionError] = useState<ShownError>();
  const page = useLoad(
    () => client.tenants.list({ limit: PAGE, cursor, slug: query || undefined }).firstPage(),
    [client, cursor, query],
    // Provisioning shows live: the list is polled while it is on screen.
    2000,
  );
  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    setCursors([undefined]);
    setQuery(search.trim());
  };
  const retry = async (t: Tenant) => {
    setActionError(undefined);
    try {
      await client.tenants.retry(t.id);
      page.reload();
    } catch (err) {
      setActionError(showError(err));
    }
  };
  return (
    <section aria-labelledby="tenants-title">
      <h1 id="tenants-title">Tenants</h1>
      <div className="layout">
        <div className="main-col">
          <form className="search" onSubmit={onSearch} aria-label="Search tenants">
            <label htmlFor="tenant-search">Search by slug</label>
            <input id="tenant-search" value={search} onChange={(e) => setSearch(e.target.value)} />
            <button type="submit">Search</button>
          </form>
          {actionError && <ErrorBox error={actionError} />}
          <Show loaded={page} what="tenants">
            {(p) =>
              p.data.length === 0 ? (
                <Empty>
                  {query ? `No tenant's slug contains “${query}”.` : 'No tenants yet: create the first one.'}
                </Empty>
              ) : (
                <div className="table-wrap">
                  <table>
                    <caption className="sr-only">Tenants</caption>
                    <thead>
                      <tr>
                        <th scope="col">Slug</th>
                        <th scope="col">Status</th>
                        <th scope="col">Plan</th>
                        <th scope="col">Created</th>
                        <th scope="col">
                          <span className="sr-only">Actions</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {p.data.map((t) => (
                        <tr key={t.id} data-slug={t.slug}>
                          <td>
                            <a href={`#/tenants/${t.id}`}>{t.slug}</a>
                            <div className="muted small">{t.name}</div>
                          </td>
                          <td>
                            <StatusBadge status={t.status} />
                            {t.status === 'failed' && t.last_error && (
                              <div className="invalid small">{t.last_error}</div>
                            )}
                          </td>
                          <td>{t.plan}</td>
                          <td>{formatTime(t.created_at)}</td>
                          <td>
                            {t.status === 'failed' && (
                              <button
                                type="button"
                                onClick={() => retry(t)}
                                aria-label={`Retry provisioning ${t.slug}`}
                              >
                                Retry
                              </button>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )
            }
          </Show>
          <nav className="pager" aria-label="Pages of tenants">
            <button
              type="button"
              disabled={cursors.length <= 1}
              onClick={() => setCursors((c) => c.slice(0, -1))}
            >
              Previous page
            </button>
            <button
              type="button"
              disabled={!page.data?.nextCursor}
              onClick={() => {
                const next = page.data?.nextCursor;
                if (next) setCursors((c) => [...c, next]);
              }}
            >
              Next page
            </button>
          </nav>
        </div>
        <CreateTenant client={client} onCreated={() => page.reload()} />
      </div>
    </section>
  );
}
