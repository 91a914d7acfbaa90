import type { Knex } from 'knex';

/** One SQL statement and its bindings (`?` placeholders, as `db.raw` takes them). */
export interface Statement {
  sql: string;
  bindings?: readonly Knex.RawBinding[];
}

export type StatementLike = string | Statement;

/** A statement of a list that failed; the message names it and keeps the server's error as `cause`. */
export class StatementError extends Error {
  readonly statement: string;
  readonly index: number;
  constructor(statement: string, index: number, total: number, cause: unknown, sent = statement) {
    let reason = cause instanceof Error ? cause.message : String(cause);
    // knex prefixes the server's message with the query text; the summary already names it.
    if (reason.startsWith(`${sent} - `)) reason = reason.slice(sent.length + 3);
    super(`statement ${index + 1} of ${total} failed (${summarize(statement)}): ${reason}`, { cause });
    this.name = 'StatementError';
    this.statement = statement;
    this.index = index;
  }
}

function summarize(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

/**
 * Runs statements one at a time, in order: one statement per query, so every step can be
 * propagated by Citus and an error names the statement that failed. Inside a transaction
 * (`db` a `Knex.Transaction`) the list is all or nothing.
 */
export async function runStatements(db: Knex, statements: readonly StatementLike[]): Promise<void> {
  await runEach(statements, (item) => {
    const { sql, bindings } = typeof item === 'string' ? { sql: item, bindings: undefined } : item;
    const query = bindings ? db.raw(sql, bindings as Knex.RawBinding[]) : db.raw(sql);
    return { sql, sent: () => query.toSQL().toNative().sql, done: query };
  });
}

/**
 * Sends each statement with `send`, in order, waiting for each; a failure becomes a
 * `StatementError` naming the statement (`sent`: the text as sent, when it differs).
 */
export async function runEach<T>(
  statements: readonly T[],
  send: (statement: T) => { sql: string; sent?: () => string; done: PromiseLike<unknown> },
): Promise<void> {
  for (const [index, item] of statements.entries()) {
    const { sql, sent, done } = send(item);
    try {
      await done;
    } catch (err) {
      throw new StatementError(sql, index, statements.length, err, sent?.() ?? sql);
    }
  }
}
