#!/usr/bin/env bash
# Chart checks for charts/platform, against the cached tool chain (scripts/k8s/build-tools.sh)
# and a real control plane (scripts/k8s/cluster.sh: etcd + kube-apiserver +
# kube-controller-manager, no nodes):
#
#   1. helm lint --strict                     every ci/*-values.yaml scenario
#   2. helm template | kubeconform -strict    every scenario, offline schemas of the pinned
#                                             Kubernetes minor (KEDA's ScaledObject and
#                                             TriggerAuthentication are skipped: CRDs without an
#                                             offline schema)
#   3. helm unittest --strict                 charts/platform/tests/*_test.yaml (each test counts)
#   4. on the control plane, per scenario, in its own namespace that enforces the `restricted`
#      Pod Security Standard:
#        - the hook resources (migrations Job and its Secret) pass a server-side dry run
#        - helm install --no-hooks; every rendered object exists (kubectl get -f)
#        - the Deployment/StatefulSet controllers create every pod (admitted by Pod Security
#          admission; they stay Pending: there are no nodes)
#        - with RBAC: the ServiceAccounts' effective rights (kubectl auth can-i) are exactly the
#          tenant-provisioning ones for the worker and the read-only report for the api; the
#          ValidatingAdmissionPolicy refuses the worker's writes outside the platform's namespaces
#        - bundled: the ScaledObject is rendered from the server's API discovery (not forced)
#        - helm upgrade of the release to itself (immutable fields unchanged)
#   5. helm upgrade from chart version 0.1.0 (the chart packaged as 0.1.0) to the working tree
#   6. helm uninstall; the cluster-scoped RBAC is gone; the namespaces are finalized
#
# Hooks: the migrations Job cannot run without nodes and Helm waits for hook Jobs even without
# --wait, so installs and upgrades use --no-hooks; the hook manifests are validated by the
# API server (dry run) instead. KEDA: stub scaledobjects/triggerauthentications.keda.sh CRDs
# (schema-less) are created for the run when the cluster has none, so the production scenario's
# ScaledObject and TriggerAuthentication install.
#
# Writes <repo>/.data/test-results/charts.json ({numPassedTests, numFailedTests, ...}), one test
# per check. Exits non-zero when any check fails. The control plane is started when it is not
# running, and then stopped on exit (KEEP_CLUSTER=1 keeps it).
set -Eeuo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
CHARTS="$(cd -- "$HERE/.." && pwd -P)"
ROOT="$(cd -- "$CHARTS/.." && pwd -P)"
CHART="$CHARTS/platform"
RESULTS="${CHARTS_TEST_RESULTS:-$ROOT/.data/test-results/charts.json}"
CACHE="${PLATFORM_TOOLS_CACHE:-$HOME/.cache/platform-tools}"
TIMEOUT="${CHARTS_TEST_TIMEOUT:-90}" # seconds, for every poll
RUN_ID="$(date +%s)-$$"
RUN_ID="${RUN_ID: -10}"

START=$SECONDS
WORK="$(mktemp -d)"
passed=0
failed=0
failures=()
cluster_started=0
crd_created=0
namespaces=()
releases=()         # "release --namespace ns": installed, uninstalled as a check
cleanup_releases=() # failed installs: uninstalled on exit

say() { printf 'test-charts: %s\n' "$*"; }

# json EXPR: evaluates a JavaScript expression over the JSON document on stdin (bound to d).
json() { node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval(process.argv[1]));' "$1"; }

write_results() {
  mkdir -p "$(dirname -- "$RESULTS")"
  printf '{"numPassedTests": %d, "numFailedTests": %d, "numPendingTests": 0, "numTodoTests": 0}\n' \
    "$passed" "$failed" >"$RESULTS"
}

