import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveApi, type LiveTenant, startLiveApi } from './support/live-api.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium, installed when missing (CI runs as root). */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['-q', '-y', 'update'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['-q', '-y', '--no-install-recommends', 'install', 'chromium'], {
    env,
    stdio: 'ignore',
  });
}

let pageServer: Server;
let origin: string;
let live: LiveApi;
let tenant: LiveTenant;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  ensureChromium();
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, 'browser/page.ts')],
    bundle: true,
    write: false,
    platform: 'browser', // a Node.js built-in in the SDK would fail the bundle
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  const html =
    '<!doctype html><html><head><meta charset="utf-8"><title>SDK</title></head><body>' +
    '<p id="status">loading</p><ul id="users"></ul><script type="module" src="/app.js"></script></body></html>';
  pageServer = createServer((req, res) => {
    const js = req.url === '/app.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? script : html);
  });
  pageServer.listen(0, '127.0.0.1');
  await once(pageServer, 'listening');
  origin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;

  live = await startLiveApi({ CORS_ORIGINS: origin });
  tenant = await live.createTenant();
  for (const name of ['Ada', 'Grace', 'Linus']) {
    await tenant.client.users.create({ email: `${name.toLowerCase()}@example.com`, name });
  }
  profile = mkdtempSync(join(tmpdir(), 'sdk-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

afterAll(async () => {
  await context?.close();
  await live?.stop();
  await new Promise((resolve) => pageServer?.close(resolve));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('in a browser (headless Chromium)', () => {
  it('lists users with the SDK across origins, with typed errors', async () => {
    const page = await context.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    await page.goto(`${origin}/#${new URLSearchParams({ key: tenant.key, api: live.url })}`);
    const status = page.locator('#status[data-state]');
    await status.waitFor({ timeout: 30_000 });
    expect(await status.getAttribute('data-state'), `${await status.textContent()}\n${logs.join('\n')}`).toBe(
      'done',
    );
    expect(await page.locator('#users li').allTextContents()).toEqual([
      'Ada <ada@example.com>',
      'Grace <grace@example.com>',
      'Linus <linus@example.com>',
      'Made in the browser <browser@example.com>',
    ]);
    expect(await status.getAttribute('data-not-found')).toBe('true');
    // x-request-id is readable cross-origin (exposed by the API's CORS headers)
    expect(await status.getAttribute('data-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // and the users made in the browser are there for everyone
    const names = (await tenant.client.users.list().toArray()).map((u) => u.name);
    expect(names).toContain('Made in the browser');
  });

  it('from an origin the API does not list, the browser refuses: APIConnectionError', async () => {
    const page = await context.newPage();
    // the same page, from another origin (localhost is not 127.0.0.1 to CORS)
    const elsewhere = origin.replace('127.0.0.1', 'localhost');
    await page.goto(`${elsewhere}/#${new URLSearchParams({ key: tenant.key, api: live.url })}`);
    const status = page.locator('#status[data-state]');
    await status.waitFor({ timeout: 30_000 });
    expect(await status.getAttribute('data-state')).toBe('error');
    expect(await status.textContent()).toMatch(/^APIConnectionError: /);
  });
});
