import type { Knex } from 'knex';
import { mapWithConcurrency } from '../concurrency.js';
import { cacheKey, quoteIdent } from './database.js';
import { inPooledTransaction, type PooledTransaction, queryPrepared } from './prepared.js';
import { runEach, runStatements } from './statements.js';

/**
 * pg_partman access. Debian ships 4.x, upstream is 5.x; `create_parent` differs between them
 * (4.x: p_type 'native'; 5.x: p_type 'range' and the arguments reordered), so every call uses
 * named arguments and the installed major version decides the type.
 */
export interface TimePartitioning {
  /** Schema-qualified parent table, e.g. `tenant_acme.events`. */
  parentTable: string;
  control: string;
  interval: '1 day' | '1 month';
  premake: number;
  /** Retention such as `30 days`; partitions older than this are dropped by maintenance. */
  retention: string | null;
  /**
   * Premake from the current time rather than from the newest row (`infinite_time_partitions`):
   * a table that receives nothing for a while still gets its partitions, and whether it needs
   * maintenance follows from its configuration and partition bounds (`maintenancePlan`).
   */
  fromCurrentTime?: boolean;
  /**
   * The first partition is the current one instead of `premake` intervals back: for a table that
   * cannot hold older rows yet (a new tenant's), half the partitions to create.
   */
  startAtCurrent?: boolean;
  /**
   * The first partition `create_parent` creates starts this many intervals after the current one:
   * the caller has created those before it (`createDailyPartitions`), so pg_partman creates one
   * partition, the default one and its template.
   */
  startAfterIntervals?: number;
}

const versionCache = new WeakMap<object, Promise<number>>();

/** Major version of the installed pg_partman extension. */
export function partmanMajorVersion(db: Knex): Promise<number> {
  let cached = versionCache.get(cacheKey(db));
  if (!cached) {
    cached = db
      .raw<{ rows: Array<{ extversion: string }> }>(
        "select extversion from pg_extension where extname = 'pg_partman'",
      )
      .then((res) => {
        const version = res.rows[0]?.extversion;
        if (!version) {
          throw new Error(
            'The pg_partman extension is not installed in this database: run scripts/setup.sh or `CREATE EXTENSION pg_partman SCHEMA partman` as a superuser',
          );
        }
        return Number.parseInt(version.split('.')[0] ?? '0', 10);
      });
    cached.catch(() => versionCache.delete(cacheKey(db)));
    versionCache.set(cacheKey(db), cached);
  }
  return cached;
}

/**
 * Registers a range-partitioned table with pg_partman unless it is already registered, and sets
 * its retention, premake and premake origin. Idempotent; two statements.
 */
export async function ensureTimePartitioned(db: Knex, spec: TimePartitioning): Promise<void> {
  const major = await partmanMajorVersion(db);
  await db.raw(
    `select partman.create_parent(
       p_parent_table := ?, p_control := ?, p_type := ?, p_interval := ?, p_premake := ?,
       p_start_partition := case when ?::int is not null then (now() + ?::int * ?::interval)::text
                                 when ? then now()::text end)
      where not exists (select 1 from partman.part_config where parent_table = ?)`,
    [
      spec.parentTable,
      spec.control,
      major >= 5 ? 'range' : 'native',
      spec.interval,
      spec.premake,
      spec.startAfterIntervals ?? null,
      spec.startAfterIntervals ?? null,
      spec.interval,
      spec.startAtCurrent ?? false,
      spec.parentTable,
    ],
  );
  await configureTimePartitioned(db, spec);
}

/** A SQL string literal (DDL takes no bind parameters). */
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** PostgreSQL's limit on identifiers (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * Creates the daily partitions of a range-partitioned table, not yet registered with pg_partman,
 * from `fromDays` before the current day to `toDays` after it (days of the session's time zone,
 * as pg_partman counts them), named as pg_partman names them (`events_p2026_12_02` with 4.x,
 * `events_p20261202` with 5.x), so that `create_parent` finds them and creates none of them. One
 * `CREATE TABLE ... PARTITION OF` each: the partition's indexes are created with it, without
 * pg_partman's `LIKE` copy, `ATTACH` and property look-ups per partition. Returns false, creating
 * nothing, when a partition's name would be longer than PostgreSQL allows (pg_partman shortens
 * the parent's name then: left to it).
 */
