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

// Package framework brings up the local cluster of hack/local-cluster.sh
// for the end-to-end tests and gives them clients and helpers for it.
package framework

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/petsets/client-go/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running local cluster.
type Cluster struct {
	// Root is the repository root.
	Root string
	// Dir holds the cluster's state (Dir/cluster, its LOCAL_CLUSTER_DIR),
	// the petset-apiserver binary under test (Dir/bin) and, after Down,
	// the component logs (Dir/logs).
	Dir string
	// Env holds the endpoints the cluster wrote to Dir/env: KUBECONFIG,
	// DNS_SERVER, CLUSTER_DOMAIN, KUBE_APISERVER_URL, ETCD_URL,
	// PETSET_APISERVER_URL, PETSET_APISERVER_PORT, PETSET_SERVING_CA,
	// PETSET_APISERVER_KUBECONFIG, NODE_NAME, STORAGE_CLASS, PKI_DIR,
	// LOG_DIR, PID_DIR.
	Env map[string]string
	// Binary is the petset-apiserver binary the cluster runs.
	Binary string
	// PetSetArgs are the extra flags petset-apiserver runs with: those of
	// Options.PetSetArgs that Binary knows.
	PetSetArgs []string

	// Config is the admin's client configuration for kube-apiserver.
	Config *rest.Config
	// Kube and PetSets are admin clients through kube-apiserver (PetSets
	// through the aggregator).
	Kube    kubernetes.Interface
	PetSets versioned.Interface
}

// Options configure Up.
type Options struct {
	// Root is the repository root.
	Root string
	// Dir is the state directory, apart from the one of `make run`.
	Dir string
	// PetSetArgs are extra flags for petset-apiserver, "--name=value"
	// each. A flag the binary does not know is left out (and reported in
	// Log), so that the suite still runs against a server that lacks it;
	// the tests that depend on it then fail.
	PetSetArgs []string
	// Log receives the output of the scripts.
	Log *os.File
}

// FindRoot returns the repository root: the nearest parent of the working
// directory with hack/local-cluster.sh.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "local-cluster.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hack/local-cluster.sh not found above the working directory")
		}
		dir = parent
	}
}

// Up builds what is missing (the pinned cluster binaries through
// hack/build-tools.sh, petset-apiserver from this tree), starts the local
// cluster in opts.Dir and returns it. On error, whatever was started is
// stopped.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	c := &Cluster{Root: opts.Root, Dir: opts.Dir}
	// A previous run that was killed (a test timeout, say) may have left
	// its processes; they are recorded in Dir and stopped here.
	if err := c.script(ctx, opts.Log, nil, "down"); err != nil {
		return nil, fmt.Errorf("cleaning up a previous cluster in %s: %w", c.Dir, err)
	}
	if err := c.run(ctx, opts.Log, nil, filepath.Join(c.Root, "hack", "build-tools.sh")); err != nil {
		return nil, fmt.Errorf("building the cluster binaries: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "bin"), 0o755); err != nil {
		return nil, err
	}
	c.Binary = filepath.Join(c.Dir, "bin", "petset-apiserver")
	build := exec.CommandContext(ctx, "go", "build", "-o", c.Binary, "./cmd/petset-apiserver")
	build.Dir = c.Root
	build.Stdout, build.Stderr = opts.Log, opts.Log
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building petset-apiserver: %w", err)
	}

	args, err := knownFlags(ctx, c.Binary, opts.PetSetArgs, opts.Log)
	if err != nil {
		return nil, err
	}
	c.PetSetArgs = args
	if err := c.script(ctx, opts.Log, c.petSetEnv(), "up"); err != nil {
		_ = c.Down(context.WithoutCancel(ctx), opts.Log)
		return nil, fmt.Errorf("starting the local cluster (logs kept in %s): %w", filepath.Join(c.Dir, "logs"), err)
	}
	if err := c.load(); err != nil {
		_ = c.Down(context.WithoutCancel(ctx), opts.Log)
		return nil, err
	}
	return c, nil
}

