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

// Load through kube-apiserver's aggregator: PetSets with replicas 0 are
// created, updated and deleted by concurrent clients while watches, each
// selecting a share of the PetSets by label, stay open. Every watch must see
// each of its PetSets added, modified by the update and deleted, in
// resourceVersion order; no response may have a 5xx code; petset-apiserver's
// heap after the deletion of the last of three rounds must settle within
// 20% of the lowest it settled at after an earlier round.
//
// PETSET_LOAD_OBJECTS, PETSET_LOAD_CLIENTS and PETSET_LOAD_WATCHES set the
// size. The defaults are a small version for make test; make test-chaos and
// make test-load run 1,000 PetSets, 20 clients and 50 watches.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/petsets/petset/test/bench"
	"github.com/petsets/petset/test/e2e/framework"
	"github.com/petsets/petset/test/e2e/reliability"
)

const (
	// loadShardLabel assigns a PetSet to the watch that selects it.
	loadShardLabel = "load.petsets.io/shard"
	// loadUpdatedAnnotation marks the update of the load scenario.
	loadUpdatedAnnotation = "load.petsets.io/updated"
	// loadHeapTolerance is how far above the baseline the heap may settle
	// after the deletion.
	loadHeapTolerance = 0.2
	// loadHeapCheckFrom is the smallest size whose heap is checked against
	// loadHeapTolerance: below it the change is within the noise of the
	// rest of the suite, so it is reported only.
	loadHeapCheckFrom = 200
	// loadHeapSettle bounds the wait for the heap to settle: longer than
	// the 75 s of events the watch cache keeps at least.
	loadHeapSettle = 2 * time.Minute
	// loadRounds is how many times the full-size load runs. The watch
	// cache's event history grows (doubling) until it holds the events of
	// the last 75 s; the first round does not fill it and the second does,
	// so the third is the first to start from a steady state.
	loadRounds = 3
	// loadRequestTimeout bounds each request.
	loadRequestTimeout = 30 * time.Second
)

// loadVerbs are the verbs the scenario measures, in the order they run.
var loadVerbs = []string{"create", "get", "update", "list", "delete", "watch"}

// envCount returns the positive number in the environment variable name,
// or def when it is unset.
func envCount(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// loadStats counts the responses of every request per verb and code and the
// latency of the clients' calls per verb.
type loadStats struct {
	mu           sync.Mutex
	latencies    map[string][]float64
	codes        map[string]map[string]int
	serverErrors []string
}

func newLoadStats() *loadStats {
	return &loadStats{latencies: map[string][]float64{}, codes: map[string]map[string]int{}}
}

// observe records the latency of one call of verb.
func (s *loadStats) observe(verb string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies[verb] = append(s.latencies[verb], float64(d)/float64(time.Millisecond))
}

// timed calls f and records its latency under verb.
func (s *loadStats) timed(verb string, f func() error) error {
	start := time.Now()
	err := f()
	s.observe(verb, time.Since(start))
	return err
}

// loadVerb names the verb of an HTTP request to the PetSet API.
func loadVerb(req *http.Request) string {
	switch req.Method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	if req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1" {
		return "watch"
	}
	if strings.HasSuffix(req.URL.Path, "/petsets") {
		return "list"
	}
	return "get"
}

// wrap returns the transport of the scenario's clients: it counts every
// response and keeps those with a 5xx code.
func (s *loadStats) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		verb, code := loadVerb(req), "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.codes[verb] == nil {
			s.codes[verb] = map[string]int{}
		}
		s.codes[verb][code]++
		if err == nil && resp.StatusCode >= 500 {
			s.serverErrors = append(s.serverErrors, fmt.Sprintf("%s %s: %d", req.Method, req.URL.RequestURI(), resp.StatusCode))
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// verbStats returns the figures per verb.
func (s *loadStats) verbStats() []reliability.VerbStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []reliability.VerbStats
	for _, verb := range loadVerbs {
		codes := s.codes[verb]
		if len(codes) == 0 && len(s.latencies[verb]) == 0 {
			continue
		}
		v := reliability.VerbStats{Verb: verb, Codes: map[string]int{}}
		for code, n := range codes {
			v.Codes[code] = n
			v.Requests += n
		}
		if lat := s.latencies[verb]; len(lat) > 0 {
			v.P50Ms = bench.Percentile(lat, 50)
			v.P99Ms = bench.Percentile(lat, 99)
		}
		out = append(out, v)
	}
	return out
}