# check NAME CMD...: run a check (in a subshell with errexit, so a function's first failing
# command fails it); its output goes to a log that is shown when it fails. Sets CHECK_OK.
CHECK_OK=0
check() {
  local name="$1"
  shift
  local log="$WORK/check-$((passed + failed)).log" rc t0=$SECONDS
  set +e
  (
    set -Eeuo pipefail
    "$@"
  ) >"$log" 2>&1
  rc=$?
  set -e
  CHECK_OK=$((rc == 0))
  if ((rc == 0)); then
    passed=$((passed + 1))
    printf '  ok    %s (%ss)\n' "$name" "$((SECONDS - t0))"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '  FAIL  %s (exit %d)\n' "$name" "$rc"
    sed -e 's/^/        | /' "$log" | tail -n 40
  fi
  return 0
}

# poll DESC CMD...: until CMD succeeds, or fail after TIMEOUT seconds.
poll() {
  local desc="$1" deadline=$((SECONDS + TIMEOUT)) delay=0.1
  shift
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "timed out after ${TIMEOUT}s waiting for $desc"
      return 1
    fi
    sleep "$delay"
    delay=0.5
  done
}

scenario_name() {
  local base
  base="$(basename -- "$1")"
  echo "${base%-values.yaml}"
}

# ---------------------------------------------------------- static checks ---
kubeconform_scenario() { # SCENARIO
  helm template "$(scenario_name "$1")" "$CHART" -f "$1" --namespace charts-test >"$WORK/rendered.yaml"
  kubeconform -strict -summary -skip ScaledObject,TriggerAuthentication -kubernetes-version "$SCHEMA_VERSION" \
    -schema-location "$SCHEMA_LOCATION" "$WORK/rendered.yaml"
}

# -------------------------------------------------------- cluster checks ----
# Stand-ins for KEDA's CRDs (ScaledObject, TriggerAuthentication): no schema, so any object is
# stored as given.
create_keda_crd() {
  local kind plural
  for kind in ScaledObject TriggerAuthentication; do
    plural="$(tr '[:upper:]' '[:lower:]' <<<"$kind")s"
    kubectl apply -f - <<YAML
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: $plural.keda.sh
  labels:
    platform.test/stub: "true"
spec:
  group: keda.sh
  scope: Namespaced
  names:
    kind: $kind
    listKind: ${kind}List
    plural: $plural
    singular: ${plural%s}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
YAML
    kubectl wait --for condition=established --timeout="${TIMEOUT}s" "crd/$plural.keda.sh"
  done
}

# A namespace that enforces the restricted Pod Security Standard.
create_namespace() { # NAMESPACE
  kubectl create namespace "$1"
  kubectl label namespace "$1" platform.test/charts=true \
    pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted
}

no_pod_security_warnings() { # FILE
  if grep -i 'violate PodSecurity' "$1"; then return 1; fi
}

# The rendered hook documents (helm.sh/hook annotation) of a scenario, on stdout.
hook_manifests() { # SCENARIO RELEASE NAMESPACE
  helm template "$2" "$CHART" -f "$1" --namespace "$3" | awk '
    function flush() { if (doc ~ /helm\.sh\/hook:/) printf "---\n%s", doc; doc = "" }
    $0 == "---" { flush(); next }
    { doc = doc $0 "\n" }
    END { flush() }'
}

dry_run_hooks() { # SCENARIO RELEASE NAMESPACE
  hook_manifests "$@" >"$WORK/hooks.yaml"
  kubectl apply --dry-run=server --namespace "$3" -f "$WORK/hooks.yaml" 2>&1 | tee "$WORK/hooks.out"
  no_pod_security_warnings "$WORK/hooks.out"
}

install_release() { # SCENARIO RELEASE NAMESPACE
  helm install "$2" "$CHART" -f "$1" --namespace "$3" --no-hooks --wait=false --timeout 60s 2>&1 |
    tee "$WORK/install.out"
  no_pod_security_warnings "$WORK/install.out"
}