// Down stops the cluster and removes its state, keeping the component logs
// in Dir/logs so that a failed run can be looked at.
func (c *Cluster) Down(ctx context.Context, log *os.File) error {
	logs := filepath.Join(c.stateDir(), "logs")
	kept := filepath.Join(c.Dir, "logs")
	if _, err := os.Stat(logs); err == nil {
		_ = os.RemoveAll(kept)
		_ = os.CopyFS(kept, os.DirFS(logs))
	}
	return c.script(ctx, log, nil, "down")
}

// StopPetSetServer stops petset-apiserver, leaving the rest of the cluster up.
func (c *Cluster) StopPetSetServer(ctx context.Context) error {
	return c.script(ctx, nil, nil, "stop-petset")
}

// StartPetSetServer starts petset-apiserver again, with the same flags, and
// waits until PetSets are served through the aggregator.
func (c *Cluster) StartPetSetServer(ctx context.Context) error {
	return c.script(ctx, nil, c.petSetEnv(), "start-petset")
}

// PetSetFlag returns the value petset-apiserver was given for the flag
// name (without dashes) through PetSetArgs.
func (c *Cluster) PetSetFlag(name string) (string, bool) {
	for _, arg := range c.PetSetArgs {
		if v, ok := strings.CutPrefix(arg, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func (c *Cluster) petSetEnv() []string {
	return []string{
		"PETSET_APISERVER=" + c.Binary,
		"PETSET_APISERVER_ARGS=" + strings.Join(c.PetSetArgs, " "),
	}
}

// knownFlags returns the args ("--name=value") that binary lists in its
// --help, and reports the others in log.
func knownFlags(ctx context.Context, binary string, args []string, log *os.File) ([]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// --help prints the usage and exits 0; keep whatever it printed.
	help, err := exec.CommandContext(ctx, binary, "--help").CombinedOutput()
	if err != nil && len(help) == 0 {
		return nil, fmt.Errorf("%s --help: %w", binary, err)
	}
	var known []string
	for _, arg := range args {
		name, _, _ := strings.Cut(arg, "=")
		if bytes.Contains(help, []byte(name+" ")) || bytes.Contains(help, []byte(name+"=")) {
			known = append(known, arg)
			continue
		}
		if log != nil {
			fmt.Fprintf(log, "e2e: %s has no flag %s; starting it without %s\n", binary, name, arg)
		}
	}
	return known, nil
}

func (c *Cluster) script(ctx context.Context, log *os.File, env []string, args ...string) error {
	env = append(env, "LOCAL_CLUSTER_DIR="+c.stateDir())
	return c.run(ctx, log, env, append([]string{filepath.Join(c.Root, "hack", "local-cluster.sh")}, args...)...)
}

func (c *Cluster) stateDir() string { return filepath.Join(c.Dir, "cluster") }

func (c *Cluster) run(ctx context.Context, log *os.File, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = c.Root
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	if log != nil {
		cmd.Stdout, cmd.Stderr = log, log
	} else {
		cmd.Stdout, cmd.Stderr = &out, &out
	}
	// The scripts stop what they started on INT/TERM; give them time.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 60 * time.Second
	if err := cmd.Run(); err != nil {
		if out.Len() > 0 {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out.String())
		}
		return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (c *Cluster) load() error {
	f, err := os.Open(filepath.Join(c.stateDir(), "env"))
	if err != nil {
		return fmt.Errorf("reading the cluster environment: %w", err)
	}
	defer f.Close()
	c.Env = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			c.Env[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	c.Config, err = clientcmd.BuildConfigFromFlags("", c.Env["KUBECONFIG"])
	if err != nil {
		return fmt.Errorf("loading %s: %w", c.Env["KUBECONFIG"], err)
	}
	c.Config.QPS, c.Config.Burst = 100, 200
	if c.Kube, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	if c.PetSets, err = versioned.NewForConfig(c.Config); err != nil {
		return err
	}
	return nil
}

// KubectlTimeout bounds a Kubectl call whose context has no deadline.
const KubectlTimeout = 2 * time.Minute

// Kubectl runs the cluster's kubectl with the admin kubeconfig and returns
// its standard output; a failure carries standard error. Without a deadline
// in ctx it is stopped after KubectlTimeout.
func (c *Cluster) Kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, KubectlTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.Root, "_output", "bin", "kubectl"), append([]string{"--kubeconfig", c.Env["KUBECONFIG"]}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
