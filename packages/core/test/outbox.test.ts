import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type OutboxEntry, OutboxRelay, outboxBacklog, TaskOutbox } from '../src/index.js';
import { testDatabaseUrl, waitFor } from '../src/testing/index.js';
import { testDb } from './helpers.js';

const db = testDb(8);
const relays: OutboxRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});
afterAll(() => db.destroy());

const quiet = { warn: () => undefined, info: () => undefined };

/** A relay whose polling is too slow to matter: only notifications wake it within a test. */
function relay(sink: (entries: OutboxEntry[]) => Promise<void>, pollIntervalMs = 60_000): OutboxRelay {
  const r = new OutboxRelay(db, sink, {
    listenUrl: testDatabaseUrl(),
    pollIntervalMs,
    batchSize: 50,
    retentionSeconds: 3600,
    log: quiet,
  });
  relays.push(r);
  return r;
}

const queue = () => `test.outbox.${randomUUID().slice(0, 8)}`;

describe('transactional outbox', () => {
  it('publishes a committed entry once, woken by its notification, with the entry id as the task id; a rolled-back one never', async () => {
    const q = queue();
    const outbox = new TaskOutbox({ ml: q, platform: `${q}.platform` });
    const sent: OutboxEntry[] = [];
    await relay(async (entries) => {
      sent.push(...entries.filter((e) => e.queue === q));
    }).start();

    const rolledBack = randomUUID();
    await expect(
      db.transaction(async (trx) => {
        await outbox.enqueue(
          trx,
          'ml.predict',
          { tenant_id: randomUUID(), prediction_id: randomUUID() },
          { id: rolledBack },
        );
        throw new Error('the row could not be written');
      }),
    ).rejects.toThrow('the row could not be written');

    const tenantId = randomUUID();
    const predictionId = randomUUID();
    const id = await db.transaction((trx) =>
      outbox.enqueue(trx, 'ml.predict', { tenant_id: tenantId, prediction_id: predictionId }),
    );
    const [entry] = await waitFor(
      'the entry to be published',
      async () => (sent.length > 0 ? sent : undefined),
      10_000,
    );
    expect(entry).toMatchObject({
      id,
      task: 'ml.predict',
      queue: q,
      kwargs: { tenant_id: tenantId, prediction_id: predictionId },
    });
    expect(sent.map((e) => e.id)).not.toContain(rolledBack);
    // The sink has it; the relay marks it sent right after.
    const row = await waitFor('the entry to be marked sent', async () => {
      const found = await db.withSchema('platform').table('outbox').where({ id }).first();
      return found?.published_at ? found : undefined;
    });
    expect(row.published_at).toBeInstanceOf(Date);
    expect(await db.withSchema('platform').table('outbox').where({ id: rolledBack }).first()).toBeUndefined();
  });

  it('validates payloads against the task catalog before writing anything', async () => {
    const outbox = new TaskOutbox({ ml: queue(), platform: queue() });
    await expect(
      // @ts-expect-error: the catalog types the payload; a wrong one does not compile
      outbox.enqueue(db, 'platform.provision_tenant', { tenant: 'x' }),
    ).rejects.toThrow(/tenant_id/);
    await expect(
      // @ts-expect-error: an unknown task does not compile either
      outbox.enqueue(db, 'ml.unknown', {}),
    ).rejects.toThrow();
  });

  it('keeps entries while the broker fails, counts them as backlog, and publishes them once it is back', async () => {
    const q = queue();
    const outbox = new TaskOutbox({ ml: q, platform: q });
    let brokerUp = false;
    const sent: string[] = [];
    await relay(async (entries) => {
      const ours = entries.filter((e) => e.queue === q);
      if (!brokerUp && ours.length > 0) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      sent.push(...ours.map((e) => e.id));
    }, 100).start();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await outbox.enqueue(db, 'platform.provision_tenant', { tenant_id: randomUUID() }));
    await waitFor('a failed publish to be recorded', async () => {
      const rows = await db
        .withSchema('platform')
        .table('outbox')
        .whereIn('id', ids)
        .whereNotNull('last_error');
      return rows.length === 5 ? rows : undefined;
    });
    const backlog = await outboxBacklog(db);
    expect(backlog.pending).toBeGreaterThanOrEqual(5);
    expect(sent).toEqual([]);
    brokerUp = true;
    await waitFor('the backlog to be published', async () => (sent.length === 5 ? true : undefined), 40_000);
    expect(new Set(sent)).toEqual(new Set(ids));
  });

  it('publishes every entry exactly once with two relays running: one leads, the other stands by', async () => {
    const q = queue();
    const outbox = new TaskOutbox({ ml: q, platform: q });
    const sent: string[] = [];
    const sink = async (entries: OutboxEntry[]) => {
      sent.push(...entries.filter((e) => e.queue === q).map((e) => e.id));
    };
    await Promise.all([relay(sink, 50).start(), relay(sink, 50).start()]);
    const ids = await Promise.all(
      Array.from({ length: 300 }, () =>
        outbox.enqueue(db, 'platform.provision_tenant', { tenant_id: randomUUID() }),
      ),
    );
    await waitFor('every entry to be published', async () => (sent.length >= 300 ? true : undefined), 30_000);
    expect(sent).toHaveLength(300);
    expect(new Set(sent)).toEqual(new Set(ids));
  });

  it('listens again after its connection is cut, and publishes on notification', async () => {
    const q = queue();
    const outbox = new TaskOutbox({ ml: q, platform: q });
    const sent: string[] = [];
    await relay(async (entries) => {
      sent.push(...entries.filter((e) => e.queue === q).map((e) => e.id));
    }).start();
    const relayPids = async () => {
      const { rows } = await db.raw(
        "select pid from pg_stat_activity where application_name = 'outbox-relay' and datname = current_database()",
      );
      return rows.map((r: { pid: number }) => r.pid) as number[];
    };
    const before = await relayPids();
    expect(before.length).toBeGreaterThan(0);
    await db.raw('select pg_terminate_backend(pid) from unnest(?::int[]) as pid', [before]);
    // A new connection (its reconnect takes about a second), listening and leading again.
    await waitFor('the relay to connect again', async () =>
      (await relayPids()).some((pid) => !before.includes(pid)) ? true : undefined,
    );
    const id = await outbox.enqueue(db, 'platform.deprovision_tenant', { tenant_id: randomUUID() });
    await waitFor('the entry to be published', async () => (sent.includes(id) ? true : undefined), 10_000);
  });
});