objects_exist() { # RELEASE NAMESPACE
  helm get manifest "$1" --namespace "$2" >"$WORK/manifest.yaml"
  local want got
  want="$(grep -c '^kind:' "$WORK/manifest.yaml")"
  kubectl get --namespace "$2" -f "$WORK/manifest.yaml" -o name >"$WORK/found.txt"
  cat "$WORK/found.txt"
  got="$(wc -l <"$WORK/found.txt")"
  echo "$got of $want rendered objects found"
  ((want > 0 && got == want))
}

# Pods of the release's Deployments and StatefulSets: created by the controllers and admitted by
# Pod Security admission (a rejection shows as a FailedCreate event; other FailedCreate causes,
# such as the namespace's default ServiceAccount not existing yet, are retried by the
# controllers). They stay Pending.
pods_counted() { # RELEASE NAMESPACE WANT -> 0 enough pods, 1 not yet, 2 rejected
  local rejected got
  rejected="$(kubectl get events --namespace "$2" --field-selector reason=FailedCreate \
    -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | grep -i 'PodSecurity' || true)"
  if [[ -n "$rejected" ]]; then
    echo "$rejected"
    return 2
  fi
  got="$(kubectl get pods --namespace "$2" -l "app.kubernetes.io/instance=$1" -o name | wc -l)"
  ((got >= $3))
}

pods_created() { # RELEASE NAMESPACE
  local want rc deadline=$((SECONDS + TIMEOUT))
  want="$(kubectl get deployments,statefulsets --namespace "$2" -l "app.kubernetes.io/instance=$1" \
    -o jsonpath='{range .items[*]}{.spec.replicas}{"\n"}{end}' | awk '{ n += $1 } END { print n + 0 }')"
  echo "expecting $want pods"
  ((want > 0))
  while :; do
    rc=0
    pods_counted "$1" "$2" "$want" || rc=$?
    ((rc != 0)) || break
    ((rc != 2)) || return 1
    if ((SECONDS >= deadline)); then
      echo "timed out after ${TIMEOUT}s waiting for $want pods"
      kubectl get events --namespace "$2"
      return 1
    fi
    sleep 0.2
  done
  kubectl get pods --namespace "$2" -l "app.kubernetes.io/instance=$1"
}

upgrade_same() { # SCENARIO RELEASE NAMESPACE
  helm upgrade "$2" "$CHART" -f "$1" --namespace "$3" --no-hooks --wait=false --timeout 60s 2>&1 |
    tee "$WORK/upgrade.out"
  no_pod_security_warnings "$WORK/upgrade.out"
  local revision
  revision="$(helm status "$2" --namespace "$3" -o json | json 'd.version')"
  echo "revision $revision"
  [[ "$revision" == 2 ]]
}

# The chart packaged as version 0.1.0, installed, then upgraded to the working tree (0.2.0).
upgrade_from_previous() { # NAMESPACE
  local values="$CHART/ci/default-values.yaml" state
  helm package "$CHART" --version 0.1.0 --destination "$WORK/previous"
  helm install previous "$WORK/previous/platform-0.1.0.tgz" -f "$values" --namespace "$1" \
    --no-hooks --wait=false --timeout 60s
  state="$(helm list --namespace "$1" --filter '^previous$' -o json | json 'd[0].chart')"
  echo "installed: $state"
  [[ "$state" == platform-0.1.0 ]]
  helm upgrade previous "$CHART" -f "$values" --set api.replicas=3 --namespace "$1" \
    --no-hooks --wait=false --timeout 60s
  helm history previous --namespace "$1"
  # shellcheck disable=SC2016 # a JavaScript template literal
  state="$(helm list --namespace "$1" --filter '^previous$' -o json |
    json '`${d[0].chart} ${d[0].revision} ${d[0].status}`')"
  echo "upgraded: $state"
  [[ "$state" == "platform-0.2.0 2 deployed" ]]
  state="$(kubectl get deployment previous-platform-api --namespace "$1" -o jsonpath='{.spec.replicas}')"
  echo "api replicas: $state"
  [[ "$state" == 3 ]]
}

