import { createDatabase } from '../src/index.js';
import { guardChildProcesses, resetTestDatabase, testDatabaseUrl } from '../src/testing/index.js';

export default async function setup(): Promise<() => Promise<void>> {
  const checkChildren = guardChildProcesses();
  const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2 });
  try {
    await resetTestDatabase(db);
  } finally {
    await db.destroy();
  }
  return checkChildren;
}
