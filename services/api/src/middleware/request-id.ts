import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` when well-formed, otherwise a new one. */
export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && WELL_FORMED.test(given) ? given : randomUUID();
}

/** Accepts the caller's `x-request-id` when well-formed, otherwise makes one; echoes it on every response. */
export const requestId: RequestHandler = (req, res, next) => {
  const id = requestIdFor(req.headers['x-request-id']);
  (req as { id?: string }).id = id;
  res.setHeader('x-request-id', id);
  next();
};
