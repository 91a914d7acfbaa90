import { createDatabase, resetTestDatabase, testDatabaseUrl } from '@platform/core';

export default async function setup(): Promise<void> {
  const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
  try {
    await resetTestDatabase(db);
  } finally {
    await db.destroy();
  }
}
