import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
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
