#!/usr/bin/env bash
# Build the local Kubernetes test tool chain from the Go module proxy (and PyPI
# for the offline JSON schemas) into a cache OUTSIDE the git repository.
#
#   scripts/k8s/build-tools.sh [--force] [TOOL...]
#
# TOOL is any of: etcd kube helm kubeconform schemas helm-unittest (default: all).
# "kube" builds kube-apiserver, kube-controller-manager and kubectl together.
#
# Cache: ${PLATFORM_TOOLS_CACHE:-$HOME/.cache/platform-tools}
#   bin/              binaries
#   src/<tool>/       generated wrapper Go modules
#   logs/build-*.log  full go output of each build
#   helm-plugins/     HELM_PLUGINS directory (unittest plugin)
#   py/               venv holding kubernetes-validate (offline schemas)
#   schemas/          offline kubeconform schemas for the pinned minor (derived from py/)
#   kubeconform-schemas          text file: path of schemas/
#   kubeconform-schema-location  text file: the -schema-location template to pass to kubeconform
#   versions.txt      "<tool> <stamp>" per built tool
#
# A tool is rebuilt only when its pinned version below changes (or its output is
# missing, or --force is given). With everything cached the script only reads
# versions.txt and stats a few files.
set -Eeuo pipefail

# ---- pinned versions (change one of these to rebuild that tool) -------------
ETCD_VERSION=v3.7.3                 # go.etcd.io/etcd/server/v3
KUBE_VERSION=v1.37.2                # k8s.io/kubernetes (+ staging modules v0.37.2)
HELM_VERSION=v3.22.0                # helm.sh/helm/v3
KUBECONFORM_VERSION=v0.8.0          # github.com/yannh/kubeconform
HELM_UNITTEST_VERSION=v1.1.2        # github.com/helm-unittest/helm-unittest
KUBERNETES_VALIDATE_VERSION=1.37.0  # PyPI kubernetes-validate (JSON schemas)
# -----------------------------------------------------------------------------

CACHE="${PLATFORM_TOOLS_CACHE:-$HOME/.cache/platform-tools}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
LOGS="$CACHE/logs"
VERSIONS="$CACHE/versions.txt"

KUBE_MINOR_FULL="${KUBE_VERSION#v}"           # 1.37.2
KUBE_MAJOR="${KUBE_MINOR_FULL%%.*}"           # 1
KUBE_MINOR="${KUBE_MINOR_FULL#*.}"; KUBE_MINOR="${KUBE_MINOR%%.*}"   # 37
KUBE_PATCH="${KUBE_MINOR_FULL##*.}"           # 2
STAGING_VERSION="v0.${KUBE_MINOR}.${KUBE_PATCH}"

FORCE=0
TOOLS=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    etcd|kube|helm|kubeconform|schemas|helm-unittest) TOOLS+=("$arg") ;;
    *) echo "build-tools: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[[ ${#TOOLS[@]} -gt 0 ]] || TOOLS=(etcd kube helm kubeconform schemas helm-unittest)

mkdir -p "$BIN" "$SRC" "$LOGS"
touch "$VERSIONS"

# One build at a time per cache (parallel test jobs may call this script).
exec 9>"$CACHE/.build.lock"
flock 9

CURRENT_LOG=""
on_error() {
  local rc=$?
  [[ $BASH_SUBSHELL -eq 0 ]] || exit "$rc"   # report once, from the top-level shell
  echo "build-tools: FAILED (exit $rc) at line ${BASH_LINENO[0]}: ${BASH_COMMAND}" >&2
  if [[ -n "$CURRENT_LOG" && -f "$CURRENT_LOG" ]]; then
    echo "---- last 30 lines of $CURRENT_LOG ----" >&2
    tail -n 30 "$CURRENT_LOG" >&2
  fi
  exit "$rc"
}
trap on_error ERR

recorded() { awk -v t="$1" '$1 == t { $1 = ""; sub(/^ /, ""); print; exit }' "$VERSIONS"; }

record() {
  local tool="$1" stamp="$2" tmp
  tmp="$(mktemp "$CACHE/.versions.XXXXXX")"
  awk -v t="$tool" '$1 != t' "$VERSIONS" >"$tmp"
  printf '%s %s\n' "$tool" "$stamp" >>"$tmp"
  sort -o "$tmp" "$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$VERSIONS"
}

