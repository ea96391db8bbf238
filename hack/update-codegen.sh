#!/usr/bin/env bash
# Regenerates every generated file: the protobuf encoding of the API types
# (generated.proto, generated.pb.go and the protobuf struct tags in types.go),
# deepcopy, defaulters, conversions, OpenAPI definitions, and the typed
# clientset, listers, informers and apply configurations in the client-go
# staging module. The protobuf encoding needs protoc (hack/lib/protoc.sh).
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${ROOT}"

BOILERPLATE="${ROOT}/hack/boilerplate.go.txt"
API_DIR="${ROOT}/staging/src/github.com/petsets/api"
CLIENT_DIR="${ROOT}/staging/src/github.com/petsets/client-go"
API_PKG="github.com/petsets/api"
CLIENT_PKG="github.com/petsets/client-go"
THIS_PKG="github.com/petsets/petset"

# Generators are installed into the project's own output directory, never
# into the user's GOPATH/bin.
export GOBIN="${CODEGEN_GOBIN:-${ROOT}/_output/codegen-bin}"
mkdir -p "${GOBIN}"

CODEGEN_PKG=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)

# The protobuf encoding of the API types, generated as Kubernetes generates
# its own: go-to-protobuf writes generated.proto, runs protoc with
# protoc-gen-gogo on it to write generated.pb.go, and adds the protobuf
# struct tags to types.go. Both tools, and goimports that go-to-protobuf
# runs on its output, are installed into GOBIN.
# shellcheck source=lib/protoc.sh
source "${ROOT}/hack/lib/protoc.sh"
protoc::ensure
go install k8s.io/code-generator/cmd/go-to-protobuf k8s.io/code-generator/cmd/go-to-protobuf/protoc-gen-gogo \
    golang.org/x/tools/cmd/goimports

# go-to-protobuf and protoc find .proto files by Go import path, as in a
# GOPATH: a temporary tree of symlinks to the module directories gives them
# k8s.io/api/core/v1/generated.proto and the like, and our own API package,
# into which the output goes through its link.
proto_src="${ROOT}/_output/protobuf/src"
rm -rf "${ROOT}/_output/protobuf"
mkdir -p "${proto_src}/k8s.io" "${proto_src}/github.com/petsets" "${proto_src}/github.com/gogo"
ln -s "$(go list -m -f '{{.Dir}}' k8s.io/api)" "${proto_src}/k8s.io/api"
ln -s "$(go list -m -f '{{.Dir}}' k8s.io/apimachinery)" "${proto_src}/k8s.io/apimachinery"
gogo_dir="$(go list -m -f '{{.Dir}}' github.com/gogo/protobuf)"
ln -s "${gogo_dir}" "${proto_src}/github.com/gogo/protobuf"
ln -s "${API_DIR}" "${proto_src}/github.com/petsets/api"

# A generated.pb.go of older types would keep the package from loading.
rm -f "${API_DIR}/apps/v1alpha1/generated.pb.go"
# Packages prefixed with "-" are only read for their types (their
# generated.proto is imported, not written).
apimachinery_pkgs=(
    -k8s.io/apimachinery/pkg/util/intstr
    -k8s.io/apimachinery/pkg/api/resource
    -k8s.io/apimachinery/pkg/runtime/schema
    -k8s.io/apimachinery/pkg/runtime
    -k8s.io/apimachinery/pkg/apis/meta/v1
)
PATH="${GOBIN}:${PATH}" "${GOBIN}/go-to-protobuf" \
    --go-header-file "${BOILERPLATE}" \
    --output-dir "${proto_src}" \
    --proto-import "${gogo_dir}/protobuf" \
    --apimachinery-packages "$(IFS=,; echo "${apimachinery_pkgs[*]}")" \
    --packages "-k8s.io/api/core/v1,${API_PKG}/apps/v1alpha1"
rm -rf "${ROOT}/_output/protobuf"
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

# deepcopy for the external types (staging) and the internal types.
kube::codegen::gen_helpers --boilerplate "${BOILERPLATE}" "${API_DIR}"
kube::codegen::gen_helpers --boilerplate "${BOILERPLATE}" "${ROOT}/pkg/apis"

