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
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"
)

// bulkResult holds the figures of one bulk run of one target.
type bulkResult struct {
	create time.Duration
	// observed is the time from the first create until every object was
	// observed by its controller (status.observedGeneration), or merely
	// seen by a watch for a target without a controller.
	observed time.Duration
	// cpu is the CPU time of each process over the same span; nil
	// without a cpuMeter.
	cpu              map[string]time.Duration
	list             time.Duration
	listRV0          time.Duration
	watch            time.Duration
	deleteCollection time.Duration
	gone             time.Duration
	// memBefore and memAfter are the processes' memory before the
	// creates and after them, once the controllers are idle; nil without
	// a sampler.
	memBefore, memAfter map[string]memValue
	// busy tells that the controllers still had queued work when memory
	// was sampled (after opts.SettleTimeout.D()).
	busy bool
}

// goneInterval is how often the bulk benchmark looks whether the deleted
// objects are gone.
const goneInterval = 100 * time.Millisecond

// runBulk creates opts.Objects objects of the target in ns with
// opts.Workers concurrent clients, lists them opts.ListRepeats times with
// and without resourceVersion=0, watches them from resourceVersion 0 until
// every ADDED event arrived, deletes them with one deletecollection and
// waits until a LIST finds none. It times the creates alone and until a
// watch shows every object observed by its controller; with a meter, it
// reads the processes' CPU time over the latter. With a sampler it also
// samples the processes' memory before the creates and after them (once
// the controllers are idle).
func runBulk(ctx context.Context, t *apiTarget, ns string, opts Options, sampler *memorySampler, meter *cpuMeter) (*bulkResult, error) {
	logger := klog.FromContext(ctx)
	client := t.resource.Namespace(ns)
	res := &bulkResult{}
	n := opts.Objects

	phase := time.Now()
	done := func(name string, kv ...any) {
		logger.Info("Bulk phase done", append([]any{"target", t.key, "phase", name, "duration", time.Since(phase).Round(time.Millisecond)}, kv...)...)
		phase = time.Now()
	}
	if sampler != nil {
		before, err := sampler.sample(ctx, opts.MemorySamples, opts.MemoryInterval.D())
		if err != nil {
			return nil, fmt.Errorf("sampling memory before the creates: %w", err)
		}
		res.memBefore = before
		done("memory before")
	}

	watched, err := watchObjects(ctx, client, opts.WaitTimeout.D())
	if err != nil {
		return nil, err
	}
	defer watched.stop()
	var cpuBefore map[string]time.Duration
	if meter != nil {
		if cpuBefore, err = meter.read(); err != nil {
			return nil, err
		}
	}
	objects := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	g.Go(func() error {
		defer close(objects)
		for i := 0; i < n; i++ {
			select {
			case objects <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for w := 0; w < max(opts.Workers, 1); w++ {
		g.Go(func() error {
			for i := range objects {
				obj := t.newObject(fmt.Sprintf("bulk-%05d", i))
				reqCtx, cancel := context.WithTimeout(gctx, opts.RequestTimeout.D())
				_, err := client.Create(reqCtx, obj, metav1.CreateOptions{})
				cancel()
				if err != nil {
					return fmt.Errorf("create %s: %w", obj.GetName(), err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res.create = time.Since(start)
	done("create", "objects", n)
	if err := watched.waitFor(ctx, opts.WaitTimeout.D(), "every object observed by its controller", allObserved(n, t.controlled)); err != nil {
		return nil, err
	}
	res.observed = time.Since(start)
	if meter != nil {
		cpuAfter, err := meter.read()
		if err != nil {
			return nil, err
		}
		res.cpu = cpuSpent(cpuBefore, cpuAfter)
	}
	// The watch's own work stays out of the figures that follow.
	watched.stop()
	done("every object observed")

	if sampler != nil {
		idle, err := sampler.waitIdle(ctx, opts.SettleTimeout.D())
		if err != nil {
			return nil, err
		}
		res.busy = !idle
		after, err := sampler.sample(ctx, opts.MemorySamples, opts.MemoryInterval.D())
		if err != nil {
			return nil, fmt.Errorf("sampling memory after the creates: %w", err)
		}
		res.memAfter = after
		done("idle controllers and memory after", "idle", idle)
	}

	var lists, listsRV0 []float64
	for i := 0; i < max(opts.ListRepeats, 1); i++ {
		for _, rv := range []string{"", "0"} {
			reqCtx, cancel := context.WithTimeout(ctx, opts.WaitTimeout.D())
			start := time.Now()
			list, err := client.List(reqCtx, metav1.ListOptions{ResourceVersion: rv})
			d := time.Since(start)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("list (resourceVersion=%q): %w", rv, err)
			}
			if len(list.Items) != n {
				return nil, fmt.Errorf("list (resourceVersion=%q) returned %d objects, want %d", rv, len(list.Items), n)
			}
			if rv == "" {
				lists = append(lists, milliseconds(d))
			} else {
				listsRV0 = append(listsRV0, milliseconds(d))
			}
		}
	}
	res.list = time.Duration(Median(lists) * float64(time.Millisecond))
	res.listRV0 = time.Duration(Median(listsRV0) * float64(time.Millisecond))
	done("lists")

	watchDuration, err := watchAll(ctx, t, ns, n, opts.WaitTimeout.D())
	if err != nil {
		return nil, err
	}
	res.watch = watchDuration
	done("watch")

	reqCtx, cancel := context.WithTimeout(ctx, opts.WaitTimeout.D())
	start = time.Now()
	err = client.DeleteCollection(reqCtx, metav1.DeleteOptions{}, metav1.ListOptions{})
	res.deleteCollection = time.Since(start)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("deletecollection: %w", err)
	}
	if err := waitGone(ctx, t, ns, opts.WaitTimeout.D()); err != nil {
		return nil, err
	}
	res.gone = time.Since(start)
	done("deletecollection until gone")
	return res, nil
}

// watchAll opens a watch from resourceVersion 0 and returns the time until
// ADDED events for n distinct objects arrived.
func watchAll(ctx context.Context, t *apiTarget, ns string, n int, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	w, err := t.resource.Namespace(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, fmt.Errorf("watch from resourceVersion 0: %w", err)
	}
	defer w.Stop()
	seen := sets.New[string]()
	for seen.Len() < n {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("watch from resourceVersion 0: %d of %d objects after %s: %w", seen.Len(), n, timeout, ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				return 0, fmt.Errorf("watch from resourceVersion 0 closed after %d of %d objects", seen.Len(), n)
			}
			switch ev.Type {
			case watch.Added:
				if obj, ok := ev.Object.(metav1.Object); ok {
					seen.Insert(obj.GetName())
				}
			case watch.Error:
				return 0, fmt.Errorf("watch from resourceVersion 0: error event %v", ev.Object)
			}
		}
	}
	return time.Since(start), nil
}

// waitGone waits until a LIST of the target in ns finds no object.
func waitGone(ctx context.Context, t *apiTarget, ns string, timeout time.Duration) error {
	var left int
	err := wait.PollUntilContextTimeout(ctx, goneInterval, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := t.resource.Namespace(ns).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return false, nil
		}
		left = len(list.Items)
		return left == 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the %s objects in %s to be gone (%d left): %w", t.key, ns, left, err)
	}
	return nil
}

// clearTarget deletes every object of the target in ns and waits until
// they are gone: the cleanup after a run that failed half-way.
func clearTarget(ctx context.Context, t *apiTarget, ns string, timeout time.Duration) error {
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := t.resource.Namespace(ns).DeleteCollection(reqCtx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return fmt.Errorf("deleting the %s objects in %s: %w", t.key, ns, err)
	}
	return waitGone(ctx, t, ns, timeout)
}