// loadClient returns a PetSet client through kube-apiserver with a
// connection of its own, counted by stats.
func loadClient(t testing.TB, stats *loadStats) versioned.Interface {
	t.Helper()
	config := rest.CopyConfig(cluster.Config)
	config.QPS, config.Burst = 100, 200
	// A Proxy function makes client-go build a transport, and so a
	// connection, for this client alone instead of sharing a cached one.
	config.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	config.Wrap(stats.wrap)
	client, err := versioned.NewForConfig(config)
	if err != nil {
		t.Fatalf("creating a PetSet client: %v", err)
	}
	return client
}

// loadRun calls do for 0..n-1 from one goroutine per client and returns the
// errors.
func loadRun(ctx context.Context, clients []versioned.Interface, n int, do func(ctx context.Context, c versioned.Interface, i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				reqCtx, cancel := context.WithTimeout(ctx, loadRequestTimeout)
				err := do(reqCtx, c, i)
				cancel()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// loadHeap reads petset-apiserver's heap from its /metrics, directly, right
// after a garbage collection (/debug/pprof/heap?gc=1): the smallest of three
// readings a second apart.
type loadHeap struct {
	client rest.Interface
}

func newLoadHeap(t testing.TB) *loadHeap {
	t.Helper()
	config := cluster.FrontProxyConfig("load-heap-reader", "system:masters")
	config.AcceptContentTypes = "text/plain"
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatalf("creating a client for petset-apiserver: %v", err)
	}
	return &loadHeap{client: client.Discovery().RESTClient()}
}

// profile writes a heap profile of petset-apiserver, taken after a
// garbage collection, to cluster.Dir/load-heap-<phase>.pprof for
// `go tool pprof`, and returns the path.
func (h *loadHeap) profile(ctx context.Context, phase string) (string, error) {
	reqCtx, cancel := context.WithTimeout(ctx, loadRequestTimeout)
	defer cancel()
	body, err := h.client.Get().AbsPath("/debug/pprof/heap").Param("gc", "1").DoRaw(reqCtx)
	if err != nil {
		return "", fmt.Errorf("getting a heap profile of petset-apiserver: %w", err)
	}
	path := filepath.Join(cluster.Dir, "load-heap-"+phase+".pprof")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// loadWatchCacheFrames mark the allocations the watch cache keeps: the
// objects it decodes from etcd's watch (they live as long as the watch
// cache keeps them, in its store or its event history) and its own
// structures (the store, its snapshots for reads at past resourceVersions,
// the events).
var loadWatchCacheFrames = []string{
	"k8s.io/apiserver/pkg/storage/etcd3.(*watchChan).transform+",
	"k8s.io/apiserver/pkg/storage/cacher.",
}

// watchCacheShare reads a heap profile of petset-apiserver in text form
// (/debug/pprof/heap?debug=1, after a garbage collection) and returns the
// live heap it accounts for and the part allocated under one of
// loadWatchCacheFrames, in bytes, scaled for the sampling as go tool pprof
// does. Both are estimates from a sampled profile (one allocation in
// about 512 KiB).
func (h *loadHeap) watchCacheShare(ctx context.Context) (live, watchCache float64, err error) {
	reqCtx, cancel := context.WithTimeout(ctx, loadRequestTimeout)
	defer cancel()
	body, err := h.client.Get().AbsPath("/debug/pprof/heap").Param("gc", "1").Param("debug", "1").DoRaw(reqCtx)
	if err != nil {
		return 0, 0, fmt.Errorf("getting a heap profile of petset-apiserver: %w", err)
	}
	lines := strings.Split(string(body), "\n")
	var rate float64
	if _, err := fmt.Sscanf(lines[0][strings.LastIndex(lines[0], "@ heap/"):], "@ heap/%g", &rate); err != nil || rate <= 0 {
		return 0, 0, fmt.Errorf("the heap profile starts with %q, want its sampling rate", lines[0])
	}
	// The text form states twice the sampling rate (runtime.MemProfileRate).
	rate /= 2
	var recBytes float64
	inRecord := false
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, "# runtime.MemStats") {
			break
		}
		var objects, size, allocObjects, allocSize float64
		if _, err := fmt.Sscanf(line, "%g: %g [%g: %g] @", &objects, &size, &allocObjects, &allocSize); err == nil {
			recBytes, inRecord = 0, true
			if objects > 0 {
				// The sampling keeps an allocation of s bytes with
				// probability 1-exp(-s/rate).
				recBytes = size / (1 - math.Exp(-size/objects/rate))
			}
			live += recBytes
			continue
		}
		if inRecord && strings.HasPrefix(line, "#") && slices.ContainsFunc(loadWatchCacheFrames, func(frame string) bool {
			return strings.Contains(line, frame)
		}) {
			watchCache += recBytes
			inRecord = false
		}
	}
	return live, watchCache, nil
}

