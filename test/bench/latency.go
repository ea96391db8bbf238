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

// latencyResult holds the duration of every request of one verb.
type latencyResult map[string][]time.Duration

// runLatency sends opts.Requests sequential requests of each verb to the
// target in ns: GETs of its API group version document, creates, then a GET of each object, a JSON merge patch of a
// label of each, an update (read untimed, then written timed) of an
// annotation of each, and deletes. It returns the durations and the number
// of updates that met a conflict and were retried.
func runLatency(ctx context.Context, t *apiTarget, ns string, opts Options) (latencyResult, int, error) {
	logger := klog.FromContext(ctx)
	res := latencyResult{}
	conflicts := 0
	client := t.resource.Namespace(ns)
	name := func(i int) string { return fmt.Sprintf("lat-%04d", i) }
	timed := func(verb string, f func(ctx context.Context) error) error {
		reqCtx, cancel := context.WithTimeout(ctx, opts.RequestTimeout.D())
		defer cancel()
		start := time.Now()
		err := f(reqCtx)
		if err == nil {
			res[verb] = append(res[verb], time.Since(start))
		}
		return err
	}
	for i := 0; i < opts.Requests; i++ {
		if err := timed("discovery", func(ctx context.Context) error {
			return t.discovery.Get().AbsPath(t.discoveryPath).Do(ctx).Error()
		}); err != nil {
			return nil, 0, fmt.Errorf("get %s: %w", t.discoveryPath, err)
		}
	}
	for i := 0; i < opts.Requests; i++ {
		obj := t.newObject(name(i))
		if err := timed("create", func(ctx context.Context) error {
			_, err := client.Create(ctx, obj, metav1.CreateOptions{})
			return err
		}); err != nil {
			return nil, 0, fmt.Errorf("create %s: %w", name(i), err)
		}
	}
	for i := 0; i < opts.Requests; i++ {
		if err := timed("get", func(ctx context.Context) error {
			_, err := client.Get(ctx, name(i), metav1.GetOptions{})
			return err
		}); err != nil {
			return nil, 0, fmt.Errorf("get %s: %w", name(i), err)
		}
	}
	for i := 0; i < opts.Requests; i++ {
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, benchPatchLabel, strconv.Itoa(i))
		if err := timed("patch", func(ctx context.Context) error {
			_, err := client.Patch(ctx, name(i), types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		}); err != nil {
			return nil, 0, fmt.Errorf("patch %s: %w", name(i), err)
		}
	}
	for i := 0; i < opts.Requests; i++ {
		for attempt := 0; ; attempt++ {
			getCtx, cancel := context.WithTimeout(ctx, opts.RequestTimeout.D())
			obj, err := client.Get(getCtx, name(i), metav1.GetOptions{})
			cancel()
			if err != nil {
				return nil, 0, fmt.Errorf("get %s for update: %w", name(i), err)
			}
			annotations := obj.GetAnnotations()
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[benchUpdateAnnot] = strconv.Itoa(i)
			obj.SetAnnotations(annotations)
			err = timed("update", func(ctx context.Context) error {
				_, err := client.Update(ctx, obj, metav1.UpdateOptions{})
				return err
			})
			if err == nil {
				break
			}
			if !apierrors.IsConflict(err) || attempt >= maxUpdateConflicts {
				return nil, 0, fmt.Errorf("update %s: %w", name(i), err)
			}
			conflicts++
		}
	}
	for i := 0; i < opts.Requests; i++ {
		if err := timed("delete", func(ctx context.Context) error {
			return client.Delete(ctx, name(i), metav1.DeleteOptions{})
		}); err != nil {
			return nil, 0, fmt.Errorf("delete %s: %w", name(i), err)
		}
	}
	logger.V(1).Info("Latency requests done", "target", t.key, "requests", opts.Requests, "updateConflicts", conflicts)
	return res, conflicts, nil
}
