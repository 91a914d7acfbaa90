import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

/**
 * The transactional outbox: a task is written here in the transaction that writes its row, and
 * the relay publishes it to Redis after the commit. Inserts notify `platform_outbox`, which wakes
 * the relay at once (LISTEN/NOTIFY is delivered at commit).
 */
export const outbox: PlatformMigration = {
  name: '0003_outbox',
  async up(db) {
    await runStatements(db, [
      `create table platform.outbox (
        id uuid primary key,
        task text not null,
        queue text not null,
        kwargs jsonb not null,
        created_at timestamptz not null default clock_timestamp(),
        published_at timestamptz,
        publish_attempts integer not null default 0,
        last_error text
      )`,
      'create index outbox_unpublished on platform.outbox (created_at) where published_at is null',
      'create index outbox_published on platform.outbox (published_at) where published_at is not null',
      `create function platform.outbox_notify() returns trigger language plpgsql as $$
      begin
        perform pg_notify('platform_outbox', '');
        return null;
      end $$`,
      `create trigger outbox_notify after insert on platform.outbox
      for each statement execute function platform.outbox_notify()`,
    ]);
  },
  async down(db) {
    await runStatements(db, ['drop table platform.outbox', 'drop function platform.outbox_notify()']);
  },
};
