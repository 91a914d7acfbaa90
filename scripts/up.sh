#!/usr/bin/env bash
# Brings the platform up on this machine: set-up (PostgreSQL + pg_partman, Redis, the Python
# virtualenv), dependencies, build, migrations, then ml-gateway and the worker in the background
# and the API in the foreground. Ctrl-C (or SIGTERM) stops all three gracefully.
set -Eeuo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export TURBO_TELEMETRY_DISABLED=1

bash scripts/setup.sh
# Two roles (docs/security.md): the API and the worker as the runtime role "platform_app", migrations
# and provisioning as the owner "platform". A DATABASE_URL of your own alone: one role for all.
if [[ -z ${DATABASE_URL:-} ]]; then
  export DATABASE_URL=postgres://platform_app:platform_app@127.0.0.1:5432/platform
  export DATABASE_OWNER_URL="${DATABASE_OWNER_URL:-postgres://platform:platform@127.0.0.1:5432/platform}"
fi
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export PORT="${PORT:-3000}"
# No load balancer to drain from on a developer machine: stop at once.
export DRAIN_DELAY_MS="${DRAIN_DELAY_MS:-0}"
ML_PORT="${ML_PORT:-8000}"
export ML_GATEWAY_URL="${ML_GATEWAY_URL:-http://127.0.0.1:$ML_PORT}"
WORKER_PORT="${WORKER_PORT:-3001}"
LOGS="$ROOT/.data/logs"
mkdir -p "$LOGS"

echo "up: installing dependencies and building"
pnpm install --frozen-lockfile --reporter=silent
pnpm exec turbo run build --output-logs=errors-only

echo "up: migrating"
node packages/core/dist/cli/migrate.js all

children=()
stop_all() {
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop_all EXIT INT TERM

# Waits (quietly: curl's connection errors are expected until it listens) for `name` to answer
# `url`; fails at once, with the end of its log, if its process `pid` exits first.
wait_http() {
  local name=$1 url=$2 pid=$3 log=$4 deadline=$((SECONDS + 300))
  echo "up: waiting for $name to answer $url"
  until curl -fs -o /dev/null "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "up: $name exited before it answered; the end of $log:" >&2
      tail -n 20 "$log" >&2 || true
      exit 1
    fi
    ((SECONDS < deadline)) || { echo "up: $name did not answer $url within 300 s; see $log" >&2; exit 1; }
    sleep 0.2
  done
}

echo "up: starting ml-gateway on $ML_GATEWAY_URL (log: .data/logs/ml-gateway.log)"
PORT="$ML_PORT" HOST=127.0.0.1 DATABASE_URL="$DATABASE_URL" \
  bash services/ml-gateway/scripts/start.sh >"$LOGS/ml-gateway.log" 2>&1 &
children+=($!)
wait_http ml-gateway "$ML_GATEWAY_URL/readyz" "${children[-1]}" "$LOGS/ml-gateway.log"

echo "up: starting the worker (ops endpoints on http://127.0.0.1:$WORKER_PORT, log: .data/logs/worker.log)"
HTTP_PORT="$WORKER_PORT" node services/worker/dist/main.js >"$LOGS/worker.log" 2>&1 &
children+=($!)
wait_http worker "http://127.0.0.1:$WORKER_PORT/readyz" "${children[-1]}" "$LOGS/worker.log"

CONSOLE_PORT="${CONSOLE_PORT:-5173}"
echo "up: starting the console's dev server (live reload) on http://127.0.0.1:$CONSOLE_PORT/console/ (log: .data/logs/console.log)"
API_URL="http://127.0.0.1:$PORT" CONSOLE_PORT="$CONSOLE_PORT" \
  pnpm --filter @platform/console exec vite --clearScreen false >"$LOGS/console.log" 2>&1 &
children+=($!)

echo "up: starting the API on http://${HOST:-127.0.0.1}:$PORT (docs: /docs, spec: /openapi.json, console: /console/; /readyz and /metrics on port ${OPS_PORT:-3002})"
node services/api/dist/main.js &
children+=($!)
wait "${children[-1]}"