func (h *loadHeap) read(ctx context.Context) (float64, error) {
	least := -1.0
	for i := range 3 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Second):
			}
		}
		reqCtx, cancel := context.WithTimeout(ctx, loadRequestTimeout)
		_, err := h.client.Get().AbsPath("/debug/pprof/heap").Param("gc", "1").DoRaw(reqCtx)
		if err != nil {
			cancel()
			return 0, fmt.Errorf("collecting the garbage of petset-apiserver: %w", err)
		}
		body, err := h.client.Get().AbsPath("/metrics").DoRaw(reqCtx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("reading /metrics of petset-apiserver: %w", err)
		}
		v, err := bench.MetricValue(body, bench.HeapMetric)
		if err != nil {
			return 0, err
		}
		if least < 0 || v < least {
			least = v
		}
	}
	return least, nil
}

// loadEvent is an event a watch received.
type loadEvent struct {
	typ     watch.EventType
	name    string
	uid     types.UID
	rv      string
	updated bool
}

// loadWatch is an open watch of the PetSets of one shard.
type loadWatch struct {
	shard  int
	mu     sync.Mutex
	events []loadEvent
	// restarts counts the times the server ended the watch.
	restarts int
	err      error
	done     chan struct{}
}

func (w *loadWatch) snapshot() ([]loadEvent, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events), w.err
}

// loadStartWatch watches the PetSets of shard in ns from resourceVersion
// rv until ctx ends. A watch the server ends (the watch cache closes the
// watch of a client that falls behind) is started again from the last
// resourceVersion received, as a reflector would, and counted; an error
// event or a failed start is recorded and ends it.
func loadStartWatch(ctx context.Context, t testing.TB, client versioned.Interface, ns, rv string, shard int) *loadWatch {
	t.Helper()
	w := &loadWatch{shard: shard, done: make(chan struct{})}
	start := func() (watch.Interface, error) {
		return client.AppsV1alpha1().PetSets(ns).Watch(ctx, metav1.ListOptions{
			LabelSelector:   fmt.Sprintf("%s=%d", loadShardLabel, shard),
			ResourceVersion: rv,
		})
	}
	wi, err := start()
	if err != nil {
		t.Fatalf("watching the PetSets of shard %d: %v", shard, err)
	}
	go func() {
		defer close(w.done)
		defer func() { wi.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-wi.ResultChan():
				if !ok {
					if ctx.Err() != nil {
						return
					}
					wi.Stop()
					var startErr error
					if wi, startErr = start(); startErr != nil {
						w.mu.Lock()
						w.err = fmt.Errorf("watching the PetSets of shard %d again from resourceVersion %s: %w", shard, rv, startErr)
						w.mu.Unlock()
						// Stop has nothing to stop on a nil watch.
						wi = watch.NewEmptyWatch()
						return
					}
					w.mu.Lock()
					w.restarts++
					w.mu.Unlock()
					continue
				}
				w.mu.Lock()
				switch ev.Type {
				case watch.Error:
					w.err = fmt.Errorf("the watch of shard %d delivered an error: %v", shard, ev.Object)
				default:
					ps, isSet := ev.Object.(*appsv1alpha1.PetSet)
					if !isSet {
						w.err = fmt.Errorf("the watch of shard %d delivered a %T", shard, ev.Object)
						break
					}
					rv = ps.ResourceVersion
					w.events = append(w.events, loadEvent{typ: ev.Type, name: ps.Name, uid: ps.UID, rv: ps.ResourceVersion,
						updated: ps.Annotations[loadUpdatedAnnotation] == "true"})
				}
				stop := w.err != nil
				w.mu.Unlock()
				if stop {
					return
				}
			}
		}
	}()
	return w
}

