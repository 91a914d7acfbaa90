#!/usr/bin/env bash
# Idempotent: creates services/ml-gateway/.venv with `python3 -m venv` and installs
# requirements-dev.txt (which includes requirements.txt) into it, but only when the
# requirements files (or the interpreter) changed since the last successful install; the
# hash of those is kept in .venv/.requirements.sha256. pip's output goes to
# .venv/setup-venv.log and only its tail is shown on failure. A run with nothing to do
# takes well under a second.
#
# Environment: PYTHON (default python3) picks the interpreter for a new venv.
set -Eeuo pipefail

SERVICE_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly SERVICE_DIR
readonly VENV="$SERVICE_DIR/.venv"
readonly STAMP="$VENV/.requirements.sha256"
readonly LOG="$VENV/setup-venv.log"
readonly PYTHON="${PYTHON:-python3}"

say() { printf 'ml-gateway setup: %s\n' "$*"; }

wanted_hash() {
  {
    cat "$SERVICE_DIR/requirements.txt" "$SERVICE_DIR/requirements-dev.txt"
    "$PYTHON" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
}

is_current() {
  [[ -x "$VENV/bin/python" && -f "$STAMP" ]] && [[ "$(cat -- "$STAMP")" == "$1" ]]
}

hash="$(wanted_hash)"
if is_current "$hash"; then
  exit 0
fi

# Serialise concurrent runs (turbo may start lint, typecheck and test together).
mkdir -p "$VENV"
exec 9>"$SERVICE_DIR/.venv.lock"
flock 9
if is_current "$hash"; then # another run finished the job while we waited
  exit 0
fi

start=$EPOCHREALTIME
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
  say "creating $VENV with $("$PYTHON" --version 2>&1)"
  rm -rf -- "$VENV"
  if ! "$PYTHON" -m venv "$VENV" >"$SERVICE_DIR/.venv.log" 2>&1; then
    cat -- "$SERVICE_DIR/.venv.log" >&2
    say "ERROR: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  rm -f -- "$SERVICE_DIR/.venv.log"
fi
rm -f -- "$STAMP"

say "installing requirements-dev.txt (log: .venv/setup-venv.log)"
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
  -r "$SERVICE_DIR/requirements-dev.txt" >"$LOG" 2>&1; then
  say "ERROR: pip install failed; last lines of $LOG:" >&2
  tail -n 30 -- "$LOG" >&2
  exit 1
fi
printf '%s\n' "$hash" >"$STAMP"
say "done in $(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", e - s }')"
