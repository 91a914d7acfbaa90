import { ValidationError } from '@platform/core';
import type { RequestHandler } from 'express';

/** PostgreSQL text and jsonb refuse NUL characters and unpaired UTF-16 surrogates. */
const UNSTORABLE = /[\ud800-\udfff]/u;
export const hasUnstorable = (text: string) => text.includes('\u0000') || UNSTORABLE.test(text);

/** The path of the first string (value or key) PostgreSQL cannot store, if any. Iterative: any depth is safe. */
function firstUnstorable(root: unknown, base: string): string | undefined {
  const stack: Array<[unknown, string]> = [[root, base]];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value === 'string') {
      if (hasUnstorable(value)) return path;
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        stack.push([item, `${path}[${i}]`]);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (hasUnstorable(key)) return path;
        stack.push([item, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

/**
 * Refuses, with 422 naming the field, request text that PostgreSQL could not store, so that such
 * input is a client error everywhere instead of a database error.
 */
export const rejectUnstorableText: RequestHandler = (req, _res, next) => {
  const field = firstUnstorable(req.query, 'query') ?? firstUnstorable(req.body, 'body');
  if (!field) return next();
  next(
    new ValidationError('The request holds text that cannot be stored', [
      { field, message: 'must not contain NUL characters (\\u0000) or unpaired surrogates' },
    ]),
  );
};
