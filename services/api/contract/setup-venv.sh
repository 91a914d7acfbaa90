#!/usr/bin/env bash
# Idempotent: creates services/api/contract/.venv (python3 -m venv) with schemathesis from
# requirements.txt (pinned, hash-checked), only when requirements.txt or the interpreter changed
# since the last successful install (their hash is kept in .venv/.requirements.sha256). pip's
# output goes to .venv/setup-venv.log; its tail is shown on failure. A run with nothing to do
# takes well under a second. Run by scripts/setup.sh and by test/contract.test.ts.
#
# Environment: PYTHON (default python3) picks the interpreter for a new venv.
set -Eeuo pipefail

DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
readonly DIR
readonly VENV="$DIR/.venv"
readonly STAMP="$VENV/.requirements.sha256"
readonly LOG="$VENV/setup-venv.log"
readonly PYTHON="${PYTHON:-python3}"

wanted_hash() {
  { cat "$DIR/requirements.txt"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1
}
is_current() { [[ -x "$VENV/bin/st" && -f "$STAMP" && "$(cat -- "$STAMP")" == "$1" ]]; }

hash="$(wanted_hash)"
is_current "$hash" && exit 0

mkdir -p "$VENV"
exec 9>"$DIR/.venv.lock"
flock 9
is_current "$hash" && exit 0

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
  rm -rf -- "$VENV"
  "$PYTHON" -m venv "$VENV"
fi
rm -f -- "$STAMP"
printf 'contract setup: installing schemathesis (log: services/api/contract/.venv/setup-venv.log)\n'
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --require-hashes \
  -r "$DIR/requirements.txt" >"$LOG" 2>&1; then
  printf 'contract setup: ERROR: pip install failed; last lines of %s:\n' "$LOG" >&2
  tail -n 30 -- "$LOG" >&2
  exit 1
fi
printf '%s\n' "$hash" >"$STAMP"
