import { createDatabase } from '@platform/core';
import { ensureMlGateway, guardChildProcesses, resetTestDatabase } from '@platform/core/testing';
import { ensureDatabase, sdkTestDatabaseUrl } from './support/database.js';
import { ML_GATEWAY_PORT } from './support/ports.js';

/**
 * Creates this suite's database if missing, empties it, and starts the real ml-gateway on its own port.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const checkChildren = guardChildProcesses();
  const url = sdkTestDatabaseUrl();
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
