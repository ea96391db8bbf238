#!/usr/bin/env bash
# Fails when a generated file is stale, missing or left over: regenerates
# everything in a copy of the tree and compares the generated files of the
# copy with those of the tree.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${ROOT}"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# Copy the sources: everything but build output and version control.
tar --exclude=./_output --exclude=./.git -cf - . | tar -C "${tmp}" -xf -

# The copy reuses the generators built for the tree.
mkdir -p "${ROOT}/_output/codegen-bin"
if ! CODEGEN_GOBIN="${ROOT}/_output/codegen-bin" "${tmp}/hack/update-codegen.sh" >"${tmp}.log" 2>&1; then
    cat "${tmp}.log" >&2
    rm -f "${tmp}.log"
    echo "hack/update-codegen.sh failed (see above)" >&2
    exit 1
fi
rm -f "${tmp}.log"

# generated_files DIR lists the generated files under DIR: every zz_generated
# file, the protobuf encoding (generated.proto, generated.pb.go and the
# types.go files whose protobuf struct tags go-to-protobuf writes), the
# client packages and the API rule report.
generated_files() {
    (
        cd "$1"
        find pkg staging -name 'zz_generated.*' -type f
        find staging/src/github.com/petsets/api \( -name generated.proto -o -name generated.pb.go -o -name types.go \) -type f
        find staging/src/github.com/petsets/client-go/{applyconfigurations,clientset,listers,informers} -type f 2>/dev/null
        echo hack/api-rules-violations.list
    ) | LC_ALL=C sort -u
}

stale=0
while read -r f; do
    if ! diff -Nau "${ROOT}/${f}" "${tmp}/${f}" --label "a/${f}" --label "b/${f}"; then
        stale=1
    fi
done < <(LC_ALL=C sort -u <(generated_files "${ROOT}") <(generated_files "${tmp}"))

if ((stale)); then
    echo >&2
    echo "Generated files are out of date; run make update (hack/update-codegen.sh)." >&2
    exit 1
fi
echo "Generated files are up to date."
