import type { PlatformAdminClient } from '@platform/sdk';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { adminClient, type ShownError, showError, tokenStore } from './api.js';
import { AuditScreen } from './screens/Audit.js';
import { QueuesScreen } from './screens/Queues.js';
import { TenantScreen } from './screens/Tenant.js';
import { TenantsScreen } from './screens/Tenants.js';
import { ErrorBox } from './ui.js';

/** The route, from the hash: `#/tenants`, `#/tenants/<id>`, `#/queues`, `#/audit`. */
const readRoute = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);

function useRoute(): string[] {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRoute(readRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<ShownError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // Any admin call checks the token.
      await adminClient(token.trim()).queues.list();
      onSignedIn(token.trim());
    } catch (err) {
      setError(showError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <h1>Platform console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label htmlFor="admin-token">Admin token</label>
        <input
          id="admin-token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          required
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted">The token is kept in this tab only, until you sign out or close it.</p>
      </form>
      {error && <ErrorBox error={error} />}
    </main>
  );
}

const NAV = [
  ['tenants', 'Tenants'],
  ['queues', 'Queues'],
  ['audit', 'Audit log'],
] as const;

export function App() {
  const [token, setToken] = useState(tokenStore.get);
  const client = useMemo<PlatformAdminClient | undefined>(
    () => (token ? adminClient(token) : undefined),
    [token],
  );
  const route = useRoute();
  if (!client) {
    return (
      <SignIn
        onSignedIn={(t) => {
          tokenStore.set(t);
          setToken(t);
          if (!window.location.hash) window.location.hash = '#/tenants';
        }}
      />
    );
  }
  const signOut = () => {
    tokenStore.clear();
    setToken(null);
  };
  const [section = 'tenants', id] = route;
  let screen: React.ReactNode;
  if (section === 'tenants' && id) screen = <TenantScreen client={client} tenantId={id} />;
  else if (section === 'queues') screen = <QueuesScreen client={client} />;
  else if (section === 'audit') screen = <AuditScreen client={client} />;
  else screen = <TenantsScreen client={client} />;
  return (
    <>
      <header className="top">
        <a className="brand" href="#/tenants">
          Platform console
        </a>
        <nav aria-label="Sections">
          <ul>
            {NAV.map(([key, label]) => (
              <li key={key}>
                <a href={`#/${key}`} aria-current={section === key ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{screen}</main>
    </>
  );
}
