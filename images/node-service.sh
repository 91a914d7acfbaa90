#!/usr/bin/env bash
# The build stage of the Node images (services/api/Dockerfile, services/worker/Dockerfile), kept
# here so that images/test/ can run exactly what the images run, without a container engine.
#
#   bash images/node-service.sh OUT PACKAGE [PACKAGE...]     # from the repository root
#
# For each PACKAGE (e.g. @platform/api) it installs the workspace slice the package needs from the
# pnpm store (offline, frozen lockfile: `pnpm fetch --frozen-lockfile` filled the store before),
# builds it with turbo, and deploys it with its production dependencies only to OUT/<name>
# (OUT/api for @platform/api): a self-contained folder, `node dist/main.js` runs from it.
#
# The deploy reads the versions from the shared lockfile (no resolution, so no registry metadata
# is needed offline: the reason `pnpm deploy --legacy` failed with ERR_PNPM_NO_OFFLINE_META) and
# copies the workspace packages in ("injected", only their package.json `files`). The workspace
# itself keeps symlinked workspace packages; inject-workspace-packages is set for the deploy only.
#
# Environment: PNPM_STORE_DIR (default: pnpm's own store).
set -Eeuo pipefail

(($# >= 2)) || {
  echo "usage: $0 OUT PACKAGE [PACKAGE...]" >&2
  exit 2
}
out="$1"
shift
readonly out packages=("$@")

export CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
store=()
[[ -n "${PNPM_STORE_DIR:-}" ]] && store=(--store-dir "$PNPM_STORE_DIR")

say() { printf 'images: %s\n' "$*"; }

filters=()
for pkg in "${packages[@]}"; do filters+=(--filter "$pkg..."); done
say "installing ${packages[*]} and the root's build tools from the store"
# The root project ("platform") brings turbo and typescript.
pnpm install --offline --frozen-lockfile --reporter=append-only "${store[@]}" "${filters[@]}" --filter platform

say "building"
turbo_filters=()
for pkg in "${packages[@]}"; do turbo_filters+=("--filter=$pkg"); done
pnpm exec turbo run build "${turbo_filters[@]}" --output-logs=errors-only

mkdir -p "$out"
for pkg in "${packages[@]}"; do
  target="$out/${pkg##*/}"
  say "deploying $pkg to $target"
  rm -rf -- "$target"
  pnpm --offline --filter "$pkg" --prod --config.inject-workspace-packages=true \
    deploy --reporter=append-only "${store[@]}" "$target"
  # The deploy's own lockfile is not needed at run time.
  rm -f -- "$target/pnpm-lock.yaml"
  test -f "$target/dist/main.js"
done