can_i() { # USER VERB RESOURCE -> yes/no (namespaced resources: in a tenant namespace)
  local scope=(--namespace tenant-acme)
  [[ "$3" != namespaces ]] || scope=()
  kubectl auth can-i "$2" "$3" --as "$1" "${scope[@]}" || true
}

# expect_rights SUBJECT yes|no "VERB RESOURCE"...: the API server's authorizer (RBAC) answers each.
expect_rights() {
  local sa="$1" want="$2" line verb resource answer
  shift 2
  for line in "$@"; do
    read -r verb resource <<<"$line"
    answer="$(can_i "$sa" "$verb" "$resource")"
    [[ "$answer" == "$want" ]] || { echo "expected $want, got '$answer': $sa $line"; return 1; }
  done
}

# What the release's ServiceAccounts may do, asked of the API server's authorizer (RBAC): the
# worker exactly the tenant-provisioning rules, the api exactly the read-only report, in any
# namespace, and nothing else.
rbac_effective() { # RELEASE NAMESPACE
  local worker="system:serviceaccount:$2:$1-platform-worker" api="system:serviceaccount:$2:$1-platform-api"
  local worker_allowed=(
    "get namespaces" "create namespaces" "patch namespaces" "delete namespaces"
    "create resourcequotas" "patch resourcequotas" "create limitranges" "patch limitranges"
    "create networkpolicies.networking.k8s.io" "patch networkpolicies.networking.k8s.io"
  )
  local api_allowed=("get namespaces" "list resourcequotas" "list pods")
  local never=(
    "get secrets" "list secrets" "watch secrets" "create secrets"
    "update namespaces" "deletecollection namespaces" "update namespaces/finalize"
    "delete resourcequotas" "delete limitranges" "delete networkpolicies.networking.k8s.io"
    "watch pods" "create pods" "delete pods" "create pods/exec"
    "get configmaps" "create deployments.apps" "create roles.rbac.authorization.k8s.io"
    "create clusterrolebindings.rbac.authorization.k8s.io" "escalate clusterroles.rbac.authorization.k8s.io"
    "create serviceaccounts/token"
    "create validatingadmissionpolicies.admissionregistration.k8s.io"
    "delete validatingadmissionpolicybindings.admissionregistration.k8s.io"
  )
  expect_rights "$worker" yes "${worker_allowed[@]}"
  expect_rights "$worker" no "${never[@]}" "list namespaces" "watch namespaces" "get pods" "list pods" \
    "get resourcequotas" "list resourcequotas"
  expect_rights "$api" yes "${api_allowed[@]}"
  # The api writes nothing.
  expect_rights "$api" no "${never[@]}" "${worker_allowed[@]:1}" "list namespaces" "get resourcequotas" \
    "update resourcequotas" "update limitranges" "update networkpolicies.networking.k8s.io"
  echo "$worker: ${#worker_allowed[@]} allowed; $api: ${#api_allowed[@]} allowed; the rest denied"
}

# denied_by_policy DESC CMD...: the command fails with the admission policy's message.
denied_by_policy() {
  local desc="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    echo "allowed, expected a denial: $desc"
    return 1
  fi
  grep -q "ValidatingAdmissionPolicy" <<<"$out" || { echo "denied, but not by the policy: $desc: $out"; return 1; }
}

