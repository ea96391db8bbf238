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
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// Verbs are the requests the latency benchmark times, in the order it
// sends them: a GET of the API group version document (which touches no
// storage, so through the aggregator it shows what the proxy hop itself
// costs), then the single-object requests.
var Verbs = []string{"discovery", "create", "get", "patch", "update", "delete"}

// maxUpdateConflicts bounds the retries of an update that meets a
// concurrent write (a controller's).
const maxUpdateConflicts = 10

// latencyResult holds the duration of every request of each verb and,
// when the cluster's processes are known, the CPU time each process used
// in each verb's phase.
type latencyResult struct {
	durations map[string][]time.Duration
	// cpu maps a verb to the CPU time of each process in its phase; nil
	// without a cpuMeter.
	cpu map[string]map[string]time.Duration
	// conflicts counts the updates that met a conflict and were retried.
	conflicts int
}

// runLatency sends opts.Requests sequential requests of each verb to the
// target in ns: GETs of its API group version document, creates, then a
// GET of each object, a JSON merge patch of a label of each, an update
// (read before the phase, then written timed) of an annotation of each,
// and deletes.
//
// With a meter it also reads the CPU time of the cluster's processes
// around each verb's phase. A phase that makes a controller work ends when
// that work is done, as a watch of the objects shows: the creates when
// every object's controller has observed it (status.observedGeneration;
// for targets with a controller), the deletes when every object is gone
// (for PetSets, once the controller has removed its finalizer) and so are
// their ControllerRevisions (the garbage collector's work). The CPU
// time a request causes is thus counted to the verb that caused it.
func runLatency(ctx context.Context, t *apiTarget, ns string, opts Options, meter *cpuMeter) (*latencyResult, error) {
	logger := klog.FromContext(ctx)
	res := &latencyResult{durations: map[string][]time.Duration{}}
	if meter != nil {
		res.cpu = map[string]map[string]time.Duration{}
	}
	client := t.resource.Namespace(ns)
	name := func(i int) string { return fmt.Sprintf("lat-%04d", i) }
	timed := func(verb string, f func(ctx context.Context) error) error {
		reqCtx, cancel := context.WithTimeout(ctx, opts.RequestTimeout.D())
		defer cancel()
		start := time.Now()
		err := f(reqCtx)
		if err == nil {
			res.durations[verb] = append(res.durations[verb], time.Since(start))
		}
		return err
	}
	objects, err := watchObjects(ctx, client, opts.WaitTimeout.D())
	if err != nil {
		return nil, err
	}
	defer objects.stop()
	// The ControllerRevisions of the objects, which the garbage collector
	// deletes after them: a delete is done when they are gone too.
	var revisions *objectWatch
	if t.revisions != nil {
		if revisions, err = watchObjects(ctx, t.revisions.Namespace(ns), opts.WaitTimeout.D()); err != nil {
			return nil, err
		}
		defer revisions.stop()
	}
	// phase sends the requests of verb, then waits for settle (if any)
	// and records the CPU time used meanwhile.
	phase := func(verb string, send func(i int) error, settle func() error) error {
		var before map[string]time.Duration
		if meter != nil {
			var err error
			if before, err = meter.read(); err != nil {
				return err
			}
		}
		for i := 0; i < opts.Requests; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		if settle != nil {
			if err := settle(); err != nil {
				return fmt.Errorf("after the %s requests: %w", verb, err)
			}
		}
		if meter != nil {
			after, err := meter.read()
			if err != nil {
				return err
			}
			res.cpu[verb] = cpuSpent(before, after)
		}
		return nil
	}

	if err := phase("discovery", func(int) error {
		err := timed("discovery", func(ctx context.Context) error {
			return t.discovery.Get().AbsPath(t.discoveryPath).Do(ctx).Error()
		})
		if err != nil {
			return fmt.Errorf("get %s: %w", t.discoveryPath, err)
		}
		return nil
	}, nil); err != nil {
		return nil, err
	}

	if err := phase("create", func(i int) error {
		obj := t.newObject(name(i))
		if err := timed("create", func(ctx context.Context) error {
			_, err := client.Create(ctx, obj, metav1.CreateOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("create %s: %w", name(i), err)
		}
		return nil
	}, func() error {
		return objects.waitFor(ctx, opts.WaitTimeout.D(), "every object created and observed by its controller", allObserved(opts.Requests, t.controlled))
	}); err != nil {
		return nil, err
	}

	if err := phase("get", func(i int) error {
		if err := timed("get", func(ctx context.Context) error {
			_, err := client.Get(ctx, name(i), metav1.GetOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("get %s: %w", name(i), err)
		}
		return nil
	}, nil); err != nil {
		return nil, err
	}

	if err := phase("patch", func(i int) error {
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, benchPatchLabel, strconv.Itoa(i))
		if err := timed("patch", func(ctx context.Context) error {
			_, err := client.Patch(ctx, name(i), types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("patch %s: %w", name(i), err)
		}
		return nil
	}, nil); err != nil {
		return nil, err
	}

	// The objects to update are read before the phase, so that neither
	// their GETs' durations nor their CPU time count to the updates.
	get := func(i int) (*unstructured.Unstructured, error) {
		getCtx, cancel := context.WithTimeout(ctx, opts.RequestTimeout.D())
		defer cancel()
		obj, err := client.Get(getCtx, name(i), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get %s for update: %w", name(i), err)
		}
		return obj, nil
	}
	toUpdate := make([]*unstructured.Unstructured, opts.Requests)
	for i := range toUpdate {
		if toUpdate[i], err = get(i); err != nil {
			return nil, err
		}
	}
	if err := phase("update", func(i int) error {
		obj := toUpdate[i]
		for attempt := 0; ; attempt++ {
			annotations := obj.GetAnnotations()
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[benchUpdateAnnot] = strconv.Itoa(i)
			obj.SetAnnotations(annotations)
			err := timed("update", func(ctx context.Context) error {
				_, err := client.Update(ctx, obj, metav1.UpdateOptions{})
				return err
			})
			if err == nil {
				return nil
			}
			if !apierrors.IsConflict(err) || attempt >= maxUpdateConflicts {
				return fmt.Errorf("update %s: %w", name(i), err)
			}
			res.conflicts++
			if obj, err = get(i); err != nil {
				return err
			}
		}
	}, nil); err != nil {
		return nil, err
	}

	if err := phase("delete", func(i int) error {
		if err := timed("delete", func(ctx context.Context) error {
			return client.Delete(ctx, name(i), metav1.DeleteOptions{})
		}); err != nil {
			return fmt.Errorf("delete %s: %w", name(i), err)
		}
		return nil
	}, func() error {
		none := func(objs []*unstructured.Unstructured) bool { return len(objs) == 0 }
		if err := objects.waitFor(ctx, opts.WaitTimeout.D(), "every object gone", none); err != nil {
			return err
		}
		if revisions == nil {
			return nil
		}
		return revisions.waitFor(ctx, opts.WaitTimeout.D(), "every ControllerRevision of the objects gone", none)
	}); err != nil {
		return nil, err
	}
	logger.V(1).Info("Latency requests done", "target", t.key, "requests", opts.Requests, "updateConflicts", res.conflicts)
	return res, nil
}
