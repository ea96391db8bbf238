# petset-apiserver: the PetSet API (apps/v1alpha1) as an aggregated
# Kubernetes API server, with its bundled controller.
#
#   make run      build what is missing and run a local cluster with the
#                 PetSet API registered (foreground; Ctrl-C stops it)
#   make test     every check and test: verify, unit, integration, e2e
#
#   make build    build _output/bin/petset-apiserver and the kubectl plugin
#                 _output/bin/kubectl-petset (`kubectl petset ...` with
#                 _output/bin on PATH)
#   make image    build the container image into _output/image (no daemon)
#   make release  the image, binaries, checksums and pinned manifests in
#                 _output/release
#   make up/down  start the local cluster in the background / stop it
#   make tools    build the pinned cluster binaries into _output/bin
#   make update   regenerate generated code
#   make verify   fail on stale generated code, untidy modules, gofmt, vet
#   make test-chaos  the fault scenarios repeated, the load scenario at full
#                 size; regenerates docs/reliability.md
#   make test-load   the load scenario alone at full size
#   make bench    run the benchmarks on a local cluster of their own, print
#                 their figures and regenerate docs/benchmarks.md

SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
.DEFAULT_GOAL := build

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BIN  := $(ROOT)/_output/bin

GIT_VERSION := $(shell git -C $(ROOT) describe --tags --always --dirty 2>/dev/null || echo unknown)
GIT_COMMIT  := $(shell git -C $(ROOT) rev-parse HEAD 2>/dev/null || echo unknown)
VERSION_PKG := k8s.io/component-base/version
LDFLAGS := -X $(VERSION_PKG).gitVersion=v0.1.0-$(GIT_VERSION) -X $(VERSION_PKG).gitCommit=$(GIT_COMMIT)

GO_TEST_FLAGS ?=
E2E_TIMEOUT ?= 60m

.PHONY: build
build:
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/petset-apiserver ./cmd/petset-apiserver
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-petset ./cmd/kubectl-petset

# The container image of petset-apiserver, built without a container runtime
# by hack/tools/image (go-containerregistry): one OCI image index for
# IMAGE_PLATFORMS, written as an OCI layout to _output/image/oci with a tar of
# it and the digest; prints IMAGE_REPO@<digest>. The binary is static and
# stamped with LDFLAGS; every timestamp is SOURCE_DATE_EPOCH (default: the
# commit time), so two builds of one commit give the same digest.
IMAGE_REPO ?= petsets/petset-apiserver
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
SOURCE_DATE_EPOCH ?= $(shell git -C $(ROOT) log -1 --format=%ct 2>/dev/null)

.PHONY: image release
image:
	hack/build-tools.sh image
	SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' $(BIN)/petset-image build -source $(ROOT) -out $(ROOT)/_output/image \
		-platforms '$(IMAGE_PLATFORMS)' -ldflags '$(LDFLAGS)' -repository '$(IMAGE_REPO)'

# _output/release: the image (OCI layout tar), petset-apiserver (and
# kubectl-petset when cmd/ has it) for each platform, SHA256SUMS, and
# artifacts/deploy/base rendered by the pinned kubectl with the image pinned
# by digest (petset-apiserver.yaml).
release: image
	hack/build-tools.sh kubernetes
	SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' $(BIN)/petset-image release -source $(ROOT) -image $(ROOT)/_output/image \
		-out $(ROOT)/_output/release -kubectl $(BIN)/kubectl -repository '$(IMAGE_REPO)' -ldflags '$(LDFLAGS)'

include $(ROOT)/hack/make/cluster.mk

.PHONY: update
update:
	hack/update-codegen.sh

.PHONY: verify verify-codegen verify-modules verify-gofmt vet
verify: verify-gofmt verify-modules vet verify-codegen

verify-codegen:
	hack/verify-codegen.sh

verify-modules:
	hack/verify-modules.sh

verify-gofmt:
	hack/verify-gofmt.sh

vet:
	go vet ./... github.com/petsets/api/... github.com/petsets/client-go/...

.PHONY: test test-unit test-integration test-e2e
test: verify test-unit test-integration test-e2e

# Unit and registry tests (the registry tests start an embedded etcd), and
# the benchmark program's own unit tests; then one iteration of each package
# benchmark, so that none of them rots.
GO_BENCH_PKGS := $(shell grep -rl --include='*_test.go' '^func Benchmark' pkg cmd | xargs -n1 dirname | sort -u | sed 's|^|./|')
test-unit:
	go test -race $(GO_TEST_FLAGS) ./pkg/... ./cmd/... ./test/bench/... github.com/petsets/api/... github.com/petsets/client-go/...
	go test -run '^$$' -bench . -benchtime 1x $(GO_TEST_FLAGS) $(GO_BENCH_PKGS)

# The real petset-apiserver binary, standalone, driven through the clients;
# then the image (hack/tools/image): built twice for linux/amd64 (same
# digest), read back, and its extracted binary run standalone.
test-integration:
	go test $(GO_TEST_FLAGS) -timeout 20m ./test/integration/...
	cd hack/tools/image && GOWORK=off go vet ./... && GOWORK=off go test $(GO_TEST_FLAGS) -timeout 45m ./...

# The local cluster of real Kubernetes components; builds the pinned binaries
# first if they are missing.
test-e2e: tools
	go test $(GO_TEST_FLAGS) -timeout $(E2E_TIMEOUT) ./test/e2e/...