export async function createDailyPartitions(
  db: Knex,
  parentTable: string,
  fromDays: number,
  toDays: number,
): Promise<boolean> {
  const [schema, table] = parentTable.split('.');
  if (!schema || !table) throw new Error(`expected a schema-qualified table, got '${parentTable}'`);
  const format = (await partmanMajorVersion(db)) >= 5 ? 'YYYYMMDD' : 'YYYY_MM_DD';
  const res = await db.raw<{ rows: Array<{ suffix: string; from: string; to: string }> }>(
    `select to_char(d, ?) as suffix, d::text as "from", (d + interval '1 day')::text as "to"
       from generate_series(date_trunc('day', now()) - ?::int * interval '1 day',
                            date_trunc('day', now()) + ?::int * interval '1 day', interval '1 day') d
      order by d`,
    [format, fromDays, toDays],
  );
  const partitions = res.rows.map((r) => ({ ...r, name: `${table}_p${r.suffix}` }));
  if (partitions.some((p) => p.name.length > MAX_IDENTIFIER_LENGTH)) return false;
  await runStatements(
    db,
    partitions.map(
      (p) =>
        `create table if not exists ${quoteIdent(schema)}.${quoteIdent(p.name)}
           partition of ${quoteIdent(schema)}.${quoteIdent(table)}
           for values from (${quoteLiteral(p.from)}) to (${quoteLiteral(p.to)})`,
    ),
  );
  return true;
}

/** A daily range-partitioned table premaking from the current time, and the days it starts with. */
export interface DailyPartitionSet {
  /** Schema-qualified parent table, e.g. `tenant_acme.events`. */
  parentTable: string;
  control: string;
  premake: number;
  retention: string | null;
  /** Days before the current one that get a partition (rows may be back-dated). */
  daysBack: number;
  /** Days after the current one that get a partition. */
  daysAhead: number;
}

/**
 * Creates the daily partitions of a range-partitioned table from `daysBack` days before the
 * current day to `daysAhead` after it, and registers the table with pg_partman, premaking from the
 * current time. With pg_partman 4.x (Debian's) the partitions, the default partition, the template
 * table and the `part_config` row are made here (`registerDailyPartitioned`), as `create_parent`
 * makes them, without its PL/pgSQL look-ups: on a new tenant that took 34 of its 90 ms of
 * provisioning, and grew with the catalogs. With 5.x, or when a partition's name would be too
 * long, `create_parent` makes what the partitions created here leave (the last day, the default
 * partition, the template).
 */
export async function createDailyPartitionSet(db: Knex, set: DailyPartitionSet): Promise<void> {
  const direct = (await partmanMajorVersion(db)) < 5;
  const created = await createDailyPartitions(
    db,
    set.parentTable,
    set.daysBack,
    direct ? set.daysAhead : set.daysAhead - 1,
  );
  if (created && direct) {
    await registerDailyPartitioned(db, set);
    return;
  }
  await ensureTimePartitioned(db, {
    parentTable: set.parentTable,
    control: set.control,
    interval: '1 day',
    premake: set.premake,
    retention: set.retention,
    fromCurrentTime: true,
    ...(created ? { startAfterIntervals: set.daysAhead } : {}),
  });
}

/**
 * What `create_parent` of pg_partman 4.x does for a native, daily, time-partitioned table whose
 * partitions exist: its default partition (`<table>_default`), its template table in schema
 * `partman` (`template_<schema>_<table>`, both named by pg_partman's `check_name_length`), and
 * its `part_config` row with `create_parent`'s values for the arguments `ensureTimePartitioned`
 * passes, plus the retention and premake origin `configureTimePartitioned` sets. The partitions
 * are `PARTITION OF` the parent, so they have its columns, defaults, constraints and indexes, as
 * the `LIKE` copies `create_parent` attaches do; the template is left empty of indexes and
 * options, so pg_partman's `inherit_template_properties` has nothing to add to them. Idempotent;
 * four statements. `test/partman-registration.test.ts` checks the result against `create_parent`'s.
 */
async function registerDailyPartitioned(db: Knex, set: DailyPartitionSet): Promise<void> {
  const [schema, table] = set.parentTable.split('.');
  if (!schema || !table) throw new Error(`expected a schema-qualified table, got '${set.parentTable}'`);
  const names = await db.raw<{ rows: Array<{ default_name: string; template_name: string }> }>(
    `select partman.check_name_length(?, '_default', false) as default_name,
            partman.check_name_length(?) as template_name`,
    [table, `template_${schema}_${table}`],
  );
  const { default_name, template_name } = names.rows[0] ?? {};
  if (!default_name || !template_name)
    throw new Error(`pg_partman named no default partition for ${set.parentTable}`);
  const parent = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  await runStatements(db, [
    `create table if not exists ${quoteIdent(schema)}.${quoteIdent(default_name)} partition of ${parent} default`,
    `create table if not exists partman.${quoteIdent(template_name)} (like ${parent})`,
    {
      sql: `insert into partman.part_config
              (parent_table, control, partition_type, partition_interval, epoch, premake, datetime_string,
               automatic_maintenance, inherit_fk, jobmon, upsert, trigger_return_null, template_table,
               inherit_privileges, retention, retention_keep_table, infinite_time_partitions)
            values (?, ?, 'native', '1 day', 'none', ?, 'YYYY_MM_DD', 'on', true, true, '', true, ?, false, ?, false, true)
            on conflict (parent_table) do nothing`,
      bindings: [set.parentTable, set.control, set.premake, `partman.${template_name}`, set.retention],
    },
  ]);
}

