#!/usr/bin/env bash
# End-to-end check of the local control plane and chart tools:
#   API version; namespace + ResourceQuota, namespace deletion finalized by the
#   namespace controller; kubectl; helm version/create/lint/template; kubeconform
#   with offline schemas; helm install into the API server; helm unittest.
# Starts the cluster if needed and stops it at the end if it started it
# (KEEP_CLUSTER=1 keeps it running).
set -Eeuo pipefail
on_error() {
  local rc=$?
  echo "smoke-test: FAILED (exit $rc) at line ${BASH_LINENO[0]}: $BASH_COMMAND" >&2
  exit "$rc"
}
trap on_error ERR

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${PLATFORM_TOOLS_CACHE:-$HOME/.cache/platform-tools}"
TIMEOUT="${PLATFORM_K8S_TIMEOUT:-120}"

step() { printf '\n=== %s\n' "$*"; }

"$HERE/build-tools.sh"

started=0
if ! "$HERE/cluster.sh" status >/dev/null 2>&1; then
  "$HERE/cluster.sh" start
  started=1
fi
WORK="$(mktemp -d)"
cleanup() {
  rm -rf "$WORK"
  if [[ $started -eq 1 && "${KEEP_CLUSTER:-0}" != 1 ]]; then "$HERE/cluster.sh" stop; fi
}
trap cleanup EXIT
eval "$("$HERE/cluster.sh" env)"

# curl authenticated with the admin client certificate from the kubeconfig's PKI
PKI="$(dirname "$KUBECONFIG")/pki"
api() { curl -sS --fail-with-body --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }
code() { curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }
# poll DESC CMD... until CMD succeeds or TIMEOUT
poll() {
  local desc="$1"; shift
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    ((SECONDS < deadline)) || { echo "timed out waiting for $desc" >&2; return 1; }
    sleep 0.2
  done
}

step "API server version (curl)"
api "$PLATFORM_K8S_SERVER/version"; echo

NS="smoke-$$-$RANDOM"
step "create namespace $NS + ResourceQuota (curl)"
api -X POST -H 'Content-Type: application/json' "$PLATFORM_K8S_SERVER/api/v1/namespaces" \
  -d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\"}}" >/dev/null
api -X POST -H 'Content-Type: application/json' "$PLATFORM_K8S_SERVER/api/v1/namespaces/$NS/resourcequotas" \
  -d '{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},"spec":{"hard":{"pods":"2","configmaps":"5"}}}' >/dev/null
quota_status_set() { api "$PLATFORM_K8S_SERVER/api/v1/namespaces/$NS/resourcequotas/q" | grep -q '"used"'; }
poll "resourcequota controller to fill status.used" quota_status_set
api "$PLATFORM_K8S_SERVER/api/v1/namespaces/$NS/resourcequotas/q" | tr -d ' \n' | grep -o '"status":{.*}' ; echo

step "delete namespace $NS and wait until it is gone (namespace controller)"
api -X DELETE "$PLATFORM_K8S_SERVER/api/v1/namespaces/$NS" >/dev/null
t0=$SECONDS
ns_gone() { [[ "$(code "$PLATFORM_K8S_SERVER/api/v1/namespaces/$NS")" == 404 ]]; }
poll "namespace $NS to be finalized" ns_gone
echo "namespace $NS gone after $((SECONDS - t0))s"

step "kubectl"
kubectl version
kubectl get namespaces

step "helm version"
helm version
CHART="$WORK/x"
step "helm create / lint / template | kubeconform"
helm create "$CHART" >/dev/null
helm lint "$CHART"
# Offline schemas for the pinned minor; "master" (kubeconform's default
# -kubernetes-version) is linked to the same directory.
SCHEMA_LOCATION="$(<"$CACHE/kubeconform-schema-location")"
echo "kubeconform -schema-location '$SCHEMA_LOCATION'"
helm template "$CHART" | kubeconform -strict -summary -schema-location "$SCHEMA_LOCATION"
# ... and it really rejects what the API server would reject:
if helm template "$CHART" --set replicaCount=two | kubeconform -strict -summary -schema-location "$SCHEMA_LOCATION"; then
  echo "kubeconform accepted replicas: \"two\"" >&2; exit 1
fi

step "helm install into the API server"
helm install smoke "$CHART" --kubeconfig "$KUBECONFIG" --namespace smoke-helm --create-namespace --wait=false
kubectl -n smoke-helm get deployments,replicasets,pods,services,serviceaccounts
rs_created() { [[ -n "$(kubectl -n smoke-helm get replicasets -o name)" ]]; }
poll "deployment controller to create a ReplicaSet" rs_created
helm list --kubeconfig "$KUBECONFIG" -n smoke-helm
helm uninstall smoke --kubeconfig "$KUBECONFIG" -n smoke-helm
kubectl delete namespace smoke-helm --wait=true --timeout="${TIMEOUT}s"

step "helm unittest"
mkdir -p "$CHART/tests"
cat >"$CHART/tests/deployment_test.yaml" <<'EOF'
suite: deployment
templates:
  - deployment.yaml
tests:
  - it: uses the configured replica count
    set:
      replicaCount: 3
    asserts:
      - isKind:
          of: Deployment
      - equal:
          path: spec.replicas
          value: 3
EOF
helm unittest "$CHART"

step "smoke test passed"