// loadCheckEvents checks the events one watch received for the PetSets
// names: resourceVersions strictly increase, and each PetSet was added, then
// modified (at least once by the update), then deleted, and nothing else.
func loadCheckEvents(evs []loadEvent, names []string) []string {
	var problems []string
	var last uint64
	perName := map[string][]loadEvent{}
	for i, e := range evs {
		rv, err := strconv.ParseUint(e.rv, 10, 64)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("event #%d (%s %s) has resourceVersion %q", i, e.typ, e.name, e.rv))
		case rv <= last:
			problems = append(problems, fmt.Sprintf("event #%d (%s %s) has resourceVersion %d after %d", i, e.typ, e.name, rv, last))
		default:
			last = rv
		}
		perName[e.name] = append(perName[e.name], e)
	}
	for name := range perName {
		if !slices.Contains(names, name) {
			problems = append(problems, fmt.Sprintf("events of %s, which the watch does not select", name))
		}
	}
	for _, name := range names {
		got := perName[name]
		var seen []string
		updated := false
		for _, e := range got {
			seen = append(seen, string(e.typ))
			if e.typ == watch.Modified && e.updated {
				updated = true
			}
			if e.uid != got[0].uid {
				problems = append(problems, fmt.Sprintf("%s: events of two objects (uid %s and %s)", name, got[0].uid, e.uid))
				break
			}
		}
		n := len(got)
		ok := n >= 3 && got[0].typ == watch.Added && got[n-1].typ == watch.Deleted
		for _, e := range got[min(1, n):max(n-1, 1)] {
			ok = ok && e.typ == watch.Modified
		}
		if !ok || !updated {
			problems = append(problems, fmt.Sprintf("%s: events %v, want ADDED, MODIFIED (at least one by the update), DELETED", name, seen))
		}
	}
	return problems
}

