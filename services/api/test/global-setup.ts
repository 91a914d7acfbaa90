import { createDatabase, ensureMlGateway, resetTestDatabase, testDatabaseUrl } from '@platform/core';

/** Resets the test database and starts the real ml-gateway (unless ML_GATEWAY_URL points at one). */
export default async function setup(): Promise<() => Promise<void>> {
  const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
  try {
    await resetTestDatabase(db);
  } finally {
    await db.destroy();
  }
  const gateway = process.env.ML_GATEWAY_URL ? undefined : await ensureMlGateway(18000);
  return async () => {
    await gateway?.stop();
  };
}
