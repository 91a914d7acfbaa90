import type { ApiKeyScope, CreatedApiKey, PlatformAdminClient, Tenant, TenantPlan } from '@platform/sdk';
import { type FormEvent, useState } from 'react';
import { type ShownError, showError } from '../api.js';
import { BarChart, Confirm, Empty, ErrorBox, formatTime, Show, StatusBadge, useLoad } from '../ui.js';

const PLANS: TenantPlan[] = ['free', 'standard', 'enterprise'];

function useAction() {
  const [error, setError] = useState<ShownError>();
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (err) {
      setError(showError(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

function Overview({
  client,
  tenant,
  reload,
}: {
  client: PlatformAdminClient;
  tenant: Tenant;
  reload: () => void;
}) {
  const [plan, setPlan] = useState<TenantPlan>(tenant.plan);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const changePlan = async (e: FormEvent) => {
    e.preventDefault();
    if (await action.run(() => client.tenants.update(tenant.id, { plan }))) reload();
  };
  return (
    <section className="card" aria-labelledby="overview">
      <h2 id="overview">Overview</h2>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={tenant.status} />
        </dd>
        {tenant.last_error && (
          <>
            <dt>Last error</dt>
            <dd className="invalid">{tenant.last_error}</dd>
          </>
        )}
        <dt>Name</dt>
        <dd>{tenant.name}</dd>
        <dt>Namespace</dt>
        <dd>
          <code>{tenant.namespace}</code>
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(tenant.created_at)}</dd>
      </dl>
      <form onSubmit={changePlan} className="inline" data-plan={tenant.plan}>
        <label htmlFor="plan">Plan</label>
        <select id="plan" value={plan} onChange={(e) => setPlan(e.target.value as TenantPlan)}>
          {PLANS.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
        <button type="submit" disabled={action.busy || plan === tenant.plan || tenant.status !== 'ready'}>
          Change plan
        </button>
      </form>
      <div className="actions">
        {tenant.status === 'failed' && (
          <button
            type="button"
            onClick={async () => (await action.run(() => client.tenants.retry(tenant.id))) && reload()}
          >
            Retry provisioning
          </button>
        )}
        {tenant.status !== 'deleting' && (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Delete tenant
          </button>
        )}
      </div>
      {action.error && <ErrorBox error={action.error} />}
      {confirming && (
        <Confirm
          title={`Delete ${tenant.slug}?`}
          confirmLabel={`Delete ${tenant.slug}`}
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            setConfirming(false);
            if (await action.run(() => client.tenants.delete(tenant.id))) reload();
          }}
        >
          <p>This cannot be undone. It removes:</p>
          <ul>
            <li>
              its database schema <code>tenant_{tenant.slug.replaceAll('-', '_')}</code> with all its users,
              events and predictions;
            </li>
            <li>its event partitions and their pg_partman configuration;</li>
            <li>
              its Kubernetes namespace <code>{tenant.namespace}</code> and its pods, when Kubernetes is
              configured;
            </li>
            <li>all its API keys, which stop working at once.</li>
          </ul>
        </Confirm>
      )}
    </section>
  );
}

function History({ client, tenantId }: { client: PlatformAdminClient; tenantId: string }) {
  const history = useLoad(
    () => client.audit.list({ tenantId, limit: 50 }).firstPage(),
    [client, tenantId],
    5000,
  );
  return (
    <section className="card" aria-labelledby="history">
      <h2 id="history">Status history</h2>
      <Show loaded={history} what="history">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No audit entries.</Empty>
          ) : (
            <ol className="timeline">
              {page.data.map((e) => (
                <li key={e.id}>
                  <time dateTime={String(e.occurred_at)}>{formatTime(e.occurred_at)}</time>{' '}
                  <code>{e.action}</code> <span className="muted">by {e.actor}</span>
                  {typeof e.details?.error === 'string' && (
                    <div className="invalid small">{e.details.error}</div>
                  )}
                </li>
              ))}
            </ol>
          )
        }
      </Show>
    </section>
  );
}

