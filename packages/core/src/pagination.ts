import type { Knex } from 'knex';
import { ValidationError } from './errors.js';

/** A page of results: `{ data, next_cursor }`, the platform's pagination shape. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/**
 * Cursors are opaque to clients: `<epoch milliseconds>_<id>` of the last row of the page (its
 * sort key). The spec states their pattern ({@link CURSOR_PATTERNS}); any cursor that matches it
 * is accepted (it continues after that position).
 */
export const CURSOR_PATTERNS = {
  uuid: /^(0|[1-9][0-9]{0,14})_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  bigint: /^(0|[1-9][0-9]{0,14})_(0|[1-9][0-9]{0,17})$/,
} as const;

export function encodeCursor(at: Date, id: string | number): string {
  return `${at.getTime()}_${id}`;
}

/** The position a cursor names, or a 422 naming `query.cursor`. */
export function decodeCursor(cursor: string, idType: 'uuid' | 'bigint'): { ms: string; id: string } {
  if (!CURSOR_PATTERNS[idType].test(cursor)) {
    throw new ValidationError('Invalid cursor', [
      { field: 'query.cursor', message: 'is not a valid cursor' },
    ]);
  }
  const [ms, id] = cursor.split('_') as [string, string];
  return { ms, id };
}

export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError('Invalid limit', [
      { field: 'query.limit', message: `must be an integer between 1 and ${MAX_PAGE_SIZE}` },
    ]);
  }
  return limit;
}

/** Builds a page from `limit + 1` fetched rows. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => [Date, string | number]): Page<T> {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, next_cursor: hasMore && last ? encodeCursor(...keyOf(last)) : null };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/**
 * Keyset pagination over `(timeColumn, id)`: orders by both, continues after the cursor and
 * fetches one extra row to know whether there is a next page.
 */
export async function keysetPage<T extends { id: string | number }>(
  query: Knex.QueryBuilder,
  options: { timeColumn: keyof T & string; idType: 'uuid' | 'bigint'; limit: number; cursor?: string },
): Promise<Page<T>> {
  const { timeColumn, idType, limit, cursor } = options;
  query.orderBy([
    { column: timeColumn, order: 'asc' },
    { column: 'id', order: 'asc' },
  ]);
  query.limit(limit + 1);
  if (cursor) {
    const { ms, id } = decodeCursor(cursor, idType);
    // Milliseconds since the epoch, exact in SQL for every time the pattern allows.
    query.whereRaw(`(??, id) > ('epoch'::timestamptz + ?::bigint * interval '1 millisecond', ?::${idType})`, [
      timeColumn,
      ms,
      id,
    ]);
  }
  const rows = (await query) as T[];
  return toPage(rows, limit, (row) => [row[timeColumn] as Date, row.id]);
}