# The v1alpha1 defaulters also run the core/v1 defaults on the embedded pod
# template and claim templates, exactly as kube-apiserver does for its own
# workloads. kube_codegen.sh does not pass peer packages to defaulter-gen, so
# run it again with them.
go install k8s.io/code-generator/cmd/defaulter-gen
rm -f "${ROOT}/pkg/apis/apps/v1alpha1/zz_generated.defaults.go"
"${GOBIN}/defaulter-gen" \
    --output-file zz_generated.defaults.go \
    --go-header-file "${BOILERPLATE}" \
    --extra-peer-dirs k8s.io/kubernetes/pkg/apis/core/v1 \
    "${THIS_PKG}/pkg/apis/apps/v1alpha1"

kube::codegen::gen_openapi \
    --output-dir "${ROOT}/pkg/generated/openapi" \
    --output-pkg "${THIS_PKG}/pkg/generated/openapi" \
    --extra-pkgs k8s.io/api/core/v1 \
    --extra-pkgs k8s.io/api/autoscaling/v1 \
    --extra-pkgs k8s.io/apimachinery/pkg/api/resource \
    --extra-pkgs k8s.io/apimachinery/pkg/util/intstr \
    --report-filename "${ROOT}/hack/api-rules-violations.list" \
    ${UPDATE_API_KNOWN_VIOLATIONS:+--update-report} \
    --output-model-name-file zz_generated.model_name.go \
    --boilerplate "${BOILERPLATE}" \
    "${API_DIR}"

# The clients. kube_codegen.sh's gen_client cannot generate ApplyScale for an
# input type from another API group (it expects the Scale apply configuration
# next to ours), so the generators run directly: apply configurations for our
# group plus autoscaling/v1 Scale, then clientset, listers and informers.
go install k8s.io/code-generator/cmd/{applyconfiguration-gen,client-gen,lister-gen,informer-gen}
schema="$(mktemp)"
trap 'rm -f "${schema}"' EXIT
go run "${THIS_PKG}/pkg/generated/openapi/cmd/models-schema" > "${schema}"

remove_generated() { # dir generator
    [ -d "$1" ] || return 0
    grep -rl --null --include '*.go' -e "^// Code generated by $2. DO NOT EDIT.\$" "$1" | xargs -0 rm -f
}

externals=(
    "k8s.io/api/core/v1.PodTemplateSpec:k8s.io/client-go/applyconfigurations/core/v1"
    "k8s.io/api/core/v1.PersistentVolumeClaim:k8s.io/client-go/applyconfigurations/core/v1"
)
remove_generated "${CLIENT_DIR}/applyconfigurations" applyconfiguration-gen
"${GOBIN}/applyconfiguration-gen" \
    --go-header-file "${BOILERPLATE}" \
    --output-dir "${CLIENT_DIR}/applyconfigurations" \
    --output-pkg "${CLIENT_PKG}/applyconfigurations" \
    --external-applyconfigurations "$(IFS=,; echo "${externals[*]}")" \
    --openapi-schema "${schema}" \
    "${API_PKG}/apps/v1alpha1" k8s.io/api/autoscaling/v1

remove_generated "${CLIENT_DIR}/clientset" client-gen
"${GOBIN}/client-gen" \
    --go-header-file "${BOILERPLATE}" \
    --output-dir "${CLIENT_DIR}/clientset" \
    --output-pkg "${CLIENT_PKG}/clientset" \
    --clientset-name versioned \
    --apply-configuration-package "${CLIENT_PKG}/applyconfigurations" \
    --input-base "${API_DIR}" \
    --input apps/v1alpha1

remove_generated "${CLIENT_DIR}/listers" lister-gen
"${GOBIN}/lister-gen" \
    --go-header-file "${BOILERPLATE}" \
    --output-dir "${CLIENT_DIR}/listers" \
    --output-pkg "${CLIENT_PKG}/listers" \
    "${API_PKG}/apps/v1alpha1"

remove_generated "${CLIENT_DIR}/informers" informer-gen
"${GOBIN}/informer-gen" \
    --go-header-file "${BOILERPLATE}" \
    --output-dir "${CLIENT_DIR}/informers" \
    --output-pkg "${CLIENT_PKG}/informers" \
    --versioned-clientset-package "${CLIENT_PKG}/clientset/versioned" \
    --listers-package "${CLIENT_PKG}/listers" \
    "${API_PKG}/apps/v1alpha1"
