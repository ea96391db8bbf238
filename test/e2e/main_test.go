/*
Copyright The PetSet Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package e2e holds the end-to-end tests: they bring up the local cluster
// of hack/local-cluster.sh once (real etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok, CoreDNS and
// petset-apiserver registered through an APIService) and tear it down at
// the end, even when a test fails.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/petsets/petset/test/e2e/framework"
)

// cluster is the local cluster every test runs against.
var cluster *framework.Cluster

var keepLogs = flag.Bool("e2e.verbose", false, "print the cluster scripts' output")

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping the end-to-end tests in -short mode")
		return 0
	}
	root, err := framework.FindRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log, err := os.CreateTemp("", "petset-e2e-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.Remove(log.Name())
	defer log.Close()
	out := log
	if *keepLogs {
		out = os.Stderr
	}

	dir := os.Getenv("PETSET_E2E_DIR")
	if dir == "" {
		dir = filepath.Join(root, "_output", "e2e")
	}
	cluster, err = framework.Up(ctx, framework.Options{
		Root: root,
		Dir:  dir,
		// A pet stuck terminating holds a PetSet's teardown for its grace
		// period plus this margin (default 2m); short, so that the test of
		// it stays short.
		PetSetArgs: []string{"--terminating-pet-margin=" + pcTerminatingPetMargin.String()},
		Log:        out,
	})
	if err != nil {
		dumpLog(log)
		fmt.Fprintln(os.Stderr, "e2e: ", err)
		return 1
	}
	code := m.Run()
	if err := cluster.Down(context.WithoutCancel(ctx), out); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stopping the local cluster:", err)
		if code == 0 {
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: component logs kept in %s\n", filepath.Join(cluster.Dir, "logs"))
	}
	return code
}

func dumpLog(f *os.File) {
	if b, err := os.ReadFile(f.Name()); err == nil {
		os.Stderr.Write(b)
	}
}
