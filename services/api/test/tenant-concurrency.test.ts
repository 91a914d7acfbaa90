import { describe, expect, it } from 'vitest';
import { TenantConcurrency } from '../src/tenant-concurrency.js';

describe('TenantConcurrency', () => {
  it("runs at most `limit` of a tenant's requests at once, the rest in arrival order, other tenants apart", async () => {
    const c = new TenantConcurrency(2);
    const order: string[] = [];
    const a1 = await c.acquire('a');
    const a2 = await c.acquire('a');
    const a3 = c.acquire('a').then((release) => {
      order.push('a3');
      return release;
    });
    const a4 = c.acquire('a').then((release) => {
      order.push('a4');
      return release;
    });
    // Tenant b is not behind a's waiting requests.
    const b1 = await c.acquire('b');
    expect(c.state('a')).toEqual({ running: 2, waiting: 2 });
    expect(c.state('b')).toEqual({ running: 1, waiting: 0 });
    expect(order).toEqual([]);
    a1();
    a1(); // a second release of the same place frees nothing more
    const r3 = await a3;
    expect(order).toEqual(['a3']);
    expect(c.state('a')).toEqual({ running: 2, waiting: 1 });
    a2();
    const r4 = await a4;
    expect(order).toEqual(['a3', 'a4']);
    r3();
    r4();
    b1();
    expect(c.state('a')).toEqual({ running: 0, waiting: 0 });
    expect(c.state('b')).toEqual({ running: 0, waiting: 0 });
  });

  it('0 switches it off: every request runs at once', async () => {
    const c = new TenantConcurrency(0);
    const releases = await Promise.all(Array.from({ length: 100 }, () => c.acquire('a')));
    expect(releases).toHaveLength(100);
    expect(c.state('a')).toEqual({ running: 0, waiting: 0 });
  });
});
