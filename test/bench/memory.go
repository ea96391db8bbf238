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
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// MemoryProcesses are the processes whose memory the bulk benchmark
// samples.
var MemoryProcesses = []string{ProcPetSetAPIServer, ProcKubeAPIServer, ProcKubeControllerManager}

// HeapMetric is the Go runtime's count of bytes of allocated heap objects,
// as every component's /metrics exports it. Read right after a garbage
// collection it counts live objects only; unlike the bytes of in-use heap
// spans it does not move with how fragmented the spans are.
const HeapMetric = "go_memstats_heap_alloc_bytes"

// memValue is a process's memory at one moment, in bytes.
type memValue struct {
	Heap float64
	RSS  float64
}

// process is a component of the cluster whose memory or CPU time is read.
type process struct {
	name string
	pid  int
	exe  string
	// metrics reaches the process's /metrics and /debug/pprof; nil for
	// a process whose CPU time only is read.
	metrics rest.Interface
}

// memorySampler reads the heap of each process from its /metrics, right
// after a garbage collection, and its resident set size from
// /proc/<pid>/status.
type memorySampler struct {
	procs []process
}

func (c *Cluster) memorySampler() (*memorySampler, error) {
	procs, err := c.processes(MemoryProcesses)
	if err != nil {
		return nil, err
	}
	for i, p := range procs {
		var config *rest.Config
		switch p.name {
		case ProcKubeAPIServer:
			config = rest.CopyConfig(c.Admin)
		case ProcPetSetAPIServer:
			config = rest.CopyConfig(c.Direct)
		case ProcKubeControllerManager:
			config, err = controllerManagerConfig(c.Admin, p.pid)
			if err != nil {
				return nil, err
			}
		}
		config.AcceptContentTypes = "text/plain"
		client, err := kubernetes.NewForConfig(config)
		if err != nil {
			return nil, fmt.Errorf("creating a metrics client for %s: %w", p.name, err)
		}
		procs[i].metrics = client.Discovery().RESTClient()
	}
	return &memorySampler{procs: procs}, nil
}

// processes returns the named processes of the cluster, as
// hack/local-cluster.sh recorded them in its pids/ directory.
func (c *Cluster) processes(names []string) ([]process, error) {
	if !c.HasProcesses() {
		return nil, fmt.Errorf("the cluster's processes are unknown (no state directory)")
	}
	var out []process
	for _, name := range names {
		pid, exe, err := readPIDFile(filepath.Join(c.Env["PID_DIR"], name+".pid"))
		if err != nil {
			return nil, err
		}
		out = append(out, process{name: name, pid: pid, exe: exe})
	}
	return out, nil
}

// check returns an error unless the process still runs its binary: a PID
// reused by another process would give another process's figures.
func (p process) check() error {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.pid))
	if err != nil || exe != p.exe {
		return fmt.Errorf("%s (pid %d) is no longer running", p.name, p.pid)
	}
	return nil
}

// controllerManagerConfig returns a configuration for the secure port of
// kube-controller-manager (pid), read from its command line, verified with
// the self-signed certificate in its --cert-dir, authenticated with the
// admin's client certificate.
func controllerManagerConfig(admin *rest.Config, pid int) (*rest.Config, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, fmt.Errorf("reading the command line of kube-controller-manager: %w", err)
	}
	var port, certDir string
	for _, arg := range strings.Split(string(raw), "\x00") {
		if v, ok := strings.CutPrefix(arg, "--secure-port="); ok {
			port = v
		}
		if v, ok := strings.CutPrefix(arg, "--cert-dir="); ok {
			certDir = v
		}
	}
	if port == "" || certDir == "" {
		return nil, fmt.Errorf("kube-controller-manager (pid %d) has no --secure-port or --cert-dir", pid)
	}
	config := rest.CopyConfig(admin)
	config.Host = "https://127.0.0.1:" + port
	config.CAFile = filepath.Join(certDir, "kube-controller-manager.crt")
	config.CAData = nil
	config.ServerName = ""
	return config, nil
}

func readPIDFile(path string) (int, string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, "", fmt.Errorf("reading %s: %w", path, err)
	}
	fields := strings.Fields(string(raw))
	if len(fields) != 2 {
		return 0, "", fmt.Errorf("%s does not hold \"PID BINARY\"", path)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", path, err)
	}
	return pid, fields[1], nil
}

