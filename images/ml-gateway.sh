#!/usr/bin/env bash
# The build stage of the ml-gateway image (services/ml-gateway/Dockerfile), kept here so that
# images/test/ can run exactly what the image runs, without a container engine. Two steps, so the
# image caches the virtualenv apart from the app:
#
#   bash images/ml-gateway.sh venv REQUIREMENTS VENV
#       a fresh virtualenv VENV with REQUIREMENTS (services/ml-gateway/requirements.txt) only:
#       every package pinned with its hashes (--require-hashes), wheels only.
#   bash images/ml-gateway.sh app SOURCE DEST VENV
#       copies the app (SOURCE: services/ml-gateway/app) to DEST/app, byte-compiles it (the app
#       directory is read-only at run time) and imports it once with VENV's interpreter, which
#       fails the build on a missing dependency.
#
# Environment: PYTHON (default python3) for the new virtualenv.
set -Eeuo pipefail

say() { printf 'images: %s\n' "$*"; }
usage() {
  echo "usage: $0 venv REQUIREMENTS VENV | app SOURCE DEST VENV" >&2
  exit 2
}

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
case "${1:-}" in
venv)
  (($# == 3)) || usage
  requirements="$2" venv="$3"
  say "creating $venv with $("${PYTHON:-python3}" --version 2>&1)"
  rm -rf -- "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  say "installing $requirements (hashes required, wheels only)"
  # numpy, scipy and scikit-learn ship manylinux wheels for CPython 3.11.
  "$venv/bin/python" -m pip install --quiet --require-hashes --only-binary=:all: -r "$requirements"
  "$venv/bin/python" -m pip check
  ;;
app)
  (($# == 4)) || usage
  source="$2" dest="$3" venv="$4"
  say "copying the app to $dest/app"
  mkdir -p -- "$dest"
  rm -rf -- "$dest/app"
  cp -R -- "$source" "$dest/app"
  find "$dest/app" -name __pycache__ -prune -exec rm -rf {} +
  (
    cd "$dest"
    # Byte-compile, then import the app once.
    "$venv/bin/python" -m compileall -q app
    PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -c "import app.main, app.worker.tasks"
  )
  ;;
*) usage ;;
esac
