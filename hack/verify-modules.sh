#!/usr/bin/env bash
# Checks the Go modules: each go.mod and go.sum is tidy, and each staging
# module builds on its own (outside the workspace), so a user's program can
# import github.com/petsets/api and github.com/petsets/client-go without the
# server.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${ROOT}"

failed=0
for dir in . staging/src/github.com/petsets/api staging/src/github.com/petsets/client-go; do
    (
        cd "${dir}"
        cp go.mod "${TMPDIR:-/tmp}/go.mod.$$"
        cp go.sum "${TMPDIR:-/tmp}/go.sum.$$"
        restore() {
            mv "${TMPDIR:-/tmp}/go.mod.$$" go.mod
            mv "${TMPDIR:-/tmp}/go.sum.$$" go.sum
        }
        trap restore EXIT
        GOWORK=off go mod tidy
        if ! diff -u "${TMPDIR:-/tmp}/go.mod.$$" go.mod || ! diff -u "${TMPDIR:-/tmp}/go.sum.$$" go.sum; then
            echo "${dir}: go.mod/go.sum are not tidy; run go mod tidy there (GOWORK=off)" >&2
            exit 1
        fi
    ) || failed=1
done

for dir in staging/src/github.com/petsets/api staging/src/github.com/petsets/client-go; do
    if ! (cd "${dir}" && GOWORK=off go build ./... && GOWORK=off go vet ./...); then
        echo "${dir} does not build on its own" >&2
        failed=1
    fi
    if grep -q 'github.com/petsets/petset' "${dir}/go.mod"; then
        echo "${dir}/go.mod depends on the server module github.com/petsets/petset" >&2
        failed=1
    fi
done

if ((failed)); then
    exit 1
fi
echo "Go modules are tidy and the staging modules build on their own."
