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
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// mib is a mebibyte in bytes.
const mib = 1 << 20

// Run runs the benchmarks of opts against c and returns their figures.
//
// Each round runs the latency benchmark on every target, then the bulk
// benchmark on every target, then the controller benchmark on every kind
// and variant, each time in an order rotated by one per round, so that a
// machine whose speed drifts affects every target alike. A measurement that
// fails is left out of the results (and noted); Run goes on with the next
// one and returns every failure joined. Everything Run creates is deleted
// before it returns, even when ctx is cancelled.
func Run(ctx context.Context, c *Cluster, opts Options) (*Results, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx)
	started := time.Now()
	res := &Results{Options: opts, Targets: Targets}
	res.Meta = machineMeta()
	res.Meta.Date = started.UTC().Truncate(time.Second)
	res.Meta.LoadBefore = loadAverage()
	res.Meta.KubeVersion = serverVersion(ctx, c.Kube)
	if c.HasDirect() {
		if direct, err := kubernetes.NewForConfig(c.Direct); err == nil {
			res.Meta.PetSetVersion = serverVersion(ctx, direct)
		}
	}

	b := &runner{c: c, opts: opts, res: res, runID: rand.String(5)}
	defer b.cleanup(ctx)

	for _, key := range opts.Targets {
		if key == TargetPetSetDirect && !c.HasDirect() {
			res.note("target %s left out: petset-apiserver cannot be reached directly without the cluster's state directory", key)
			continue
		}
		t, err := c.apiTarget(key)
		if err != nil {
			return nil, err
		}
		b.targets = append(b.targets, t)
	}
	if slices.Contains(opts.Targets, TargetCRD) && (opts.has(GroupLatency) || opts.has(GroupBulk)) {
		schema, err := c.FetchPetSetSchema(ctx, opts.WaitTimeout.D())
		if err != nil {
			return nil, err
		}
		if err := c.EnsureCRD(ctx, schema, opts.WaitTimeout.D()); err != nil {
			return nil, err
		}
		b.crd = true
	}
	if !c.HasProcesses() {
		res.note("CPU, memory and rate-limiter figures left out: the cluster's processes are unknown without its state directory")
	} else {
		// The sampler also tells when the controllers are idle, which
		// every benchmark waits for before it measures a target.
		var err error
		if b.sampler, err = c.memorySampler(); err != nil {
			return nil, err
		}
		if opts.has(GroupLatency) || opts.has(GroupBulk) {
			if b.meter, err = c.cpuMeter(); err != nil {
				return nil, err
			}
		}
	}

	if opts.Warmup > 0 && (opts.has(GroupLatency) || opts.has(GroupBulk)) {
		if err := b.warmup(ctx); err != nil {
			return res, err
		}
	}

	var errs []error
	for round := 0; round < opts.Rounds; round++ {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		logger.Info("Round", "round", round+1, "of", opts.Rounds)
		ns, err := b.namespace(ctx, fmt.Sprintf("r%d", round+1))
		if err != nil {
			errs = append(errs, err)
			break
		}
		errs = append(errs, b.round(ctx, round, ns)...)
		if err := b.deleteNamespace(ctx, ns); err != nil {
			errs = append(errs, err)
		}
	}
	res.Meta.Duration = time.Since(started).Round(time.Second).String()
	res.Meta.LoadAfter = loadAverage()
	res.Summarize()
	return res, errors.Join(errs...)
}

// runner holds the state of one Run.
type runner struct {
	c       *Cluster
	opts    Options
	res     *Results
	runID   string
	targets []*apiTarget
	sampler *memorySampler
	meter   *cpuMeter
	crd     bool
	// petSetMemoryRound is the round (from 1) whose PetSet memory was
	// sampled last.
	petSetMemoryRound int
	// restartNoted tells that the results already note that memory was
	// sampled without restarting the processes.
	restartNoted bool
	namespaces   []string
}