/** Sets a registered table's retention, premake and premake origin; false when it is not registered. */
export async function configureTimePartitioned(
  db: Knex,
  spec: Pick<TimePartitioning, 'parentTable' | 'premake' | 'retention' | 'fromCurrentTime'>,
): Promise<boolean> {
  const res = await db.raw<{ rowCount: number }>(
    `update partman.part_config
        set retention = ?, retention_keep_table = false, premake = ?, infinite_time_partitions = ?
      where parent_table = ?`,
    [spec.retention, spec.premake, spec.fromCurrentTime ?? false, spec.parentTable],
  );
  return res.rowCount > 0;
}

/**
 * Changes the retention of a tenant's registered events table (no-op when it is not registered).
 * Through `platform.set_partman_retention`, so that the API's runtime role, which has no rights on
 * pg_partman's configuration, can do it in the transaction that changes the plan.
 */
export async function setPartmanRetention(
  db: Knex,
  parentTable: string,
  retention: string | null,
): Promise<void> {
  await db.raw('select platform.set_partman_retention(?, ?)', [parentTable, retention]);
}

/** Removes a table's pg_partman configuration and its template table. Idempotent. */
export async function removePartmanConfig(db: Knex, parentTable: string): Promise<void> {
  const res = await db.raw<{ rows: Array<{ template_table: string | null }> }>(
    'delete from partman.part_config where parent_table = ? returning template_table',
    [parentTable],
  );
  for (const row of res.rows) {
    if (row.template_table) {
      const [schema, table] = row.template_table.split('.');
      if (schema && table) await db.raw(`drop table if exists ${quoteIdent(schema)}.${quoteIdent(table)}`);
    }
  }
}

/**
 * Runs pg_partman maintenance (premakes future partitions, applies retention) in one call: for
 * one table, or for every registered table in a single transaction. With many tenants prefer
 * `runPartmanMaintenancePass`, which gives each table its own transaction.
 */
export async function runPartmanMaintenance(db: Knex, parentTable?: string): Promise<void> {
  if (parentTable) {
    await db.raw('select partman.run_maintenance(p_parent_table := ?, p_analyze := false)', [parentTable]);
  } else {
    await db.raw('select partman.run_maintenance()');
  }
}

/** Whether a registered table needs maintenance now, decided from catalogs alone (`maintenancePlan`). */
export interface MaintenanceNeed {
  parentTable: string;
  /** True unless the table is known to need nothing: premake satisfied and nothing past retention. */
  due: boolean;
  /**
   * Why it is due: `premake` (fewer future partitions than configured), `retention` (a partition
   * is past retention), `data` (premake is counted from the table's newest row, which the
   * catalogs do not tell), `bounds` (partition bounds that could not be read); null when not due.
   */
  reason: 'premake' | 'retention' | 'data' | 'bounds' | null;
  /** Future partitions as pg_partman counts them (null when not known from the catalogs). */
  premade: number | null;
  /** Start times of the partitions premake is short of (what `run_maintenance` would create). */
  create: string[];
  /** A partition is past retention (what `run_maintenance` would drop). */
  expired: boolean;
  /**
   * The partitions in `create` can be made with `CREATE TABLE ... PARTITION OF`, as pg_partman
   * 4.x's `create_partition_time` would make them (`maintainTable`): a native set (4.x's type)
   * without epoch, sub-partitioning, tablespace or unlogged parent, whose template gives its
   * partitions nothing (no index, no storage option).
   */
  plain: boolean;
}

