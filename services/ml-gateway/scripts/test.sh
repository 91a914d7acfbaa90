#!/usr/bin/env bash
# Checks and tests of the ML gateway: venv set-up, ruff check, ruff format --check,
# mypy app, pytest (against the real Redis and PostgreSQL; "no tests ran" is a failure).
#
# Environment (all optional):
#   ML_TEST_DATABASE_URL  database for the tests (default: platform_test_ml on 127.0.0.1,
#                         created here with `runuser -u postgres -- createdb` when missing)
#   ML_TEST_REDIS_URL     Redis for the Celery tests (default: $REDIS_URL or 127.0.0.1:6379/0)
#   ML_TEST_RESULTS_FILE  JSON summary for the repository's closing line
#                         (default: <repo>/.data/test-results/ml-gateway.json)
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k predict -x`.
set -Eeuo pipefail

SERVICE_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
ROOT="$(cd -- "$SERVICE_DIR/../.." && pwd -P)"
readonly SERVICE_DIR ROOT
readonly TEST_DATABASE=platform_test_ml TEST_DATABASE_OWNER=platform
cd "$SERVICE_DIR"

say() { printf 'ml-gateway test: %s\n' "$*"; }

bash scripts/setup-venv.sh
PY=.venv/bin/python

say "ruff check"
.venv/bin/ruff check .
say "ruff format --check"
.venv/bin/ruff format --check .
say "mypy app"
.venv/bin/mypy app
say "mypy tests scripts"
.venv/bin/mypy tests scripts

# The servers and the test database: start/create what is missing where that is ours to do.
services=0
$PY scripts/check_test_services.py || services=$?
if ((services == 10)) && [[ -z "${ML_TEST_DATABASE_URL:-}${ML_TEST_REDIS_URL:-}" ]]; then
  say "starting PostgreSQL/Redis with scripts/setup.sh"
  bash "$ROOT/scripts/setup.sh"
  services=0
  $PY scripts/check_test_services.py || services=$?
fi
if ((services == 11)) && [[ -z "${ML_TEST_DATABASE_URL:-}" ]] && command -v runuser >/dev/null &&
  ((EUID == 0)); then
  say "creating database $TEST_DATABASE"
  runuser -u postgres -- createdb -O "$TEST_DATABASE_OWNER" "$TEST_DATABASE"
  services=0
  $PY scripts/check_test_services.py || services=$?
fi
if ((services == 11)); then
  say "ERROR: database $TEST_DATABASE is missing; create it with:" >&2
  say "  runuser -u postgres -- createdb -O $TEST_DATABASE_OWNER $TEST_DATABASE" >&2
  exit 1
elif ((services != 0)); then
  say "ERROR: PostgreSQL or Redis is not reachable (see above)" >&2
  exit 1
fi

say "pytest"
export ML_TEST_RESULTS_FILE="${ML_TEST_RESULTS_FILE:-$ROOT/.data/test-results/ml-gateway.json}"
status=0
$PY -m pytest "$@" || status=$?
if ((status == 5)); then
  say "ERROR: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
