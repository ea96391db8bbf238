#!/usr/bin/env bash
# A local Kubernetes control plane on 127.0.0.1 for development and e2e tests:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (one
# simulated node that runs pods and binds volumes), CoreDNS for cluster.local
# and, when its binary is given, petset-apiserver registered as the
# aggregated API apps/v1alpha1.
#
# Usage: hack/local-cluster.sh up|down|run|status
#   up      start the cluster and return once every component is ready
#   down    stop every process recorded by `up` and remove the cluster state
#   run     like up, then stay in the foreground; Ctrl-C (INT/TERM) runs down
#   status  show the recorded processes and whether they are running
#   stop-petset   stop only petset-apiserver (the cluster keeps running)
#   start-petset  start petset-apiserver again in a running cluster (after
#                 stop-petset, or to pick up a rebuilt binary); its previous
#                 log is kept as logs/petset-apiserver.log.<n>
#   restart-petset  stop-petset, then start-petset with the binary that was
#                 running (unless PETSET_APISERVER is set)
#   restart-etcd  start etcd again on its data directory and port (after it
#                 was killed, or stop it first if it runs)
#   restart-kube-apiserver, restart-kube-controller-manager,
#   restart-kube-scheduler  stop the component if it runs and start it
#                 again with the same flags; these and restart-etcd keep
#                 the previous log as logs/NAME.log.<n>
#
# Environment:
#   PETSET_APISERVER       path of the petset-apiserver binary (default
#                          _output/bin/petset-apiserver when it exists; set
#                          to an empty string to start without it)
#   PETSET_APISERVER_ARGS  extra flags for petset-apiserver (word-split), for
#                          example "--terminating-pet-margin=10s"; `up`
#                          records them and start-petset reuses them unless
#                          the variable is set again
#   PETSET_WAIT_READY      0 makes start-petset return once the process runs,
#                          without waiting for /readyz (a server that is
#                          meant to stay unready)
#   LOCAL_CLUSTER_TIMEOUT  seconds to wait for each component (default 120)
#   LOCAL_CLUSTER_DIR      state directory (default _output/local)
#
# The binaries come from hack/build-tools.sh (_output/bin). State lives in
# _output/local: pki/, kubeconfigs/, etcd data, logs/ and pids/. After `up`,
# _output/local/env holds KUBECONFIG, DNS_SERVER and the other endpoints.
set -euo pipefail

# shellcheck source=hack/lib/init.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/init.sh"
# shellcheck source=hack/lib/pki.sh
source "${PETSET_HACK}/lib/pki.sh"

readonly LOCAL_DIR="${LOCAL_CLUSTER_DIR:-${PETSET_OUTPUT}/local}"
readonly PKI_DIR="${LOCAL_DIR}/pki"
readonly KUBECONFIG_DIR="${LOCAL_DIR}/kubeconfigs"
readonly LOG_DIR="${LOCAL_DIR}/logs"
readonly PID_DIR="${LOCAL_DIR}/pids"
readonly ETCD_DATA_DIR="${LOCAL_DIR}/etcd"
readonly ADMIN_KUBECONFIG="${LOCAL_DIR}/kubeconfig"
readonly ENV_FILE="${LOCAL_DIR}/env"
readonly KWOK_STAGES_DIR="${PETSET_HACK}/lib/kwok"
readonly TIMEOUT="${LOCAL_CLUSTER_TIMEOUT:-120}"

readonly SERVICE_CIDR="10.96.0.0/16"
readonly FIRST_SERVICE_IP="10.96.0.1"
readonly POD_CIDR="10.244.0.0/16"
readonly CLUSTER_DOMAIN="cluster.local"
readonly NODE_NAME="kwok-node-0"
# The simulated node reports a loopback address, so anything that contacts
# "the kubelet" stays on this machine.
readonly NODE_IP="127.0.0.1"

readonly PETSET_NAMESPACE="petset-system"
readonly PETSET_SERVICE="petset-apiserver"
readonly PETSET_IDENTITY="system:serviceaccount:${PETSET_NAMESPACE}:petset-apiserver"

# Start order; down stops them in reverse.
readonly COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok coredns petset-apiserver)

# The component being started or waited for; named in failure messages.
CURRENT_COMPONENT=""
UP_COMPLETE=0

# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

kc() {
  "${PETSET_BIN}/kubectl" --kubeconfig "${ADMIN_KUBECONFIG}" "$@"
}

