#!/usr/bin/env bash
# Common setup for the scripts under hack/: repository paths, logging and
# small utilities. Source it; it does not change shell options of the caller
# beyond what the calling script already set.
# shellcheck disable=SC2034 # the path variables are used by the sourcing scripts

if [[ -n "${PETSET_HACK_LIB_INIT:-}" ]]; then
  return 0
fi
readonly PETSET_HACK_LIB_INIT=1

PETSET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
readonly PETSET_ROOT
readonly PETSET_OUTPUT="${PETSET_ROOT}/_output"
readonly PETSET_BIN="${PETSET_OUTPUT}/bin"
readonly PETSET_HACK="${PETSET_ROOT}/hack"

# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------

log::_emit() {
  local level="$1"
  shift
  printf '%s %-5s %s\n' "$(date -u +%H:%M:%S)" "${level}" "$*" >&2
}

log::info() { log::_emit INFO "$@"; }
log::warn() { log::_emit WARN "$@"; }
log::error() { log::_emit ERROR "$@"; }

# log::fatal prints the message and exits the script with status 1.
log::fatal() {
  log::_emit ERROR "$@"
  exit 1
}

# ---------------------------------------------------------------------------
# Utilities
# ---------------------------------------------------------------------------

# util::require_commands fails with a clear message unless every named
# command is on PATH.
util::require_commands() {
  local cmd missing=()
  for cmd in "$@"; do
    command -v "${cmd}" >/dev/null 2>&1 || missing+=("${cmd}")
  done
  if ((${#missing[@]} > 0)); then
    log::fatal "required command(s) not found on PATH: ${missing[*]}"
  fi
}

# util::elapsed START prints the whole seconds elapsed since START (a value
# of `date +%s`).
util::elapsed() {
  local start="$1"
  echo $(($(date +%s) - start))
}

# util::sha256_of FILE... prints one hash covering the names and contents of
# the given files (missing files hash as empty).
util::sha256_of() {
  local f
  for f in "$@"; do
    printf '== %s\n' "${f#"${PETSET_ROOT}/"}"
    if [[ -f "${f}" ]]; then
      cat "${f}"
    fi
  done | sha256sum | cut -d' ' -f1
}

# util::port_is_free PROTO PORT succeeds when PORT can be bound on 127.0.0.1
# for PROTO (tcp or udp).
util::port_is_free() {
  local proto="$1" port="$2"
  perl -MIO::Socket::INET -e '
    my ($proto, $port) = @ARGV;
    my %opts = (LocalAddr => "127.0.0.1", LocalPort => $port, Proto => $proto, ReuseAddr => 0);
    $opts{Listen} = 1 if $proto eq "tcp";
    my $s = IO::Socket::INET->new(%opts) or exit 1;
    close($s);
    exit 0;
  ' "${proto}" "${port}"
}

# util::pick_port VAR PROTOS assigns to the variable named VAR a port in
# 20000-32767 (below the usual ephemeral range) that is free on 127.0.0.1 for
# every protocol in PROTOS ("tcp", "udp" or "tcp,udp") and that no earlier
# call has handed out. It assigns rather than prints because the record of
# handed-out ports, PETSET_PICKED_PORTS, only survives in the calling shell:
# called inside $(...) it would be lost with the subshell and two callers
# could get the same port. A call from a subshell therefore fails.
PETSET_PICKED_PORTS=" "
util::pick_port() {
  local var="$1" protos="$2" port proto ok attempt
  if [[ ! "${var}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    log::error "util::pick_port: ${var@Q} is not a variable name"
    return 1
  fi
  if ((BASH_SUBSHELL > 0)); then
    log::error "util::pick_port ${var} called in a subshell: the ports it hands out would not be recorded"
    return 1
  fi
  for attempt in $(seq 1 200); do
    port=$((20000 + RANDOM % 12768))
    [[ "${PETSET_PICKED_PORTS}" == *" ${port} "* ]] && continue
    ok=1
    for proto in ${protos//,/ }; do
      if ! util::port_is_free "${proto}" "${port}"; then
        ok=0
        break
      fi
    done
    if ((ok)); then
      PETSET_PICKED_PORTS+="${port} "
      printf -v "${var}" '%s' "${port}"
      return 0
    fi
  done
  log::error "no free ${protos} port found on 127.0.0.1 after ${attempt} attempts"
  return 1
}

# util::wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND... polls COMMAND (output
# discarded) every second until it succeeds. It fails after the timeout, or at
# once when the function named by WAIT_ABORT_CHECK (if set) fails, which lets
# a caller stop waiting as soon as the process it waits for has exited.
util::wait_for() {
  local what="$1" timeout="$2"
  shift 2
  local start=${SECONDS}
  log::info "waiting for ${what} (timeout ${timeout}s)"
  while true; do
    if "$@" >/dev/null 2>&1; then
      log::info "${what}: ok after $((SECONDS - start))s"
      return 0
    fi
    if [[ -n "${WAIT_ABORT_CHECK:-}" ]] && ! "${WAIT_ABORT_CHECK}"; then
      log::error "gave up waiting for ${what}"
      return 1
    fi
    if ((SECONDS - start >= timeout)); then
      log::error "timed out after ${timeout}s waiting for ${what}"
      return 1
    fi
    sleep 1
  done
}
