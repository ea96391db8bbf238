//go:build tools

// Package tools pins etcd (server and etcdctl) for the local cluster. etcd 3.6
// lives in its own module because Kubernetes 1.37 requires the etcd 3.7
// client libraries.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