# proc::start NAME BINARY ARG... starts BINARY detached with setsid (so a Ctrl-C
# at the terminal reaches only this script), logging to logs/NAME.log, and
# records "PID BINARY" in pids/NAME.pid.
proc::start() {
  local name="$1" bin="$2"
  shift 2
  local log="${LOG_DIR}/${name}.log"
  CURRENT_COMPONENT="${name}"
  log::info "starting ${name} (log: ${log#"${PETSET_ROOT}/"})"
  {
    printf '# %s' "${bin}"
    printf ' %q' "$@"
    printf '\n'
  } >"${log}"
  setsid "${bin}" "$@" >>"${log}" 2>&1 </dev/null &
  local pid=$! exe i
  exe="$(readlink -f "${bin}")"
  echo "${pid} ${exe}" >"${PID_DIR}/${name}.pid"
  # Give the exec a moment so that liveness checks see the real binary.
  for i in $(seq 1 50); do
    [[ "$(readlink -f "/proc/${pid}/exe" 2>/dev/null)" == "${exe}" ]] && return 0
    kill -0 "${pid}" 2>/dev/null || return 0
    sleep 0.1
  done
}

# proc::pid NAME prints the recorded PID of NAME if that process is still the
# recorded binary (guards against a recycled PID).
proc::pid() {
  local file="${PID_DIR}/$1.pid" pid bin
  [[ -f "${file}" ]] || return 1
  read -r pid bin <"${file}"
  [[ -n "${pid}" ]] || return 1
  [[ "$(readlink -f "/proc/${pid}/exe" 2>/dev/null)" == "${bin}" ]] || return 1
  echo "${pid}"
}

proc::alive() {
  proc::pid "$1" >/dev/null
}

# proc::all_alive succeeds while every started component still runs; it names
# the first one that exited. Used to stop waiting early.
proc::all_alive() {
  local name
  for name in "${COMPONENTS[@]}"; do
    [[ -f "${PID_DIR}/${name}.pid" ]] || continue
    if ! proc::alive "${name}"; then
      log::error "${name} exited unexpectedly"
      CURRENT_COMPONENT="${name}"
      return 1
    fi
  done
}

# proc::stop NAME... sends TERM to each recorded process (in the given
# order), waits up to 15s for all of them to exit, then sends KILL to the
# ones left. Only PIDs recorded in pids/ are ever signalled.
proc::stop() {
  local name pid names=() pids=() i
  for name in "$@"; do
    if pid="$(proc::pid "${name}")"; then
      log::info "stopping ${name} (pid ${pid})"
      kill -TERM "${pid}" 2>/dev/null || true
      names+=("${name}")
      pids+=("${pid}")
    fi
  done
  for ((i = 0; i < 30; i++)); do
    proc::any_running "${pids[@]}" || break
    sleep 0.5
  done
  for i in "${!pids[@]}"; do
    if proc::any_running "${pids[i]}"; then
      log::warn "${names[i]} did not exit after TERM; sending KILL"
      kill -KILL "${pids[i]}" 2>/dev/null || true
    fi
  done
  for ((i = 0; i < 10; i++)); do
    proc::any_running "${pids[@]}" || break
    sleep 0.5
  done
  for name in "$@"; do
    rm -f "${PID_DIR}/${name}.pid"
  done
}

# proc::any_running PID... succeeds while one of the PIDs is a live process
# (an exited but not yet reaped child has no exe link and counts as gone).
proc::any_running() {
  local pid
  for pid in "$@"; do
    readlink "/proc/${pid}/exe" >/dev/null 2>&1 && return 0
  done
  return 1
}

# wait_for DESCRIPTION COMMAND... waits for COMMAND while all components run.
wait_for() {
  local what="$1"
  shift
  WAIT_ABORT_CHECK=proc::all_alive util::wait_for "${what}" "${TIMEOUT}" "$@"
}

http_ok() {
  curl -fsS --max-time 5 "$@"
}

# ---------------------------------------------------------------------------
# Configuration: ports, certificates, kubeconfigs
# ---------------------------------------------------------------------------

cluster::pick_ports() {
  util::pick_port ETCD_PORT tcp
  util::pick_port ETCD_PEER_PORT tcp
  util::pick_port APISERVER_PORT tcp
  util::pick_port CONTROLLER_MANAGER_PORT tcp
  util::pick_port SCHEDULER_PORT tcp
  util::pick_port KWOK_PORT tcp
  util::pick_port DNS_PORT tcp,udp
  util::pick_port DNS_HEALTH_PORT tcp
  util::pick_port DNS_READY_PORT tcp
  util::pick_port PETSET_PORT tcp
  APISERVER_URL="https://127.0.0.1:${APISERVER_PORT}"
  ETCD_URL="http://127.0.0.1:${ETCD_PORT}"
}

