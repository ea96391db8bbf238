#!/usr/bin/env bash
# Fails when a Go file is not gofmt'ed.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${ROOT}"

files="$(find . -name '*.go' -not -path './_output/*' -not -path './.git/*' -print0 | xargs -0 gofmt -l)"
if [[ -n "${files}" ]]; then
    echo "These files are not gofmt'ed (run gofmt -w):" >&2
    echo "${files}" >&2
    exit 1
fi
echo "All Go files are gofmt'ed."
