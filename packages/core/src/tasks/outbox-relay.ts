import type { Knex } from 'knex';
import pg from 'pg';
import type { FairAdmission } from './fair-admission.js';
import {
  markEntriesSent,
  type OutboxEntry,
  purgeSentEntries,
  recordPublishFailure,
  selectAdmittedEntries,
  selectUnkeyedAndFairGroups,
  selectUnsentEntries,
} from './outbox.repository.js';

export interface FairAdmissionOptions {
  admission: FairAdmission;
  /** Groups (queue, fairness key) looked at per pass. */
  maxGroupsPerPass: number;
  /** Polling while entries are held back (releases also wake the relay through `kick`). */
  heldBackPollMs: number;
}

export interface OutboxRelayOptions {
  /** PostgreSQL URL for the relay's own connection (LISTEN, leadership, passes), outside the pool. */
  listenUrl: string;
  /** Polling fallback: a pass runs at least this often, notifications or not. */
  pollIntervalMs: number;
  /** Entries published per pass. */
  batchSize: number;
  /** Sent entries are deleted after this long. */
  retentionSeconds: number;
  /**
   * Fair admission of keyed entries (a task whose catalog entry has `fairBy`): at most the
   * admission's slots per group are in the broker at once, the rest wait here and are admitted
   * round-robin across groups as slots free. Without it every entry is published at once, FIFO.
   */
  fairness?: FairAdmissionOptions;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/**
 * An entry to publish: a keyed one carries its fairness slot, and the kombu priority it goes out
 * with (`FAIR_FIRST_PRIORITY` or `FAIR_BACKLOG_PRIORITY`).
 */
export type OutboxDelivery = OutboxEntry & { slot?: { key: string; member: string }; priority?: number };

/** A group's only message in the broker: served before any group's backlog. */
export const FAIR_FIRST_PRIORITY = 0;
/** A group's second and later messages in the broker (kombu's first priority sub-queue). */
export const FAIR_BACKLOG_PRIORITY = 3;

/** Sends entries to the broker; throws when it cannot (they stay unsent). */
export type OutboxSink = (entries: OutboxDelivery[]) => Promise<void>;

export const OUTBOX_CHANNEL = 'platform_outbox';
/** The advisory lock whose holder is the one relay publishing (any replica may hold it). */
const RELAY_LOCK_KEY = 7_301_001;

/**
 * Publishes outbox entries after their transaction commits. One relay at a time across replicas:
 * the one whose connection holds a session advisory lock (when its process or connection dies, the
 * lock goes with it and another relay takes over within a poll interval). It is woken by
 * LISTEN/NOTIFY on the same connection, with a polling fallback. A pass reads the unsent entries,
 * publishes them, then marks them sent: the publish is never behind a write, and an entry
 * published by a relay that died before marking it is published again with the same task id
 * (harmless: the handlers are idempotent).
 *
 * With `fairness`, entries with a fairness key are admitted a few per key at a time, round-robin
 * across keys, as the consumers' acknowledgements free their slots (docs/tasks.md, "Fair queueing").
 */
export class OutboxRelay {
  private conn: pg.Client | undefined;
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private lastPurge = 0;
  private failures = 0;
  /** Whether the last pass left keyed entries waiting for a slot (a release can admit them). */
  private holdingBack = false;
  /** Whether a slot was released since the running pass began (it may not have seen it). */
  private releasedSincePass = false;
  /** Entries published since start. */
  published = 0;

  constructor(
    private readonly db: Knex,
    private readonly sink: OutboxSink,
    private readonly options: OutboxRelayOptions,
  ) {}