cluster::pki() {
  CURRENT_COMPONENT="pki"
  log::info "generating certificates in ${PKI_DIR#"${PETSET_ROOT}/"}"
  mkdir -p "${PKI_DIR}" "${KUBECONFIG_DIR}"

  pki::ca ca "local-cluster-ca"
  pki::ca front-proxy-ca "local-cluster-front-proxy-ca"
  pki::ca petset-serving-ca "petset-serving-ca"

  pki::cert kube-apiserver ca server "/CN=kube-apiserver" \
    DNS:localhost DNS:kubernetes DNS:kubernetes.default DNS:kubernetes.default.svc \
    "DNS:kubernetes.default.svc.${CLUSTER_DOMAIN}" IP:127.0.0.1 "IP:${FIRST_SERVICE_IP}"
  pki::cert front-proxy-client front-proxy-ca client "/CN=front-proxy-client"
  pki::cert admin ca client "/O=system:masters/CN=local-cluster-admin"
  pki::cert kube-controller-manager ca client "/CN=system:kube-controller-manager"
  pki::cert kube-scheduler ca client "/CN=system:kube-scheduler"
  pki::cert kwok ca client "/O=local-cluster:kwok/CN=kwok-controller"
  pki::cert coredns ca client "/O=local-cluster:coredns/CN=coredns"
  pki::cert petset-apiserver-client ca client \
    "/O=system:serviceaccounts/O=system:serviceaccounts:${PETSET_NAMESPACE}/CN=${PETSET_IDENTITY}"
  pki::cert petset-apiserver petset-serving-ca server "/CN=${PETSET_SERVICE}.${PETSET_NAMESPACE}.svc" \
    "DNS:${PETSET_SERVICE}.${PETSET_NAMESPACE}.svc" \
    "DNS:${PETSET_SERVICE}.${PETSET_NAMESPACE}.svc.${CLUSTER_DOMAIN}" \
    DNS:localhost IP:127.0.0.1

  # Service-account token signing key pair.
  pki::_key "${PKI_DIR}/service-account.key"
  openssl pkey -in "${PKI_DIR}/service-account.key" -pubout -out "${PKI_DIR}/service-account.pub" 2>/dev/null

  pki::kubeconfig "${ADMIN_KUBECONFIG}" "${APISERVER_URL}" ca admin
  local name
  for name in kube-controller-manager kube-scheduler kwok coredns petset-apiserver-client; do
    pki::kubeconfig "${KUBECONFIG_DIR}/${name}.kubeconfig" "${APISERVER_URL}" ca "${name}"
  done
}

# ---------------------------------------------------------------------------
# Components
# ---------------------------------------------------------------------------

etcd::start() {
  mkdir -p "${ETCD_DATA_DIR}"
  chmod 700 "${ETCD_DATA_DIR}"
  proc::start etcd "${PETSET_BIN}/etcd" \
    --name=local \
    --data-dir="${ETCD_DATA_DIR}" \
    --listen-client-urls="${ETCD_URL}" \
    --advertise-client-urls="${ETCD_URL}" \
    --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster="local=http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster-state=new \
    --unsafe-no-fsync=true \
    --log-level=warn
  wait_for "etcd health" http_ok "${ETCD_URL}/health"
}

apiserver::start() {
  mkdir -p "${LOCAL_DIR}/kube-apiserver"
  proc::start kube-apiserver "${PETSET_BIN}/kube-apiserver" \
    --bind-address=127.0.0.1 \
    --secure-port="${APISERVER_PORT}" \
    --advertise-address=127.0.0.1 \
    --cert-dir="${LOCAL_DIR}/kube-apiserver" \
    --etcd-servers="${ETCD_URL}" \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --endpoint-reconciler-type=none \
    --authorization-mode=Node,RBAC \
    --allow-privileged=true \
    --client-ca-file="${PKI_DIR}/ca.crt" \
    --tls-cert-file="${PKI_DIR}/kube-apiserver.crt" \
    --tls-private-key-file="${PKI_DIR}/kube-apiserver.key" \
    --service-account-issuer="https://kubernetes.default.svc.${CLUSTER_DOMAIN}" \
    --service-account-key-file="${PKI_DIR}/service-account.pub" \
    --service-account-signing-key-file="${PKI_DIR}/service-account.key" \
    --requestheader-client-ca-file="${PKI_DIR}/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-username-headers=X-Remote-User \
    --proxy-client-cert-file="${PKI_DIR}/front-proxy-client.crt" \
    --proxy-client-key-file="${PKI_DIR}/front-proxy-client.key" \
    --kubelet-preferred-address-types=InternalIP
  wait_for "kube-apiserver /readyz" kc get --raw /readyz
}

