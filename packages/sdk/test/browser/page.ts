// The browser test's page: the SDK bundled by esbuild for the browser, talking to the live API
// across origins (CORS). Reads `key` and `api` from the URL hash; writes what it got to the DOM.
import { NotFoundError, PlatformClient } from '../../src/index.js';

const status = document.getElementById('status') as HTMLElement;
const list = document.getElementById('users') as HTMLUListElement;

async function main(): Promise<void> {
  const params = new URLSearchParams(location.hash.slice(1));
  const client = new PlatformClient({
    apiKey: params.get('key') ?? '',
    baseUrl: params.get('api') ?? '',
    maxRetries: 0,
  });
  // A POST (preflighted: Authorization, Content-Type, Idempotency-Key), then every page of the list.
  await client.users.create({ email: 'browser@example.com', name: 'Made in the browser' });
  for await (const user of client.users.list({ limit: 2 })) {
    const item = document.createElement('li');
    item.textContent = `${user.name} <${user.email}>`;
    list.append(item);
  }
  const missing = await client.users.get('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
  status.dataset.notFound = String(missing instanceof NotFoundError);
  status.dataset.requestId = (missing as NotFoundError).requestId ?? '';
  status.textContent = 'done';
  status.dataset.state = 'done';
}

main().catch((err: Error) => {
  status.textContent = `${err.name}: ${err.message}`;
  status.dataset.state = 'error';
});
