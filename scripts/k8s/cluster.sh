#!/usr/bin/env bash
# A real Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager)
# on loopback, for tests. No nodes: pods stay Pending, everything else is real.
#
#   scripts/k8s/cluster.sh start    build tools if needed, start (idempotent), wait until ready
#   scripts/k8s/cluster.sh stop     SIGTERM all components, wait (deadline), SIGKILL leftovers
#   scripts/k8s/cluster.sh status   show components; exit 0 when all are up and ready, 3 otherwise
#   scripts/k8s/cluster.sh env      print `export KUBECONFIG=...` (+ PATH, HELM_PLUGINS); use with eval
#   scripts/k8s/cluster.sh clean    stop and delete the state dir (etcd data, certs, logs)
#
# Environment:
#   PLATFORM_TOOLS_CACHE     tool cache (default $HOME/.cache/platform-tools)
#   PLATFORM_K8S_DIR         state dir (default <repo>/.data/k8s, git-ignored)
#   PLATFORM_K8S_PORT        kube-apiserver secure port on 127.0.0.1 (default 6443)
#   PLATFORM_K8S_ETCD_PORT   etcd client port (default 12379; peer port = this + 1)
#   PLATFORM_K8S_KCM_PORT    kube-controller-manager secure port (default 10257)
#   PLATFORM_K8S_SERVICE_CIDR  --service-cluster-ip-range (default 10.0.0.0/24; never routed)
#   PLATFORM_K8S_CONTROLLERS   --controllers list for kube-controller-manager
#   PLATFORM_K8S_TIMEOUT     seconds to wait for readiness / for stop (default 120 / 30)
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${PLATFORM_TOOLS_CACHE:-$HOME/.cache/platform-tools}"
BIN="$CACHE/bin"
DIR="${PLATFORM_K8S_DIR:-$REPO/.data/k8s}"
API_PORT="${PLATFORM_K8S_PORT:-6443}"
ETCD_PORT="${PLATFORM_K8S_ETCD_PORT:-12379}"
ETCD_PEER_PORT="$((ETCD_PORT + 1))"
KCM_PORT="${PLATFORM_K8S_KCM_PORT:-10257}"
SERVICE_CIDR="${PLATFORM_K8S_SERVICE_CIDR:-10.0.0.0/24}"
CONTROLLERS="${PLATFORM_K8S_CONTROLLERS:-namespace,garbagecollector,serviceaccount-token,serviceaccount,resourcequota,clusterrole-aggregation,root-ca-cert-publisher,deployment,replicaset,statefulset,daemonset,job,cronjob,ttl-after-finished,disruption,endpoint,endpointslice,podgc}"
START_TIMEOUT="${PLATFORM_K8S_TIMEOUT:-120}"
STOP_TIMEOUT="${PLATFORM_K8S_STOP_TIMEOUT:-30}"

PKI="$DIR/pki"
LOGS="$DIR/logs"
RUN="$DIR/run"
KUBECONFIG_ADMIN="$DIR/admin.kubeconfig"
KUBECONFIG_KCM="$DIR/controller-manager.kubeconfig"
SERVER="https://127.0.0.1:$API_PORT"
COMPONENTS=(etcd kube-apiserver kube-controller-manager)

trap 'rc=$?; echo "cluster.sh: failed (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

