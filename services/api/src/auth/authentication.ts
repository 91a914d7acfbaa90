import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, type RequestContext, schemaForSlug, UnauthorizedError } from '@platform/core';
import type { Request } from 'express';
import { enforceOperationRules } from '../middleware/contract.js';
import {
  countFailedAuthentication,
  enterTenantRequest,
  type LimitedRequest,
  limitTenantRequest,
  rateLimitsOf,
  refuseBlockedAddress,
  tenantConcurrencyOf,
} from '../middleware/rate-limit.js';
import type { Platform } from '../platform.js';
import { platformOf, requestContext } from '../request-context.js';

/**
 * What authentication reads of a request: its `Authorization` header, its context (where the
 * actor and the tenant are bound), the platform, and what the rate limits look at. Built from
 * Express's request by `expressAuthentication`, and by the hot-read router (`hot-reads.ts`).
 */
export interface AuthRequest extends LimitedRequest {
  authorization: string | undefined;
  ctx: RequestContext;
  platform: Platform;
}

function bearerToken(header: string | undefined): string {
  if (!header) throw new UnauthorizedError('missing_credentials', 'Send `Authorization: Bearer <token>`');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match)
    throw new UnauthorizedError('invalid_credentials', 'The Authorization header must be `Bearer <token>`');
  return match[1] as string;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * tsoa's authentication module: the one place where a request's credentials are checked and its
 * tenant is resolved. The tenant is bound to the request context (AsyncLocalStorage), from which
 * services and repositories take it. It is also where rate limits apply: wrong credentials count
 * against the client address (past its budget the address gets 429 before its credentials are
 * checked), and an authenticated tenant request against its key's and tenant's budgets.
 */
export async function expressAuthentication(
  req: Request,
  securityName: string,
  scopes: string[] = [],
): Promise<{ actor: string }> {
  const res = req.res;
  if (!res) throw new Error('expressAuthentication needs the request of an Express app');
  const principal = await authenticateRequest(
    {
      authorization: req.headers.authorization,
      method: req.method,
      ctx: requestContext(req),
      platform: platformOf(req),
      limits: rateLimitsOf(req.app),
      concurrency: tenantConcurrencyOf(req.app),
      res,
      clientAddress: () => req.ip ?? req.socket.remoteAddress ?? 'unknown',
    },
    securityName,
    scopes,
  );
  // Authenticated: now the request itself is looked at (unknown query parameters, a missing body).
  enforceOperationRules(req);
  return principal;
}

/** Checks the request's credentials for `securityName` and `scopes`, with the rate limits (above). */
export async function authenticateRequest(
  req: AuthRequest,
  securityName: string,
  scopes: readonly string[],
): Promise<{ actor: string }> {
  refuseBlockedAddress(req);
  try {
    return await authenticate(req, securityName, scopes);
  } catch (err) {
    if (err instanceof UnauthorizedError && err.code === 'invalid_credentials') {
      throw await countFailedAuthentication(req, err);
    }
    throw err;
  }
}

async function authenticate(
  req: AuthRequest,
  securityName: string,
  scopes: readonly string[],
): Promise<{ actor: string }> {
  const token = bearerToken(req.authorization);
  const { platform, ctx } = req;

  if (securityName === 'admin') {
    if (!sameSecret(token, platform.config.adminToken)) {
      throw new UnauthorizedError('invalid_credentials', 'The admin token is wrong');
    }
    ctx.actor = 'admin';
    return { actor: 'admin' };
  }

  if (securityName === 'api_key') {
    const credential = await platform.apiKeys.verify(token);
    if (!credential) throw new UnauthorizedError('invalid_credentials', 'The API key is unknown or revoked');
    const missing = scopes.filter((s) => !credential.scopes.includes(s as 'read' | 'write'));
    if (missing.length > 0) {
      throw new ForbiddenError('insufficient_scope', `The API key lacks the scope: ${missing.join(', ')}`);
    }
    if (credential.tenant_status !== 'ready') {
      throw new ForbiddenError('tenant_not_ready', `The tenant is ${credential.tenant_status}`);
    }
    ctx.actor = `key:${credential.id}`;
    ctx.tenant = {
      id: credential.tenant_id,
      slug: credential.tenant_slug,
      schema: schemaForSlug(credential.tenant_slug),
      plan: credential.tenant_plan,
    };
    const limited = limitTenantRequest(req, {
      keyId: credential.id,
      tenantId: credential.tenant_id,
      plan: credential.tenant_plan,
    });
    if (limited) await limited;
    platform.usage.countRequest(credential.tenant_id);
    await enterTenantRequest(req, credential.tenant_id);
    return { actor: ctx.actor };
  }

  throw new UnauthorizedError('invalid_credentials', `Unknown security scheme ${securityName}`);
}
