#!/usr/bin/env bash
# Starts the API: sets up the venv if needed, then runs uvicorn on HOST:PORT
# (default 127.0.0.1:8000). Settings come from the environment (see README.md).
set -Eeuo pipefail
SERVICE_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$SERVICE_DIR"
bash scripts/setup-venv.sh
exec .venv/bin/uvicorn app.main:app --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