// sampleOnce reads every process's heap and RSS.
func (m *memorySampler) sampleOnce(ctx context.Context) (map[string]memValue, error) {
	out := map[string]memValue{}
	for _, p := range m.procs {
		if err := p.check(); err != nil {
			return nil, err
		}
		rss, err := readRSS(p.pid)
		if err != nil {
			return nil, err
		}
		reqCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		// A heap profile with gc=1 runs a garbage collection first, so
		// that the heap holds live objects, not garbage of the last
		// requests. Every component serves /debug/pprof (--profiling
		// defaults to true) to the admin.
		if _, err := p.metrics.Get().AbsPath("/debug/pprof/heap").Param("gc", "1").DoRaw(reqCtx); err != nil {
			cancel()
			return nil, fmt.Errorf("collecting the garbage of %s (/debug/pprof/heap?gc=1): %w", p.name, err)
		}
		body, err := p.metrics.Get().AbsPath("/metrics").DoRaw(reqCtx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("reading /metrics of %s: %w", p.name, err)
		}
		heap, err := MetricValue(body, HeapMetric)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		out[p.name] = memValue{Heap: heap, RSS: rss}
	}
	return out, nil
}

// sample takes n samples interval apart and keeps, per process and
// quantity, the smallest: memory not yet collected or returned only ever
// adds.
func (m *memorySampler) sample(ctx context.Context, n int, interval time.Duration) (map[string]memValue, error) {
	out := map[string]memValue{}
	for i := 0; i < max(n, 1); i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(interval):
			}
		}
		s, err := m.sampleOnce(ctx)
		if err != nil {
			return nil, err
		}
		for name, v := range s {
			prev, ok := out[name]
			if !ok {
				out[name] = v
				continue
			}
			out[name] = memValue{Heap: math.Min(prev.Heap, v.Heap), RSS: math.Min(prev.RSS, v.RSS)}
		}
	}
	return out, nil
}

func readRSS(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the status of pid %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(v)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("pid %d: unexpected VmRSS line %q", pid, sc.Text())
			}
			kb, err := strconv.ParseFloat(fields[0], 64)
			if err != nil {
				return 0, fmt.Errorf("pid %d: VmRSS: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("pid %d has no VmRSS", pid)
}

// MetricValue returns the value of an unlabelled series in a Prometheus
// text exposition.
func MetricValue(body []byte, name string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("parsing %s: %w", name, err)
			}
			return f, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading /metrics: %w", err)
	}
	return 0, fmt.Errorf("/metrics has no series %s", name)
}

// idleChecks is how many consecutive looks must find every work queue of
// petset-apiserver and kube-controller-manager empty.
const idleChecks = 2

// waitIdle waits until the controllers of petset-apiserver and
// kube-controller-manager have no work (their work queues hold no item and
// no worker is processing one, on idleChecks consecutive looks), so that
// memory is sampled after the controllers have seen every object. It
// reports false when they were still busy after timeout.
func (m *memorySampler) waitIdle(parent context.Context, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	idle := 0
	for {
		depth := 0.0
		for _, p := range m.procs {
			if p.name == ProcKubeAPIServer {
				continue
			}
			body, err := p.metrics.Get().AbsPath("/metrics").DoRaw(ctx)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				return false, fmt.Errorf("reading /metrics of %s: %w", p.name, err)
			}
			// Queued items, and items a worker is processing.
			depth += sumSeries(body, "workqueue_depth") + sumSeries(body, "workqueue_unfinished_work_seconds")
		}
		if depth == 0 && ctx.Err() == nil {
			idle++
			if idle >= idleChecks {
				return true, nil
			}
		} else {
			idle = 0
		}
		select {
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return false, err
			}
			klog.FromContext(parent).Info("The controllers still have work; sampling memory anyway", "timeout", timeout)
			return false, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// sumSeries adds up every series of the metric name in a Prometheus text
// exposition.
func sumSeries(body []byte, name string) float64 {
	sum := 0.0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// rateLimiterMetric is client-go's histogram of the time requests wait for
// the client-side rate limiter.
const rateLimiterMetric = "rest_client_rate_limiter_duration_seconds_sum"

// rateLimiterWait returns, per process, the seconds its clients have waited
// for their client-side rate limiters so far.
func (m *memorySampler) rateLimiterWait(ctx context.Context) (map[string]float64, error) {
	out := map[string]float64{}
	for _, p := range m.procs {
		reqCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		body, err := p.metrics.Get().AbsPath("/metrics").DoRaw(reqCtx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("reading /metrics of %s: %w", p.name, err)
		}
		out[p.name] = sumSeries(body, rateLimiterMetric)
	}
	return out, nil
}