  /** Whether this relay is the one publishing now. */
  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.reconnectTimer);
    // A pass in flight finishes, but a broker that does not answer (Redis down) does not hold the
    // stop: its entries stay unsent and the next relay publishes them.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running?.catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2000);
      }),
    ]);
    clearTimeout(timer);
    const conn = this.conn;
    this.conn = undefined;
    this.leader = false;
    conn?.removeAllListeners('end');
    await conn?.end().catch(() => undefined);
  }

  /** Asks for a pass now (coalesced with one already running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.releasedSincePass = false;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again || (this.releasedSincePass && this.holdingBack)) {
        this.again = false;
        this.kick();
      } else {
        // Back off while the broker or the database is failing; poll otherwise.
        const backoff = Math.min(this.options.pollIntervalMs * 2 ** this.failures, 30_000);
        const idle =
          this.holdingBack && this.options.fairness
            ? Math.min(this.options.fairness.heldBackPollMs, this.options.pollIntervalMs)
            : this.options.pollIntervalMs;
        this.schedule(this.failures > 0 ? backoff : idle);
      }
    });
  }

  /**
   * A fairness slot was released (any consumer's acknowledgement): a pass now if the last one left
   * entries waiting for a slot, or, while a pass runs, once it ends if it leaves some. A release
   * while nothing is held back admits nothing (every waiting entry was admitted, and a new one
   * comes with its own notification), so it costs no pass.
   */
  released(): void {
    if (this.stopped) return;
    if (this.running) {
      this.releasedSincePass = true;
      return;
    }
    if (this.holdingBack) this.kick();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref?.();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.listenUrl,
      application_name: 'outbox-relay',
      connectionTimeoutMillis: 5000,
    });
    client.on('notification', () => this.kick());
    client.on('error', (err) => {
      this.options.log.warn({ err: err.message }, 'outbox relay connection error; reconnecting');
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`listen ${OUTBOX_CHANNEL}`);
      this.conn = client;
      this.leader = false;
      // Entries committed while no one listened are picked up now.
      this.kick();
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'outbox relay not connected; retrying');
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.conn === client) {
      this.conn = undefined;
      this.leader = false;
    }
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped && !this.conn) void this.connect();
    }, 1000);
    this.reconnectTimer.unref?.();
  }

  /** Publishes everything pending, batch by batch, while this relay leads. */
  private async drain(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    try {
      if (!this.leader) {
        const { rows } = await conn.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
          RELAY_LOCK_KEY,
        ]);
        this.leader = rows[0]?.locked === true;
        if (!this.leader) return;
        this.options.log.info({}, 'this outbox relay now publishes');
      }
      for (;;) {
        const sent = await this.pass(conn);
        if (sent < this.options.batchSize || this.stopped) break;
      }
      this.failures = 0;
      await this.maybePurge();
    } catch (err) {
      this.failures = Math.min(this.failures + 1, 10);
      this.options.log.warn({ err: (err as Error).message }, 'outbox relay pass failed; will retry');
    }
  }

  private async pass(conn: pg.Client): Promise<number> {
    const fair = this.options.fairness;
    if (!fair) return this.publish(conn, await selectUnsentEntries(conn, this.options.batchSize));
    const { entries, groups } = await selectUnkeyedAndFairGroups(
      conn,
      this.options.batchSize,
      fair.maxGroupsPerPass,
    );
    const deliveries: OutboxDelivery[] = entries;
    // Held back unless every group's waiting entries are admitted in this pass (see below).
    this.holdingBack = groups.length > 0;
    const room = this.options.batchSize - entries.length;
    if (groups.length > 0 && room > 0) {
      const slots = await fair.admission.freeSlots(groups);
      const admitted = await selectAdmittedEntries(
        conn,
        groups.map((g, i) => ({ ...g, slots: slots[i] ?? 0 })),
        room,
      );
      // Each group's messages in the broker so far: its first goes out at the first priority, the
      // rest behind every group's first, so a tenant with one prediction at a time never waits
      // behind another's backlog (docs/tasks.md, "Fair queueing").
      const inBroker = new Map<string, number>();
      groups.forEach((g, i) => {
        inBroker.set(fair.admission.slotKey(g), fair.admission.slotsPerKey - (slots[i] ?? 0));
      });
      for (const entry of admitted) {
        const key = fair.admission.slotKey({ queue: entry.queue, key: entry.fairness_key as string });
        const before = inBroker.get(key) ?? 0;
        inBroker.set(key, before + 1);
        const priority = before === 0 ? FAIR_FIRST_PRIORITY : FAIR_BACKLOG_PRIORITY;
        deliveries.push({ ...entry, slot: { key, member: entry.id }, priority });
      }
      // A group given fewer entries than its free slots had no more waiting: nothing of it is held
      // back. One that filled its slots (or had none free) may have more; so may any group when
      // the pass ran out of room.
      if (admitted.length < room && groups.length < fair.maxGroupsPerPass) {
        const taken = new Map<string, number>();
        for (const entry of admitted) {
          const key = fair.admission.slotKey({ queue: entry.queue, key: entry.fairness_key as string });
          taken.set(key, (taken.get(key) ?? 0) + 1);
        }
        this.holdingBack = groups.some(
          (g, i) => (taken.get(fair.admission.slotKey(g)) ?? 0) >= (slots[i] ?? 0),
        );
      }
    }
    return this.publish(conn, deliveries);
  }

  /** Publishes `entries`, then marks them sent; returns how many. */
  private async publish(conn: pg.Client, entries: OutboxDelivery[]): Promise<number> {
    if (entries.length === 0) return 0;
    const ids = entries.map((e) => e.id);
    try {
      await this.sink(entries);
    } catch (err) {
      await recordPublishFailure(conn, ids, (err as Error).message).catch(() => undefined);
      throw err;
    }
    await markEntriesSent(conn, ids);
    this.published += entries.length;
    return entries.length;
  }

  private async maybePurge(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    await purgeSentEntries(this.db, this.options.retentionSeconds);
  }
}
