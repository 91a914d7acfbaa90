import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts the caller's `x-request-id` when well-formed, otherwise makes one; echoes it on every response. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && WELL_FORMED.test(given) ? given : randomUUID();
  (req as { id?: string }).id = id;
  res.setHeader('x-request-id', id);
  next();
};
