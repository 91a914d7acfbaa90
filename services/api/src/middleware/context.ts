import { runWithContext } from '@platform/core';
import type { RequestHandler } from 'express';
import { setRequestContext } from '../request-context.js';

/** Binds a request context to AsyncLocalStorage for the rest of the request. */
export const bindContext: RequestHandler = (req, _res, next) => {
  const ctx = { requestId: (req as { id?: string }).id ?? '' };
  setRequestContext(req, ctx);
  runWithContext(ctx, next);
};
