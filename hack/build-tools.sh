#!/usr/bin/env bash
# Builds the pinned binaries the local cluster runs into _output/bin:
#
#   kube-apiserver kube-controller-manager kube-scheduler kubectl  (hack/tools)
#   etcd etcdctl                                                    (hack/tools/etcd)
#   kwok                                                            (hack/tools/kwok)
#   coredns                                                         (hack/tools/coredns)
#   petset-image crane                                              (hack/tools/image)
#
# Each group is rebuilt only when its stamp no longer matches: the stamp is a
# hash of the group's go.mod, go.sum and Go sources, its build recipe below
# and the Go version. Module sources come from the Go module proxy.
#
# Usage: hack/build-tools.sh [--force] [GROUP...]
#   GROUP is one of: kubernetes etcd kwok coredns image (default: all)
#   --force                rebuild even when the stamps match
#   BUILD_TOOLS_PARALLEL=0 build groups one after the other (default: groups
#                          build concurrently; each `go build` is parallel too)
set -euo pipefail

# shellcheck source=hack/lib/init.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/init.sh"

readonly TOOLS_DIR="${PETSET_HACK}/tools"
readonly STAMP_DIR="${PETSET_BIN}/.stamps"
readonly BUILD_LOG_DIR="${PETSET_OUTPUT}/logs/build-tools"
readonly ALL_GROUPS=(kubernetes etcd kwok coredns image)

# The tools modules are standalone: never let a go.work at the repository
# root pull them into the project's workspace.
export GOWORK=off
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0

# Flags shared by every group: static, path-independent, stripped binaries.
readonly COMMON_BUILD_FLAGS=(-trimpath)

# ---------------------------------------------------------------------------
# Groups: module directory, binaries and build recipe of each.
# ---------------------------------------------------------------------------

tools::module_dir() {
  case "$1" in
    kubernetes) echo "${TOOLS_DIR}" ;;
    etcd | kwok | coredns | image) echo "${TOOLS_DIR}/$1" ;;
    *) return 1 ;;
  esac
}

tools::binaries() {
  case "$1" in
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler kubectl" ;;
    etcd) echo "etcd etcdctl" ;;
    kwok) echo "kwok" ;;
    coredns) echo "coredns" ;;
    image) echo "petset-image crane" ;;
    *) return 1 ;;
  esac
}

# tools::module_version MODULE prints the version of MODULE the current
# directory's go.mod selects.
tools::module_version() {
  go list -m -f '{{.Version}}' "$1"
}

# Each recipe runs in the group's module directory and writes its binaries
# into the directory given as $1.

tools::build::kubernetes() {
  local out="$1" version major minor pkg ldflags=(-s -w)
  version="$(tools::module_version k8s.io/kubernetes)"
  major="${version#v}"
  major="${major%%.*}"
  minor="${version#v*.}"
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=(
      "-X ${pkg}.gitVersion=${version}"
      "-X ${pkg}.gitMajor=${major}"
      "-X ${pkg}.gitMinor=${minor}"
      "-X ${pkg}.gitTreeState=clean"
    )
  done
  # One invocation for the four commands so shared packages compile once.
  # The tags match the upstream release build (hack/lib/golang.sh).
  go build "${COMMON_BUILD_FLAGS[@]}" -tags selinux,notest,grpcnotrace \
    -ldflags "${ldflags[*]}" -o "${out}/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
}

tools::build::etcd() {
  local out="$1" version
  version="$(tools::module_version go.etcd.io/etcd/server/v3)"
  local etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${version}"
  # The etcd main package is the root of go.etcd.io/etcd/server/v3.
  go build "${COMMON_BUILD_FLAGS[@]}" -ldflags "${etcd_ldflags}" -o "${out}/etcd" go.etcd.io/etcd/server/v3 || return 1
  go build "${COMMON_BUILD_FLAGS[@]}" -ldflags "${etcd_ldflags}" -o "${out}/etcdctl" go.etcd.io/etcd/etcdctl/v3
}