// TestLoadPetSetsThroughTheAggregator creates, updates and deletes PetSets
// with replicas 0 through kube-apiserver from concurrent clients, with
// watches open, and checks the watches' events, the response codes and
// petset-apiserver's heap. At full size it runs the load loadRounds times:
// the heap after the last round's deletion must settle within
// loadHeapTolerance of the lowest it settled at after an earlier round,
// which a leak would exceed. The heap before any load is reported too, with what
// the watch cache holds.
func TestLoadPetSetsThroughTheAggregator(t *testing.T) {
	objects := envCount(t, "PETSET_LOAD_OBJECTS", 40)
	clients := envCount(t, "PETSET_LOAD_CLIENTS", 4)
	watches := envCount(t, "PETSET_LOAD_WATCHES", 4)
	rounds := 1
	if objects >= loadHeapCheckFrom {
		rounds = loadRounds
	}
	load := &reliability.Load{Objects: objects, Clients: clients, Watches: watches, Rounds: rounds, HeapMetric: bench.HeapMetric, HeapTolerance: loadHeapTolerance}
	result := &reliability.Result{
		Scenario: "PetSets created, updated and deleted through the aggregator",
		Load:     load,
		Checks: []string{
			"every watch saw each of its PetSets added, modified by the update and deleted, in resourceVersion order",
			"no response with a 5xx code",
		},
	}
	if rounds > 1 {
		result.Checks = append(result.Checks, fmt.Sprintf("petset-apiserver's heap after the last round's deletion settled within %.0f%% of the lowest it settled at after an earlier round", 100*loadHeapTolerance))
	}
	chaosRecord(t, result)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s := &loadScenario{
		t: t, ns: cluster.CreateNamespace(t), stats: newLoadStats(), heap: newLoadHeap(t),
		load: load, result: result, objects: objects, clients: clients, watches: watches,
	}
	defer func() {
		load.Verbs = s.stats.verbStats()
		s.stats.mu.Lock()
		load.ServerErrors = len(s.stats.serverErrors)
		s.stats.mu.Unlock()
	}()

	baseline := s.addHeap(ctx, "before")
	baseLive, baseCached, baseErr := s.heap.watchCacheShare(ctx)
	if baseErr != nil {
		t.Errorf("%v", baseErr)
	}
	var settled []float64
	for round := 1; round <= rounds; round++ {
		s.round(ctx, round)
		// The first round's reference is the baseline, the others' the
		// lowest heap after an earlier round: where the heap settles
		// within the tolerance of it, the wait stops there.
		ref := baseline
		if round > 1 {
			ref = slices.Min(settled)
		}
		settled = append(settled, s.settle(ctx, round, ref))
	}
	last := settled[len(settled)-1]
	t.Logf("petset-apiserver heap after the deletion: %.1f MiB, %+.0f%% of the baseline %.1f MiB before any load", last/(1<<20), 100*(last/baseline-1), baseline/(1<<20))
	if objects < loadHeapCheckFrom {
		t.Logf("the heap is not checked below %d PetSets", loadHeapCheckFrom)
		return
	}
	// What the heap holds beyond the baseline, and how much of it is the
	// watch cache's, as a note on the page.
	if last > baseline*(1+loadHeapTolerance) {
		if live, cached, err := s.heap.watchCacheShare(ctx); err != nil {
			t.Errorf("%v", err)
		} else {
			note := fmt.Sprintf("after the last deletion the heap is %+.0f%% of the baseline before any load: "+
				"%.1f MiB of the %.1f MiB of live objects on petset-apiserver's heap were held by the watch cache "+
				"(objects it decoded from etcd's watch and its own structures): k8s.io/apiserver's watch cache keeps its event history "+
				"(at least 75 s of events, the deleted PetSets with them, and the snapshots of its store at their resourceVersions) "+
				"until newer events overwrite it, and with no further writes to PetSets it keeps it",
				100*(last/baseline-1), cached/(1<<20), live/(1<<20))
			if baseErr == nil {
				note += fmt.Sprintf("; outside the watch cache, %.1f MiB were live against %.1f MiB before the load "+
					"(estimates from sampled heap profiles)", (live-cached)/(1<<20), (baseLive-baseCached)/(1<<20))
			}
			result.Notes = append(result.Notes, note)
			t.Log(note)
		}
	}
	if rounds > 1 {
		prev := slices.Min(settled[:len(settled)-1])
		if limit := prev * (1 + loadHeapTolerance); last > limit {
			if path, err := s.heap.profile(ctx, "after"); err != nil {
				t.Errorf("%v", err)
			} else {
				t.Logf("heap profile after the last deletion: %s", path)
			}
			t.Errorf("petset-apiserver's heap %.1f MiB after round %d is %+.0f%% of the lowest after an earlier round, %.1f MiB (limit %+.0f%%): it grows from round to round",
				last/(1<<20), rounds, 100*(last/prev-1), prev/(1<<20), 100*loadHeapTolerance)
		}
	}
}

// loadScenario is the state the rounds of the load scenario share.
type loadScenario struct {
	t                         *testing.T
	ns                        string
	stats                     *loadStats
	heap                      *loadHeap
	load                      *reliability.Load
	result                    *reliability.Result
	objects, clients, watches int
	conflicts                 atomic.Int64
	// reported counts the responses with a 5xx code already reported.
	reported int
}

// addHeap reads petset-apiserver's heap and records it under phase.
func (s *loadScenario) addHeap(ctx context.Context, phase string) float64 {
	s.t.Helper()
	v, err := s.heap.read(ctx)
	if err != nil {
		s.t.Fatalf("reading the heap %s: %v", phase, err)
	}
	s.load.Heap = append(s.load.Heap, reliability.HeapSample{Phase: phase, Bytes: v})
	s.t.Logf("petset-apiserver heap %s: %.1f MiB", phase, v/(1<<20))
	return v
}

// roundName prefixes phase with the round when the load runs more than
// once.
func (s *loadScenario) roundName(round int, phase string) string {
	if s.load.Rounds <= 1 {
		return phase
	}
	return fmt.Sprintf("round %d, %s", round, phase)
}