// round runs every selected benchmark once on every target.
func (b *runner) round(ctx context.Context, round int, ns string) []error {
	var errs []error
	fail := func(what string, err error) {
		klog.FromContext(ctx).Error(err, "Measurement failed; going on without it", "round", round+1, "measurement", what)
		b.res.note("round %d, %s: %v", round+1, what, err)
		errs = append(errs, fmt.Errorf("round %d, %s: %w", round+1, what, err))
	}
	if b.opts.has(GroupLatency) {
		for _, t := range rotate(b.targets, round) {
			if ctx.Err() != nil {
				return append(errs, ctx.Err())
			}
			if err := b.latency(ctx, round, t, ns); err != nil {
				fail("latency "+t.key, err)
				b.clear(ctx, t, ns)
			}
		}
	}
	if b.opts.has(GroupBulk) {
		for _, t := range rotate(b.targets, round) {
			if ctx.Err() != nil {
				return append(errs, ctx.Err())
			}
			if err := b.bulk(ctx, round, t, ns); err != nil {
				fail("bulk "+t.key, err)
				b.clear(ctx, t, ns)
			}
		}
	}
	if b.opts.has(GroupController) {
		type run struct {
			kind   string
			claims bool
		}
		var runs []run
		for _, claims := range ControllerVariants {
			for _, kind := range ControllerTargets {
				runs = append(runs, run{kind, claims})
			}
		}
		for _, r := range rotate(runs, round) {
			if ctx.Err() != nil {
				return append(errs, ctx.Err())
			}
			if err := b.controller(ctx, round, r.kind, r.claims, ns); err != nil {
				fail(fmt.Sprintf("controller %s (%s)", r.kind, variantName(r.claims)), err)
			}
		}
	}
	return errs
}

func (b *runner) latency(ctx context.Context, round int, t *apiTarget, ns string) error {
	logger := klog.FromContext(ctx)
	logger.Info("Latency", "round", round+1, "target", t.key, "requests", b.opts.Requests)
	if err := b.settle(ctx, round, "latency "+t.key); err != nil {
		return err
	}
	// runLatency returns once every object it created is gone.
	lat, err := runLatency(ctx, t, ns, b.opts, b.meter)
	if err != nil {
		return err
	}
	for _, verb := range Verbs {
		ms := make([]float64, 0, len(lat.durations[verb]))
		for _, d := range lat.durations[verb] {
			ms = append(ms, milliseconds(d))
		}
		for _, p := range []float64{50, 90, 99} {
			b.res.add(GroupLatency, fmt.Sprintf("%s p%.0f", verb, p), "ms", true, t.key, round, Percentile(ms, p))
		}
	}
	perRequest := func(d time.Duration) float64 { return milliseconds(d) / float64(b.opts.Requests) }
	for _, verb := range Verbs {
		if spent, ok := lat.cpu[verb]; ok {
			b.addCPU(verb, "ms", t.key, round, spent, perRequest)
		}
	}
	if lat.conflicts > 0 {
		b.res.note("round %d, latency %s: %d updates met a conflict (a controller's write) and were sent again; only the successful update is timed", round+1, t.key, lat.conflicts)
	}
	return nil
}

// settle waits until the controllers' queues are empty, so that what the
// last target left behind (finalizers, the garbage collection of its
// ControllerRevisions) is done before the measurement begins; it
// notes a measurement that began with the controllers still busy.
func (b *runner) settle(ctx context.Context, round int, what string) error {
	if b.sampler == nil {
		return nil
	}
	idle, err := b.sampler.waitIdle(ctx, b.opts.SettleTimeout.D())
	if err != nil {
		return err
	}
	if !idle {
		b.res.note("round %d, %s: the controllers were still busy after %s when the measurement began", round+1, what, b.opts.SettleTimeout.D())
	}
	return nil
}

// addCPU adds the CPU time of every process together as the figure name,
// and of each process to the detail table, scaled by scale.
func (b *runner) addCPU(name, unit, target string, round int, spent map[string]time.Duration, scale func(time.Duration) float64) {
	var total time.Duration
	for _, p := range CPUProcesses {
		total += spent[p]
		b.res.addDetail(GroupCPU, fmt.Sprintf("%s: %s", name, p), unit, true, target, round, scale(spent[p]))
	}
	b.res.add(GroupCPU, name, unit, true, target, round, scale(total))
}