tools::build::kwok() {
  local out="$1" modfile
  modfile="$(tools::patched_modfile sigs.k8s.io/kwok)" || return 1
  go build "${COMMON_BUILD_FLAGS[@]}" -modfile "${modfile}" -ldflags "-s -w" \
    -o "${out}/kwok" sigs.k8s.io/kwok/cmd/kwok
}

# tools::patched_modfile MODULE copies MODULE from the module cache into
# _output/patched, applies the current directory's *.patch files to the copy
# (paths relative to MODULE's root, as git diff writes them), and prints the
# path of a copy of the current go.mod that replaces MODULE with the patched
# copy, for go build -modfile. (go build -overlay refuses files in the module
# cache.)
tools::patched_modfile() {
  local module="$1" src work patch
  # go list -m names no directory for a module not yet downloaded.
  go mod download "${module}" || return 1
  src="$(go list -m -f '{{.Dir}}' "${module}")" || return 1
  [[ -d "${src}" ]] || {
    echo "no directory for ${module} in the module cache" >&2
    return 1
  }
  work="${PETSET_OUTPUT}/patched/${module//\//_}"
  rm -rf "${work}"
  mkdir -p "${work}"
  cp -R "${src}" "${work}/src"
  chmod -R u+w "${work}/src"
  for patch in *.patch; do
    [[ -f "${patch}" ]] || continue
    patch --quiet --forward --no-backup-if-mismatch -p1 -d "${work}/src" <"${patch}" >&2 || {
      echo "${patch} does not apply to ${module} (${src})" >&2
      return 1
    }
  done
  cp go.mod "${work}/go.mod"
  cp go.sum "${work}/go.sum"
  go mod edit -replace "${module}=${work}/src" "${work}/go.mod" || return 1
  echo "${work}/go.mod"
}

tools::build::coredns() {
  local out="$1"
  go build "${COMMON_BUILD_FLAGS[@]}" -ldflags "-s -w" -o "${out}/coredns" .
}

# petset-image builds the server's container image without a container
# runtime (make image, make release); crane copies it into a registry.
tools::build::image() {
  local out="$1" version
  version="$(tools::module_version github.com/google/go-containerregistry)"
  go build "${COMMON_BUILD_FLAGS[@]}" -o "${out}/petset-image" . || return 1
  go build "${COMMON_BUILD_FLAGS[@]}" \
    -ldflags "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=${version}" \
    -o "${out}/crane" github.com/google/go-containerregistry/cmd/crane
}

# ---------------------------------------------------------------------------
# Stamps
# ---------------------------------------------------------------------------