// round creates, updates, lists and deletes s.objects PetSets with
// s.clients clients while s.watches watches stay open, then checks the
// watches' events and the response codes.
func (s *loadScenario) round(ctx context.Context, round int) {
	t := s.t
	t.Helper()
	ns, stats, objects, clients, watches := s.ns, s.stats, s.objects, s.clients, s.watches
	start := time.Now()

	// The watches start at the resourceVersion of a list made before the
	// first create, so that they miss nothing.
	list, err := loadClient(t, stats).AppsV1alpha1().PetSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the PetSets of %s: %v", ns, err)
	}
	watchCtx, stopWatches := context.WithCancel(ctx)
	ws := make([]*loadWatch, watches)
	for k := range ws {
		// A connection each, so that no watch waits for another's.
		ws[k] = loadStartWatch(watchCtx, t, loadClient(t, stats), ns, list.ResourceVersion, k)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		stopWatches()
		for _, w := range ws {
			pcRecv(t, w.done, 30*time.Second, fmt.Sprintf("the watch of shard %d to stop", w.shard))
		}
	}
	defer stop()

	cs := make([]versioned.Interface, clients)
	for i := range cs {
		cs[i] = loadClient(t, stats)
	}
	name := func(i int) string { return fmt.Sprintf("load-%d-%05d", round, i) }
	tmpl := secNewPetSet(t, "template")

	phase := func(what string, do func(ctx context.Context, c versioned.Interface, i int) error) {
		t.Helper()
		began := time.Now()
		if err := loadRun(ctx, cs, objects, do); err != nil {
			t.Fatalf("%s: %v", s.roundName(round, what), err)
		}
		t.Logf("%s: %d PetSets by %d clients in %s", s.roundName(round, what), objects, clients, time.Since(began).Round(time.Millisecond))
	}
	phase("create", func(ctx context.Context, c versioned.Interface, i int) error {
		ps := tmpl.DeepCopy()
		ps.Name = name(i)
		ps.Labels = map[string]string{"app": "nginx", loadShardLabel: strconv.Itoa(i % watches)}
		ps.Spec.Replicas = ptr.To[int32](0)
		return stats.timed("create", func() error {
			_, err := c.AppsV1alpha1().PetSets(ns).Create(ctx, ps, metav1.CreateOptions{})
			return err
		})
	})
	conflicts := s.conflicts.Load()
	phase("update", func(ctx context.Context, c versioned.Interface, i int) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var ps *appsv1alpha1.PetSet
			if err := stats.timed("get", func() (err error) {
				ps, err = c.AppsV1alpha1().PetSets(ns).Get(ctx, name(i), metav1.GetOptions{})
				return err
			}); err != nil {
				return err
			}
			if ps.Annotations == nil {
				ps.Annotations = map[string]string{}
			}
			ps.Annotations[loadUpdatedAnnotation] = "true"
			err := stats.timed("update", func() error {
				_, err := c.AppsV1alpha1().PetSets(ns).Update(ctx, ps, metav1.UpdateOptions{})
				return err
			})
			if apierrors.IsConflict(err) {
				s.conflicts.Add(1)
			}
			return err
		})
	})
	// Each client lists every PetSet in pages of 100.
	if err := loadRun(ctx, cs, clients, func(ctx context.Context, c versioned.Interface, _ int) error {
		opts := metav1.ListOptions{Limit: 100}
		n := 0
		for {
			var page *appsv1alpha1.PetSetList
			if err := stats.timed("list", func() (err error) {
				page, err = c.AppsV1alpha1().PetSets(ns).List(ctx, opts)
				return err
			}); err != nil {
				return err
			}
			n += len(page.Items)
			if page.Continue == "" {
				break
			}
			opts.Continue = page.Continue
		}
		if n != objects {
			return fmt.Errorf("a paged list returned %d PetSets, want %d", n, objects)
		}
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", s.roundName(round, "list"), err)
	}
	s.addHeap(ctx, s.roundName(round, fmt.Sprintf("during (%d PetSets)", objects)))
	if round == 1 {
		if path, err := s.heap.profile(ctx, "during"); err != nil {
			t.Errorf("%v", err)
		} else {
			t.Logf("heap profile during the load: %s", path)
		}
	}
	phase("delete", func(ctx context.Context, c versioned.Interface, i int) error {
		return stats.timed("delete", func() error {
			return c.AppsV1alpha1().PetSets(ns).Delete(ctx, name(i), metav1.DeleteOptions{})
		})
	})
	if n := s.conflicts.Load() - conflicts; n > 0 {
		what := fmt.Sprintf("%d updates met a conflict (409, the controller had written the status) and were retried", n)
		if n == 1 {
			what = "1 update met a conflict (409, the controller had written the status) and was retried"
		}
		s.result.Notes = append(s.result.Notes, s.roundName(round, what))
	}

	// Every watch sees the deletion of each of its PetSets.
	shardNames := make([][]string, watches)
	for i := range objects {
		shardNames[i%watches] = append(shardNames[i%watches], name(i))
	}
	framework.WaitFor(t, 2*time.Minute, "every watch to see the deletion of its PetSets", func(context.Context) (bool, string, error) {
		for k, w := range ws {
			evs, err := w.snapshot()
			if err != nil {
				return false, "", err
			}
			deleted := 0
			for _, e := range evs {
				if e.typ == watch.Deleted {
					deleted++
				}
			}
			if deleted < len(shardNames[k]) {
				return false, fmt.Sprintf("the watch of shard %d saw %d of %d deletions", k, deleted, len(shardNames[k])), nil
			}
		}
		return true, "", nil
	})
	stop()
	restarts, events := 0, 0
	for k, w := range ws {
		evs, err := w.snapshot()
		if err != nil {
			t.Error(err)
		}
		events += len(evs)
		w.mu.Lock()
		restarts += w.restarts
		w.mu.Unlock()
		problems := loadCheckEvents(evs, shardNames[k])
		for i, p := range problems {
			if i == 10 {
				t.Errorf("%s: %d more problems", s.roundName(round, fmt.Sprintf("shard %d", k)), len(problems)-10)
				break
			}
			t.Errorf("%s: %s", s.roundName(round, fmt.Sprintf("shard %d", k)), p)
		}
	}
	s.load.WatchEvents += events
	t.Logf("%s: %d PetSets created, updated and deleted by %d clients in %s; %d watch events",
		s.roundName(round, "load"), objects, clients, time.Since(start).Round(time.Millisecond), events)
	if restarts > 0 {
		s.result.Notes = append(s.result.Notes, s.roundName(round, fmt.Sprintf("the server ended watches %d times (the watch cache closes the watch of a client that falls behind); "+
			"each was started again from the last resourceVersion it had received", restarts)))
	}
	stats.mu.Lock()
	fresh := stats.serverErrors[s.reported:]
	s.reported = len(stats.serverErrors)
	stats.mu.Unlock()
	for i, e := range fresh {
		if i == 10 {
			t.Errorf("%d more responses with a 5xx code", len(fresh)-10)
			break
		}
		t.Errorf("a response with a 5xx code: %s", e)
	}
}