func (b *runner) bulk(ctx context.Context, round int, t *apiTarget, ns string) error {
	logger := klog.FromContext(ctx)
	logger.Info("Bulk", "round", round+1, "target", t.key, "objects", b.opts.Objects)
	// PetSets take the same memory whichever way they came in, and a
	// server's watch cache keeps the events of the objects just deleted
	// for a while, so the second PetSet target of a round would find the
	// first one's memory still held. Memory is therefore sampled for the
	// first PetSet target of each round only and reported as "PetSet".
	memKey := t.key
	sampler := b.sampler
	if strings.HasPrefix(t.key, "petset") {
		memKey = TargetPetSet
		if b.petSetMemoryRound == round+1 {
			sampler = nil
		}
		b.petSetMemoryRound = round + 1
	}
	if sampler != nil {
		if err := b.restartServing(ctx, round, t, memKey, ns); err != nil {
			return err
		}
		sampler = b.sampler
	}
	if err := b.settle(ctx, round, "bulk "+t.key); err != nil {
		return err
	}
	r, err := runBulk(ctx, t, ns, b.opts, sampler, b.meter)
	if err != nil {
		return err
	}
	n := float64(b.opts.Objects)
	add := func(name, unit string, lower bool, v float64) {
		b.res.add(GroupBulk, name, unit, lower, t.key, round, v)
	}
	if r.busy {
		b.res.note("round %d, bulk %s: the controllers were still busy after %s when memory was sampled", round+1, t.key, b.opts.SettleTimeout.D())
	}
	add("create throughput", "objects/s", false, n/r.create.Seconds())
	add("create until every object observed by its controller", "s", true, seconds(r.observed))
	if r.cpu != nil {
		b.addCPU("bulk create until observed, per 1,000 objects", "s", t.key, round, r.cpu, func(d time.Duration) float64 { return seconds(d) / n * 1000 })
	}
	add("LIST all", "ms", true, milliseconds(r.list))
	add("LIST all, resourceVersion=0", "ms", true, milliseconds(r.listRV0))
	add("watch from 0, all ADDED", "ms", true, milliseconds(r.watch))
	add("deletecollection call", "ms", true, milliseconds(r.deleteCollection))
	add("deletecollection until gone", "ms", true, milliseconds(r.gone))
	if r.memBefore == nil || r.memAfter == nil {
		return nil
	}
	per1000 := func(procs []string, rss bool) float64 {
		var delta float64
		for _, p := range procs {
			before, after := r.memBefore[p], r.memAfter[p]
			if rss {
				delta += after.RSS - before.RSS
			} else {
				delta += after.Heap - before.Heap
			}
		}
		return delta / mib / n * 1000
	}
	serving := servingProcesses(memKey)
	b.res.add(GroupMemory, "heap per 1,000 objects: API server + its controller", "MiB", true, memKey, round, per1000(serving, false))
	b.res.add(GroupMemory, "RSS per 1,000 objects: API server + its controller", "MiB", true, memKey, round, per1000(serving, true))
	b.res.add(GroupMemory, "heap per 1,000 objects: all three processes", "MiB", true, memKey, round, per1000(MemoryProcesses, false))
	b.res.add(GroupMemory, "RSS per 1,000 objects: all three processes", "MiB", true, memKey, round, per1000(MemoryProcesses, true))
	for _, p := range MemoryProcesses {
		b.res.addDetail(GroupMemory, "heap per 1,000 objects: "+p, "MiB", true, memKey, round, per1000([]string{p}, false))
		b.res.addDetail(GroupMemory, "RSS per 1,000 objects: "+p, "MiB", true, memKey, round, per1000([]string{p}, true))
	}
	return nil
}

// servingProcesses returns the processes that serve and control the
// objects of a memory figure (memKey): petset-apiserver, which runs the
// PetSet controller, for PetSets; kube-apiserver and
// kube-controller-manager for StatefulSets and the CRD.
func servingProcesses(memKey string) []string {
	if memKey == TargetPetSet {
		return []string{ProcPetSetAPIServer}
	}
	return []string{ProcKubeAPIServer, ProcKubeControllerManager}
}

