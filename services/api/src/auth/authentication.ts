import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, schemaForSlug, UnauthorizedError } from '@platform/core';
import type { Request } from 'express';
import { enforceOperationRules } from '../middleware/contract.js';
import {
  countFailedAuthentication,
  enterTenantRequest,
  limitTenantRequest,
  refuseBlockedAddress,
} from '../middleware/rate-limit.js';
import { platformOf, requestContext } from '../request-context.js';

function bearerToken(req: Request): string {
  const header = req.headers.authorization;
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
  refuseBlockedAddress(req);
  let principal: { actor: string };
  try {
    principal = await authenticate(req, securityName, scopes);
  } catch (err) {
    if (err instanceof UnauthorizedError && err.code === 'invalid_credentials') {
      throw await countFailedAuthentication(req, err);
    }
    throw err;
  }
  // Authenticated: now the request itself is looked at (unknown query parameters, a missing body).
  enforceOperationRules(req);
  return principal;
}

async function authenticate(
  req: Request,
  securityName: string,
  scopes: string[],
): Promise<{ actor: string }> {
  const token = bearerToken(req);
  const platform = platformOf(req);
  const ctx = requestContext(req);

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
    await limitTenantRequest(req, {
      keyId: credential.id,
      tenantId: credential.tenant_id,
      plan: credential.tenant_plan,
    });
    platform.usage.countRequest(credential.tenant_id);
    await enterTenantRequest(req, credential.tenant_id);
    return { actor: ctx.actor };
  }

  throw new UnauthorizedError('invalid_credentials', `Unknown security scheme ${securityName}`);
}