// settle reads the heap after a round's deletion until it is within
// loadHeapTolerance of ref, for at most loadHeapSettle, records the last
// reading and returns it. Below loadHeapCheckFrom PetSets it reads once.
func (s *loadScenario) settle(ctx context.Context, round int, ref float64) float64 {
	s.t.Helper()
	limit := ref * (1 + loadHeapTolerance)
	start := time.Now()
	var v float64
	for {
		var err error
		v, err = s.heap.read(ctx)
		if err != nil {
			s.t.Fatalf("reading the heap after the deletion: %v", err)
		}
		if v <= limit || time.Since(start) > loadHeapSettle || s.objects < loadHeapCheckFrom {
			break
		}
		s.t.Logf("heap %.1f MiB, above %.1f MiB; reading again", v/(1<<20), limit/(1<<20))
		select {
		case <-ctx.Done():
			s.t.Fatalf("reading the heap after the deletion: %v", ctx.Err())
		case <-time.After(10 * time.Second):
		}
	}
	phase := fmt.Sprintf("after the deletion (%s later)", time.Since(start).Round(time.Second))
	s.load.Heap = append(s.load.Heap, reliability.HeapSample{Phase: s.roundName(round, phase), Bytes: v})
	s.t.Logf("petset-apiserver heap %s: %.1f MiB", s.roundName(round, phase), v/(1<<20))
	return v
}
