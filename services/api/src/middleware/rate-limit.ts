import type { ServerResponse } from 'node:http';
import { DomainError, type Plan } from '@platform/core';
import type { PolicyState, RateLimits } from '../rate-limits.js';
import type { TenantConcurrency } from '../tenant-concurrency.js';

export class RateLimitedError extends DomainError {
  readonly status = 429;
  constructor(message: string) {
    super('rate_limited', message);
  }
}

const LOCALS_KEY = 'rateLimits';

export function setRateLimits(app: { locals: Record<string, unknown> }, limits: RateLimits): void {
  app.locals[LOCALS_KEY] = limits;
}

/** The app's rate limits when they are on. */
export function rateLimitsOf(app: { locals: Record<string, unknown> }): RateLimits | undefined {
  const limits = app.locals[LOCALS_KEY] as RateLimits | undefined;
  return limits?.enabled ? limits : undefined;
}

const CONCURRENCY_KEY = 'tenantConcurrency';

export function setTenantConcurrency(
  app: { locals: Record<string, unknown> },
  concurrency: TenantConcurrency,
): void {
  app.locals[CONCURRENCY_KEY] = concurrency;
}

/** The per-tenant concurrency cap of the app, when it is on. */
export function tenantConcurrencyOf(app: { locals: Record<string, unknown> }): TenantConcurrency | undefined {
  const concurrency = app.locals[CONCURRENCY_KEY] as TenantConcurrency | undefined;
  return concurrency && concurrency.limit > 0 ? concurrency : undefined;
}

/** What the limits look at of a request: its response (for the headers) and its client's address. */
export interface LimitedRequest {
  /** The rate limits when they are on. */
  limits: RateLimits | undefined;
  /** The per-tenant concurrency cap when it is on (`TENANT_CONCURRENCY`). */
  concurrency: TenantConcurrency | undefined;
  method: string;
  res: ServerResponse;
  /** The client's address (the first untrusted hop with `TRUST_PROXY`). */
  clientAddress(): string;
}

/**
 * Waits for one of the tenant's places in this process (`TENANT_CONCURRENCY`), released when the
 * response is finished or the connection closes.
 */
export async function enterTenantRequest(req: LimitedRequest, tenantId: string): Promise<void> {
  const { concurrency, res } = req;
  if (!concurrency) return;
  const release = await concurrency.acquire(tenantId);
  if (res.writableFinished || res.destroyed) release();
  else res.once('close', release);
}

/**
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-09) for every budget
 * counted; `elapsedMs` is subtracted from each window's time left (a held 429).
 */
function setRateLimitHeaders(res: ServerResponse, policies: PolicyState[], elapsedMs = 0): void {
  let policy = '';
  let state = '';
  for (const p of policies) {
    const sep = policy ? ', ' : '';
    const reset = elapsedMs === 0 ? p.resetSeconds : secondsLeft(p.resetMs - elapsedMs);
    policy += `${sep}${p.policy}`;
    state += `${sep}"${p.name}";r=${p.remaining};t=${reset}`;
  }
  res.setHeader('RateLimit-Policy', policy);
  res.setHeader('RateLimit', state);
}

const secondsLeft = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/**
 * Counts an authenticated tenant request against its key's and its tenant's budget (reads: GET
 * and HEAD; writes: the rest) and sets the RateLimit headers; throws 429 `rate_limited` with
 * `Retry-After` when a budget is spent. The 429 is held first, until the spent budget is whole
 * again but at most `RATE_LIMIT_HOLD_MS` (`RateLimits.hold`); `Retry-After` and `RateLimit` then
 * state the time left after the hold until the next request would be admitted (0 when it would be
 * now). Called by the authentication module once the key is known; undefined when the request
 * was counted at once (rate limits off, or both budgets served from this process's leases).
 */
export function limitTenantRequest(
  req: LimitedRequest,
  principal: { keyId: string; tenantId: string; plan: Plan },
): Promise<void> | undefined {
  const { limits, res } = req;
  if (!limits) return undefined;
  const kind = req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write';
  const counted = limits.request(principal.keyId, principal.tenantId, principal.plan, kind);
  if (!Array.isArray(counted)) return counted.then((policies) => applyPolicies(limits, res, policies));
  return applyPolicies(limits, res, counted);
}

/** Sets the RateLimit headers of an admitted request, or holds and throws the 429 of a refused one. */
function applyPolicies(
  limits: RateLimits,
  res: ServerResponse,
  policies: PolicyState[],
): Promise<void> | undefined {
  let exceeded = false;
  for (const p of policies) if (p.exceeded) exceeded = true;
  if (!exceeded) {
    setRateLimitHeaders(res, policies);
    return undefined;
  }
  return reject(limits, res, policies);
}

async function reject(limits: RateLimits, res: ServerResponse, policies: PolicyState[]): Promise<void> {
  const spent = policies.filter((p) => p.exceeded);
  const waitMs = Math.max(...spent.map((p) => p.resetMs));
  const heldMs = await limits.hold(Math.max(...spent.map((p) => p.drainMs)));
  setRateLimitHeaders(res, policies, heldMs);
  res.setHeader('Retry-After', String(secondsLeft(waitMs - heldMs)));
  throw new RateLimitedError(
    `Rate limit reached: ${spent.map((p) => `${p.name} (${p.quota} per ${p.windowSeconds} s)`).join(', ')}`,
  );
}

/** Refuses (429) an address that failed to authenticate too often, before its credentials are checked. */
export function refuseBlockedAddress(req: LimitedRequest): void {
  const { limits } = req;
  if (!limits?.anyBlocked) return;
  const wait = limits.blockedFor(req.clientAddress());
  if (wait > 0) throw tooManyFailures(req, wait);
}

/** Counts a failed authentication of the client's address; its error, or 429 past the budget. */
export async function countFailedAuthentication(req: LimitedRequest, err: unknown): Promise<unknown> {
  const { limits } = req;
  if (!limits) return err;
  const wait = await limits.authenticationFailed(req.clientAddress());
  return wait > 0 ? tooManyFailures(req, wait) : err;
}

function tooManyFailures(req: LimitedRequest, wait: number): RateLimitedError {
  req.res.setHeader('Retry-After', String(wait));
  return new RateLimitedError(`Too many failed authentications from this address; retry in ${wait} s`);
}