// restartServing restarts the processes that serve target t's objects
// before its memory is sampled, so that every round measures the objects
// added to servers whose watch caches hold no events of an earlier
// round's objects. It then waits until every target is served again and
// warms t up, so that what a server builds on its first requests is not
// counted as the objects' memory. Without a way to restart the processes
// it notes that the rounds after the first read low.
func (b *runner) restartServing(ctx context.Context, round int, t *apiTarget, memKey, ns string) error {
	if !b.c.CanRestart() {
		if round > 0 && !b.restartNoted {
			b.restartNoted = true
			b.res.note("memory: the processes could not be restarted before each sample (no hack/local-cluster.sh or state directory); the figures of rounds after the first read low, since the servers' watch caches still held the events of the previous round's objects")
		}
		return nil
	}
	logger := klog.FromContext(ctx)
	for _, p := range servingProcesses(memKey) {
		logger.Info("Restarting for a fresh memory sample", "process", p, "target", t.key, "round", round+1)
		if err := b.c.Restart(ctx, p); err != nil {
			return fmt.Errorf("restarting %s before sampling memory: %w", p, err)
		}
	}
	// The restarted processes have new PIDs.
	sampler, err := b.c.memorySampler()
	if err != nil {
		return err
	}
	b.sampler = sampler
	if b.meter != nil {
		if b.meter, err = b.c.cpuMeter(); err != nil {
			return err
		}
	}
	// A LIST of every target that succeeds (and finds ns empty, as each
	// run leaves it) tells that kube-apiserver serves its own objects and
	// the aggregated PetSets again.
	for _, target := range b.targets {
		if err := waitGone(ctx, target, ns, b.opts.WaitTimeout.D()); err != nil {
			return fmt.Errorf("after restarting %v: %w", servingProcesses(memKey), err)
		}
	}
	return b.warmTarget(ctx, t, ns)
}

func (b *runner) controller(ctx context.Context, round int, kind string, claims bool, ns string) error {
	logger := klog.FromContext(ctx)
	logger.Info("Controller", "round", round+1, "kind", kind, "variant", variantName(claims), "pets", b.opts.Pets)
	// The process that runs the controller: its clients' waits for their
	// client-side rate limiters are part of what is measured.
	proc := ProcKubeControllerManager
	if kind == TargetPetSet {
		proc = ProcPetSetAPIServer
	}
	// The garbage collector may still be deleting what the bulk targets
	// left (thousands of ControllerRevisions at its client's rate limit);
	// a StatefulSet's teardown waits behind that, since the collector
	// deletes its pods.
	if err := b.settle(ctx, round, fmt.Sprintf("controller %s, %s", kind, variantName(claims))); err != nil {
		return err
	}
	var waitBefore map[string]float64
	if b.sampler != nil {
		var err error
		if waitBefore, err = b.sampler.rateLimiterWait(ctx); err != nil {
			return err
		}
	}
	r, err := runController(ctx, b.c, kind, claims, ns, b.opts)
	if err != nil {
		return err
	}
	n, v := b.opts.Pets, variantName(claims)
	b.res.add(GroupController, fmt.Sprintf("0→%d, %s", n, v), "s", true, kind, round, seconds(r.up))
	b.res.add(GroupController, fmt.Sprintf("%d→0, %s", n, v), "s", true, kind, round, seconds(r.down))
	b.res.add(GroupController, fmt.Sprintf("teardown of %d, %s", n, v), "s", true, kind, round, seconds(r.teardown))
	if b.sampler != nil {
		waitAfter, err := b.sampler.rateLimiterWait(ctx)
		if err != nil {
			return err
		}
		b.res.addDetail(GroupController, fmt.Sprintf("client rate-limiter wait, whole run, %s", v), "s", true, kind, round, waitAfter[proc]-waitBefore[proc])
	}
	return nil
}

// warmup sends a few untimed creates, GETs and deletes to every target, so
// that the first round does not pay for connections and caches.
func (b *runner) warmup(ctx context.Context) error {
	ns, err := b.namespace(ctx, "warmup")
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Warming up", "targets", len(b.targets), "cycles", b.opts.Warmup)
	for _, t := range b.targets {
		if err := b.warmTarget(ctx, t, ns); err != nil {
			return err
		}
	}
	return b.deleteNamespace(ctx, ns)
}

