/**
 * Per API process, how many requests of one tenant run at once past authentication and its rate
 * limits; the tenant's others wait, in arrival order, for one of them to finish. A tenant with many
 * connections open (a flood, a wide batch job) then holds at most `limit` of the process's database
 * connections and of its turns of the event loop, and another tenant's request waits behind at
 * most that many of its requests, not behind all of them. 0 switches it off.
 */
export class TenantConcurrency {
  private readonly tenants = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(readonly limit: number) {}

  /** Waits for one of the tenant's places; resolves with its release (idempotent). */
  async acquire(tenantId: string): Promise<() => void> {
    if (this.limit <= 0) return () => {};
    let tenant = this.tenants.get(tenantId);
    if (!tenant) {
      tenant = { running: 0, waiting: [] };
      this.tenants.set(tenantId, tenant);
    }
    const state = tenant;
    if (state.running < this.limit) state.running++;
    else await new Promise<void>((resolve) => state.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = state.waiting.shift();
      // The place passes straight to the next waiting request.
      if (next) next();
      else if (--state.running === 0) this.tenants.delete(tenantId);
    };
  }

  /** Requests of the tenant running and waiting now (for tests and metrics). */
  state(tenantId: string): { running: number; waiting: number } {
    const t = this.tenants.get(tenantId);
    return { running: t?.running ?? 0, waiting: t?.waiting.length ?? 0 };
  }
}
