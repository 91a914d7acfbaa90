import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createDatabase } from '@platform/core';
import {
  ensureDatabase,
  ensureMlGateway,
  guardChildProcesses,
  resetTestDatabase,
} from '@platform/core/testing';
import { CHROMIUM, consoleBuilt, consoleTestDatabaseUrl, ML_GATEWAY_PORT } from './support/env.js';

/** Debian's Chromium, installed when missing (set-up and CI run as root). Idempotent. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['-q', '-y', 'update'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['-q', '-y', '--no-install-recommends', 'install', 'chromium'], {
    env,
    stdio: 'ignore',
  });
}

/**
 * Chromium, this suite's database (created when missing, emptied), the real ml-gateway on its own
 * port, and the console's production build (turbo builds it before the tests).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const checkChildren = guardChildProcesses();
  if (!consoleBuilt())
    throw new Error('services/console/dist is missing: run `pnpm exec turbo run build` first');
  ensureChromium();
  const url = consoleTestDatabaseUrl();
  await ensureDatabase(url);
  const db = createDatabase({ url, poolMax: 2 });
  try {
    await resetTestDatabase(db);
  } finally {
    await db.destroy();
  }
  const gateway = await ensureMlGateway(ML_GATEWAY_PORT);
  return async () => {
    await gateway?.stop();
    await checkChildren();
  };
}