/**
 * Which registered tables (`automatic_maintenance` on) need maintenance now, in one query over
 * `partman.part_config` and the catalogs (`pg_inherits`, partition names and bounds), reading no
 * table and taking no lock on any. It applies pg_partman's own rules: for a table that premakes
 * from the current time (`infinite_time_partitions`), `run_maintenance` creates partitions while
 * fewer than `premake` intervals lie between the newest partition's start and now, and
 * `drop_partition_time` drops a partition whose end is older than now minus the retention. A
 * table whose premake follows its newest row, or whose bounds cannot be read, is always due.
 * What it does not read: rows in a default partition newer than now (which would make
 * pg_partman premake from them); events are accepted at most a day ahead, inside the premade
 * days, so they do not land there while maintenance runs. Most urgent first.
 *
 * Only a table's oldest and newest partitions matter, and pg_partman names each partition after
 * its start (`events_p2026_12_02` with `datetime_string` `YYYY_MM_DD`), so with a numeric
 * `datetime_string` (years down to seconds, most significant first) the partitions' names sort
 * as their starts do: the oldest and newest are found from the names, and only their bounds (and
 * those of any partition with another name, the default one included) are read and checked
 * against the names. Reading every partition's bounds instead costs seconds with tens of
 * thousands of partitions. A table whose `datetime_string` is of another kind (weeks, quarters)
 * has every partition's bounds read. JIT is off for the query: compiling it costs more than it saves.
 */
export async function maintenancePlan(db: Knex): Promise<MaintenanceNeed[]> {
  const res = await db.transaction(async (trx) => {
    await trx.raw('set local jit = off');
    return trx.raw<{
      rows: Array<{
        parent_table: string;
        reason: MaintenanceNeed['reason'];
        premade: number | null;
        create: string[] | null;
        expired: boolean | null;
        plain: boolean | null;
      }>;
    }>(MAINTENANCE_PLAN_SQL);
  });
  return res.rows.map((r) => ({
    parentTable: r.parent_table,
    due: r.reason !== null,
    reason: r.reason,
    premade: r.premade,
    create: r.create ?? [],
    expired: r.expired === true,
    plain: r.plain === true,
  }));
}

/** The partition bound expression's lower bound (`FOR VALUES FROM ('...') TO ('...')`), or null. */
const LOWER_BOUND_SQL = (expr: string) =>
  `(regexp_match(${expr}, $re$^FOR VALUES FROM \\('(\\d{4}-\\d\\d-\\d\\d[ 0-9:.+-]*)'\\) TO \\('[^']*'\\)$$re$))[1]::timestamptz`;

