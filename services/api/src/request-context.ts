import type { RequestContext } from '@platform/core';
import type { Request } from 'express';
import type { Platform } from './platform.js';

/** The request's context (request id, resolved tenant), also bound to AsyncLocalStorage. */
export function requestContext(req: Request): RequestContext {
  return (req as Request & { ctx: RequestContext }).ctx;
}

export function setRequestContext(req: Request, ctx: RequestContext): void {
  (req as Request & { ctx: RequestContext }).ctx = ctx;
}

export function platformOf(req: Request): Platform {
  return req.app.locals.platform as Platform;
}
