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
  up(db: Knex, schema: string): Promise<void>;
  down(db: Knex, schema: string): Promise<void>;
}