# up_to_date TOOL STAMP FILE... -> 0 when recorded stamp matches and all files exist
up_to_date() {
  local tool="$1" stamp="$2"; shift 2
  [[ $FORCE -eq 0 ]] || return 1
  [[ "$(recorded "$tool")" == "$stamp" ]] || return 1
  local f
  for f in "$@"; do [[ -e "$f" ]] || return 1; done
  return 0
}

BUILT=()
START_TS=0
begin() {  # begin TOOL STAMP
  CURRENT_LOG="$LOGS/build-$1.log"
  START_TS=$SECONDS
  echo "build-tools: building $1 ($2) ... (log: $CURRENT_LOG)"
  printf '==== %s build of %s (%s)\n' "$(date -u +%FT%TZ)" "$1" "$2" >"$CURRENT_LOG"
}
finish() {  # finish TOOL STAMP
  local took=$((SECONDS - START_TS))
  record "$1" "$2"
  printf '==== done in %ss\n' "$took" >>"$CURRENT_LOG"
  echo "build-tools: built $1 ($2) in ${took}s"
  BUILT+=("$1:${took}s")
  CURRENT_LOG=""
}

# Go settings for every build: local toolchain only, static binaries, lowest CPU priority.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
gorun() { nice -n 19 go "$@" >>"$CURRENT_LOG" 2>&1; }
BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---------------------------------------------------------------- etcd -------
build_etcd() {
  local stamp="$ETCD_VERSION"
  up_to_date etcd "$stamp" "$BIN/etcd" && return 0
  begin etcd "$stamp"
  local dir="$SRC/etcd"
  rm -rf "$dir"; mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module platform.local/etcd-wrapper

go 1.26.0

require (
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
)
EOF
  cat >"$dir/main.go" <<'EOF'
// Generated by scripts/k8s/build-tools.sh: runs the etcd server.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
EOF
  (cd "$dir" && gorun mod tidy && gorun build -trimpath -ldflags "-s -w" -o "$BIN/.etcd.tmp" .)
  mv "$BIN/.etcd.tmp" "$BIN/etcd"
  finish etcd "$stamp"
}

