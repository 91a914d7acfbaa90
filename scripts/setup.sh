#!/usr/bin/env bash
# Idempotent local set-up for a Debian 12 machine (run as root, no systemd needed):
#   - pnpm 10.34.8 (npm install -g)
#   - PostgreSQL 15 + pg_partman, cluster 15/main on 127.0.0.1:5432,
#     the owner role "platform" (owns the databases "platform", "platform_test" and "platform_bench",
#     with pg_partman in schema "partman"; migrations and provisioning) and the runtime role
#     "platform_app" (what the API and the worker connect as: no DDL; docs/security.md)
#   - Redis on 127.0.0.1:6379, data/pid/log under ~/.local/state/platform/redis/ (outside the
#     checkout: one server on the port serves every checkout, and outlives a deleted clone)
#   - the ml-gateway's Python virtualenv (services/ml-gateway/.venv) and schemathesis's
#     (services/api/contract/.venv, for the API contract test)
# Set DATABASE_URL and/or REDIS_URL to use existing servers instead (nothing is
# installed or started for them then). A re-run with everything up changes nothing.
# Command output goes to <repo>/.data/logs/setup.log (only written when something runs).
set -Eeuo pipefail

readonly PNPM_VERSION=10.34.8
readonly PG_VERSION=15 PG_CLUSTER=main PG_HOST=127.0.0.1 PG_PORT=5432
readonly PG_ROLE=platform PG_PASSWORD=platform # local-development credential, loopback only
readonly PG_RUNTIME_ROLE=platform_app PG_RUNTIME_PASSWORD=platform_app # the same
readonly PG_DATABASES=(platform platform_test platform_bench)
readonly PG_MAX_CONNECTIONS=300 # benchmarks provision 1000 tenants with several pools
# Server settings, applied with a restart when one differs (max_connections and shared_buffers
# need one). shared_buffers: PostgreSQL's default (128MB) holds less than the users tables and
# indexes read round-robin over 10,000 tenants, so each read went to the operating system's cache
# for about two pages. max_wal_size: with the default (1GB), provisioning thousands of tenants
# filled it every 90 s, each checkpoint syncing about 100,000 new files and the next full-page
# writes growing with the catalogs (bench/README.md, tenancy-scale; docs/scale-out.md).
declare -A PG_RESTART_SETTINGS=([max_connections]="$PG_MAX_CONNECTIONS" [shared_buffers]=1GB [max_wal_size]=4GB)
readonly REDIS_HOST=127.0.0.1 REDIS_PORT=6379
readonly WAIT_SECONDS=60

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly ROOT
readonly DATA_DIR="$ROOT/.data"
readonly LOG_FILE="$DATA_DIR/logs/setup.log"
readonly REDIS_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/platform/redis"
readonly LOCAL_DATABASE_URL="postgres://$PG_ROLE:$PG_PASSWORD@$PG_HOST:$PG_PORT/${PG_DATABASES[0]}"
readonly LOCAL_RUNTIME_DATABASE_URL="postgres://$PG_RUNTIME_ROLE:$PG_RUNTIME_PASSWORD@$PG_HOST:$PG_PORT/${PG_DATABASES[0]}"
readonly LOCAL_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/0"
readonly POLICY_RC_D=/usr/sbin/policy-rc.d
readonly POLICY_RC_D_MARK='# temporary: written by scripts/setup.sh'

export DEBIAN_FRONTEND=noninteractive
exec </dev/null # never wait for input (CI=true, no stdin)

start_time=$EPOCHREALTIME
log_started=0
apt_updated=0
wrote_policy_rc_d=0
failed_at=''

say() { printf 'setup: %s\n' "$*"; }

die() {
  printf 'setup: ERROR: %s\n' "$*" >&2
  exit 1
}

# Redact the password of a URL before printing it.
redact_url() { sed -E 's#^([a-z+]+://[^:/@]*:)[^@]*@#\1***@#' <<<"$1"; }

# The log is (re)written only when a run has something to log, so a no-op run keeps
# the previous run's log.
start_log() {
  if ((log_started == 0)); then
    mkdir -p "$(dirname -- "$LOG_FILE")"
    printf '== scripts/setup.sh %s ==\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$LOG_FILE"
    log_started=1
  fi
}