// warmTarget sends opts.Warmup untimed creates, GETs, LISTs and deletes to
// target t in ns and waits until the objects are gone.
func (b *runner) warmTarget(ctx context.Context, t *apiTarget, ns string) error {
	client := t.resource.Namespace(ns)
	for i := 0; i < b.opts.Warmup; i++ {
		name := fmt.Sprintf("warmup-%d", i)
		reqCtx, cancel := context.WithTimeout(ctx, b.opts.RequestTimeout.D())
		_, err := client.Create(reqCtx, t.newObject(name), metav1.CreateOptions{})
		if err == nil {
			_, err = client.Get(reqCtx, name, metav1.GetOptions{})
		}
		if err == nil {
			_, err = client.List(reqCtx, metav1.ListOptions{})
		}
		if err == nil {
			err = client.Delete(reqCtx, name, metav1.DeleteOptions{})
		}
		cancel()
		if err != nil {
			return fmt.Errorf("warming up %s: %w", t.key, err)
		}
	}
	if err := waitGone(ctx, t, ns, b.opts.WaitTimeout.D()); err != nil {
		return fmt.Errorf("warming up %s: %w", t.key, err)
	}
	return nil
}

// namespace creates a namespace for the run and waits for its default
// ServiceAccount, without which no pod can be created in it.
func (b *runner) namespace(ctx context.Context, suffix string) (string, error) {
	name := fmt.Sprintf("petset-bench-%s-%s", b.runID, suffix)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{benchRunLabel: b.runID}}}
	reqCtx, cancel := context.WithTimeout(ctx, b.opts.RequestTimeout.D())
	_, err := b.c.Kube.CoreV1().Namespaces().Create(reqCtx, ns, metav1.CreateOptions{})
	cancel()
	if err != nil {
		return "", fmt.Errorf("creating namespace %s: %w", name, err)
	}
	b.namespaces = append(b.namespaces, name)
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, b.opts.WaitTimeout.D(), true, func(ctx context.Context) (bool, error) {
		_, err := b.c.Kube.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for the default ServiceAccount of %s: %w", name, err)
	}
	return name, nil
}

// deleteNamespace deletes ns and waits until it is gone, so that its
// cleanup does not overlap the next measurements.
func (b *runner) deleteNamespace(ctx context.Context, ns string) error {
	reqCtx, cancel := context.WithTimeout(ctx, b.opts.RequestTimeout.D())
	err := b.c.Kube.CoreV1().Namespaces().Delete(reqCtx, ns, metav1.DeleteOptions{})
	cancel()
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", ns, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, b.opts.WaitTimeout.D(), true, func(ctx context.Context) (bool, error) {
		_, err := b.c.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for namespace %s to be deleted: %w", ns, err)
	}
	b.namespaces = slices.DeleteFunc(b.namespaces, func(s string) bool { return s == ns })
	return nil
}

// clear removes what a failed measurement left of a target in ns.
func (b *runner) clear(ctx context.Context, t *apiTarget, ns string) {
	if err := clearTarget(context.WithoutCancel(ctx), t, ns, b.opts.WaitTimeout.D()); err != nil {
		klog.FromContext(ctx).Error(err, "Cleaning up after a failed measurement", "target", t.key)
	}
}

// cleanup deletes the namespaces and the CustomResourceDefinition the run
// created, even when ctx is cancelled.
func (b *runner) cleanup(ctx context.Context) {
	logger := klog.FromContext(ctx)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.WaitTimeout.D())
	defer cancel()
	for _, ns := range slices.Clone(b.namespaces) {
		if err := b.deleteNamespace(ctx, ns); err != nil {
			logger.Error(err, "Cleaning up")
		}
	}
	if b.crd {
		if err := b.c.DeleteCRD(ctx, b.opts.WaitTimeout.D()); err != nil {
			logger.Error(err, "Cleaning up")
		}
	}
}