# ---------------------------------------------------------------- kube -------
build_kube() {
  local stamp="$KUBE_VERSION"
  up_to_date kube "$stamp" "$BIN/kube-apiserver" "$BIN/kube-controller-manager" "$BIN/kubectl" && return 0
  begin kube "$stamp"
  local dir="$SRC/kube"
  rm -rf "$dir"; mkdir -p "$dir"

  # The list of staging modules comes from k8s.io/kubernetes' own go.mod, which
  # replaces each of them with ./staging/src/k8s.io/<name>; we point each one at
  # its published v0.<minor>.<patch> instead.
  local modjson gomod
  modjson="$(cd "$dir" && nice -n 19 go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>>"$CURRENT_LOG")"
  gomod="$(sed -nE 's/^[[:space:]]*"GoMod": "(.*)",?$/\1/p' <<<"$modjson")"
  [[ -f "$gomod" ]] || { echo "cannot locate go.mod of k8s.io/kubernetes@$KUBE_VERSION" >>"$CURRENT_LOG"; false; }
  local staging
  staging="$(sed -nE 's#^[[:space:]]*(k8s\.io/[A-Za-z0-9._-]+)[[:space:]]+=>[[:space:]]+\./staging/src/.*#\1#p' "$gomod" | sort -u)"
  [[ -n "$staging" ]] || { echo "no staging replace lines found in $gomod" >>"$CURRENT_LOG"; false; }
  echo "staging modules ($(wc -l <<<"$staging")) -> $STAGING_VERSION:" >>"$CURRENT_LOG"
  echo "$staging" >>"$CURRENT_LOG"

  {
    printf 'module platform.local/kube-wrapper\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    local m
    while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done <<<"$staging"
    printf ')\n'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

// Generated by scripts/k8s/build-tools.sh: keeps the main packages in the module graph.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  local ld="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$KUBE_MAJOR -X $pkg.gitMinor=$KUBE_MINOR"
    ld+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
  done
  (
    cd "$dir"
    gorun mod tidy
    for c in kube-apiserver kube-controller-manager kubectl; do
      echo "---- go build $c" >>"$CURRENT_LOG"
      t0=$SECONDS
      gorun build -trimpath -ldflags "$ld" -o "$BIN/.$c.tmp" "k8s.io/kubernetes/cmd/$c"
      echo "build-tools:   $c compiled in $((SECONDS - t0))s"
    done
  )
  for c in kube-apiserver kube-controller-manager kubectl; do mv "$BIN/.$c.tmp" "$BIN/$c"; done
  finish kube "$stamp"
}

# ---------------------------------------------------------------- helm -------
build_helm() {
  local stamp="$HELM_VERSION k8s=$KUBE_MAJOR.$KUBE_MINOR"
  up_to_date helm "$stamp" "$BIN/helm" && return 0
  begin helm "$stamp"
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$KUBE_MAJOR"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$KUBE_MINOR"
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$KUBE_MAJOR"
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$KUBE_MINOR"
  rm -rf "$BIN/.gobin-helm"
  (cd "$CACHE" && GOBIN="$BIN/.gobin-helm" gorun install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  mv "$BIN/.gobin-helm/helm" "$BIN/helm"; rmdir "$BIN/.gobin-helm"
  finish helm "$stamp"
}

# --------------------------------------------------------- kubeconform -------
build_kubeconform() {
  local stamp="$KUBECONFORM_VERSION"
  up_to_date kubeconform "$stamp" "$BIN/kubeconform" && return 0
  begin kubeconform "$stamp"
  rm -rf "$BIN/.gobin-kc"
  (cd "$CACHE" && GOBIN="$BIN/.gobin-kc" gorun install -trimpath \
    -ldflags "-s -w -X main.version=$KUBECONFORM_VERSION" \
    "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION")
  mv "$BIN/.gobin-kc/kubeconform" "$BIN/kubeconform"; rmdir "$BIN/.gobin-kc"
  finish kubeconform "$stamp"
}

# ------------------------------------------------------------- schemas -------
# kubernetes-validate ships, per Kubernetes version, kubernetes-json-schema/
# v1.37.0-local[-strict]/<kind>[-<group>]-<version>.json. Those files carry
# "$id": "https://kubernetes.io/api/..." and "$ref": "/api/_definitions.json#...",
# so kubeconform would resolve every $ref against kubernetes.io (a network fetch
# that fails offline, after which it reports "could not find schema"). We derive
# an offline copy for the pinned minor: "$id" dropped, refs made relative
# ("_definitions.json#..."), so they resolve to the sibling file on disk.
build_schemas() {
  local stamp="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION k8s=$KUBE_MAJOR.$KUBE_MINOR"
  local out="$CACHE/schemas"
  up_to_date schemas "$stamp" "$out" "$CACHE/kubeconform-schemas" "$CACHE/kubeconform-schema-location" && return 0
  begin schemas "$stamp"
  local py="${PYTHON:-python3}"
  rm -rf "$CACHE/py"
  "$py" -m venv "$CACHE/py" >>"$CURRENT_LOG" 2>&1
  "$CACHE/py/bin/pip" install --disable-pip-version-check --no-input \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >>"$CURRENT_LOG" 2>&1
  local pkgdir strict
  pkgdir="$("$CACHE/py/bin/python" -c 'import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))')"
  strict="$(find "$pkgdir" -type d -name "v$KUBE_MAJOR.$KUBE_MINOR.*-local-strict" | sort -V | tail -n 1)"
  [[ -n "$strict" ]] || { echo "no v$KUBE_MAJOR.$KUBE_MINOR.*-local-strict schema dir under $pkgdir" >>"$CURRENT_LOG"; false; }
  local ver; ver="$(basename "$strict")"; ver="${ver%-local-strict}"   # v1.37.0
  echo "source schemas: $(dirname "$strict")/$ver-local{,-strict}" >>"$CURRENT_LOG"

  mkdir -p "$SRC/schemas"
  cat >"$SRC/schemas/offline.py" <<'EOF'
"""Generated by scripts/k8s/build-tools.sh: make kubernetes-validate schemas resolvable offline."""
import json
import os
import sys

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)


def relativize(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("/api/"):
            node["$ref"] = ref[len("/api/"):]
        for value in node.values():
            relativize(value)
    elif isinstance(node, list):
        for value in node:
            relativize(value)


count = 0
for name in sorted(os.listdir(src)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(src, name), encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, dict):
        doc.pop("$id", None)
    relativize(doc)
    with open(os.path.join(dst, name), "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    count += 1
print(f"{dst}: {count} schemas")
EOF
  rm -rf "$out.tmp" "$out"
  local suffix
  for suffix in local local-strict; do
    "$CACHE/py/bin/python" "$SRC/schemas/offline.py" "$(dirname "$strict")/$ver-$suffix" "$out.tmp/$ver-$suffix" >>"$CURRENT_LOG" 2>&1
    # kubeconform's default -kubernetes-version is "master": serve the pinned minor there too.
    ln -sfn "$ver-$suffix" "$out.tmp/master-$suffix"
  done
  mv "$out.tmp" "$out"
  printf '%s\n' "$out" >"$CACHE/kubeconform-schemas"
  printf '%s\n' "$out/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    >"$CACHE/kubeconform-schema-location"
  finish schemas "$stamp"
}

# ------------------------------------------------------- helm-unittest -------
build_helm_unittest() {
  local stamp="$HELM_UNITTEST_VERSION"
  local plugdir="$CACHE/helm-plugins/unittest"
  up_to_date helm-unittest "$stamp" "$plugdir/plugin.yaml" && return 0
  begin helm-unittest "$stamp"
  local dir="$SRC/helm-unittest"
  rm -rf "$dir"; mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module platform.local/helm-unittest-wrapper

go 1.26.0

require github.com/helm-unittest/helm-unittest $HELM_UNITTEST_VERSION
EOF
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

// Generated by scripts/k8s/build-tools.sh: keeps the main package in the module graph.
package tools

import _ "github.com/helm-unittest/helm-unittest/cmd/helm-unittest"
EOF
  local modjson moddir
  modjson="$(cd "$dir" && nice -n 19 go mod download -json "github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION" 2>>"$CURRENT_LOG")"
  moddir="$(sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p' <<<"$modjson")"
  # Replace directives are not inherited from dependencies: carry over the upstream ones.
  sed -nE 's#^replace[[:space:]]+(.*=>.*)$#replace \1#p' "$moddir/go.mod" >>"$dir/go.mod"
  # Binary name expected by the upstream plugin.yaml's platformCommand.
  local os arch
  os="$(go env GOOS)"; arch="$(go env GOARCH)"
  [[ "$os" == darwin ]] && os=macos
  (cd "$dir" && gorun mod tidy && gorun build -trimpath \
    -ldflags "-s -w -X github.com/helm-unittest/helm-unittest/internal/build.version=${HELM_UNITTEST_VERSION#v}" \
    -o "$BIN/.untt.tmp" github.com/helm-unittest/helm-unittest/cmd/helm-unittest)
  rm -rf "$plugdir"; mkdir -p "$plugdir"
  mv "$BIN/.untt.tmp" "$plugdir/untt-$os-$arch"
  ln -sfn "untt-$os-$arch" "$plugdir/untt"
  # The module's own plugin.yaml; its install hooks only run on `helm plugin install`,
  # which we do not use (the binary is already in place).
  cp "$moddir/plugin.yaml" "$plugdir/plugin.yaml"
  chmod u+w "$plugdir/plugin.yaml"
  finish helm-unittest "$stamp"
}

for t in "${TOOLS[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kube) build_kube ;;
    helm) build_helm ;;
    kubeconform) build_kubeconform ;;
    schemas) build_schemas ;;
    helm-unittest) build_helm_unittest ;;
  esac
done

if [[ ${#BUILT[@]} -eq 0 ]]; then
  echo "build-tools: all up to date in $CACHE (${SECONDS}s)"
else
  echo "build-tools: built ${BUILT[*]} in ${SECONDS}s total; cache: $CACHE"
fi