function Resources({ client, tenantId }: { client: PlatformAdminClient; tenantId: string }) {
  // Polled: the quota follows a plan change once the worker has applied it, and pods come and go.
  const resources = useLoad(() => client.tenants.resources(tenantId), [client, tenantId], 5000);
  const notConfigured = resources.error?.code === 'kubernetes_not_configured';
  return (
    <section className="card" aria-labelledby="resources">
      <h2 id="resources">Namespace</h2>
      {notConfigured ? (
        <p className="notice">
          Kubernetes is not configured for this platform, so tenants have no namespace, quota or pods to show.
        </p>
      ) : (
        <Show loaded={resources} what="the namespace">
          {(r) => (
            <>
              <p>
                <code>{r.namespace}</code> <StatusBadge status={r.phase} />
              </p>
              <div className="table-wrap">
                <table>
                  <caption>Quota</caption>
                  <thead>
                    <tr>
                      <th scope="col">Resource</th>
                      <th scope="col">Used</th>
                      <th scope="col">Hard limit</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(r.quota.hard).map(([name, hard]) => (
                      <tr key={name}>
                        <td>{name}</td>
                        <td>{r.quota.used[name] ?? '0'}</td>
                        <td>{hard}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {r.pods.length === 0 ? (
                <Empty>No pods.</Empty>
              ) : (
                <ul>
                  {r.pods.map((p) => (
                    <li key={p.name}>
                      <code>{p.name}</code> {p.phase} {p.ready ? '(ready)' : '(not ready)'}
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </Show>
      )}
    </section>
  );
}

function Keys({ client, tenant }: { client: PlatformAdminClient; tenant: Tenant }) {
  const keys = useLoad(() => client.apiKeys.list(tenant.id, { limit: 100 }).firstPage(), [client, tenant.id]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>(['read', 'write']);
  const [created, setCreated] = useState<CreatedApiKey>();
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState<{ id: string; name: string }>();
  const action = useAction();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    let key: CreatedApiKey | undefined;
    if (
      await action.run(async () => {
        key = await client.apiKeys.create(tenant.id, { name, scopes });
      })
    ) {
      setCreated(key);
      setCopied(false);
      setName('');
      keys.reload();
    }
  };
  const toggle = (scope: ApiKeyScope) =>
    setScopes((s) => (s.includes(scope) ? s.filter((x) => x !== scope) : [...s, scope]));
  return (
    <section className="card" aria-labelledby="keys">
      <h2 id="keys">API keys</h2>
      {created && (
        <div className="secret" role="status">
          <p>
            The key <strong>{created.name}</strong>, shown this once only: copy it now.
          </p>
          <code id="new-key">{created.key}</code>{' '}
          <button
            type="button"
            onClick={async () => {
              await navigator.clipboard.writeText(created.key);
              setCopied(true);
            }}
          >
            {copied ? 'Copied' : 'Copy key'}
          </button>{' '}
          <button type="button" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      {tenant.status === 'ready' && (
        <form onSubmit={create} className="inline">
          <label htmlFor="key-name">Key name</label>
          <input
            id="key-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            maxLength={200}
          />
          <fieldset>
            <legend>Scopes</legend>
            {(['read', 'write'] as const).map((s) => (
              <label key={s} className="check">
                <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} /> {s}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={action.busy || name === '' || scopes.length === 0}>
            Create key
          </button>
        </form>
      )}
      {action.error && <ErrorBox error={action.error} />}
      <Show loaded={keys} what="keys">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No keys.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">API keys</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Prefix</th>
                    <th scope="col">Scopes</th>
                    <th scope="col">Last used</th>
                    <th scope="col">State</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((k) => (
                    <tr key={k.id} data-key={k.name}>
                      <td>{k.name}</td>
                      <td>
                        <code>{k.prefix}</code>
                      </td>
                      <td>{k.scopes.join(', ')}</td>
                      <td>{formatTime(k.last_used_at)}</td>
                      <td>
                        {k.revoked_at ? (
                          <span className="muted">revoked {formatTime(k.revoked_at)}</span>
                        ) : (
                          <button
                            type="button"
                            className="danger"
                            onClick={() => setRevoking({ id: k.id, name: k.name })}
                            aria-label={`Revoke key ${k.name}`}
                          >
                            Revoke
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
      {revoking && (
        <Confirm
          title={`Revoke ${revoking.name}?`}
          confirmLabel="Revoke key"
          onCancel={() => setRevoking(undefined)}
          onConfirm={async () => {
            const id = revoking.id;
            setRevoking(undefined);
            if (await action.run(() => client.apiKeys.revoke(tenant.id, id))) keys.reload();
          }}
        >
          <p>Clients using this key get 401 from now on.</p>
        </Confirm>
      )}
    </section>
  );
}

function Usage({ client, tenantId }: { client: PlatformAdminClient; tenantId: string }) {
  const usage = useLoad(() => client.tenants.usage(tenantId), [client, tenantId], 5000);
  return (
    <section className="card wide" aria-labelledby="usage">
      <h2 id="usage">Usage per day</h2>
      <Show loaded={usage} what="usage">
        {(u) => {
          const limit = (q: string) => u.current.quotas.find((x) => x.quota === q)?.limit ?? null;
          const days = u.daily.slice(-14);
          return (
            <>
              <ul className="quotas">
                {u.current.quotas.map((q) => (
                  <li key={q.quota}>
                    <label htmlFor={`quota-${q.quota}`}>{q.quota.replaceAll('_', ' ')}</label>{' '}
                    <meter id={`quota-${q.quota}`} min={0} max={q.limit} value={q.used} /> {q.used} of{' '}
                    {q.limit}
                  </li>
                ))}
              </ul>
              <div className="charts">
                <BarChart
                  title="API requests"
                  days={days.map((d) => ({ day: d.day, value: d.api_requests }))}
                  limit={null}
                />
                <BarChart
                  title="Events"
                  days={days.map((d) => ({ day: d.day, value: d.events }))}
                  limit={limit('events_per_day')}
                />
                <BarChart
                  title="Predictions"
                  days={days.map((d) => ({ day: d.day, value: d.predictions }))}
                  limit={limit('predictions_per_day')}
                />
              </div>
            </>
          );
        }}
      </Show>
    </section>
  );
}

export function TenantScreen({ client, tenantId }: { client: PlatformAdminClient; tenantId: string }) {
  const tenant = useLoad(() => client.tenants.get(tenantId), [client, tenantId], 2000);
  return (
    <section aria-labelledby="tenant-title">
      <p>
        <a href="#/tenants">← Tenants</a>
      </p>
      <Show loaded={tenant} what="the tenant">
        {(t) => (
          <>
            <h1 id="tenant-title">{t.slug}</h1>
            <div className="grid">
              <Overview client={client} tenant={t} reload={tenant.reload} key={`${t.plan}-${t.status}`} />
              <History client={client} tenantId={t.id} />
              <Keys client={client} tenant={t} />
              <Resources client={client} tenantId={t.id} />
              <Usage client={client} tenantId={t.id} />
            </div>
          </>
        )}
      </Show>
    </section>
  );
}
