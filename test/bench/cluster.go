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

package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Component names, as hack/local-cluster.sh records them in its pids/
// directory.
const (
	ProcPetSetAPIServer       = "petset-apiserver"
	ProcKubeAPIServer         = "kube-apiserver"
	ProcKubeControllerManager = "kube-controller-manager"
)

// Cluster is the cluster the benchmarks run against, with the clients they
// use. Every client speaks JSON and has no client-side rate limit.
type Cluster struct {
	// Env holds the endpoints of a cluster started by hack/local-cluster.sh
	// (its env file); empty for a cluster known only by a kubeconfig.
	Env map[string]string

	// Admin is the admin's configuration for kube-apiserver.
	Admin *rest.Config
	// Direct talks to petset-apiserver itself, bypassing kube-apiserver,
	// the way the aggregator does: with the front-proxy client certificate
	// and the user in X-Remote-User. Nil when the cluster's certificates
	// are unknown.
	Direct *rest.Config

	Kube          kubernetes.Interface
	Dynamic       dynamic.Interface
	DirectDynamic dynamic.Interface
	// DirectREST sends raw requests to petset-apiserver itself, as Direct
	// does; kube-apiserver's counterpart is Kube.Discovery().RESTClient().
	DirectREST rest.Interface

	// Script is the hack/local-cluster.sh that runs the cluster; with it
	// and the state directory (Env's LOCAL_CLUSTER_DIR) the benchmarks
	// can restart the cluster's processes.
	Script string
}

// CanRestart tells whether Restart can restart the cluster's processes.
func (c *Cluster) CanRestart() bool {
	return c.Script != "" && c.Env["LOCAL_CLUSTER_DIR"] != ""
}

// restartCommands are hack/local-cluster.sh's commands that restart each
// component.
var restartCommands = map[string]string{
	ProcPetSetAPIServer:       "restart-petset",
	ProcKubeAPIServer:         "restart-kube-apiserver",
	ProcKubeControllerManager: "restart-kube-controller-manager",
}

// Restart stops a component of the cluster and starts it again with the
// same binary and flags, through hack/local-cluster.sh, which returns once
// the component is ready.
func (c *Cluster) Restart(ctx context.Context, component string) error {
	if !c.CanRestart() {
		return fmt.Errorf("cannot restart %s: no hack/local-cluster.sh or state directory", component)
	}
	command, ok := restartCommands[component]
	if !ok {
		return fmt.Errorf("cannot restart %s: unknown component", component)
	}
	cmd := exec.CommandContext(ctx, c.Script, command)
	// The binary and flags the script records win over any this process
	// inherited.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PETSET_APISERVER=") || strings.HasPrefix(kv, "PETSET_APISERVER_ARGS=") || strings.HasPrefix(kv, "LOCAL_CLUSTER_DIR=")
	})
	cmd.Env = append(cmd.Env, "LOCAL_CLUSTER_DIR="+c.Env["LOCAL_CLUSTER_DIR"])
	cmd.Dir = filepath.Dir(filepath.Dir(c.Script))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The script stops what it started on INT; give it time.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", c.Script, command, err, out.String())
	}
	return nil
}

// directUser is the identity the direct requests carry, as the aggregator
// would pass on the admin's.
const directUser = "petset-bench"

// LoadClusterDir loads a cluster started by hack/local-cluster.sh from its
// state directory (LOCAL_CLUSTER_DIR, default _output/local).
func LoadClusterDir(dir string) (*Cluster, error) {
	env, err := readEnvFile(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err
	}
	if env["LOCAL_CLUSTER_DIR"] == "" {
		// An env file written before the script recorded its directory.
		env["LOCAL_CLUSTER_DIR"] = dir
	}
	return LoadCluster(env)
}

// LoadCluster builds the clients of a cluster started by
// hack/local-cluster.sh from the endpoints in its env file (as read by the
// e2e framework into Cluster.Env).
func LoadCluster(env map[string]string) (*Cluster, error) {
	for _, key := range []string{"KUBECONFIG", "PETSET_APISERVER_URL", "PETSET_SERVING_CA", "PKI_DIR", "PID_DIR"} {
		if env[key] == "" {
			return nil, fmt.Errorf("the cluster environment lacks %s", key)
		}
	}
	c, err := clusterFromKubeconfig(env["KUBECONFIG"])
	if err != nil {
		return nil, err
	}
	c.Env = env
	pki := env["PKI_DIR"]
	c.Direct = &rest.Config{
		Host: env["PETSET_APISERVER_URL"],
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   env["PETSET_SERVING_CA"],
			CertFile: filepath.Join(pki, "front-proxy-client.crt"),
			KeyFile:  filepath.Join(pki, "front-proxy-client.key"),
		},
	}
	c.Direct.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &requestHeaderRoundTripper{user: directUser, groups: []string{"system:masters", "system:authenticated"}, next: rt}
	})
	tune(c.Direct)
	if c.DirectDynamic, err = dynamic.NewForConfig(c.Direct); err != nil {
		return nil, fmt.Errorf("creating a client for petset-apiserver: %w", err)
	}
	direct, err := kubernetes.NewForConfig(c.Direct)
	if err != nil {
		return nil, fmt.Errorf("creating a client for petset-apiserver: %w", err)
	}
	c.DirectREST = direct.Discovery().RESTClient()
	return c, nil
}

// LoadKubeconfig uses the cluster of a kubeconfig. Without the cluster's
// state directory the direct target and the memory figures are left out.
func LoadKubeconfig(path string) (*Cluster, error) {
	return clusterFromKubeconfig(path)
}

func clusterFromKubeconfig(path string) (*Cluster, error) {
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	tune(config)
	c := &Cluster{Admin: config}
	if c.Kube, err = kubernetes.NewForConfig(config); err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client: %w", err)
	}
	if c.Dynamic, err = dynamic.NewForConfig(config); err != nil {
		return nil, fmt.Errorf("creating a dynamic client: %w", err)
	}
	return c, nil
}

// tune makes every client of the benchmarks alike: JSON both ways and no
// client-side rate limit, so that the servers are what is measured.
func tune(config *rest.Config) {
	config.ContentType = "application/json"
	config.AcceptContentTypes = "application/json"
	config.QPS = -1
	config.Burst = 0
	config.UserAgent = "petset-bench"
}

// HasDirect reports whether petset-apiserver can be reached directly.
func (c *Cluster) HasDirect() bool { return c.DirectDynamic != nil }

// HasProcesses reports whether the cluster's processes are known (its
// pids/ directory), which the memory figures need.
func (c *Cluster) HasProcesses() bool { return c.Env["PID_DIR"] != "" }

type requestHeaderRoundTripper struct {
	user   string
	groups []string
	next   http.RoundTripper
}

func (rt *requestHeaderRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Remote-User", rt.user)
	req.Header.Del("X-Remote-Group")
	for _, g := range rt.groups {
		req.Header.Add("X-Remote-Group", g)
	}
	return rt.next.RoundTrip(req)
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster environment: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(env) == 0 {
		return nil, errors.New(path + " is empty")
	}
	return env, nil
}