const MAINTENANCE_PLAN_SQL = `with cfg as (
       select c.parent_table, c.premake, c.retention, c.partition_interval, c.datetime_string,
              p.oid as parent_oid, p.relname as parent_name,
              (c.infinite_time_partitions and c.epoch = 'none' and c.partition_type in ('native', 'range')
                 and a.atttypid in ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)) as by_time,
              -- Names sort as the partitions' starts: fixed-width digits, most significant field first.
              case when c.datetime_string ~ '^YYYY(_{0,1}MM(_{0,1}DD(_{0,1}HH24(_{0,1}MI(_{0,1}SS){0,1}){0,1}){0,1}){0,1}){0,1}$'
                   then translate(to_char(now(), c.datetime_string), '0123456789', '0000000000')
              end as suffix_shape,
              (c.partition_type = 'native' and c.epoch = 'none' and p.reltablespace = 0
                 and p.relpersistence = 'p' and not p.relispartition
                 and not exists (select 1 from partman.part_config_sub s where s.sub_parent = c.parent_table)
                 and not exists (select 1 from pg_catalog.pg_index x
                                  where x.indrelid = to_regclass(c.template_table))
                 and coalesce((select t.reloptions from pg_catalog.pg_class t
                                where t.oid = to_regclass(c.template_table)), '{}') = '{}') as plain
         from partman.part_config c
         left join pg_catalog.pg_namespace n on n.nspname = split_part(c.parent_table, '.', 1)
         left join pg_catalog.pg_class p on p.relnamespace = n.oid and p.relname = split_part(c.parent_table, '.', 2)
         left join pg_catalog.pg_attribute a on a.attrelid = p.oid and a.attname = c.control and not a.attisdropped
        where c.automatic_maintenance = 'on' and not c.undo_in_progress
     ),
     children as materialized (
       select cfg.parent_oid, ch.relname, ch.relpartbound, s.suffix
         from cfg
         join pg_catalog.pg_inherits i on i.inhparent = cfg.parent_oid
         join pg_catalog.pg_class ch on ch.oid = i.inhrelid
         cross join lateral (
           select substr(ch.relname, length(cfg.parent_name) + 3) as tail
         ) t
         cross join lateral (
           select case when cfg.suffix_shape is not null
                        and left(ch.relname, length(cfg.parent_name) + 2) = cfg.parent_name || '_p'
                        and translate(t.tail, '0123456789', '0000000000') = cfg.suffix_shape
                       then t.tail end as suffix
         ) s
        where cfg.by_time
     ),
     -- Partitions named as pg_partman names them: the oldest and newest name of each table.
     named as (
       select parent_oid, min(suffix) as first_suffix, max(suffix) as last_suffix, count(*) as ranged
         from children where suffix is not null
        group by parent_oid
     ),
     -- The bounds of those two, checked against their names.
     ends as (
       select n.parent_oid, n.ranged,
              min(b.lower_bound) as first_start, max(b.lower_bound) as last_start,
              count(*) filter (where b.lower_bound is null
                                 or to_char(b.lower_bound, cfg.datetime_string) <> ch.suffix) as unreadable
         from named n
         join cfg on cfg.parent_oid = n.parent_oid
         join children ch on ch.parent_oid = n.parent_oid and ch.suffix in (n.first_suffix, n.last_suffix)
         cross join lateral (
           select ${LOWER_BOUND_SQL('pg_catalog.pg_get_expr(ch.relpartbound, 0)')} as lower_bound
         ) b
        group by n.parent_oid, n.ranged
     ),
     -- Every other partition (the default one, any named otherwise) by its bounds.
     others as (
       select ch.parent_oid,
              min(b.lower_bound) as first_start,
              max(b.lower_bound) as last_start,
              count(b.lower_bound) as ranged,
              -- pg_partman 4.x reads a partition's start from its name: one it did not name is left to it.
              count(*) filter (where b.expr is distinct from 'DEFAULT'
                                 and (b.lower_bound is null
                                      or ch.relname <> cfg.parent_name || '_p' || to_char(b.lower_bound, cfg.datetime_string)))
                as unreadable
         from children ch
         join cfg on cfg.parent_oid = ch.parent_oid
         cross join lateral (select pg_catalog.pg_get_expr(ch.relpartbound, 0) as expr) e
         cross join lateral (select e.expr, ${LOWER_BOUND_SQL('e.expr')} as lower_bound) b
        where ch.suffix is null
        group by ch.parent_oid
     ),
     bounds as (
       select cfg.parent_oid,
              least(e.first_start, o.first_start) as first_start,
              greatest(e.last_start, o.last_start) as last_start,
              coalesce(e.ranged, 0) + coalesce(o.ranged, 0) as ranged,
              coalesce(e.unreadable, 0) + coalesce(o.unreadable, 0) as unreadable
         from cfg
         left join ends e on e.parent_oid = cfg.parent_oid
         left join others o on o.parent_oid = cfg.parent_oid
        where cfg.by_time and (e.parent_oid is not null or o.parent_oid is not null)
     ),
     need as (
       select cfg.parent_table,
              case when cfg.by_time and b.ranged > 0 and b.unreadable = 0 then
                round(extract(epoch from age(b.last_start, now()))
                      / extract(epoch from cfg.partition_interval::interval))::int
              end as premade,
              cfg.premake, cfg.by_time, cfg.partition_interval, cfg.plain, b.last_start, b.ranged, b.unreadable,
              (cfg.retention is not null and b.ranged > 1
                 and b.first_start + cfg.partition_interval::interval < now() - cfg.retention::interval) as expired
         from cfg left join bounds b on b.parent_oid = cfg.parent_oid
     )
     select parent_table, premade, coalesce(expired, false) as expired, coalesce(plain, false) as plain,
            case when premade < premake then
              to_json(array(select to_char((last_start + g * partition_interval::interval) at time zone 'UTC',
                                           'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                              from generate_series(1, premake - premade) g))
            end as create,
            case when not coalesce(by_time, false) then 'data'
                 when premade is null then 'bounds'
                 when premade < premake then 'premake'
                 when expired then 'retention'
            end as reason
       from need
      order by premade nulls first, parent_table`;

export interface MaintenancePassOptions {
  /**
   * After each table; `how` says what did its work: `direct` (`CREATE TABLE ... PARTITION OF`,
   * `createPartitionsDirectly`) or `partman` (pg_partman's functions).
   */
  onTable?: (event: { parentTable: string; ms: number; how: MaintenanceHow; error?: Error }) => void;
  /** Once aborted, no further table is started; the pass returns with those left counted in `skipped`. */
  signal?: AbortSignal;
  /** Maintain every registered table, also those `maintenancePlan` finds need nothing. */
  all?: boolean;
  /**
   * Start no table once the pass has run this long; the due tables left are counted in
   * `deferred` and come first (most urgent first) in the next pass.
   */
  maxMs?: number;
  /**
   * Tables maintained at once, each in its own transaction on its own connection (default 1).
   * Plain sets (`MaintenanceNeed.plain`) run side by side, each holding pg_partman's lock shared
   * and its own table's lock; any other table waits to hold pg_partman's lock alone.
   */
  concurrency?: number;
}

