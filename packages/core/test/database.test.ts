import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { TenantStatements } from '../src/db/prepared.js';
import { isDatabaseUnavailable } from '../src/errors.js';
import { testDatabaseUrl } from '../src/testing/index.js';
import { testDb } from './helpers.js';

let db: Database;
beforeAll(() => {
  db = testDb(1);
});
afterAll(() => db.destroy());

const failure = (query: Promise<unknown>) =>
  query.then(
    () => {
      throw new Error('the query should have failed');
    },
    (err: unknown) => err as Error,
  );

describe('database errors', () => {
  it('keep the SQL text but never a bound value', async () => {
    const secret = 'tenant-secret-7f3a9c';
    // knex's compiled SQL fills every `?` left after numbering the placeholders (here jsonb's `?`
    // operator) with the bindings, so with compileSqlOnError on the value would be in the message.
    const err = await failure(
      db.raw('select ?::text as v from platform.no_such_table where payload \\? ?', [secret, 'k']),
    );
    expect(err.message).toContain('from platform.no_such_table where payload ? $2');
    expect(err.message).toContain('does not exist');
    expect(err.message).not.toContain(secret);
    expect(String(err.stack)).not.toContain(secret);

    const insert = await failure(
      db.withSchema('platform').table('no_such_table').insert({ email: secret, note: secret }),
    );
    expect(insert.message).toContain(
      'insert into "platform"."no_such_table" ("email", "note") values ($1, $2)',
    );
    expect(insert.message).not.toContain(secret);
  });
});

describe("a plan's pool with every connection busy", () => {
  it('fails a statement that waits past the timeout as the database being unavailable (503), not a 500', async () => {
    const statements = new TenantStatements({
      url: testDatabaseUrl(),
      maxPerPlan: 1,
      connectionTimeoutMs: 100,
    });
    const tenant = { id: 't', slug: 't', schema: 'public', plan: 'free' } as const;
    const select = { name: 'core-test-select-1', text: 'select 1 as one' };
    let free: () => void = () => undefined;
    const held = statements.withConnection(tenant, () => new Promise<void>((resolve) => (free = resolve)));
    try {
      const err = await failure(statements.query(tenant, select, []));
      expect(err.message).toMatch(/timeout/);
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      free();
      await held;
    }
    // The pool is healthy again once its connection is back.
    expect(await statements.query(tenant, select, [])).toEqual([{ one: 1 }]);
    await statements.close();
  });
});
