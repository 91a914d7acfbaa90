#!/usr/bin/env bash
# Runs every check and test against real PostgreSQL + pg_partman and Redis, which set-up installs
# and starts when they are missing: lint, build (with OpenAPI generation), typecheck, tests.
set -Eeuo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export TURBO_TELEMETRY_DISABLED=1

# Running the tests must change no tracked file (a lockfile rewritten by install, a spec or a
# generated file that drifted): what is tracked is compared before and after.
tracked_state() { git status --porcelain --untracked-files=no 2>/dev/null || true; }
tracked_before="$(tracked_state)"
check_tracked() {
  local now
  now="$(tracked_state)"
  if [[ "$now" != "$tracked_before" ]]; then
    echo "test: $1 changed tracked files:" >&2
    diff <(echo "$tracked_before") <(echo "$now") >&2 || true
    return 1
  fi
}

bash scripts/setup.sh
# The tests connect as the owner (TEST_DATABASE_URL) and run the API and the worker as the runtime
# role (TEST_RUNTIME_DATABASE_URL; default: the same database as set-up's platform_app). With
# DATABASE_OWNER_URL and DATABASE_URL of your own, those are the owner's and the runtime's.
if [[ -n ${DATABASE_OWNER_URL:-} && -n ${DATABASE_URL:-} && -z ${TEST_DATABASE_URL:-} ]]; then
  export TEST_RUNTIME_DATABASE_URL="${TEST_RUNTIME_DATABASE_URL:-$DATABASE_URL}"
fi
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-${DATABASE_OWNER_URL:-${DATABASE_URL:-postgres://platform:platform@127.0.0.1:5432/platform_test}}}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

echo "test: Kubernetes tools (etcd, kube-apiserver, helm, ... built from the Go module proxy once, then cached)"
bash scripts/k8s/build-tools.sh

echo "test: installing dependencies"
pnpm install --frozen-lockfile --reporter=silent
check_tracked "pnpm install (lockfile drift: run pnpm install and commit pnpm-lock.yaml)"

echo "test: lint and format"
pnpm exec biome check .

echo "test: build and typecheck"
pnpm exec turbo run build typecheck --output-logs=errors-only

echo "test: test suites"
rm -rf .data/test-results
status=0
pnpm exec turbo run test --concurrency=1 --continue --output-logs=full || status=$?

# One closing line over every suite.
node -e '
  const fs = require("node:fs");
  const dir = ".data/test-results";
  let passed = 0, failed = 0, skipped = 0;
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const r = JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
'
check_tracked "the test run" || status=1
exit "$status"
