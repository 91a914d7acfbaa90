import { afterAll, describe, expect, it } from 'vitest';
import { TenantStatements } from '../src/db/prepared.js';
import type { TenantRef } from '../src/tenancy/context.js';
import { testDatabaseUrl, waitFor } from '../src/testing/index.js';

const statements = new TenantStatements({ url: testDatabaseUrl(), maxPerPlan: 6, connectionsPerShare: 2 });
afterAll(() => statements.close());

const tenant = (n: number): TenantRef => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  slug: `t${n}`,
  schema: `tenant_t${n}`,
  plan: 'standard',
});

const BACKEND = { name: 'tests.backend_pid', text: 'select pg_backend_pid() as pid' };

async function backendOf(t: TenantRef): Promise<number> {
  const rows = await statements.query<{ pid: number }>(t, BACKEND, []);
  return rows[0]?.pid as number;
}

/**
 * Holds `count` connections for `t` (through `withConnection`) until `release` is called; resolves
 * once all are held. `pids` are their backends.
 */
async function holdConnections(t: TenantRef, count: number) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held = 0;
  let allHeld!: () => void;
  const holding = new Promise<void>((resolve) => {
    allHeld = resolve;
  });
  const pids = Promise.all(
    Array.from({ length: count }, () =>
      statements.withConnection(t, async (client) => {
        const res = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
        if (++held === count) allHeld();
        await gate;
        return res.rows[0]?.pid as number;
      }),
    ),
  );
  await holding;
  return { pids, release };
}

describe('TenantStatements', () => {
  it('runs statements with generic plans, under the plan timeout', async () => {
    const rows = await statements.query<{ mode: string; timeout: string }>(
      tenant(1),
      {
        name: 'tests.settings',
        text: "select current_setting('plan_cache_mode') as mode, current_setting('statement_timeout') as timeout",
      },
      [],
    );
    expect(rows[0]?.mode).toBe('force_generic_plan');
    expect(rows[0]?.timeout).not.toBe('0');
  });

  it("keeps a tenant on its share of the plan's connections, and spreads tenants over the shares", async () => {
    const tenants = Array.from({ length: 24 }, (_, n) => tenant(n));
    const homes = new Map<string, Set<number>>();
    for (let round = 0; round < 3; round++) {
      for (const t of tenants) {
        const pid = await backendOf(t);
        homes.set(t.id, (homes.get(t.id) ?? new Set()).add(pid));
      }
    }
    // One request at a time: a share's connection is always free, so each tenant stays on its
    // share (two connections at most), and the tenants together use more than one share.
    for (const pids of homes.values()) expect(pids.size).toBeLessThanOrEqual(2);
    const used = new Set([...homes.values()].flatMap((pids) => [...pids]));
    expect(used.size).toBeGreaterThan(2);
  });

  it("gives one busy tenant every connection of its plan, beyond its own share's", async () => {
    const { pids, release } = await holdConnections(tenant(99), 6);
    release();
    expect(new Set(await pids).size).toBe(6);
  });

  it('queues a few single statements at their own share, and runs the next elsewhere unprepared', async () => {
    const busy = tenant(77);
    // Both connections of the tenant's share held (the share has room for nothing more).
    const holders = await holdConnections(busy, 2);
    const WHERE = {
      name: 'tests.where',
      text: "select pg_backend_pid() as pid, (select count(*)::int from pg_prepared_statements where name = 'tests.where') as prepared",
    };
    type Where = { pid: number; prepared: number };
    // Two per connection of the share wait for it...
    const queued = Array.from({ length: 4 }, () => statements.query<Where>(busy, WHERE, []));
    // ...and the next runs at once on another share's connection, without preparing it there.
    const spilled = (await statements.query<Where>(busy, WHERE, []))[0];
    holders.release();
    const homePids = new Set(await holders.pids);
    expect(homePids.has(spilled?.pid as number)).toBe(false);
    expect(spilled?.prepared).toBe(0);
    for (const rows of await Promise.all(queued)) {
      expect(homePids.has(rows[0]?.pid as number)).toBe(true);
      expect(rows[0]?.prepared).toBe(1);
    }
  });

  it('closes a connection once it has been idle for idleTimeoutMs', async () => {
    const short = new TenantStatements({ url: testDatabaseUrl(), maxPerPlan: 1, idleTimeoutMs: 500 });
    try {
      const pid = (await short.query<{ pid: number }>(tenant(5), BACKEND, []))[0]?.pid as number;
      const ALIVE = {
        name: 'tests.backend_alive',
        text: 'select count(*)::int as n from pg_stat_activity where pid = $1',
      };
      const alive = async () => (await statements.query<{ n: number }>(tenant(1), ALIVE, [pid]))[0]?.n;
      expect(await alive()).toBe(1);
      // Gone well before the default (60 s) would let it go.
      await waitFor(
        'the idle connection to close',
        async () => ((await alive()) === 0 ? true : undefined),
        10_000,
        100,
      );
    } finally {
      await short.close();
    }
  });
});
