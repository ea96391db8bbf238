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

package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Components of the local cluster that the fault helpers know, as named in
// its pids/ directory.
const (
	Etcd            = "etcd"
	KubeAPIServer   = "kube-apiserver"
	KubeScheduler   = "kube-scheduler"
	PetSetAPIServer = "petset-apiserver"
)

// PID returns the PID the cluster recorded for component, if that process
// still runs the recorded binary (a recycled PID is never returned).
func (c *Cluster) PID(component string) (int, error) {
	b, err := os.ReadFile(filepath.Join(c.stateDir(), "pids", component+".pid"))
	if err != nil {
		return 0, fmt.Errorf("reading the recorded PID of %s: %w", component, err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0, fmt.Errorf("the PID file of %s holds %q, want \"PID BINARY\"", component, b)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, fmt.Errorf("the PID file of %s: %w", component, err)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return 0, fmt.Errorf("%s (pid %d) is not running: %w", component, pid, err)
	}
	if exe != fields[1] {
		return 0, fmt.Errorf("pid %d runs %s, not %s's %s", pid, exe, component, fields[1])
	}
	return pid, nil
}

// Signal sends sig to the process the cluster recorded for component and
// returns its PID.
func (c *Cluster) Signal(component string, sig syscall.Signal) (int, error) {
	pid, err := c.PID(component)
	if err != nil {
		return 0, err
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return pid, fmt.Errorf("sending %s to %s (pid %d): %w", sig, component, pid, err)
	}
	return pid, nil
}

// Kill sends SIGKILL to component and waits, up to timeout, until the
// process is gone.
func (c *Cluster) Kill(component string, timeout time.Duration) error {
	pid, err := c.Signal(component, syscall.SIGKILL)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		// An exited process that is not reaped yet has no exe link.
		if _, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d) still runs %s after SIGKILL", component, pid, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartPetSetServerWith starts petset-apiserver with the cluster's flags
// followed by extra (a later flag wins). With waitReady it returns once
// PetSets are served through the aggregator; without, once the process
// runs. The flags are not kept: StartPetSetServer uses PetSetArgs again.
func (c *Cluster) StartPetSetServerWith(ctx context.Context, waitReady bool, extra ...string) error {
	args := append(append([]string(nil), c.PetSetArgs...), extra...)
	env := []string{
		"PETSET_APISERVER=" + c.Binary,
		"PETSET_APISERVER_ARGS=" + strings.Join(args, " "),
	}
	if !waitReady {
		env = append(env, "PETSET_WAIT_READY=0")
	}
	return c.script(ctx, nil, env, "start-petset")
}

// RestartEtcd starts etcd again on its data directory and port, stopping
// it first if it runs, and waits until it is healthy.
func (c *Cluster) RestartEtcd(ctx context.Context) error {
	return c.script(ctx, nil, c.petSetEnv(), "restart-etcd")
}

// RestartKubeAPIServer stops kube-apiserver if it runs, starts it again with
// the same flags and waits until it is ready.
func (c *Cluster) RestartKubeAPIServer(ctx context.Context) error {
	return c.script(ctx, nil, c.petSetEnv(), "restart-kube-apiserver")
}

// RestartKubeScheduler stops kube-scheduler if it runs, starts it again with
// the same flags and waits until it is ready.
func (c *Cluster) RestartKubeScheduler(ctx context.Context) error {
	return c.script(ctx, nil, c.petSetEnv(), "restart-kube-scheduler")
}