export interface MaintenancePassResult {
  /** Registered tables with automatic maintenance. */
  tables: number;
  /** Tables that needed maintenance (every table with `all`). */
  due: number;
  /** Tables left alone because they needed nothing (premake satisfied, nothing past retention). */
  upToDate: number;
  /** Tables not started because the pass was aborted. */
  skipped: number;
  /** Due tables not started because the pass reached `maxMs`. */
  deferred: number;
  failed: Array<{ parentTable: string; error: string }>;
  totalMs: number;
  /** The catalog query deciding which tables are due. */
  planMs: number;
  /** The longest single table's run: the longest any one transaction held its locks. */
  longestMs: number;
  longestTable: string | null;
}

/** The advisory lock `partman.run_maintenance` takes (and without which it returns doing nothing). */
const PARTMAN_MAINTENANCE_LOCK = 'pg_partman run_maintenance';

/**
 * The default partition of table `param` (schema and name), its control column and its retention,
 * when rows there can be past the retention: the set is time-partitioned and has a retention that
 * drops partitions (not `retention_keep_table`). No row otherwise. Rows land there when their day
 * has no partition: a new tenant's import of history, or a pause of maintenance longer than
 * premake. pg_partman's retention drops partitions, never rows, so `expireDefaultRows` deletes
 * those. Whether the partition holds any row is not asked of the catalogs: its file's size says
 * nothing on Citus (the coordinator's table is an empty shell), and the delete of an empty one,
 * through the index on the control column, is one short round trip.
 */
const DEFAULT_EXPIRY_SQL = (param: string) => `select dn.nspname as default_schema, d.relname as default_name,
           c.control, c.retention
      from partman.part_config c
      join pg_catalog.pg_namespace n on n.nspname = split_part(c.parent_table, '.', 1)
      join pg_catalog.pg_class p on p.relnamespace = n.oid and p.relname = split_part(c.parent_table, '.', 2)
      join pg_catalog.pg_partitioned_table pt on pt.partrelid = p.oid
      join pg_catalog.pg_class d on d.oid = pt.partdefid
      join pg_catalog.pg_namespace dn on dn.oid = d.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = p.oid and a.attname = c.control and not a.attisdropped
     where c.parent_table = ${param} and c.retention is not null and not c.retention_keep_table
       and c.epoch = 'none'
       and a.atttypid in ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)`;

/** What `DEFAULT_EXPIRY_SQL` yields, as columns of the statement that carries it (nulls: nothing to expire). */
interface DefaultExpiry {
  default_schema: string | null;
  default_name: string | null;
  control: string | null;
  retention: string | null;
}

/**
 * Deletes the rows of a default partition older than the set's retention (`control < now() -
 * retention`), as the partitions of their days would have been dropped. One statement; on the
 * transaction's connection when `trx` is given.
 */
async function expireDefaultRows(
  db: Knex,
  expiry: DefaultExpiry | undefined,
  trx?: PooledTransaction,
): Promise<void> {
  const { default_schema, default_name, control, retention } = expiry ?? {};
  if (!default_schema || !default_name || !control || !retention) return;
  const table = `${quoteIdent(default_schema)}.${quoteIdent(default_name)}`;
  const sql = (param: string) =>
    `delete from ${table} where ${quoteIdent(control)} < now() - ${param}::interval`;
  if (trx) await trx.query(sql('$1'), [retention]);
  else await db.raw(sql('?'), [retention]);
}

/**
 * One table's maintenance as one statement (its own implicit transaction, one round trip on a
 * pooled connection): the CTE first waits for pg_partman's advisory lock (held to the statement's
 * end), then, for each row it yields, the select list runs, in order, what `run_maintenance`
 * would do for the table (the partitions premake is short of, then retention) or, for a table
 * whose needs the catalogs do not tell, `run_maintenance` itself. It also says whether the
 * table's default partition may hold rows past retention (`DEFAULT_EXPIRY_SQL`), which
 * `maintainTable` then deletes. The statement is the same for every table (the table is a
 * parameter), so it is prepared once per connection.
 */
const MAINTAIN_TABLE_SQL = (major: number) => ({
  name: `platform_partman_maintain_expiring_v${major >= 5 ? 5 : 4}`,
  // 4.x analyzes the parent (every child) unless told not to; 5.x has no such argument.
  text: `with locked as materialized (select pg_catalog.pg_advisory_xact_lock(hashtext($1::text)) as held)
    select case when $5::boolean then partman.run_maintenance(p_parent_table := $2::text, p_analyze := false) end as maintained,
           case when not $5 and cardinality($3::timestamptz[]) > 0
                then partman.create_partition_time(p_parent_table := $2, p_partition_times := $3::timestamptz[]${major >= 5 ? '' : ', p_analyze := false'})
           end as created,
           case when not $5 and $4::boolean then partman.drop_partition_time($2) end as dropped,
           x.default_schema, x.default_name, x.control, x.retention
      from locked
      left join lateral (${DEFAULT_EXPIRY_SQL('$2::text')}) x on true`,
});