# The fault scenarios of test/e2e (petset-apiserver, etcd and kube-apiserver
# killed, stopped or restarted mid-operation, the leader of two replicas
# killed) repeated CHAOS_ITERATIONS times, the storage identity guard's
# scenarios and the load scenario at full size (LOAD_OBJECTS PetSets
# created, updated and deleted through the aggregator by LOAD_CLIENTS
# clients while LOAD_WATCHES watches stay open), on a local cluster of their
# own in _output/chaos. Writes _output/chaos/reliability.jsonl and
# regenerates docs/reliability.md from it, also when a scenario fails.
# test-e2e runs each fault scenario once and the load scenario small.
CHAOS_ITERATIONS ?= 20
CHAOS_TIMEOUT ?= 300m
LOAD_OBJECTS ?= 1000
LOAD_CLIENTS ?= 20
LOAD_WATCHES ?= 50
CHAOS_DIR := $(ROOT)/_output/chaos
LOAD_ENV = PETSET_LOAD_OBJECTS=$(LOAD_OBJECTS) PETSET_LOAD_CLIENTS=$(LOAD_CLIENTS) PETSET_LOAD_WATCHES=$(LOAD_WATCHES)
LOAD_COMMAND = LOAD_OBJECTS=$(LOAD_OBJECTS) LOAD_CLIENTS=$(LOAD_CLIENTS) LOAD_WATCHES=$(LOAD_WATCHES)

.PHONY: test-chaos test-load
test-chaos: tools
	mkdir -p $(CHAOS_DIR); status=0; \
	PETSET_E2E_DIR=$(CHAOS_DIR) PETSET_CHAOS_ITERATIONS=$(CHAOS_ITERATIONS) $(LOAD_ENV) \
	PETSET_RELIABILITY_RESULTS=$(CHAOS_DIR)/run.jsonl \
		go test $(GO_TEST_FLAGS) -v -timeout $(CHAOS_TIMEOUT) -run '^(TestChaos|TestStorageIdentityGuard|TestLoad)' ./test/e2e/ || status=$$?; \
	go run ./test/e2e/reliabilitydoc -in $(CHAOS_DIR)/run.jsonl -save $(CHAOS_DIR)/reliability.jsonl -out $(ROOT)/docs/reliability.md \
		-command 'make test-chaos CHAOS_ITERATIONS=$(CHAOS_ITERATIONS) $(LOAD_COMMAND)'; \
	exit $$status

# The load scenario alone, at full size, on a cluster in _output/chaos. Its
# result replaces the load section of the results of the last make
# test-chaos (_output/chaos/reliability.jsonl) and docs/reliability.md is
# regenerated from them; without those results the page would lack the
# fault scenarios, so it is written to _output/chaos/reliability.md instead.
test-load: tools
	mkdir -p $(CHAOS_DIR); status=0; \
	PETSET_E2E_DIR=$(CHAOS_DIR) $(LOAD_ENV) PETSET_RELIABILITY_RESULTS=$(CHAOS_DIR)/run.jsonl \
		go test $(GO_TEST_FLAGS) -v -timeout $(CHAOS_TIMEOUT) -run '^TestLoad' ./test/e2e/ || status=$$?; \
	page=$(ROOT)/docs/reliability.md; save=$(CHAOS_DIR)/reliability.jsonl; \
	if [[ ! -f $$save ]]; then \
		page=$(CHAOS_DIR)/reliability.md; save=$(CHAOS_DIR)/reliability-load.jsonl; \
		echo "no results of make test-chaos in $(CHAOS_DIR); writing $$page, not docs/reliability.md"; \
	fi; \
	go run ./test/e2e/reliabilitydoc -in $(CHAOS_DIR)/reliability.jsonl -in $(CHAOS_DIR)/run.jsonl -save $$save \
		-out $$page -command 'make test-load $(LOAD_COMMAND)'; \
	exit $$status

# The Go fuzz targets, each for FUZZTIME, one after the other. Their seed
# corpora (testdata/fuzz/<target> next to each) run as ordinary tests in
# test-unit; an input that fails is written there too: commit it as a
# regression seed.
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	FuzzDecodeDefaultValidateConvert:./pkg/apis/apps/validation \
	FuzzApplyPatchGuard:./pkg/apiserver \
	FuzzStrategicMergePatchGuard:./pkg/apiserver

.PHONY: fuzz
fuzz:
	for target in $(FUZZ_TARGETS); do \
		go test -run '^$$' -fuzz "^$${target%%:*}$$" -fuzztime $(FUZZTIME) "$${target#*:}" || exit; \
	done

# PetSets against StatefulSets (and a CRD of the same schema) on a local
# cluster that petset-bench starts in _output/bench/cluster and stops:
# latency, bulk, memory and controller benchmarks in interleaved rounds. It
# prints the table, writes _output/bench/results.json and regenerates
# docs/benchmarks.md and docs/benchmarks.png. Extra flags go in BENCH_FLAGS,
# e.g. BENCH_FLAGS='-rounds 5' or '-long' (10,000 objects); see
# _output/bin/petset-bench -h. A smoke run is part of test-e2e.
BENCH_FLAGS ?=

.PHONY: bench
bench: tools
	go build -o $(BIN)/petset-bench ./test/bench/cmd/petset-bench
	$(BIN)/petset-bench -write-docs $(BENCH_FLAGS)

.PHONY: clean
clean: down
	rm -rf $(ROOT)/_output
