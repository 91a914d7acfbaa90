import { runStatements } from '../../db/statements.js';
import type { PlatformMigration } from '../types.js';

/**
 * `platform.set_partman_retention(parent_table, retention)`: changes the retention pg_partman
 * applies to a tenant's events, for the API's runtime role, which has no rights on pg_partman's
 * configuration. It runs with the owner's rights (SECURITY DEFINER, fixed search_path) and only
 * for a `tenant_*.events` table; EXECUTE is granted to the runtime role only (db/roles.ts).
 */
export const partmanRetention: PlatformMigration = {
  name: '0005_partman_retention',
  async up(db) {
    await runStatements(db, [
      `create function platform.set_partman_retention(p_parent_table text, p_retention text)
         returns void
         language plpgsql
         security definer
         set search_path = pg_catalog, pg_temp
       as $fn$
       begin
         if p_parent_table !~ '^tenant_[a-z0-9_]+\\.events$' then
           raise exception 'not a tenant events table: %', p_parent_table using errcode = '22023';
         end if;
         update partman.part_config set retention = p_retention where parent_table = p_parent_table;
       end
       $fn$`,
      'revoke all on function platform.set_partman_retention(text, text) from public',
    ]);
  },
  async down(db) {
    await runStatements(db, ['drop function platform.set_partman_retention(text, text)']);
  },
};
