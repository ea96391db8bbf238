#!/usr/bin/env bash
# protoc::ensure makes sure protoc, the protocol buffer compiler that
# hack/update-codegen.sh needs for the protobuf encoding of the API types, is
# on PATH: it takes the one on PATH, else installs Debian's protobuf-compiler
# with apt-get when running as root, else fails and says what to install.
# Source it.

protoc::ensure() {
  if command -v protoc >/dev/null 2>&1; then
    return 0
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "protoc not found on PATH; installing Debian's protobuf-compiler with apt-get" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler >&2 ||
      { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler >&2; }; }; then
      echo "installing protobuf-compiler with apt-get failed" >&2
      return 1
    fi
    if command -v protoc >/dev/null 2>&1; then
      return 0
    fi
  fi
  cat >&2 <<'MSG'
protoc, the protocol buffer compiler, is not on PATH. hack/update-codegen.sh
needs it to generate the protobuf encoding of the API types. Install it (on
Debian or Ubuntu: apt-get install protobuf-compiler; the committed files were
generated with protoc 3.21.12) or put it on PATH, then run the command again.
MSG
  return 1
}