# cluster::rbac grants the local components that are not covered by the
# bootstrap policy exactly what they use.
cluster::rbac() {
  CURRENT_COMPONENT="kube-apiserver"
  log::info "applying RBAC for kwok and coredns"
  kc apply -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-cluster:kwok
rules:
- apiGroups: [""]
  resources: [nodes, nodes/status, pods, pods/status, persistentvolumes, persistentvolumes/status, persistentvolumeclaims, persistentvolumeclaims/status]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: ["coordination.k8s.io"]
  resources: [leases]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: ["", "events.k8s.io"]
  resources: [events]
  verbs: [create, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-cluster:kwok
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: local-cluster:kwok
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: local-cluster:kwok
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-cluster:coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: ["discovery.k8s.io"]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-cluster:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: local-cluster:coredns
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: local-cluster:coredns
EOF
}

controller_manager::start() {
  local kubeconfig="${KUBECONFIG_DIR}/kube-controller-manager.kubeconfig"
  proc::start kube-controller-manager "${PETSET_BIN}/kube-controller-manager" \
    --bind-address=127.0.0.1 \
    --secure-port="${CONTROLLER_MANAGER_PORT}" \
    --cert-dir="${LOCAL_DIR}/kube-controller-manager" \
    --kubeconfig="${kubeconfig}" \
    --authentication-kubeconfig="${kubeconfig}" \
    --authorization-kubeconfig="${kubeconfig}" \
    --controllers='*' \
    --use-service-account-credentials=true \
    --service-account-private-key-file="${PKI_DIR}/service-account.key" \
    --root-ca-file="${PKI_DIR}/ca.crt" \
    --cluster-signing-cert-file="${PKI_DIR}/ca.crt" \
    --cluster-signing-key-file="${PKI_DIR}/ca.key" \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --leader-elect=false
  wait_for "kube-controller-manager /healthz" \
    http_ok -k "https://127.0.0.1:${CONTROLLER_MANAGER_PORT}/healthz"
}

scheduler::start() {
  local kubeconfig="${KUBECONFIG_DIR}/kube-scheduler.kubeconfig"
  proc::start kube-scheduler "${PETSET_BIN}/kube-scheduler" \
    --bind-address=127.0.0.1 \
    --secure-port="${SCHEDULER_PORT}" \
    --cert-dir="${LOCAL_DIR}/kube-scheduler" \
    --kubeconfig="${kubeconfig}" \
    --authentication-kubeconfig="${kubeconfig}" \
    --authorization-kubeconfig="${kubeconfig}" \
    --leader-elect=false
  wait_for "kube-scheduler /readyz" http_ok -k "https://127.0.0.1:${SCHEDULER_PORT}/readyz"
}

kwok::start() {
  local config=() stage
  for stage in node-initialize node-heartbeat-with-lease pod-ready pod-complete pod-delete \
    pod-not-ready pod-ready-again pod-ready-node-back \
    pv-bind pv-delete pvc-provision pvc-resize pvc-delete; do
    config+=("--config=${KWOK_STAGES_DIR}/${stage}.yaml")
  done
  # kwok also reads $HOME/.kwok/kwok.yaml; give it an empty home so a
  # developer's own kwok configuration does not leak in.
  mkdir -p "${LOCAL_DIR}/kwok-home"
  HOME="${LOCAL_DIR}/kwok-home" proc::start kwok "${PETSET_BIN}/kwok" \
    --kubeconfig="${KUBECONFIG_DIR}/kwok.kubeconfig" \
    "${config[@]}" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip="${NODE_IP}" \
    --cidr="${POD_CIDR}" \
    --node-lease-duration-seconds=40 \
    --server-address="127.0.0.1:${KWOK_PORT}"
  wait_for "kwok /healthz" http_ok "http://127.0.0.1:${KWOK_PORT}/healthz"
}

node_untainted() {
  [[ -z "$(kc get node "${NODE_NAME}" -o jsonpath='{.spec.taints}')" ]]
}

default_storage_class() {
  local defaults
  defaults="$(kc get storageclass -o jsonpath='{range .items[*]}{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}{"\n"}{end}')"
  [[ "$(grep -c '^true$' <<<"${defaults}")" == 1 ]]
}

# cluster::node registers the simulated node, the default StorageClass that
# kwok's volume stages provision for, and waits until pods can be scheduled.
cluster::node() {
  CURRENT_COMPONENT="kwok"
  log::info "registering node ${NODE_NAME}"
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: ${NODE_NAME}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: ${NODE_NAME}
    kubernetes.io/os: linux
    type: kwok
EOF
  wait_for "node ${NODE_NAME} Ready" \
    kc wait --for=condition=Ready --timeout=5s "node/${NODE_NAME}"
  # The node lifecycle controller lifts the not-ready taint once it sees the
  # Ready condition; remove leftovers if it has not within the timeout.
  if ! WAIT_ABORT_CHECK=proc::all_alive util::wait_for "node ${NODE_NAME} without taints" 30 node_untainted; then
    log::warn "removing remaining taints from ${NODE_NAME}"
    kc patch node "${NODE_NAME}" --type=json -p '[{"op":"remove","path":"/spec/taints"}]' >/dev/null
  fi

  log::info "creating the default StorageClass (kwok-volume)"
  kc apply -f "${KWOK_STAGES_DIR}/storage-class.yaml" >/dev/null
  wait_for "default StorageClass" default_storage_class
  wait_for "ServiceAccount default/default" kc get serviceaccount default -n default
}

coredns::start() {
  local corefile="${LOCAL_DIR}/coredns/Corefile"
  mkdir -p "${LOCAL_DIR}/coredns"
  cat >"${corefile}" <<EOF
${CLUSTER_DOMAIN}:${DNS_PORT} {
    bind 127.0.0.1
    errors
    log
    health 127.0.0.1:${DNS_HEALTH_PORT}
    ready 127.0.0.1:${DNS_READY_PORT}
    kubernetes ${CLUSTER_DOMAIN} {
        kubeconfig ${KUBECONFIG_DIR}/coredns.kubeconfig
        pods insecure
        ttl 5
    }
}
EOF
  proc::start coredns "${PETSET_BIN}/coredns" -conf "${corefile}"
  wait_for "CoreDNS /ready" http_ok "http://127.0.0.1:${DNS_READY_PORT}/ready"
}

# ---------------------------------------------------------------------------
# petset-apiserver
# ---------------------------------------------------------------------------

petset::rbac() {
  CURRENT_COMPONENT="petset-apiserver"
  log::info "applying RBAC for ${PETSET_IDENTITY}"
  # The same namespace, identity and RBAC as a real deployment (artifacts/):
  # delegated authentication and authorization, the bundled controller's
  # grants, and the aggregated view/edit roles for users.
  local base="${PETSET_ROOT}/artifacts/deploy/base" f
  for f in namespace serviceaccount rbac-delegation rbac-server rbac-user-roles; do
    kc apply -f "${base}/${f}.yaml" >/dev/null
  done
}

# petset::start is the single place that defines how petset-apiserver runs.
petset::start() {
  local kubeconfig="${KUBECONFIG_DIR}/petset-apiserver-client.kubeconfig"
  local extra=()
  if [[ -n "${PETSET_APISERVER_ARGS:-}" ]]; then
    read -r -a extra <<<"${PETSET_APISERVER_ARGS}"
  fi
  proc::start petset-apiserver "${PETSET_APISERVER_BIN}" \
    --secure-port="${PETSET_PORT}" \
    --bind-address=127.0.0.1 \
    --tls-cert-file="${PKI_DIR}/petset-apiserver.crt" \
    --tls-private-key-file="${PKI_DIR}/petset-apiserver.key" \
    --etcd-servers="${ETCD_URL}" \
    --kubeconfig="${kubeconfig}" \
    --authentication-kubeconfig="${kubeconfig}" \
    --authorization-kubeconfig="${kubeconfig}" \
    "${extra[@]}"
  if [[ "${PETSET_WAIT_READY:-1}" == "0" ]]; then
    return 0
  fi
  wait_for "petset-apiserver /readyz" http_ok \
    --cacert "${PKI_DIR}/petset-serving-ca.crt" \
    --cert "${PKI_DIR}/admin.crt" --key "${PKI_DIR}/admin.key" \
    "https://127.0.0.1:${PETSET_PORT}/readyz"
}

petset::register() {
  CURRENT_COMPONENT="petset-apiserver"
  log::info "registering APIService v1alpha1.apps -> localhost:${PETSET_PORT}"
  kc apply -f - >/dev/null <<EOF
# The aggregator resolves an ExternalName service to <externalName>:<port>.
apiVersion: v1
kind: Service
metadata:
  name: ${PETSET_SERVICE}
  namespace: ${PETSET_NAMESPACE}
spec:
  type: ExternalName
  externalName: localhost
  ports:
  - name: https
    port: ${PETSET_PORT}
    protocol: TCP
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1alpha1.apps
spec:
  group: apps
  version: v1alpha1
  # Same group priority as the built-in apps group and a lower version
  # priority than apps/v1, so apps/v1 stays the preferred version.
  groupPriorityMinimum: 17800
  versionPriority: 10
  service:
    name: ${PETSET_SERVICE}
    namespace: ${PETSET_NAMESPACE}
    port: ${PETSET_PORT}
  caBundle: $(base64 -w0 <"${PKI_DIR}/petset-serving-ca.crt")
EOF
  wait_for "APIService v1alpha1.apps Available" \
    kc wait --for=condition=Available --timeout=5s apiservice/v1alpha1.apps
  wait_for "kubectl get petsets" kc get petsets --all-namespaces
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

cluster::write_env() {
  local petset_url=""
  if [[ -n "${PETSET_APISERVER_BIN}" ]]; then
    petset_url="https://127.0.0.1:${PETSET_PORT}"
  fi
  cat >"${ENV_FILE}" <<EOF
KUBECONFIG=${ADMIN_KUBECONFIG}
DNS_SERVER=127.0.0.1:${DNS_PORT}
CLUSTER_DOMAIN=${CLUSTER_DOMAIN}
KUBE_APISERVER_URL=${APISERVER_URL}
ETCD_URL=${ETCD_URL}
ETCD_PEER_PORT=${ETCD_PEER_PORT}
KUBE_APISERVER_PORT=${APISERVER_PORT}
KUBE_SCHEDULER_PORT=${SCHEDULER_PORT}
KUBE_CONTROLLER_MANAGER_PORT=${CONTROLLER_MANAGER_PORT}
PETSET_APISERVER_URL=${petset_url}
PETSET_APISERVER_PORT=${PETSET_PORT}
PETSET_APISERVER_ARGS=${PETSET_APISERVER_ARGS:-}
PETSET_SERVING_CA=${PKI_DIR}/petset-serving-ca.crt
PETSET_APISERVER_KUBECONFIG=${KUBECONFIG_DIR}/petset-apiserver-client.kubeconfig
NODE_NAME=${NODE_NAME}
STORAGE_CLASS=kwok-volume
PKI_DIR=${PKI_DIR}
LOG_DIR=${LOG_DIR}
PID_DIR=${PID_DIR}
LOCAL_CLUSTER_DIR=${LOCAL_DIR}
EOF
}

# cluster::on_exit reports a failed `up`: which component, where its log is
# and its last lines; then stops everything that was started.
cluster::on_exit() {
  local status=$?
  if ((UP_COMPLETE)) || ((status == 0)); then
    return 0
  fi
  trap - INT TERM
  local component="${CURRENT_COMPONENT:-unknown}"
  local log="${LOG_DIR}/${component}.log"
  log::error "local cluster failed to start: ${component}"
  if [[ -f "${log}" ]]; then
    log::error "log: ${log}"
    echo "----- last 20 lines of ${log} -----" >&2
    tail -n 20 "${log}" >&2
    echo "-----" >&2
  fi
  cluster::stop_processes
  log::error "stopped the local cluster; state and logs kept in ${LOCAL_DIR} (hack/local-cluster.sh down removes them)"
  exit "${status}"
}

cluster::stop_processes() {
  local i reversed=()
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    reversed+=("${COMPONENTS[i]}")
  done
  proc::stop "${reversed[@]}"
}

cluster::running_components() {
  local name running=()
  for name in "${COMPONENTS[@]}"; do
    proc::alive "${name}" && running+=("${name}")
  done
  echo "${running[*]}"
}

cluster::resolve_petset() {
  if [[ -z "${PETSET_APISERVER+set}" ]]; then
    PETSET_APISERVER_BIN=""
    [[ -x "${PETSET_BIN}/petset-apiserver" ]] && PETSET_APISERVER_BIN="${PETSET_BIN}/petset-apiserver"
  else
    PETSET_APISERVER_BIN="${PETSET_APISERVER}"
  fi
  if [[ -n "${PETSET_APISERVER_BIN}" && ! -x "${PETSET_APISERVER_BIN}" ]]; then
    log::fatal "PETSET_APISERVER=${PETSET_APISERVER_BIN} is not an executable file"
  fi
  if [[ -n "${PETSET_APISERVER_BIN}" ]]; then
    PETSET_APISERVER_BIN="$(readlink -f "${PETSET_APISERVER_BIN}")"
  fi
}

cmd::up() {
  util::require_commands openssl curl perl setsid base64 sha256sum
  local bin
  for bin in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok coredns; do
    [[ -x "${PETSET_BIN}/${bin}" ]] || log::fatal "${PETSET_BIN}/${bin} is missing; run hack/build-tools.sh (make tools)"
  done
  cluster::resolve_petset

  if [[ -d "${LOCAL_DIR}" ]]; then
    local running
    running="$(cluster::running_components)"
    if [[ -n "${running}" ]]; then
      log::fatal "a local cluster is already running (${running}); run hack/local-cluster.sh down first"
    fi
    log::info "removing stale state in ${LOCAL_DIR#"${PETSET_ROOT}/"}"
    rm -rf "${LOCAL_DIR}"
  fi
  mkdir -p "${LOG_DIR}" "${PID_DIR}"

  local start=${SECONDS}
  trap cluster::on_exit EXIT
  trap 'exit 130' INT TERM

  cluster::pick_ports
  cluster::pki
  etcd::start
  apiserver::start
  cluster::rbac
  controller_manager::start
  scheduler::start
  kwok::start
  cluster::node
  coredns::start
  if [[ -n "${PETSET_APISERVER_BIN}" ]]; then
    petset::rbac
    petset::start
    petset::register
  fi
  cluster::write_env
  UP_COMPLETE=1
  trap - EXIT INT TERM

  log::info "local cluster ready in $((SECONDS - start))s"
  log::info "  kube-apiserver  ${APISERVER_URL}"
  log::info "  CoreDNS         127.0.0.1:${DNS_PORT} (${CLUSTER_DOMAIN})"
  if [[ -n "${PETSET_APISERVER_BIN}" ]]; then
    log::info "  petset-apiserver https://127.0.0.1:${PETSET_PORT} (APIService v1alpha1.apps Available)"
  else
    log::warn "  petset-apiserver not started: no binary (build _output/bin/petset-apiserver or set PETSET_APISERVER)"
  fi
  log::info "  logs            ${LOG_DIR}"
  log::info "  environment     ${ENV_FILE}"
  echo "export KUBECONFIG=${ADMIN_KUBECONFIG}"
}

cmd::down() {
  if [[ ! -d "${LOCAL_DIR}" ]]; then
    log::info "no local cluster state in ${LOCAL_DIR#"${PETSET_ROOT}/"}; nothing to do"
    return 0
  fi
  cluster::stop_processes
  rm -rf "${LOCAL_DIR}"
  log::info "local cluster stopped and ${LOCAL_DIR#"${PETSET_ROOT}/"} removed"
}

cmd::status() {
  local name pid
  if [[ ! -d "${PID_DIR}" ]] || [[ -z "$(ls -A "${PID_DIR}")" ]]; then
    log::info "no local cluster is running"
    return 0
  fi
  for name in "${COMPONENTS[@]}"; do
    [[ -f "${PID_DIR}/${name}.pid" ]] || continue
    if pid="$(proc::pid "${name}")"; then
      printf '%-24s running (pid %s)\n' "${name}" "${pid}"
    else
      printf '%-24s not running\n' "${name}"
    fi
  done
  [[ -f "${ENV_FILE}" ]] && cat "${ENV_FILE}"
  return 0
}

# cluster::load_env reads the endpoints of a running cluster from its env file.
cluster::load_env() {
  [[ -f "${ENV_FILE}" ]] || log::fatal "no local cluster in ${LOCAL_DIR#"${PETSET_ROOT}/"}; run hack/local-cluster.sh up first"
  ETCD_URL="$(sed -n 's/^ETCD_URL=//p' "${ENV_FILE}")"
  PETSET_PORT="$(sed -n 's/^PETSET_APISERVER_PORT=//p' "${ENV_FILE}")"
  [[ -n "${ETCD_URL}" && -n "${PETSET_PORT}" ]] || log::fatal "${ENV_FILE} lacks ETCD_URL or PETSET_APISERVER_PORT"
  # The flags petset-apiserver was started with, unless given again.
  if [[ -z "${PETSET_APISERVER_ARGS+set}" ]]; then
    PETSET_APISERVER_ARGS="$(sed -n 's/^PETSET_APISERVER_ARGS=//p' "${ENV_FILE}")"
  fi
}

# cluster::record_petset_args writes the flags petset-apiserver now runs with
# to the env file.
cluster::record_petset_args() {
  local tmp="${ENV_FILE}.tmp"
  grep -v '^PETSET_APISERVER_ARGS=' "${ENV_FILE}" >"${tmp}" || true
  printf 'PETSET_APISERVER_ARGS=%s\n' "${PETSET_APISERVER_ARGS:-}" >>"${tmp}"
  mv "${tmp}" "${ENV_FILE}"
}

cmd::stop_petset() {
  [[ -d "${PID_DIR}" ]] || log::fatal "no local cluster in ${LOCAL_DIR#"${PETSET_ROOT}/"}"
  proc::stop petset-apiserver
}

cmd::start_petset() {
  cluster::load_env
  cluster::resolve_petset
  [[ -n "${PETSET_APISERVER_BIN}" ]] || log::fatal "no petset-apiserver binary (build _output/bin/petset-apiserver or set PETSET_APISERVER)"
  if proc::alive petset-apiserver; then
    log::fatal "petset-apiserver is already running; run hack/local-cluster.sh stop-petset first"
  fi
  local log="${LOG_DIR}/petset-apiserver.log" n=1
  if [[ -f "${log}" ]]; then
    while [[ -e "${log}.${n}" ]]; do n=$((n + 1)); done
    mv "${log}" "${log}.${n}"
  fi
  petset::start
  cluster::record_petset_args
  if [[ "${PETSET_WAIT_READY:-1}" == "0" ]]; then
    log::info "petset-apiserver started on https://127.0.0.1:${PETSET_PORT} (not waiting for it to be ready)"
    return 0
  fi
  wait_for "kubectl get petsets" kc get petsets --all-namespaces
  log::info "petset-apiserver running on https://127.0.0.1:${PETSET_PORT}"
}

# cmd::restart_petset stops petset-apiserver and starts it again with the
# binary it was running (unless PETSET_APISERVER names another one) and the
# recorded flags.
cmd::restart_petset() {
  local pidfile="${PID_DIR}/petset-apiserver.pid"
  if [[ -z "${PETSET_APISERVER+set}" && -f "${pidfile}" ]]; then
    local pid binary
    read -r pid binary <"${pidfile}" || true
    [[ -n "${binary:-}" ]] && export PETSET_APISERVER="${binary}"
  fi
  cmd::stop_petset
  cmd::start_petset
}

# proc::keep_log NAME moves logs/NAME.log aside as logs/NAME.log.<n>.
proc::keep_log() {
  local log="${LOG_DIR}/$1.log" n=1
  if [[ -f "${log}" ]]; then
    while [[ -e "${log}.${n}" ]]; do n=$((n + 1)); done
    mv "${log}" "${log}.${n}"
  fi
}

# cluster::load_ports reads the ports etcd and kube-apiserver were started
# on from the env file.
cluster::load_ports() {
  cluster::load_env
  ETCD_PEER_PORT="$(sed -n 's/^ETCD_PEER_PORT=//p' "${ENV_FILE}")"
  APISERVER_PORT="$(sed -n 's/^KUBE_APISERVER_PORT=//p' "${ENV_FILE}")"
  SCHEDULER_PORT="$(sed -n 's/^KUBE_SCHEDULER_PORT=//p' "${ENV_FILE}")"
  CONTROLLER_MANAGER_PORT="$(sed -n 's/^KUBE_CONTROLLER_MANAGER_PORT=//p' "${ENV_FILE}")"
  [[ -n "${ETCD_PEER_PORT}" && -n "${APISERVER_PORT}" && -n "${SCHEDULER_PORT}" && -n "${CONTROLLER_MANAGER_PORT}" ]] ||
    log::fatal "${ENV_FILE} lacks ETCD_PEER_PORT, KUBE_APISERVER_PORT, KUBE_SCHEDULER_PORT or KUBE_CONTROLLER_MANAGER_PORT"
  APISERVER_URL="https://127.0.0.1:${APISERVER_PORT}"
}

# cmd::restart NAME stops etcd, kube-apiserver, kube-controller-manager or
# kube-scheduler (TERM, then KILL) if it
# runs and starts it again with the flags `up` gave it: etcd on the same data
# directory. Only the recorded PID is signalled.
cmd::restart() {
  local name="$1"
  cluster::load_ports
  proc::stop "${name}"
  proc::keep_log "${name}"
  case "${name}" in
    etcd) etcd::start ;;
    kube-apiserver) apiserver::start ;;
    kube-controller-manager) controller_manager::start ;;
    kube-scheduler) scheduler::start ;;
    *) log::fatal "restart: unknown component ${name}" ;;
  esac
  log::info "${name} running again"
}

cmd::run() {
  cmd::up
  log::info "running in the foreground; press Ctrl-C to stop"
  trap 'log::info "stopping"; cmd::down; exit 0' INT TERM
  while true; do
    if ! proc::all_alive; then
      local log="${LOG_DIR}/${CURRENT_COMPONENT}.log"
      log::error "log: ${log}"
      tail -n 20 "${log}" >&2 || true
      cmd::down
      exit 1
    fi
    # sleep in the background so the trap runs as soon as a signal arrives.
    sleep 2 &
    wait $! || true
  done
}

main() {
  case "${1:-}" in
    up) cmd::up ;;
    down) cmd::down ;;
    run) cmd::run ;;
    status) cmd::status ;;
    stop-petset) cmd::stop_petset ;;
    start-petset) cmd::start_petset ;;
    restart-etcd) cmd::restart etcd ;;
    restart-kube-apiserver) cmd::restart kube-apiserver ;;
    restart-kube-controller-manager) cmd::restart kube-controller-manager ;;
    restart-petset) cmd::restart_petset ;;
    restart-kube-scheduler) cmd::restart kube-scheduler ;;
    *)
      sed -n '2,41p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