# tools::fingerprint GROUP prints the hash that the group's stamps record.
tools::fingerprint() {
  local group="$1" dir
  dir="$(tools::module_dir "${group}")"
  {
    # Module pins and the (few) Go sources of the module directory itself.
    util::sha256_of "${dir}/go.mod" "${dir}/go.sum" "${dir}"/*.go
    # The recipe and the flags it uses.
    declare -f "tools::build::${group}"
    # Patches to the group's modules, and the code that applies them.
    if compgen -G "${dir}/*.patch" >/dev/null; then
      util::sha256_of "${dir}"/*.patch
      declare -f tools::patched_modfile
    fi
    printf '%s\n' "${COMMON_BUILD_FLAGS[@]}" "GOFLAGS=${GOFLAGS}" "CGO_ENABLED=${CGO_ENABLED}"
    go env GOVERSION GOOS GOARCH
  } | sha256sum | cut -d' ' -f1
}

# tools::is_current GROUP FINGERPRINT succeeds when every binary of GROUP
# exists and its stamp matches FINGERPRINT.
tools::is_current() {
  local group="$1" fingerprint="$2" bin
  for bin in $(tools::binaries "${group}"); do
    [[ -x "${PETSET_BIN}/${bin}" ]] || return 1
    [[ -f "${STAMP_DIR}/${bin}" ]] || return 1
    [[ "$(cat "${STAMP_DIR}/${bin}")" == "${fingerprint}" ]] || return 1
  done
}

# tools::build_group GROUP FINGERPRINT builds GROUP into a scratch directory
# and only then moves the binaries and stamps into place, so an interrupted
# build never leaves a binary that looks current.
tools::build_group() {
  local group="$1" fingerprint="$2" dir scratch bin
  dir="$(tools::module_dir "${group}")"
  scratch="${PETSET_BIN}/.build-${group}"
  rm -rf "${scratch}"
  mkdir -p "${scratch}"
  (cd "${dir}" && "tools::build::${group}" "${scratch}")
  for bin in $(tools::binaries "${group}"); do
    [[ -x "${scratch}/${bin}" ]] || {
      echo "build of ${group} produced no ${bin}" >&2
      return 1
    }
  done
  for bin in $(tools::binaries "${group}"); do
    mv -f "${scratch}/${bin}" "${PETSET_BIN}/${bin}"
    echo "${fingerprint}" >"${STAMP_DIR}/${bin}"
  done
  rm -rf "${scratch}"
}

# tools::build_logged GROUP FINGERPRINT LOG builds GROUP with all output in
# LOG and records the build's duration in seconds in LOG.seconds.
tools::build_logged() {
  local group="$1" fingerprint="$2" log="$3" start rc=0
  start="$(date +%s)"
  tools::build_group "${group}" "${fingerprint}" >"${log}" 2>&1 || rc=$?
  util::elapsed "${start}" >"${log}.seconds"
  return "${rc}"
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

main() {
  local force=0 groups=() arg
  for arg in "$@"; do
    case "${arg}" in
      --force) force=1 ;;
      -h | --help)
        sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
      *)
        tools::module_dir "${arg}" >/dev/null || log::fatal "unknown tool group '${arg}' (known: ${ALL_GROUPS[*]})"
        groups+=("${arg}")
        ;;
    esac
  done
  ((${#groups[@]} > 0)) || groups=("${ALL_GROUPS[@]}")

  util::require_commands go sha256sum
  mkdir -p "${PETSET_BIN}" "${STAMP_DIR}" "${BUILD_LOG_DIR}"

  local group fingerprint stale=() fingerprints=()
  for group in "${groups[@]}"; do
    fingerprint="$(cd "$(tools::module_dir "${group}")" && tools::fingerprint "${group}")"
    if ((force == 0)) && tools::is_current "${group}" "${fingerprint}"; then
      log::info "${group}: up to date ($(tools::binaries "${group}"))"
      continue
    fi
    stale+=("${group}")
    fingerprints+=("${fingerprint}")
  done
  if ((${#stale[@]} == 0)); then
    return 0
  fi

  local start_all i pids=() failed=() log
  start_all="$(date +%s)"
  trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM
  for i in "${!stale[@]}"; do
    group="${stale[i]}"
    log="${BUILD_LOG_DIR}/${group}.log"
    log::info "${group}: building $(tools::binaries "${group}") (log: ${log#"${PETSET_ROOT}/"})"
    if [[ "${BUILD_TOOLS_PARALLEL:-1}" == 1 ]]; then
      tools::build_logged "${group}" "${fingerprints[i]}" "${log}" &
      pids[i]=$!
    elif tools::build_logged "${group}" "${fingerprints[i]}" "${log}"; then
      log::info "${group}: built in $(cat "${log}.seconds")s"
    else
      failed+=("${group}")
    fi
  done
  if [[ "${BUILD_TOOLS_PARALLEL:-1}" == 1 ]]; then
    for i in "${!stale[@]}"; do
      group="${stale[i]}"
      log="${BUILD_LOG_DIR}/${group}.log"
      if wait "${pids[i]}"; then
        log::info "${group}: built in $(cat "${log}.seconds")s"
      else
        failed+=("${group}")
      fi
    done
  fi
  trap - INT TERM

  for group in "${failed[@]}"; do
    log="${BUILD_LOG_DIR}/${group}.log"
    log::error "${group}: build failed; last lines of ${log#"${PETSET_ROOT}/"}:"
    tail -n 30 "${log}" >&2
  done
  ((${#failed[@]} == 0)) || log::fatal "failed to build: ${failed[*]}"
  log::info "built ${stale[*]} in $(util::elapsed "${start_all}")s total; binaries in ${PETSET_BIN#"${PETSET_ROOT}/"}"
}

main "$@"