export type MaintenanceHow = 'direct' | 'partman';

/** Which way `maintainTable` does a table's work. */
function maintenanceHow(need: MaintenanceNeed, all: boolean): MaintenanceHow {
  const whole = all || (need.reason !== 'premake' && need.reason !== 'retention');
  return !whole && need.plain && need.create.length > 0 ? 'direct' : 'partman';
}

async function maintainTable(
  db: Knex,
  need: MaintenanceNeed,
  how: MaintenanceHow,
  major: number,
  all: boolean,
): Promise<void> {
  const whole = all || (need.reason !== 'premake' && need.reason !== 'retention');
  if (how === 'direct') {
    await createPartitionsDirectly(db, need);
    return;
  }
  const [row] = await queryPrepared<DefaultExpiry>(db, MAINTAIN_TABLE_SQL(major), [
    PARTMAN_MAINTENANCE_LOCK,
    need.parentTable,
    whole ? [] : need.create,
    !whole && need.expired,
    whole,
  ]);
  await expireDefaultRows(db, row);
}

/**
 * The locks, then the partitions to create, named, bounded and owned as pg_partman would, and
 * whether the default partition may hold rows past retention (`DEFAULT_EXPIRY_SQL`): one
 * prepared statement. The locks are taken before the statement's rows are returned, so before any
 * partition is created; reading `part_config` needs none.
 */
const DIRECT_PARTITIONS_SQL = {
  name: 'platform_partman_direct_partitions_expiring',
  text: `with locked as materialized (
      select pg_catalog.set_config('synchronous_commit', 'off', true),
             pg_catalog.pg_advisory_xact_lock_shared(hashtext($1::text)),
             pg_catalog.pg_advisory_xact_lock(hashtext($2::text)))
    select n.nspname as schema, p.relname as parent,
           partman.check_name_length(p.relname, to_char(t, c.datetime_string), true) as name,
           t::text as "from", (t + c.partition_interval::interval)::text as "to",
           case when p.relowner <> (select oid from pg_catalog.pg_roles where rolname = current_user)
                then pg_catalog.pg_get_userbyid(p.relowner) end as owner,
           x.default_schema, x.default_name, x.control, x.retention
      from locked
      left join lateral (${DEFAULT_EXPIRY_SQL('$4::text')}) x on true
      cross join partman.part_config c
      join pg_catalog.pg_namespace n on n.nspname = split_part($4::text, '.', 1)
      join pg_catalog.pg_class p on p.relnamespace = n.oid and p.relname = split_part($4::text, '.', 2)
      cross join unnest($3::timestamptz[]) t
     where c.parent_table = $4::text
     order by t`,
};

/**
 * The partitions of `need.create`, named, bounded and owned as pg_partman 4.x's
 * `create_partition_time` makes them (`check_name_length` of the parent's name and the start in
 * the set's `datetime_string`; the parent's owner) but each with one `CREATE TABLE ... PARTITION
 * OF`, which gives it the parent's columns, defaults, constraints and indexes as the `LIKE` copy
 * and `ATTACH` of pg_partman do, without their PL/pgSQL look-ups (about 14 ms a partition, against
 * 3). Then retention through pg_partman, when due, and the default partition's rows past it. One
 * transaction holding pg_partman's advisory lock shared (so `run_maintenance`, which tries it
 * alone, and `MAINTAIN_TABLE_SQL`, which waits for it alone, do not run meanwhile, while other
 * plain sets may) and a lock of its own table's
 * (two passes at once do a table one after the other). Its commit does not wait for the WAL to
 * reach the disk (`synchronous_commit` off for the transaction): a crash may lose the last
 * tables' partitions, which the next pass makes again, and a pass over 10,000 tenants does not
 * wait for 10,000 flushes. A day whose rows already sit in the default partition fails here
 * as it fails in pg_partman (PostgreSQL refuses the partition).
 */