# run CMD...: run a command (or function) with its output appended to the log;
# on failure show the end of the log and stop.
run() {
  start_log
  printf '+ %s\n' "$*" >>"$LOG_FILE"
  local rc=0
  "$@" >>"$LOG_FILE" 2>&1 || rc=$?
  if ((rc != 0)); then
    printf '\n[exit status %d]\n' "$rc" >>"$LOG_FILE"
    printf 'setup: ERROR: "%s" failed (exit status %d); last lines of the log:\n' "$*" "$rc" >&2
    tail -n 6 -- "$LOG_FILE" | sed 's/^/    /' >&2
    exit "$rc"
  fi
}

on_exit() {
  local rc=$?
  if ((wrote_policy_rc_d)); then rm -f -- "$POLICY_RC_D"; fi
  if ((rc != 0)); then
    [[ -n $failed_at ]] && printf 'setup: FAILED at %s\n' "$failed_at" >&2
    if ((log_started)); then
      printf 'setup: see the log: %s\n' "$LOG_FILE" >&2
    fi
  fi
}
trap 'failed_at="line $LINENO: $BASH_COMMAND"' ERR
trap on_exit EXIT

# wait_until DESCRIPTION CMD...: poll CMD until it succeeds, or fail after WAIT_SECONDS.
wait_until() {
  local what=$1 deadline=$((SECONDS + WAIT_SECONDS))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || die "$what not ready after ${WAIT_SECONDS}s"
    sleep 0.2
  done
}

# --- apt -------------------------------------------------------------------------

pkg_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == 'install ok installed' ]]
}

# Package maintainer scripts must not start services (we start Postgres/Redis
# ourselves, without init scripts): if no policy-rc.d exists, add one for the
# duration of this run.
block_service_starts() {
  if [[ ! -e $POLICY_RC_D ]]; then
    printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_RC_D_MARK" >"$POLICY_RC_D"
    chmod 755 "$POLICY_RC_D"
    wrote_policy_rc_d=1
  fi
}

# apt_install PKG...: install those of the packages that are missing.
apt_install() {
  local pkg missing=()
  for pkg in "$@"; do
    pkg_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} > 0)) || return 0
  say "installing ${missing[*]} (apt-get)"
  block_service_starts
  if ((apt_updated == 0)); then
    run apt-get -q -y -o DPkg::Lock::Timeout=300 update
    apt_updated=1
  fi
  run apt-get -q -y -o DPkg::Lock::Timeout=300 --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install "${missing[@]}"
}

# --- pnpm ------------------------------------------------------------------------

pnpm_version() { pnpm --version 2>/dev/null | head -n 1 || true; }

ensure_pnpm() {
  local have
  have="$(pnpm_version)"
  if [[ $have != "$PNPM_VERSION" ]]; then
    say "installing pnpm $PNPM_VERSION (found: ${have:-none})"
    run npm install -g --no-fund --no-audit --loglevel=error "pnpm@$PNPM_VERSION"
    hash -r
    have="$(pnpm_version)"
    [[ $have == "$PNPM_VERSION" ]] ||
      die "pnpm --version says '${have:-nothing}' after installing $PNPM_VERSION ($(command -v pnpm || echo 'pnpm not on PATH'))"
  fi
  say "pnpm $PNPM_VERSION"
}

# --- PostgreSQL ------------------------------------------------------------------

# psql_admin ARGS...: psql as the postgres superuser over the local socket.
psql_admin() {
  (cd / && runuser -u postgres -- env PGOPTIONS='-c client_min_messages=warning' \
    psql -X -v ON_ERROR_STOP=1 -qAt -p "$PG_PORT" "$@")
}

pg_ready() { pg_isready -q -t 2 -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }

# Field N of `pg_lsclusters -h` for our cluster (3 = port, 4 = status); fails if missing.
pg_cluster_field() {
  local line
  line="$(pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER" 2>/dev/null)" || return 1
  awk -v n="$1" '{ print $n }' <<<"$line"
}

ensure_pg_cluster() {
  local port
  if ! port="$(pg_cluster_field 3)"; then
    say "creating cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
    run pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER"
    port="$(pg_cluster_field 3)"
  fi
  if [[ $port != "$PG_PORT" ]]; then
    pg_ready && die "cluster $PG_VERSION/$PG_CLUSTER is configured for port $port and something else answers on $PG_HOST:$PG_PORT"
    say "moving cluster $PG_VERSION/$PG_CLUSTER from port $port to $PG_PORT"
    if [[ "$(pg_cluster_field 4)" == online ]]; then
      run pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop
    fi
    run pg_conftool "$PG_VERSION" "$PG_CLUSTER" set port "$PG_PORT"
  fi
  if ! pg_ready; then
    # A cluster that is up but not accepting yet (recovery) only needs waiting for.
    if [[ "$(pg_cluster_field 4)" != online ]]; then
      say "starting cluster $PG_VERSION/$PG_CLUSTER"
      run pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
    fi
    wait_until "postgres on $PG_HOST:$PG_PORT" pg_ready
  fi
}

