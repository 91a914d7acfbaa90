import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM, SCREENSHOTS_TO_DOCS } from './env.js';
import { ADMIN_TOKEN } from './stack.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const UI_DEADLINE = 30_000;

/** Debian's Chromium with one page at 1280 x 900 that may use the clipboard of `origin`. */
export async function openBrowser(
  origin: string,
): Promise<{ browser: Browser; context: BrowserContext; page: Page }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    return { browser, context, page: await context.newPage() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** axe-core in the page: no serious or critical violation. */
export async function axe(page: Page, where: string): Promise<void> {
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

/** Signs in through the form, with the admin token. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/console/`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Tenants' }).waitFor({ timeout: UI_DEADLINE });
}

/**
 * Where screenshots go: docs/console/ with CONSOLE_SCREENSHOTS=docs (the explicit command that
 * refreshes the docs' images), otherwise a temporary folder removed by `done` (a normal run
 * changes no tracked file).
 */
export function screenshots(): { take(page: Page, name: string): Promise<void>; done(): void } {
  const dir = SCREENSHOTS_TO_DOCS
    ? join(import.meta.dirname, '../../../../docs/console')
    : mkdtempSync(join(tmpdir(), 'console-shots-'));
  mkdirSync(dir, { recursive: true });
  return {
    async take(page, name) {
      await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
    },
    done() {
      if (!SCREENSHOTS_TO_DOCS) rmSync(dir, { recursive: true, force: true });
    },
  };
}