# The ValidatingAdmissionPolicy refuses the worker's writes outside the platform's namespaces
# (server-side dry runs, which run admission; RBAC allows all of them). The policy takes effect
# a moment after it is created: poll the first denial.
admission_policy() { # RELEASE NAMESPACE
  local as=(--as "system:serviceaccount:$2:$1-platform-worker")
  poll "the admission policy to refuse labelling namespace $2" denied_by_policy "label $2" \
    kubectl "${as[@]}" label namespace "$2" --dry-run=server example.com/x=y
  denied_by_policy "take $2 over with the managed-by label" \
    kubectl "${as[@]}" label namespace "$2" --dry-run=server app.kubernetes.io/managed-by=platform
  denied_by_policy "delete namespace $2" kubectl "${as[@]}" delete namespace "$2" --dry-run=server
  denied_by_policy "create an unlabelled tenant namespace" \
    kubectl "${as[@]}" create namespace "tenant-unlabelled-$RUN_ID" --dry-run=server
  denied_by_policy "create a ResourceQuota in $2" \
    kubectl "${as[@]}" create quota probe --hard=pods=1 --namespace "$2" --dry-run=server
  # ... and admits what provisioning does.
  kubectl "${as[@]}" apply --dry-run=server -f - <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: tenant-probe-$RUN_ID
  labels:
    app.kubernetes.io/managed-by: platform
YAML
  echo "the policy denies the worker outside the platform's namespaces and admits a tenant namespace"
}

# keda.enabled without keda.force: the ScaledObject exists only because the API server serves
# keda.sh/v1alpha1 (helm's capabilities come from the server's discovery).
scaledobject_from_discovery() { # RELEASE NAMESPACE
  kubectl get scaledobjects.keda.sh "$1-platform-worker" --namespace "$2" -o name
  # ... and the worker Deployment leaves its replicas to it.
  helm get manifest "$1" --namespace "$2" | awk -v name="$1-platform-worker" '
    function flush() {
      if (doc ~ /\nkind: Deployment\n/ && index(doc, "\n  name: " name "\n")) { found = 1; if (doc ~ /\n  replicas:/) bad = 1 }
      doc = "\n"
    }
    BEGIN { doc = "\n" }
    $0 == "---" { flush(); next }
    { doc = doc $0 "\n" }
    END { flush(); if (!found) { print "no Deployment " name; exit 1 } if (bad) { print name " sets spec.replicas"; exit 1 } }'
}

uninstall_release() { # RELEASE NAMESPACE
  local prefix="$2-$1-platform" object
  helm uninstall "$1" --namespace "$2" --no-hooks --timeout 60s
  if helm status "$1" --namespace "$2" >/dev/null 2>&1; then
    echo "release $1 still exists"
    return 1
  fi
  for object in "clusterrole/$prefix-tenant-provisioner" "clusterrole/$prefix-tenant-reader" \
    "validatingadmissionpolicy/$prefix-tenant-namespaces"; do
    if kubectl get "$object" 2>/dev/null; then
      echo "$object still exists"
      return 1
    fi
  done
}

namespaces_gone() { # NAMESPACE...
  local ns
  for ns in "$@"; do
    if kubectl get namespace "$ns" >/dev/null 2>&1; then return 1; fi
  done
}

delete_namespaces() { # NAMESPACE...
  local ns pvc
  for ns in "$@"; do
    kubectl delete namespace "$ns" --wait=false --ignore-not-found
  done
  for ns in "$@"; do
    # The control plane runs no pvc-protection controller: drop the finalizer of the claims the
    # StatefulSets left, as that controller does once no pod uses them.
    for pvc in $(kubectl get pvc --namespace "$ns" -o name 2>/dev/null); do
      kubectl patch --namespace "$ns" "$pvc" --type=merge -p '{"metadata":{"finalizers":null}}' || true
    done
  done
  poll "namespaces $* to be finalized" namespaces_gone "$@"
}