# ensure_pg_settings: the server settings above, set and applied.
ensure_pg_settings() {
  local name want running configured restart=()
  for name in "${!PG_RESTART_SETTINGS[@]}"; do
    want="${PG_RESTART_SETTINGS[$name]}"
    running="$(psql_admin -d postgres -c "SHOW $name")"
    [[ $running == "$want" ]] && continue
    # The value the config files give (postgresql.auto.conf is read last).
    configured="$(psql_admin -d postgres -c "SELECT setting FROM pg_file_settings
      WHERE name = '$name' ORDER BY seqno DESC LIMIT 1")"
    if [[ $configured != "$want" ]]; then
      run psql_admin -d postgres -c "ALTER SYSTEM SET $name = '$want'"
    fi
    restart+=("$name $running -> $want")
  done
  [[ ${#restart[@]} -eq 0 ]] && return 0
  say "${restart[*]}: restarting postgres"
  run pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart
  wait_until "postgres on $PG_HOST:$PG_PORT" pg_ready
  for name in "${!PG_RESTART_SETTINGS[@]}"; do
    running="$(psql_admin -d postgres -c "SHOW $name")"
    [[ $running == "${PG_RESTART_SETTINGS[$name]}" ]] || die "$name is $running after restart"
  done
}

# ensure_pg_login_role NAME PASSWORD: a login role without CREATEDB, CREATEROLE nor SUPERUSER.
ensure_pg_login_role() {
  if [[ -z "$(psql_admin -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$1'")" ]]; then
    say "creating role $1"
    run psql_admin -d postgres -c "CREATE ROLE \"$1\" LOGIN PASSWORD '$2'"
  fi
}

ensure_pg_role_and_databases() {
  local db
  # The owner role, then the runtime role; the owner grants the runtime role its rights when it
  # migrates (packages/core/src/db/roles.ts).
  ensure_pg_login_role "$PG_ROLE" "$PG_PASSWORD"
  ensure_pg_login_role "$PG_RUNTIME_ROLE" "$PG_RUNTIME_PASSWORD"
  for db in "${PG_DATABASES[@]}"; do
    if [[ -z "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      say "creating database $db"
      run psql_admin -d postgres -c "CREATE DATABASE \"$db\" OWNER \"$PG_ROLE\""
    fi
  done
}

# Is pg_partman installed in schema partman of the current database, with every
# grant below in place? Prints t or f.
readonly PARTMAN_CHECK_SQL="
SELECT EXISTS (SELECT 1 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
               WHERE e.extname = 'pg_partman' AND n.nspname = 'partman')
   AND EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = 'partman'
               AND has_schema_privilege('$PG_ROLE', n.oid, 'USAGE')
               AND has_schema_privilege('$PG_ROLE', n.oid, 'CREATE'))
   AND has_database_privilege('$PG_ROLE', current_database(), 'CREATE')
   AND NOT EXISTS (
     SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p(priv)
     WHERE n.nspname = 'partman' AND c.relkind IN ('r','p','v','m','f')
       AND NOT has_table_privilege('$PG_ROLE', c.oid, p.priv))
   AND NOT EXISTS (
     SELECT 1 FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
     WHERE n.nspname = 'partman' AND NOT has_function_privilege('$PG_ROLE', f.oid, 'EXECUTE'))"

ensure_pg_partman() {
  local db
  for db in "${PG_DATABASES[@]}"; do
    [[ "$(psql_admin -d "$db" -c "$PARTMAN_CHECK_SQL")" == t ]] && continue
    say "setting up pg_partman in database $db"
    run psql_admin -d "$db" -1 <<SQL
CREATE SCHEMA IF NOT EXISTS partman AUTHORIZATION "$PG_ROLE";
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
GRANT ALL ON SCHEMA partman TO "$PG_ROLE";
GRANT ALL ON ALL TABLES IN SCHEMA partman TO "$PG_ROLE";
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO "$PG_ROLE";
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO "$PG_ROLE";
GRANT CREATE ON DATABASE "$db" TO "$PG_ROLE";
SQL
    [[ "$(psql_admin -d "$db" -c "$PARTMAN_CHECK_SQL")" == t ]] ||
      die "pg_partman set-up in database $db did not take effect"
  done
}

ensure_postgres() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    say "postgres: using DATABASE_URL from the environment ($(redact_url "$DATABASE_URL")); nothing installed or started"
    return 0
  fi
  apt_install "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-partman"
  ensure_pg_cluster
  ensure_pg_settings
  ensure_pg_role_and_databases
  ensure_pg_partman
  local version
  version="$(psql -X -qAt "$LOCAL_DATABASE_URL" \
    -c "select extversion from pg_extension where extname='pg_partman'")" ||
    die "cannot connect as $PG_ROLE to $(redact_url "$LOCAL_DATABASE_URL")"
  psql -X -qAt "$LOCAL_RUNTIME_DATABASE_URL" -c 'select 1' >/dev/null ||
    die "cannot connect as $PG_RUNTIME_ROLE to $(redact_url "$LOCAL_RUNTIME_DATABASE_URL")"
  [[ -n $version ]] || die "pg_partman is not installed in database ${PG_DATABASES[0]}"
  say "postgres ready on $PG_HOST:$PG_PORT (pg_partman $version)"
}

# --- Redis -----------------------------------------------------------------------

redis_ping() {
  [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)" == PONG ]]
}

# A server that cannot save its data refuses every command, PING included, with MISCONF.
redis_misconf() {
  [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)" == MISCONF* ]]
}

redis_down() { [[ -z "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)" ]]; }

# Is the redis-server from our pid file still alive (e.g. still loading its data)?
our_redis_alive() {
  local pid
  pid="$(cat -- "$REDIS_DIR/redis.pid" 2>/dev/null || true)"
  [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redis-server
}

ensure_redis() {
  if [[ -n ${REDIS_URL:-} ]]; then
    say "redis: using REDIS_URL from the environment ($(redact_url "$REDIS_URL")); nothing installed or started"
    return 0
  fi
  apt_install redis-server
  if redis_misconf; then
    # A server whose data folder is gone (started from a checkout since deleted) refuses every
    # write (MISCONF): its data cannot be saved anyway, so it is replaced.
    say "redis on $REDIS_HOST:$REDIS_PORT cannot save its data (its folder is gone); restarting it"
    timeout 10 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    wait_until "the old redis-server to stop" redis_down
  fi
  if ! redis_ping; then
    mkdir -p "$REDIS_DIR"
    if our_redis_alive; then
      say "waiting for the running redis-server (pid $(cat -- "$REDIS_DIR/redis.pid"))"
    else
      say "starting redis-server (data in $REDIS_DIR)"
      run redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
        --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
        --appendonly yes
    fi
    wait_until "redis on $REDIS_HOST:$REDIS_PORT (see $REDIS_DIR/redis.log)" redis_ping
  fi
  say "redis ready on $REDIS_HOST:$REDIS_PORT"
}

# --- ml-gateway's Python virtualenv ----------------------------------------------

ensure_python_env() {
  # The service's own script: pinned requirements from PyPI, reinstalled only when they change.
  run bash "$ROOT/services/ml-gateway/scripts/setup-venv.sh"
  say "python virtualenv ready (services/ml-gateway/.venv)"
  # The API contract gate's schemathesis (services/api/test/contract.test.ts), pinned with hashes.
  run bash "$ROOT/services/api/contract/setup-venv.sh"
  say "schemathesis virtualenv ready (services/api/contract/.venv)"
}

# --- main ------------------------------------------------------------------------

main() {
  ((EUID == 0)) || die "run as root (it installs packages and manages services)"
  ensure_pnpm
  ensure_postgres
  ensure_redis
  ensure_python_env
  local elapsed
  elapsed="$(awk -v a="$start_time" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
  say "done in ${elapsed}s"
  if [[ -n ${DATABASE_URL:-} ]]; then
    printf 'DATABASE_URL=%s\n' "$(redact_url "$DATABASE_URL")"
  else
    printf 'DATABASE_URL=%s\n' "$LOCAL_RUNTIME_DATABASE_URL"
    printf 'DATABASE_OWNER_URL=%s\n' "$LOCAL_DATABASE_URL"
  fi
  if [[ -n ${REDIS_URL:-} ]]; then
    printf 'REDIS_URL=%s\n' "$(redact_url "$REDIS_URL")"
  else
    printf 'REDIS_URL=%s\n' "$LOCAL_REDIS_URL"
  fi
}

main "$@"
