import type { Knex } from 'knex';

/** A migration of the control schema `platform`. */
export interface PlatformMigration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** A migration applied to every tenant schema; it receives the schema it runs in. */
export interface TenantMigration {
  name: string;
  /**
   * The migration only brings schemas made by earlier releases to the shape the migrations before
   * it give now (as `0004_events_unique_index` does): on a schema whose migrations table is created
   * in the same run, every earlier migration has just run as it is now, so there is nothing for it
   * to do, and the runner records it without running `up`.
   */
  convergesOnly?: boolean;
  up(db: Knex, schema: string): Promise<void>;
  down(db: Knex, schema: string): Promise<void>;
}