cleanup() {
  local rc=$?
  set +e
  if ((${#releases[@]} > 0 || ${#cleanup_releases[@]} > 0 || ${#namespaces[@]} > 0)); then
    say "cleaning up"
    local r
    for r in "${releases[@]}" "${cleanup_releases[@]}"; do
      # shellcheck disable=SC2086 # "release --namespace ns"
      helm uninstall $r --no-hooks >/dev/null 2>&1
    done
    ((${#namespaces[@]} == 0)) || delete_namespaces "${namespaces[@]}" >/dev/null 2>&1
  fi
  if ((crd_created)); then
    kubectl delete crd scaledobjects.keda.sh triggerauthentications.keda.sh --wait=false --ignore-not-found >/dev/null 2>&1
  fi
  if ((cluster_started)) && [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then
    say "stopping the control plane it started"
    bash "$ROOT/scripts/k8s/cluster.sh" stop >/dev/null 2>&1
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ================================================================= run ======
say "tools (scripts/k8s/build-tools.sh)"
if ! bash "$ROOT/scripts/k8s/build-tools.sh" helm kubeconform schemas helm-unittest >"$WORK/build-tools.log" 2>&1; then
  cat "$WORK/build-tools.log" >&2
  failed=$((failed + 1))
  write_results
  say "FAILED: the chart tools could not be built"
  exit 1
fi
eval "$(bash "$ROOT/scripts/k8s/cluster.sh" env)"
SCHEMAS="$(<"$CACHE/kubeconform-schemas")"
SCHEMA_LOCATION="$(<"$CACHE/kubeconform-schema-location")"
SCHEMA_VERSION="$(cd "$SCHEMAS" && find . -maxdepth 1 -name 'v*-local-strict' | sed -E 's#^\./v([0-9.]+)-.*#\1#' | sort -V | tail -n 1)"

mapfile -t SCENARIO_FILES < <(find "$CHART/ci" -name '*-values.yaml' | sort)
if ((${#SCENARIO_FILES[@]} == 0)); then
  say "no scenarios in $CHART/ci"
  exit 1
fi

say "helm lint --strict"
for f in "${SCENARIO_FILES[@]}"; do
  check "lint $(scenario_name "$f")" helm lint "$CHART" --strict -f "$f"
done

say "helm template | kubeconform -strict (Kubernetes $SCHEMA_VERSION schemas; KEDA's CRDs skipped)"
for f in "${SCENARIO_FILES[@]}"; do
  check "kubeconform $(scenario_name "$f")" kubeconform_scenario "$f"
done

say "helm unittest --strict"
unittest_rc=0
helm unittest --strict --color=false -t JUnit -o "$WORK/unittest.xml" "$CHART" >"$WORK/unittest.log" 2>&1 ||
  unittest_rc=$?
ut_tests=0
ut_failed=0
if [[ -s "$WORK/unittest.xml" ]]; then
  read -r ut_tests ut_failed < <(awk '
    /<testsuite / {
      if (match($0, /tests="[0-9]+"/)) t += substr($0, RSTART + 7, RLENGTH - 8)
      if (match($0, /failures="[0-9]+"/)) f += substr($0, RSTART + 10, RLENGTH - 11)
      if (match($0, /errors="[0-9]+"/)) f += substr($0, RSTART + 8, RLENGTH - 9)
    }
    END { print t + 0, f + 0 }' "$WORK/unittest.xml")
fi
if ((unittest_rc != 0 && ut_failed == 0)); then ut_failed=1; fi # crashed, or a suite did not load
if ((ut_failed > ut_tests)); then ut_tests=$ut_failed; fi
passed=$((passed + ut_tests - ut_failed))
failed=$((failed + ut_failed))
if ((ut_failed > 0)); then
  failures+=("helm unittest: $ut_failed of $ut_tests")
  printf '  FAIL  helm unittest: %d of %d failed\n' "$ut_failed" "$ut_tests"
  sed -e 's/^/        | /' "$WORK/unittest.log" | tail -n 60
else
  printf '  ok    helm unittest: %d tests\n' "$ut_tests"
fi

say "control plane (scripts/k8s/cluster.sh)"
if bash "$ROOT/scripts/k8s/cluster.sh" status >/dev/null 2>&1; then
  say "already running: it is left running"
  CHECK_OK=1
else
  cluster_started=1
  check "control plane starts" bash "$ROOT/scripts/k8s/cluster.sh" start
fi

if ((CHECK_OK)); then
  stub="$(kubectl get crd scaledobjects.keda.sh -o jsonpath='{.metadata.labels.platform\.test/stub}' 2>/dev/null || echo none)"
  if [[ "$stub" == none ]]; then
    crd_created=1
    check "stub KEDA CRDs scaledobjects, triggerauthentications.keda.sh (KEDA is not installed)" create_keda_crd
  elif [[ "$stub" == true ]]; then
    crd_created=1 # left by an interrupted run: removed at the end of this one
  fi

  say "install every scenario into its own restricted namespace (--no-hooks)"
  for f in "${SCENARIO_FILES[@]}"; do
    s="$(scenario_name "$f")"
    ns="charts-$s-$RUN_ID"
    check "$s: namespace $ns" create_namespace "$ns"
    ((CHECK_OK)) || continue
    namespaces+=("$ns")
    if [[ -n "$(hook_manifests "$f" "$s" "$ns")" ]]; then
      check "$s: hook manifests (migrations) pass a server-side dry run" dry_run_hooks "$f" "$s" "$ns"
    fi
    check "$s: helm install" install_release "$f" "$s" "$ns"
    if ((!CHECK_OK)); then
      cleanup_releases+=("$s --namespace $ns")
      continue
    fi
    releases+=("$s --namespace $ns")
    check "$s: every rendered object exists" objects_exist "$s" "$ns"
    check "$s: the controllers create every pod (Pod Security restricted)" pods_created "$s" "$ns"
    if helm get manifest "$s" --namespace "$ns" | grep -q '^kind: ClusterRole$'; then
      check "$s: the worker's rights are exactly tenant provisioning, the api's read-only (auth can-i)" \
        rbac_effective "$s" "$ns"
    fi
    if helm get manifest "$s" --namespace "$ns" | grep -q '^kind: ValidatingAdmissionPolicy$'; then
      check "$s: the admission policy refuses the worker's writes outside the platform's namespaces" \
        admission_policy "$s" "$ns"
    fi
    if [[ "$s" == bundled ]]; then
      check "$s: ScaledObject rendered from the server's API discovery (keda.force=false)" \
        scaledobject_from_discovery "$s" "$ns"
    fi
    check "$s: helm upgrade to the same chart" upgrade_same "$f" "$s" "$ns"
  done

  say "upgrade from chart version 0.1.0"
  up_ns="charts-upgrade-$RUN_ID"
  check "namespace $up_ns" create_namespace "$up_ns"
  if ((CHECK_OK)); then
    namespaces+=("$up_ns")
    releases+=("previous --namespace $up_ns")
    check "helm upgrade 0.1.0 -> 0.2.0 (working tree)" upgrade_from_previous "$up_ns"
  fi

  say "uninstall"
  for r in "${releases[@]}"; do
    read -r rel _ rel_ns <<<"$r"
    check "helm uninstall $rel ($rel_ns)" uninstall_release "$rel" "$rel_ns"
  done
  releases=()
  for r in "${cleanup_releases[@]}"; do # failed installs: whatever they left, before the namespaces go
    # shellcheck disable=SC2086 # "release --namespace ns"
    helm uninstall $r --no-hooks >/dev/null 2>&1 || true
  done
  cleanup_releases=()
  if ((${#namespaces[@]} > 0)); then
    check "namespaces deleted and finalized" delete_namespaces "${namespaces[@]}"
    namespaces=()
  fi
else
  failed=$((failed + 1))
  failures+=("the control plane is not ready: the install checks did not run")
fi

write_results
say "$passed passed, $failed failed"
say "in $((SECONDS - START))s; results: ${RESULTS#"$ROOT"/}"
if ((failed > 0)); then
  printf 'test-charts: failed: %s\n' "${failures[@]}" >&2
  exit 1
fi