log() { echo "cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# ------------------------------------------------------------ processes -----
pidfile() { echo "$RUN/$1.pid"; }

# Prints the pid when COMPONENT runs from this state dir (guards against pid reuse).
component_pid() {
  local f pid
  f="$(pidfile "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$(marker_arg "$1")" || return 1
  echo "$pid"
}

# An argument that only this state dir's instance of COMPONENT has.
marker_arg() {
  case "$1" in
    etcd) echo "--data-dir=$DIR/etcd" ;;
    kube-apiserver) echo "--tls-cert-file=$PKI/apiserver.crt" ;;
    kube-controller-manager) echo "--kubeconfig=$KUBECONFIG_KCM" ;;
  esac
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# port_free PORT : true once nothing listens on PORT, polling up to STOP_TIMEOUT (a control plane
# of another state dir, or one stopping, may still hold it for a moment).
port_free() {
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while port_busy "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# launch NAME BINARY ARGS... : background, own session, logs in $LOGS/NAME.log
launch() {
  local name="$1"; shift
  local logf="$LOGS/$name.log"
  printf '==== %s starting: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logf"
  rm -f "$(pidfile "$name")"
  # bash writes its own pid, then exec()s the component in place (same pid).
  # fd 9 (our lock) is closed so a long-running component never holds it.
  # shellcheck disable=SC2016 # $$ and $@ expand in the inner bash
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(pidfile "$name")" "$@" >>"$logf" 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 50); do [[ -s "$(pidfile "$name")" ]] && break; sleep 0.1; done
  log "started $name (pid $(<"$(pidfile "$name")"), log $logf)"
}

# wait_until DESC CHECK-FUNCTION COMPONENT : poll until CHECK succeeds, the component dies, or the deadline
wait_until() {
  local desc="$1" check="$2" comp="$3"
  local deadline=$((SECONDS + START_TIMEOUT))
  local delay=0.05
  until "$check"; do
    if ! component_pid "$comp" >/dev/null; then
      log "$comp exited while waiting for $desc; last log lines:"
      tail -n 25 "$LOGS/$comp.log" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${START_TIMEOUT}s waiting for $desc; last log lines of $comp:"
      tail -n 25 "$LOGS/$comp.log" >&2
      exit 1
    fi
    sleep "$delay"
    [[ "$delay" == 0.05 ]] && delay=0.2 || delay=0.5
  done
}

admin_curl() {
  curl -sS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"
}
etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_ready() { [[ "$(admin_curl -o /dev/null -w '%{http_code}' "$SERVER/readyz" 2>/dev/null)" == 200 ]]; }
kcm_healthy() { [[ "$(curl -ks --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz" 2>/dev/null)" == ok ]]; }
# The serviceaccount controller creates "default" in every namespace: proves the
# controller manager is connected, authorized and reconciling.
default_sa_exists() {
  [[ "$(admin_curl -o /dev/null -w '%{http_code}' "$SERVER/api/v1/namespaces/default/serviceaccounts/default" 2>/dev/null)" == 200 ]]
}

# ------------------------------------------------------------------ PKI -----
PKI_FILES=(ca.crt apiserver.crt apiserver.key admin.crt admin.key kube-controller-manager.crt
  kube-controller-manager.key sa.key sa.pub front-proxy-ca.crt front-proxy-client.crt front-proxy-client.key)

gen_pki() {
  local f missing=0
  for f in "${PKI_FILES[@]}"; do [[ -s "$PKI/$f" ]] || missing=1; done
  [[ $missing -eq 1 ]] || return 0
  if component_pid kube-apiserver >/dev/null || component_pid kube-controller-manager >/dev/null; then
    die "PKI in $PKI is incomplete while components are running: run '$0 stop' first"
  fi
  log "generating CA, serving/client certificates and service-account keys in $PKI"
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  local o="$PKI" days=3650
  (
    umask 077
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$o/ca.key"
    openssl req -x509 -new -key "$o/ca.key" -sha256 -days "$days" -subj "/CN=platform-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$o/ca.crt"

    # Separate CA for the aggregation layer's front proxy (request-header auth).
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$o/front-proxy-ca.key"
    openssl req -x509 -new -key "$o/front-proxy-ca.key" -sha256 -days "$days" -subj "/CN=platform-test-front-proxy-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$o/front-proxy-ca.crt"

    # leaf NAME SUBJECT EXTKEYUSAGE [SAN] [CA-NAME]
    leaf() {
      local name="$1" subj="$2" eku="$3" san="${4:-}" ca="${5:-ca}"
      local ext="$o/$name.ext"
      {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$eku"
        [[ -z "$san" ]] || echo "subjectAltName=$san"
      } >"$ext"
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$o/$name.key"
      openssl req -new -key "$o/$name.key" -subj "$subj" -out "$o/$name.csr"
      openssl x509 -req -in "$o/$name.csr" -CA "$o/$ca.crt" -CAkey "$o/$ca.key" -CAcreateserial \
        -days "$days" -sha256 -extfile "$ext" -out "$o/$name.crt" 2>/dev/null
      rm -f "$o/$name.csr" "$ext"
    }
    local svc_ip
    svc_ip="$(first_service_ip "$SERVICE_CIDR")"
    leaf apiserver "/CN=kube-apiserver" serverAuth \
      "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:$svc_ip"
    leaf admin "/O=system:masters/CN=admin" clientAuth
    leaf kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
    leaf front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca

    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$o/sa.key" 2>/dev/null
    openssl pkey -in "$o/sa.key" -pubout -out "$o/sa.pub"
  ) >>"$LOGS/pki.log" 2>&1
}

# 10.0.0.0/24 -> 10.0.0.1 (IPv4 only)
first_service_ip() {
  local net="${1%/*}" a b c d
  IFS=. read -r a b c d <<<"$net"
  echo "$a.$b.$c.$((d + 1))"
}

write_kubeconfig() {  # FILE USER CERT KEY
  local file="$1" user="$2" cert="$3" key="$4" tmp
  tmp="$(mktemp "$file.XXXXXX")"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: platform-test
  cluster:
    server: $SERVER
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$cert")
    client-key-data: $(base64 -w0 "$key")
contexts:
- name: $user@platform-test
  context:
    cluster: platform-test
    user: $user
current-context: $user@platform-test
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$file"
}

# ------------------------------------------------------------- commands -----
start_etcd() {
  if component_pid etcd >/dev/null; then return 0; fi
  port_busy "$ETCD_PORT" && die "port 127.0.0.1:$ETCD_PORT is taken by another process (set PLATFORM_K8S_ETCD_PORT)"
  mkdir -p "$DIR/etcd"; chmod 700 "$DIR/etcd"
  launch etcd "$BIN/etcd" \
    --name=platform-test \
    --data-dir="$DIR/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="platform-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync=true \
    --log-level=warn
  wait_until "etcd /health" etcd_healthy etcd
}

start_apiserver() {
  if component_pid kube-apiserver >/dev/null; then return 0; fi
  port_busy "$API_PORT" && die "port 127.0.0.1:$API_PORT is taken by another process (set PLATFORM_K8S_PORT)"
  # --endpoint-reconciler-type=none: the apiserver refuses to publish a loopback
  # address in the "kubernetes" Endpoints ("may not be in the loopback range"); the
  # Service itself is still created. Nothing runs in pods here, so nothing needs it.
  launch kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none \
    --secure-port="$API_PORT" \
    --cert-dir="$PKI/apiserver-generated" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --authorization-mode=Node,RBAC \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --allow-privileged=true \
    --profiling=false \
    --v=1
  wait_until "kube-apiserver $SERVER/readyz" apiserver_ready kube-apiserver
}

start_controller_manager() {
  if component_pid kube-controller-manager >/dev/null; then return 0; fi
  port_busy "$KCM_PORT" && die "port 127.0.0.1:$KCM_PORT is taken by another process (set PLATFORM_K8S_KCM_PORT)"
  launch kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$KUBECONFIG_KCM" \
    --authentication-kubeconfig="$KUBECONFIG_KCM" \
    --authorization-kubeconfig="$KUBECONFIG_KCM" \
    --bind-address=127.0.0.1 \
    --secure-port="$KCM_PORT" \
    --cert-dir="$PKI/controller-manager-generated" \
    --controllers="$CONTROLLERS" \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --leader-elect=false \
    --profiling=false \
    --v=1
  wait_until "kube-controller-manager /healthz" kcm_healthy kube-controller-manager
  wait_until "serviceaccount default/default (controllers reconciling)" default_sa_exists kube-controller-manager
}

all_ready() {
  local c
  for c in "${COMPONENTS[@]}"; do component_pid "$c" >/dev/null || return 1; done
  etcd_healthy && apiserver_ready && kcm_healthy
}

cmd_status() {
  local c pid rc=0 h
  for c in "${COMPONENTS[@]}"; do
    if pid="$(component_pid "$c")"; then
      case "$c" in
        etcd) etcd_healthy && h=healthy || h=unhealthy ;;
        kube-apiserver) apiserver_ready && h=ready || h=not-ready ;;
        kube-controller-manager) kcm_healthy && h=healthy || h=unhealthy ;;
      esac
      [[ "$h" == healthy || "$h" == ready ]] || rc=3
      printf '%-24s running  pid %-8s %s\n' "$c" "$pid" "$h"
    else
      printf '%-24s stopped\n' "$c"
      rc=3
    fi
  done
  if [[ $rc -eq 0 ]]; then
    local v
    v="$(admin_curl "$SERVER/version" | sed -nE 's/.*"gitVersion": "([^"]+)".*/\1/p')"
    echo "server:     $SERVER ($v)"
    echo "kubeconfig: $KUBECONFIG_ADMIN"
  fi
  return $rc
}

lock_dir() {
  exec 9>"$DIR/.lock"
  if ! flock -n 9; then
    log "waiting for another cluster.sh working on $DIR"
    flock 9
  fi
}

cmd_start() {
  mkdir -p "$DIR" "$LOGS" "$RUN"
  lock_dir
  if all_ready; then
    log "already running"
    cmd_status
    return 0
  fi
  "$HERE/build-tools.sh" etcd kube >&2
  local t0=$SECONDS
  gen_pki
  write_kubeconfig "$KUBECONFIG_ADMIN" admin "$PKI/admin.crt" "$PKI/admin.key"
  write_kubeconfig "$KUBECONFIG_KCM" system:kube-controller-manager "$PKI/kube-controller-manager.crt" "$PKI/kube-controller-manager.key"
  # Fail before launching anything when a port we need belongs to someone else.
  local c p
  for c in etcd:$ETCD_PORT etcd:$ETCD_PEER_PORT kube-apiserver:$API_PORT kube-controller-manager:$KCM_PORT; do
    p="${c##*:}"; c="${c%:*}"
    if ! component_pid "$c" >/dev/null && ! port_free "$p"; then
      die "port 127.0.0.1:$p (for $c) is taken by another process; choose other ports with PLATFORM_K8S_PORT / PLATFORM_K8S_ETCD_PORT / PLATFORM_K8S_KCM_PORT"
    fi
  done
  start_etcd
  start_apiserver
  start_controller_manager
  log "control plane ready in $((SECONDS - t0))s"
  cmd_status
}

now_ms() { date +%s%3N; }

# stop_components NAME... : SIGTERM them together, wait (deadline), SIGKILL leftovers
stop_components() {
  local c pid t0 deadline pids=() names=()
  t0="$(now_ms)"
  for c in "$@"; do
    if pid="$(component_pid "$c")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$c")
    else
      rm -f "$(pidfile "$c")"
    fi
  done
  local i alive
  deadline=$((SECONDS + STOP_TIMEOUT))
  for i in "${!pids[@]}"; do
    pid="${pids[$i]}"; c="${names[$i]}"
    alive=1
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        log "$c (pid $pid) did not exit within ${STOP_TIMEOUT}s of SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        alive=0
        break
      fi
      sleep 0.05
    done
    rm -f "$(pidfile "$c")"
    [[ $alive -eq 0 ]] || log "stopped $c (pid $pid) after $(( $(now_ms) - t0 ))ms"
  done
}

cmd_stop() {
  [[ -d "$DIR" ]] || { log "nothing to stop ($DIR does not exist)"; return 0; }
  mkdir -p "$RUN"
  lock_dir
  # Clients of the apiserver first (together), then the apiserver's storage.
  stop_components kube-controller-manager kube-apiserver
  stop_components etcd
}

cmd_env() {
  echo "export KUBECONFIG='$KUBECONFIG_ADMIN'"
  echo "export PLATFORM_K8S_SERVER='$SERVER'"
  echo "export HELM_PLUGINS='$CACHE/helm-plugins'"
  echo "export PATH='$BIN':\"\$PATH\""
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) rc=0; cmd_status || rc=$?; exit "$rc" ;;
  env) cmd_env ;;
  clean) cmd_stop; rm -rf "$DIR"; log "removed $DIR" ;;
  *) echo "usage: $0 start|stop|status|env|clean" >&2; exit 2 ;;
esac
