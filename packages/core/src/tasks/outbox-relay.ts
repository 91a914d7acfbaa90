import type { Knex } from 'knex';
import pg from 'pg';
import {
  claimUnsentEntries,
  type OutboxEntry,
  purgeSentEntries,
  recordPublishFailure,
} from './outbox.repository.js';

export interface OutboxRelayOptions {
  /** PostgreSQL URL for the LISTEN connection (a connection of its own, outside the pool). */
  listenUrl: string;
  /** Polling fallback: a pass runs at least this often, notifications or not. */
  pollIntervalMs: number;
  /** Entries published per pass (one transaction each). */
  batchSize: number;
  /** Sent entries are deleted after this long. */
  retentionSeconds: number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Sends entries to the broker; throws when it cannot (the pass is rolled back). */
export type OutboxSink = (entries: OutboxEntry[]) => Promise<void>;

export const OUTBOX_CHANNEL = 'platform_outbox';

/**
 * Publishes outbox entries after their transaction commits. Woken by LISTEN/NOTIFY, with a
 * polling fallback (a lost notification or a LISTEN connection that is down costs at most one
 * poll interval). Any number of relays may run: each pass claims its entries with
 * `FOR UPDATE SKIP LOCKED`, publishes them, and commits; if publishing fails the pass rolls back
 * and the entries are tried again on the next pass.
 */
export class OutboxRelay {
  private listener: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private lastPurge = 0;
  private failures = 0;
  /** Entries published since start. */
  published = 0;

  constructor(
    private readonly db: Knex,
    private readonly sink: OutboxSink,
    private readonly options: OutboxRelayOptions,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.listen();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.reconnectTimer);
    await this.running?.catch(() => undefined);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** Asks for a pass now (coalesced with one already running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.kick();
      } else {
        // Back off while the broker or the database is failing; poll otherwise.
        const backoff = Math.min(this.options.pollIntervalMs * 2 ** this.failures, 30_000);
        this.schedule(this.failures > 0 ? backoff : this.options.pollIntervalMs);
      }
    });
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref?.();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.listenUrl,
      application_name: 'outbox-relay',
      connectionTimeoutMillis: 5000,
    });
    client.on('notification', () => this.kick());
    client.on('error', (err) => {
      this.options.log.warn({ err: err.message }, 'outbox listener error; reconnecting');
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`listen ${OUTBOX_CHANNEL}`);
      this.listener = client;
      // Entries committed while no one listened are picked up now.
      this.kick();
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'outbox listener not connected; polling');
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.listener === client) this.listener = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped && !this.listener) void this.listen();
    }, 1000);
    this.reconnectTimer.unref?.();
  }

  /** Publishes everything pending, batch by batch. */
  private async drain(): Promise<void> {
    try {
      for (;;) {
        const sent = await this.pass();
        if (sent < this.options.batchSize || this.stopped) break;
      }
      this.failures = 0;
      await this.maybePurge();
    } catch (err) {
      this.failures = Math.min(this.failures + 1, 10);
      this.options.log.warn({ err: (err as Error).message }, 'outbox relay pass failed; will retry');
    }
  }

  private async pass(): Promise<number> {
    let claimed: OutboxEntry[] = [];
    try {
      await this.db.transaction(async (trx) => {
        claimed = await claimUnsentEntries(trx, this.options.batchSize);
        if (claimed.length > 0) await this.sink(claimed);
      });
    } catch (err) {
      await recordPublishFailure(
        this.db,
        claimed.map((e) => e.id),
        (err as Error).message,
      ).catch(() => undefined);
      throw err;
    }
    this.published += claimed.length;
    return claimed.length;
  }

  private async maybePurge(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    await purgeSentEntries(this.db, this.options.retentionSeconds);
  }
}
