#!/usr/bin/env bash
# Regenerates requirements.txt from requirements.in with pip-tools (every package pinned with the
# hashes of its files), using the ml-gateway's virtualenv, which has pip-tools.
set -Eeuo pipefail
DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
bash "$DIR/../../ml-gateway/scripts/setup-venv.sh"
cd "$DIR"
../../ml-gateway/.venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --resolver=backtracking "$@" \
  --output-file requirements.txt requirements.in
