#!/usr/bin/env bash
# The operator console's build stage (services/api/Dockerfile): the API image serves it under
# /console/ from CONSOLE_DIR. Kept here, as node-service.sh is, so images/test/ runs exactly it.
#
#   bash images/console.sh OUT      # from the repository root; OUT receives index.html and assets/
#
# It installs the console's workspace slice from the pnpm store (offline, frozen lockfile), builds
# it with turbo (the SDK first, then `vite build`) and copies the static build to OUT: plain files,
# nothing to run, no node_modules.
#
# Environment: PNPM_STORE_DIR (default: pnpm's own store).
set -Eeuo pipefail

(($# == 1)) || {
  echo "usage: $0 OUT" >&2
  exit 2
}
readonly out="$1"

export CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
store=()
[[ -n "${PNPM_STORE_DIR:-}" ]] && store=(--store-dir "$PNPM_STORE_DIR")

say() { printf 'images: %s\n' "$*"; }

say "installing @platform/console and the root's build tools from the store"
pnpm install --offline --frozen-lockfile --reporter=append-only "${store[@]}" \
  --filter '@platform/console...' --filter platform

say "building the console"
pnpm exec turbo run build --filter=@platform/console --output-logs=errors-only

say "copying the console's build to $out"
rm -rf -- "$out"
mkdir -p "$(dirname -- "$out")"
cp -R services/console/dist "$out"
test -f "$out/index.html"
