import type { Knex } from 'knex';
import { ValidationError } from './errors.js';

/** A page of results: `{ data, next_cursor }`, the platform's pagination shape. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** Cursors are opaque to clients: base64url of a JSON array of the sort key of the last row. */
export function encodeCursor(key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): [string, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !parsed.every((v) => typeof v === 'string' || typeof v === 'number')
  ) {
    throw new ValidationError('Invalid cursor', [
      { field: 'query.cursor', message: 'is not a valid cursor' },
    ]);
  }
  return [String(parsed[0]), String(parsed[1])];
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
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => Array<string | number>): Page<T> {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, next_cursor: hasMore && last ? encodeCursor(keyOf(last)) : null };
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
    const [time, id] = decodeCursor(cursor);
    // Only a cursor this function made gets through to the SQL casts below.
    const idOk = idType === 'uuid' ? isUuid(id) : /^(0|[1-9]\d{0,17})$/.test(id);
    const at = new Date(time);
    if (!idOk || Number.isNaN(at.getTime()) || at.toISOString() !== time) {
      throw new ValidationError('Invalid cursor', [
        { field: 'query.cursor', message: 'is not a valid cursor' },
      ]);
    }
    query.whereRaw(`(??, id) > (?::timestamptz, ?::${idType})`, [timeColumn, time, id]);
  }
  const rows = (await query) as T[];
  return toPage(rows, limit, (row) => [(row[timeColumn] as Date).toISOString(), row.id]);
}
