# Local cluster targets. Included by the top-level Makefile, which defines
# `build` (producing _output/bin/petset-apiserver).
#
#   make tools   build the pinned cluster binaries into _output/bin
#   make up      start the local cluster (with petset-apiserver) and return
#   make run     start it in the foreground; Ctrl-C stops it
#   make down    stop it and remove _output/local

CLUSTER_ROOT := $(patsubst %/hack/make/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PETSET_APISERVER ?= $(CLUSTER_ROOT)/_output/bin/petset-apiserver

.PHONY: tools up down run
tools:
	$(CLUSTER_ROOT)/hack/build-tools.sh

up: build tools
	PETSET_APISERVER=$(PETSET_APISERVER) $(CLUSTER_ROOT)/hack/local-cluster.sh up

run: build tools
	PETSET_APISERVER=$(PETSET_APISERVER) $(CLUSTER_ROOT)/hack/local-cluster.sh run

down:
	$(CLUSTER_ROOT)/hack/local-cluster.sh down
