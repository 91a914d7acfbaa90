import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** This suite's database: `<TEST_DATABASE_URL's name>_console` (the API and SDK suites reset theirs). */
export function consoleTestDatabaseUrl(): string {
  const url = new URL(
    process.env.TEST_DATABASE_URL ?? 'postgres://platform:platform@127.0.0.1:5432/platform_test',
  );
  url.pathname = `${url.pathname.replace(/_console$/, '')}_console`;
  return url.toString();
}

/** The ml-gateway of this suite (the API suite's is on 18000, the SDK's on 18002). */
export const ML_GATEWAY_PORT = 18003;
export const ML_GATEWAY_URL = `http://127.0.0.1:${ML_GATEWAY_PORT}`;

export const CONSOLE_DIST = join(import.meta.dirname, '../../dist');

export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots go to docs/console/ only when CONSOLE_SCREENSHOTS=docs (a normal run changes no tracked file). */
export const SCREENSHOTS_TO_DOCS = process.env.CONSOLE_SCREENSHOTS === 'docs';

export function consoleBuilt(): boolean {
  return existsSync(join(CONSOLE_DIST, 'index.html'));
}
