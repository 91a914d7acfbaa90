import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEnvelope } from '@platform/celery';
import { PLANS } from '@platform/core';
import { ensureKubernetes, type TestCluster, waitFor } from '@platform/core/testing';
import { AuthenticationError, NotFoundError, PlatformAdminClient, PlatformClient } from '@platform/sdk';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axe as axeOn, openBrowser, screenshots, signIn, UI_DEADLINE } from './support/browser.js';
import { ADMIN_TOKEN, type Stack, startStack, unreachableKubeconfig } from './support/stack.js';

const SHOTS = screenshots();

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: PlatformAdminClient;
let redis: Redis;
let tmp: string;
/** Every URL the page requested, and every CSP violation it reported. */
const requested: string[] = [];
const violations: string[] = [];

const slug = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

const axe = (where: string) => axeOn(page, where);
const shot = (name: string) => SHOTS.take(page, name);

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
  tmp = mkdtempSync(join(tmpdir(), 'console-test-'));
  stack = await startStack();
  admin = new PlatformAdminClient({ adminToken: ADMIN_TOKEN, baseUrl: stack.url });
  redis = new Redis(stack.api.platform.config.redisUrl);
  ({ browser, context, page } = await openBrowser(stack.url));
  page.on('request', (r) => requested.push(r.url()));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  if (stack) await redis?.del(stack.queues.platform, `${stack.queues.platform}.dead`);
  redis?.disconnect();
  await stack?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  SHOTS.done();
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
    // The namespace section says why it has nothing to show, and shows no quota or pods.
    const namespace = page.locator('section[aria-labelledby="resources"]');
    await namespace.getByText('Kubernetes is not configured').waitFor({ timeout: UI_DEADLINE });
    expect(await namespace.locator('table, [role="alert"]').count()).toBe(0);
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

  it('changes the plan: the tenant, its daily quotas and its status history follow', async () => {
    const plan = page.getByLabel('Plan', { exact: true });
    const change = page.getByRole('button', { name: 'Change plan' });
    expect(await plan.inputValue()).toBe('standard');
    expect(await change.isDisabled()).toBe(true);
    await plan.selectOption('enterprise');
    await change.click();
    await waitFor('the plan to change', async () =>
      (await admin.tenants.get(tenantId)).plan === 'enterprise' ? true : undefined,
    );
    // The page reloads the tenant: its form is the new plan's, with nothing left to change.
    await page.locator('form[data-plan="enterprise"]').waitFor({ timeout: UI_DEADLINE });
    expect(await plan.inputValue()).toBe('enterprise');
    expect(await change.isDisabled()).toBe(true);
    // Usage polls: today's events are measured against the enterprise plan's daily quota.
    const events = PLANS.enterprise.limits.eventsPerDay;
    await page
      .locator('.quotas li')
      .filter({ hasText: new RegExp(`events per day.* of ${events}`) })
      .waitFor({ timeout: UI_DEADLINE });
    await page.locator('.timeline').getByText('tenant.updated').waitFor({ timeout: UI_DEADLINE });
    const [entry] = (await admin.audit.list({ tenantId, action: 'tenant.updated' }).firstPage()).data;
    expect(entry?.details).toEqual({ plan: { from: 'standard', to: 'enterprise' } });
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

  it('discards a dead letter after a confirmation; requeue and discard are in the audit log', async () => {
    // A task no worker knows, naming the tenant: the worker dead-letters it (`unknown_task`).
    const envelope = buildEnvelope({
      task: 'platform.not_a_task',
      queue: stack.queues.platform,
      kwargs: { tenant_id: tenantId },
    });
    await redis.lpush(stack.queues.platform, JSON.stringify(envelope));
    const letter = page.locator('tr[data-dead-letter]');
    await letter.first().waitFor({ timeout: UI_DEADLINE });
    expect(await letter.count()).toBe(1);
    expect(await letter.textContent()).toContain('platform.not_a_task');
    expect(await letter.textContent()).toContain('unknown_task');
    const id = (await letter.getAttribute('data-dead-letter')) ?? '';
    await letter.getByRole('button', { name: /^Discard/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Discard this dead letter?' });
    await dialog.waitFor({ timeout: UI_DEADLINE });
    expect(await dialog.textContent()).toContain('platform.not_a_task');
    await dialog.getByRole('button', { name: 'Discard' }).click();
    await page.getByText('No dead letters.').nth(1).waitFor({ timeout: UI_DEADLINE });
    expect((await admin.queues.deadLetters('platform')).total).toBe(0);
    // Discarded for good: it is on no queue either.
    expect(await redis.llen(stack.queues.platform)).toBe(0);

    const audit = (await admin.audit.list({ action: 'dead_letter.*' }).firstPage()).data;
    expect(audit.map((e) => [e.action, e.actor, e.details?.task])).toEqual([
      ['dead_letter.discarded', 'admin', 'platform.not_a_task'],
      ['dead_letter.requeued', 'admin', 'platform.provision_tenant'],
    ]);
    expect(audit[0]?.details?.dead_letter_id).toBe(id);
    expect(audit[0]?.tenant_id).toBe(tenantId);
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

describe("a tenant's namespace in the console, on a real Kubernetes control plane", () => {
  let cluster: TestCluster;
  let kube: Stack;
  let kubeAdmin: PlatformAdminClient;
  let kubePage: Page;
  let tenant: { id: string; slug: string; namespace: string };
  const kubectl = (args: string[], input?: string) =>
    execFileSync(join(cluster.binDir, 'kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args], {
      input,
      encoding: 'utf8',
      timeout: 60_000,
    });

  beforeAll(async () => {
    // The stack above shares this database: its worker's outbox relay would publish this stack's
    // tasks onto its own queues, to a worker without Kubernetes. Its tests are done: stop it.
    await stack.stop();
    cluster = await ensureKubernetes();
    kube = await startStack({ kubeconfig: cluster.kubeconfig });
    kubeAdmin = new PlatformAdminClient({ adminToken: ADMIN_TOKEN, baseUrl: kube.url });
    kubePage = await context.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: kube.url });
  }, 3_600_000);

  afterAll(async () => {
    await kubePage?.close();
    if (tenant) {
      await kubeAdmin.tenants.delete(tenant.id).catch(() => undefined);
      // Deprovisioned (its namespace with it): then the API no longer finds it.
      const id = tenant.id;
      await waitFor(
        'the tenant to be deleted',
        () =>
          kubeAdmin.tenants.get(id).then(
            (t) => (t.status === 'deleted' ? true : undefined),
            (err: unknown) => (err instanceof NotFoundError ? true : undefined),
          ),
        90_000,
      ).catch(() => undefined);
    }
    await kube?.stop();
    await cluster?.stop();
  }, 180_000);

  it('shows the quota used against its hard limits and the pods; a plan change brings its quota', async () => {
    const created = await kubeAdmin.tenants.createAndWait(
      { slug: slug('kube'), name: 'Kube Corp', plan: 'free' },
      { timeoutMs: 90_000 },
    );
    expect(created.status).toBe('ready');
    tenant = { id: created.id, slug: created.slug, namespace: created.namespace };
    // A pod in the tenant's namespace (no node runs it: it stays Pending), within the restricted
    // Pod Security Standard the namespace enforces; its limits come from the plan's LimitRange.
    kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'inference-0', namespace: tenant.namespace },
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/inference:1',
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      }),
    );

    await signIn(kubePage, kube.url);
    await kubePage.goto(`${kube.url}/console/#/tenants/${tenant.id}`);
    const section = kubePage.locator('section[aria-labelledby="resources"]');
    await section.getByText(tenant.namespace, { exact: true }).waitFor({ timeout: UI_DEADLINE });
    await section.locator('.badge', { hasText: 'Active' }).waitFor({ timeout: UI_DEADLINE });
    const quotaRow = (resource: string) =>
      section
        .locator('tbody tr')
        .filter({ has: kubePage.getByRole('cell', { name: resource, exact: true }) });
    // Used against hard: the pod counts against the free plan's quota (the page polls).
    await waitFor(
      'the pod to count against the quota',
      async () =>
        (await quotaRow('pods').allTextContents())[0] === `pods1${PLANS.free.quota.pods}` ? true : undefined,
      60_000,
      200,
    );
    expect(await quotaRow('limits.memory').textContent()).toContain(PLANS.free.quota['limits.memory']);
    const hard = await section.locator('tbody tr td:first-child').allTextContents();
    expect(hard.sort()).toEqual(Object.keys(PLANS.free.quota).sort());
    const pod = section.locator('li').filter({ hasText: 'inference-0' });
    expect(await pod.textContent()).toBe('inference-0 Pending (not ready)');
    await axeOn(kubePage, 'tenant namespace');
    await SHOTS.take(kubePage, 'tenant-namespace');

    // A plan change: the worker applies the new quota to the namespace, and the view follows.
    await kubePage.getByLabel('Plan', { exact: true }).selectOption('enterprise');
    await kubePage.getByRole('button', { name: 'Change plan' }).click();
    await kubePage.locator('form[data-plan="enterprise"]').waitFor({ timeout: UI_DEADLINE });
    await waitFor(
      "the enterprise plan's quota in the namespace view",
      async () =>
        (await quotaRow('pods').allTextContents())[0] === `pods1${PLANS.enterprise.quota.pods}`
          ? true
          : undefined,
      60_000,
      200,
    );
    expect(await quotaRow('limits.memory').textContent()).toContain(PLANS.enterprise.quota['limits.memory']);
    expect(
      JSON.parse(kubectl(['get', 'resourcequota', 'tenant-quota', '-n', tenant.namespace, '-o', 'json'])),
    ).toMatchObject({ spec: { hard: { pods: PLANS.enterprise.quota.pods } } });
  }, 300_000);
});
