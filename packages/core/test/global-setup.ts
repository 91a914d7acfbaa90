import { createDatabase } from '../src/index.js';
import { resetTestDatabase, testDatabaseUrl } from '../src/testing/index.js';

export default async function setup(): Promise<void> {
  const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
  try {
    await resetTestDatabase(db);
  } finally {
    await db.destroy();
  }
}
