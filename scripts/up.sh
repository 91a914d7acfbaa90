#!/usr/bin/env bash
# Brings the platform up on this machine: set-up (PostgreSQL + pg_partman, Redis), dependencies,
# build, migrations, then the API in the foreground (Ctrl-C stops it gracefully).
set -Eeuo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

bash scripts/setup.sh
export DATABASE_URL="${DATABASE_URL:-postgres://platform:platform@127.0.0.1:5432/platform}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export PORT="${PORT:-3000}"

echo "up: installing dependencies and building"
pnpm install --frozen-lockfile --reporter=silent
pnpm exec turbo run build --output-logs=errors-only

echo "up: migrating"
node packages/core/dist/cli/migrate.js all

echo "up: starting the API on http://${HOST:-127.0.0.1}:$PORT (docs: /docs, spec: /openapi.json, metrics: /metrics)"
exec node services/api/dist/main.js
