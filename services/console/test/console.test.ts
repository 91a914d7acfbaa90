import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@platform/core/testing';
import { AuthenticationError, PlatformAdminClient, PlatformClient } from '@platform/sdk';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, SCREENSHOTS_TO_DOCS } from './support/env.js';
import { ADMIN_TOKEN, type Stack, startStack, unreachableKubeconfig } from './support/stack.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = SCREENSHOTS_TO_DOCS
  ? join(import.meta.dirname, '../../../docs/console')
  : mkdtempSync(join(tmpdir(), 'console-shots-'));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const UI_DEADLINE = 30_000;

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: PlatformAdminClient;
let tmp: string;
/** Every URL the page requested, and every CSP violation it reported. */
const requested: string[] = [];
const violations: string[] = [];

const slug = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

async function axe(where: string): Promise<void> {
  // Injected through the DevTools protocol: the page's CSP forbids inline scripts, rightly.
  await page.evaluate(AXE_SOURCE);
  const results = (await page.evaluate(async () => {
    const run = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<unknown> } }).axe
      .run;
    return run(document, { resultTypes: ['violations'] });
  })) as {
    violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  };
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    `axe on ${where}`,
  ).toEqual([]);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** No horizontal scrolling at the current width. */
async function fitsWidth(where: string): Promise<void> {
  const wide = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    const culprits = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.parentElement?.closest('.table-wrap'))
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}`)
      .slice(0, 10);
    return culprits.length > 0 ? culprits : [`document: ${document.documentElement.scrollWidth}px`];
  });
  expect(wide, `${where} scrolls sideways`).toEqual([]);
}

const row = (s: string) => page.locator(`tr[data-slug="${s}"]`);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'console-test-'));
  stack = await startStack();
  admin = new PlatformAdminClient({ adminToken: ADMIN_TOKEN, baseUrl: stack.url });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
  page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (!SCREENSHOTS_TO_DOCS) rmSync(SHOTS, { recursive: true, force: true });
});

describe('the operator console, in Chromium, against the real API and worker', () => {
  let tenantId: string;
  let tenantSlug: string;
  let key: string;

  it('is served under /console with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${stack.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${stack.url}/console`, { redirect: 'manual' })).headers.get('location')).toBe(
      '/console/',
    );
  });

  it('signs in with the admin token, kept in sessionStorage only', async () => {
    await page.goto(`${stack.url}/console/`);
    await shot('sign-in');
    await axe('sign-in');
    // Keyboard only: the token field, then Enter.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('admin-token');
    const outline = await page.evaluate(
      () => getComputedStyle(document.activeElement as Element).outlineStyle,
    );
    expect(outline).not.toBe('none');
    await page.keyboard.type('not-the-token');
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: UI_DEADLINE });
    expect(await alert.textContent()).toMatch(/Error 401.*Request id: \S+/s);

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Tenants' }).waitFor({ timeout: UI_DEADLINE });
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([ADMIN_TOKEN]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
  });

  it('validates the slug as you type, creates a tenant and shows it become ready without a reload', async () => {
    await page.getByText('No tenants yet').waitFor({ timeout: UI_DEADLINE });
    const slugInput = page.getByLabel('Slug', { exact: true });
    const create = page.getByRole('button', { name: 'Create tenant' });
    await slugInput.fill('1acme');
    expect(await page.locator('#tenant-slug-help').textContent()).toBe('Must start with a lowercase letter.');
    expect(await create.isDisabled()).toBe(true);
    await slugInput.fill('acme-');
    expect(await page.locator('#tenant-slug-help').textContent()).toBe('Must not end with a hyphen.');
    tenantSlug = slug('acme');
    await slugInput.fill(tenantSlug);
    await page.getByLabel('Name', { exact: true }).fill('Acme Corp');
    expect(await create.isDisabled()).toBe(false);
    await create.click();
    await row(tenantSlug).waitFor({ timeout: UI_DEADLINE });
    await row(tenantSlug).locator('.badge-ready').waitFor({ timeout: 60_000 });
    const href = await row(tenantSlug).getByRole('link', { name: tenantSlug }).getAttribute('href');
    tenantId = href?.split('/').pop() ?? '';
    expect((await admin.tenants.get(tenantId)).status).toBe('ready');
    await axe('tenants');
    await shot('tenants');
  });

  it('searches tenants by slug', async () => {
    await page.getByLabel('Search by slug').fill('no-such-slug');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText("No tenant's slug contains “no-such-slug”.").waitFor({ timeout: UI_DEADLINE });
    await page.getByLabel('Search by slug').fill(tenantSlug.slice(0, 8));
    await page.getByRole('button', { name: 'Search' }).click();
    await row(tenantSlug).waitFor({ timeout: UI_DEADLINE });
    await page.getByLabel('Search by slug').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
  });

  it('creates a key, shows it once and copies it; the key works with the SDK and its usage shows', async () => {
    await row(tenantSlug).getByRole('link', { name: tenantSlug }).click();
    await page.getByRole('heading', { name: tenantSlug }).waitFor({ timeout: UI_DEADLINE });
    await page.getByText('Kubernetes is not configured').waitFor({ timeout: UI_DEADLINE });
    await page.getByLabel('Key name').fill('ingest');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor({ timeout: UI_DEADLINE });
    key = await page.evaluate(() => navigator.clipboard.readText());
    expect(key).toMatch(/^plk_/);
    expect(await page.locator('#new-key').textContent()).toBe(key);

    const client = new PlatformClient({ apiKey: key, baseUrl: stack.url });
    await client.users.create({ email: 'ada@example.com', name: 'Ada' });
    const now = new Date().toISOString();
    await client.events.ingest({
      events: [
        { type: 'signup', occurred_at: now, payload: { plan: 'pro' } },
        { type: 'login', occurred_at: now },
      ],
    });
    // The usage section polls: today's events and requests appear.
    await page.getByText(/Events: 2 in \d+ days/).waitFor({ timeout: UI_DEADLINE });
    await page.getByText(/API requests: [1-9]\d* in/).waitFor({ timeout: UI_DEADLINE });
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.locator('#new-key').count()).toBe(0);
    await axe('tenant');
    await shot('tenant');
  });

  it('revokes a key after a confirmation; the SDK then gets 401', async () => {
    await page.getByRole('button', { name: 'Revoke key ingest' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke ingest?' });
    await dialog.waitFor({ timeout: UI_DEADLINE });
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await page
      .locator('tr[data-key="ingest"]')
      .getByText(/revoked/)
      .waitFor({ timeout: UI_DEADLINE });
    const client = new PlatformClient({ apiKey: key, baseUrl: stack.url, maxRetries: 0 });
    await expect(client.users.list().firstPage()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('shows a tenant that failed (Kubernetes unreachable) with its error, and retries it', async () => {
    // The fault: a worker whose Kubernetes refuses connections.
    await stack.restartWorker(unreachableKubeconfig(tmp));
    await page.goto(`${stack.url}/console/#/tenants`);
    const failing = slug('flaky');
    await page.getByLabel('Slug', { exact: true }).fill(failing);
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await row(failing).locator('.badge-failed').waitFor({ timeout: 60_000 });
    expect(await row(failing).textContent()).toMatch(/Kubernetes .* failed/);
    // The worker retries with backoff, then dead-letters the task: wait for that, then mend.
    await waitFor(
      'the provisioning task to be dead-lettered',
      async () => ((await admin.queues.deadLetters('platform')).total > 0 ? true : undefined),
      90_000,
      500,
    );
    await stack.restartWorker();
    await shot('tenant-failed');
    await page.getByRole('button', { name: `Retry provisioning ${failing}` }).click();
    await row(failing).locator('.badge-ready').waitFor({ timeout: 60_000 });
  }, 240_000);

  it('lists the dead letter with its reason and requeues it', async () => {
    await page.getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('heading', { name: 'Queues' }).waitFor({ timeout: UI_DEADLINE });
    const letter = page.locator('tr[data-dead-letter]');
    await letter.first().waitFor({ timeout: UI_DEADLINE });
    expect(await letter.count()).toBe(1);
    expect(await letter.textContent()).toContain('platform.provision_tenant');
    expect(await letter.textContent()).toContain('retries_exhausted');
    await axe('queues');
    await shot('queues');
    await letter.getByRole('button', { name: /^Requeue/ }).click();
    await page.getByText('No dead letters.').nth(1).waitFor({ timeout: UI_DEADLINE });
    expect((await admin.queues.deadLetters('platform')).total).toBe(0);
    // The requeued task ran (and found its tenant already ready): the queue drains.
    await waitFor('the platform queue to drain', async () => {
      const queues = await admin.queues.list();
      return queues.find((q) => q.kind === 'platform')?.depth === 0 ? true : undefined;
    });
  });

  it('filters the audit log by tenant and action', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Tenant id').fill(tenantId);
    await page.getByLabel('Action', { exact: true }).fill('api_key.*');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('api_key.revoked').waitFor({ timeout: UI_DEADLINE });
    const actions = await page.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(actions).toEqual(['api_key.revoked', 'api_key.created']);
    await page.getByLabel('Action', { exact: true }).fill('BAD ACTION');
    await page.getByRole('button', { name: 'Filter' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: UI_DEADLINE });
    expect(await alert.textContent()).toMatch(/Error 422.*query\.action.*Request id/s);
    await page.getByLabel('Action', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('tenant.provisioned').waitFor({ timeout: UI_DEADLINE });
    await axe('audit');
    await shot('audit');
  });

  it('is usable at 390 px wide', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, heading] of [
      ['#/tenants', 'Tenants'],
      [`#/tenants/${tenantId}`, tenantSlug],
      ['#/queues', 'Queues'],
      ['#/audit', 'Audit log'],
    ] as const) {
      await page.goto(`${stack.url}/console/${hash}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor({ timeout: UI_DEADLINE });
      await page.waitForLoadState('networkidle');
      await fitsWidth(hash);
    }
    await page.goto(`${stack.url}/console/#/tenants`);
    await row(tenantSlug).waitFor({ timeout: UI_DEADLINE });
    await shot('tenants-390');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('deletes a tenant after a confirmation that says what goes', async () => {
    await page.goto(`${stack.url}/console/#/tenants/${tenantId}`);
    await page.getByRole('button', { name: 'Delete tenant' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${tenantSlug}?` });
    await dialog.waitFor({ timeout: UI_DEADLINE });
    const text = (await dialog.textContent()) ?? '';
    for (const what of ['schema', 'partitions', 'namespace', 'API keys']) expect(text).toContain(what);
    expect(text).toContain(`tenant_${tenantSlug.replaceAll('-', '_')}`);
    await dialog.getByRole('button', { name: `Delete ${tenantSlug}` }).click();
    // Deleting, then gone: the page shows the API's 404 with its request id.
    const gone = page.getByRole('alert').filter({ hasText: 'Error 404' });
    await gone.waitFor({ timeout: 60_000 });
    expect(await gone.textContent()).toMatch(/Tenant was not found.*Request id: \S+/s);
    await page.goto(`${stack.url}/console/#/tenants`);
    await page.getByRole('heading', { name: 'Tenants' }).waitFor({ timeout: UI_DEADLINE });
    await page.waitForLoadState('networkidle');
    expect(await row(tenantSlug).count()).toBe(0);
  });

  it('signs out: the token leaves sessionStorage', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor({ timeout: UI_DEADLINE });
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('made no request outside its origin and broke no CSP rule', () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((u) => !u.startsWith(`${stack.url}/`))).toEqual([]);
    expect(violations).toEqual([]);
  });
});
