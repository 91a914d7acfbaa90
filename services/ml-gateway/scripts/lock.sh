#!/usr/bin/env bash
# Regenerates requirements.txt and requirements-dev.txt from requirements.in and
# requirements-dev.in with pip-tools: every package, transitive ones included, pinned with the
# hashes of its files. The image installs requirements.txt with `pip install --require-hashes`;
# scripts/setup-venv.sh installs requirements-dev.txt (hash-checked too).
#
# After changing a pin in a .in file:   bash scripts/lock.sh
# To move every unpinned transitive dependency to its newest version: bash scripts/lock.sh --upgrade
set -Eeuo pipefail
SERVICE_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$SERVICE_DIR"
bash scripts/setup-venv.sh
compile() {
  .venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
    --no-emit-find-links --resolver=backtracking "$@"
}
compile "$@" --output-file requirements.txt requirements.in
compile "$@" --output-file requirements-dev.txt requirements-dev.in
