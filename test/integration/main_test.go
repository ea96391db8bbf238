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

// Package integration holds the integration tests: they build the real
// petset-apiserver binary once, run it as a subprocess in standalone mode
// (embedded etcd in a temporary data directory, the admin kubeconfig it
// writes) and drive it through the generated typed clientset and raw REST.
//
// Most tests share one server (each in a namespace of its own, so they run
// in parallel); the restart test runs its own. Every server is stopped by
// its pid and its directories are removed whatever the outcome; on Linux the
// kernel also kills a server whose test binary dies without cleaning up (a
// -timeout panic), and the next run removes the directories such a run
// left behind.
//
// Set PETSET_APISERVER to the path of a built binary to skip the build.
package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	// rootPattern names the directory of a run of the tests, which holds
	// every directory the run creates.
	rootPattern = "petset-integration-*"
	// ownerFile, in the directory of a run, holds the pid of the test
	// binary of the run.
	ownerFile = "owner.pid"
)

var (
	// binaryPath is the petset-apiserver binary under test.
	binaryPath string
	// runDir is the directory of this run.
	runDir string

	sharedOnce   sync.Once
	sharedServer *server
	sharedErr    error
	// sharedDir holds the data directory and the log of the shared server.
	sharedDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping the integration tests in -short mode")
		return 0
	}
	removeStaleRoots()
	tmp, err := os.MkdirTemp("", rootPattern)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintln(os.Stderr, "integration: removing", tmp+":", err)
			code = 1
		}
	}()
	if err := os.WriteFile(filepath.Join(tmp, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	runDir = tmp
	sharedDir = filepath.Join(tmp, "shared")

	binaryPath = os.Getenv("PETSET_APISERVER")
	if binaryPath == "" {
		binaryPath = filepath.Join(tmp, "petset-apiserver")
		build := exec.Command("go", "build", "-o", binaryPath, "github.com/petsets/petset/cmd/petset-apiserver")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: building petset-apiserver: %v\n%s", err, out)
			return 1
		}
	}

	defer func() {
		if sharedServer == nil {
			return
		}
		if err := sharedServer.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: the shared server (pid %d) did not stop cleanly: %v\n", sharedServer.Pid(), err)
			code = 1
		}
		if lines := sharedServer.panicLines(); len(lines) > 0 {
			fmt.Fprintf(os.Stderr, "integration: the shared server logged a panic:\n%s\n", strings.Join(lines, "\n"))
			code = 1
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- log of the shared server ---\n%s\n", sharedServer.logTail(20000))
		}
	}()
	return m.Run()
}

// shared returns the server most tests share, starting it on first use.
func shared(t *testing.T) *server {
	t.Helper()
	sharedOnce.Do(func() {
		dataDir := filepath.Join(sharedDir, "data")
		if sharedErr = os.MkdirAll(dataDir, 0o700); sharedErr != nil {
			return
		}
		// Not the test's context: the server outlives the test that
		// happens to start it.
		sharedServer, sharedErr = startServer(context.Background(), binaryPath, dataDir, filepath.Join(sharedDir, "server.log"))
	})
	if sharedErr != nil {
		t.Fatalf("starting the shared petset-apiserver: %v", sharedErr)
	}
	return sharedServer
}

// testDir returns a new directory for the test, under the directory of the
// run, removed when the test ends.
func testDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(runDir, "test-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

// removeStaleRoots removes the directories of earlier runs whose test binary
// is gone without removing them: a run that times out panics without
// running any cleanup (its servers die with it, see childProcAttr).
func removeStaleRoots() {
	roots, _ := filepath.Glob(filepath.Join(os.TempDir(), rootPattern))
	for _, root := range roots {
		data, err := os.ReadFile(filepath.Join(root, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(root)
	}
}
