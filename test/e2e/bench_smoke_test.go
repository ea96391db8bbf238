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

package e2e

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/klog/v2/ktesting"

	"github.com/petsets/petset/test/bench"
	"github.com/petsets/petset/test/bench/report"
)

// TestBenchmarksSmoke runs every benchmark of `make bench` once, on a
// handful of objects, against the suite's cluster, and renders the
// results into a temporary directory: the benchmarks keep working without
// starting a second cluster. The figures mean nothing at this size. As in
// `make bench`, the processes that serve each target are restarted before
// its memory is sampled.
func TestBenchmarksSmoke(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	c, err := bench.LoadCluster(cluster.Env)
	if err != nil {
		t.Fatalf("loading the cluster: %v", err)
	}
	c.Script = filepath.Join(cluster.Root, "hack", "local-cluster.sh")
	restarted := []string{bench.ProcPetSetAPIServer, bench.ProcKubeAPIServer, bench.ProcKubeControllerManager}
	pidsBefore := map[string]int{}
	for _, name := range restarted {
		if pidsBefore[name], err = cluster.PID(name); err != nil {
			t.Fatal(err)
		}
	}
	opts := bench.SmokeOptions()
	start := time.Now()
	res, err := bench.Run(ctx, c, opts)
	if err != nil {
		t.Fatalf("running the benchmarks: %v", err)
	}
	t.Logf("the smoke run took %s", time.Since(start).Round(time.Millisecond))
	for _, name := range restarted {
		pid, err := cluster.PID(name)
		if err != nil {
			t.Errorf("after the run: %v", err)
			continue
		}
		if pid == pidsBefore[name] {
			t.Errorf("%s still runs as pid %d: it was not restarted before its memory was sampled", name, pid)
		}
	}

	want := map[string][]string{
		bench.GroupLatency:    bench.APITargets,
		bench.GroupCPU:        bench.APITargets,
		bench.GroupBulk:       bench.APITargets,
		bench.GroupMemory:     {bench.TargetPetSet, bench.TargetStatefulSet, bench.TargetCRD},
		bench.GroupController: bench.ControllerTargets,
	}
	for group, targets := range want {
		metrics := res.GroupMetrics(group, false)
		if len(metrics) == 0 {
			t.Errorf("no %s figures", group)
		}
		for _, m := range metrics {
			for _, target := range targets {
				s, ok := m.Find(target)
				if !ok {
					t.Errorf("%s %q: no figure for %s", group, m.Name, target)
					continue
				}
				if math.IsNaN(s.Median) || math.IsInf(s.Median, 0) {
					t.Errorf("%s %q of %s is %v", group, m.Name, target, s.Median)
				}
				// Memory differences may be negative (garbage); times and
				// rates never are.
				if group != bench.GroupMemory && s.Median <= 0 {
					t.Errorf("%s %q of %s is %v, want a positive figure", group, m.Name, target, s.Median)
				}
				if target != bench.Anchor && s.Ratio == nil {
					t.Errorf("%s %q of %s has no ratio to %s", group, m.Name, target, bench.Anchor)
				}
			}
		}
	}
	if got := len(res.GroupMetrics(bench.GroupLatency, false)); got != 3*len(bench.Verbs) {
		t.Errorf("%d latency figures, want p50, p90 and p99 of %d verbs", got, len(bench.Verbs))
	}

	// One CPU figure per verb and one of the bulk creates, in all and
	// per process.
	if got, want := len(res.GroupMetrics(bench.GroupCPU, false)), len(bench.Verbs)+1; got != want {
		t.Errorf("%d CPU figures, want %d", got, want)
	}
	if got, want := len(res.GroupMetrics(bench.GroupCPU, true)), (len(bench.Verbs)+1)*len(bench.CPUProcesses); got != want {
		t.Errorf("%d CPU figures per process, want %d", got, want)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := res.WriteJSON(path); err != nil {
		t.Fatalf("writing the results: %v", err)
	}
	read, err := bench.ReadJSON(path)
	if err != nil {
		t.Fatalf("reading the results back: %v", err)
	}
	if len(read.Metrics) != len(res.Metrics) {
		t.Errorf("read back %d metrics, wrote %d", len(read.Metrics), len(res.Metrics))
	}
	if err := report.Write(read, filepath.Join(dir, "benchmarks.md"), filepath.Join(dir, "benchmarks.png")); err != nil {
		t.Errorf("writing the page and the chart: %v", err)
	}
}