async function createPartitionsDirectly(db: Knex, need: MaintenanceNeed): Promise<void> {
  await inPooledTransaction(db, async (trx) => {
    const rows = await trx.prepared<
      DefaultExpiry & {
        schema: string;
        parent: string;
        name: string;
        from: string;
        to: string;
        owner: string | null;
      }
    >(DIRECT_PARTITIONS_SQL, [
      PARTMAN_MAINTENANCE_LOCK,
      `platform partman ${need.parentTable}`,
      need.create,
      need.parentTable,
    ]);
    const statements = rows.flatMap((r) => {
      const child = `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
      return [
        `create table if not exists ${child} partition of ${quoteIdent(r.schema)}.${quoteIdent(r.parent)}
           for values from (${quoteLiteral(r.from)}) to (${quoteLiteral(r.to)})`,
        ...(r.owner ? [`alter table ${child} owner to ${quoteIdent(r.owner)}`] : []),
      ];
    });
    await runEach(statements, (sql) => ({ sql, done: trx.query(sql) }));
    if (need.expired) await trx.query('select partman.drop_partition_time($1)', [need.parentTable]);
    await expireDefaultRows(db, rows[0], trx);
  });
}

/**
 * One maintenance pass over the tables registered with pg_partman (`automatic_maintenance` on)
 * that need it, one table per transaction. One catalog query (`maintenancePlan`) first finds the
 * tables that need nothing (premake satisfied, nothing past retention), which are left alone: on
 * most passes (hourly, with daily partitions) that is nearly every table. The others are done
 * most urgent first (for a table premaking from the current time, what `run_maintenance` would do:
 * `create_partition_time` for the missing days, or `CREATE TABLE ... PARTITION OF` for a `plain`
 * set (`createPartitionsDirectly`), `drop_partition_time` for retention, without its look-ups;
 * the others, and every table with `all`, through `run_maintenance`), and with `maxMs`
 * the pass stops starting tables once it has run that long,
 * leaving the rest, still due, to the next pass: premake gives days of slack. A table it
 * maintains also loses the rows of its default partition past the retention (`expireDefaultRows`).
 *
 * `partman.run_maintenance()` without a table does them all in one transaction, which keeps the
 * locks of every partition and index it read until the end: with thousands of tenants that is
 * more than the shared lock table holds (`max_locks_per_transaction` x connections; it fails
 * with "out of shared memory"), and minutes during which no tenant's partitions can be dropped or
 * altered. Here each table's locks are released as soon as its maintenance is done, and a table
 * that fails does not stop the others.
 *
 * Tables are done one after the other, or `concurrency` at a time: `run_maintenance` tries
 * pg_partman's own advisory lock and silently returns when another session holds it, so
 * concurrent calls would skip tables. Each table's transaction first waits for that lock (shared,
 * with its own table's, for a plain set made directly), so a pass running at the same time as
 * another (the CLI and the worker) waits its turn per table instead of skipping it. A table's
 * transaction through pg_partman is one statement (`maintainTable`), one round trip on a pooled
 * connection, prepared once per connection: no `BEGIN`, lock, call and `COMMIT` sent one by one.
 * The parent is not analyzed (`p_analyze := false`): that would read every child.
 */
export async function runPartmanMaintenancePass(
  db: Knex,
  options: MaintenancePassOptions = {},
): Promise<MaintenancePassResult> {
  const started = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
  const plan = await maintenancePlan(db);
  const major = await partmanMajorVersion(db);
  const result: MaintenancePassResult = {
    tables: plan.length,
    due: 0,
    upToDate: 0,
    skipped: 0,
    deferred: 0,
    failed: [],
    totalMs: 0,
    planMs: elapsedMs(),
    longestMs: 0,
    longestTable: null,
  };
  await mapWithConcurrency(plan, options.concurrency ?? 1, async (need) => {
    const { parentTable, due } = need;
    if (options.signal?.aborted) {
      result.skipped++;
      return;
    }
    if (!due && !options.all) {
      result.upToDate++;
      return;
    }
    result.due++;
    if (options.maxMs !== undefined && elapsedMs() >= options.maxMs) {
      result.deferred++;
      return;
    }
    const start = process.hrtime.bigint();
    const how = maintenanceHow(need, options.all === true);
    try {
      await maintainTable(db, need, how, major, options.all === true);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (ms > result.longestMs) {
        result.longestMs = ms;
        result.longestTable = parentTable;
      }
      options.onTable?.({ parentTable, ms, how });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      result.failed.push({ parentTable, error: error.message });
      options.onTable?.({ parentTable, ms: Number(process.hrtime.bigint() - start) / 1e6, how, error });
    }
  });
  result.totalMs = elapsedMs();
  return result;
}

/** Child partitions of a partitioned table, oldest first (names without schema). */
export async function listPartitions(db: Knex, schema: string, table: string): Promise<string[]> {
  const res = await db.raw<{ rows: Array<{ name: string }> }>(
    `select c.relname as name
       from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       join pg_class p on p.oid = i.inhparent
       join pg_namespace n on n.oid = p.relnamespace
      where n.nspname = ? and p.relname = ?
      order by c.relname`,
    [schema, table],
  );
  return res.rows.map((r) => r.name);
}
