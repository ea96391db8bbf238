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
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// objectWatch is an informer on the objects of one target in one
// namespace: a positive signal that the objects have reached a state,
// where polling with LISTs would add requests to what is measured.
type objectWatch struct {
	store   cache.Store
	changed chan struct{}
	// stop stops the watch and waits until it has stopped; it may be
	// called more than once.
	stop func()
}

// watchObjects starts an objectWatch on the objects client reaches and
// waits until it has listed them.
func watchObjects(ctx context.Context, client dynamic.ResourceInterface, timeout time.Duration) (*objectWatch, error) {
	w := &objectWatch{changed: make(chan struct{}, 1)}
	notify := func() {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
	store, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return client.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return client.Watch(ctx, o)
			},
		},
		ObjectType: &unstructured.Unstructured{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { notify() },
			UpdateFunc: func(any, any) { notify() },
			DeleteFunc: func(any) { notify() },
		},
	})
	informerCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		informer.RunWithContext(informerCtx)
	}()
	w.store = store
	w.stop = sync.OnceFunc(func() {
		cancel()
		<-done
	})
	syncCtx, cancelSync := context.WithTimeout(ctx, timeout)
	defer cancelSync()
	if !cache.WaitForCacheSync(syncCtx.Done(), informer.HasSynced) {
		w.stop()
		return nil, fmt.Errorf("the watch of the objects did not sync within %s", timeout)
	}
	return w, nil
}

// allObserved is the condition that n objects exist and, when a
// controller acts on them, that it has observed each one's latest
// generation.
func allObserved(n int, controlled bool) func([]*unstructured.Unstructured) bool {
	return func(objs []*unstructured.Unstructured) bool {
		if len(objs) < n {
			return false
		}
		if !controlled {
			return true
		}
		for _, obj := range objs {
			observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
			if observed < obj.GetGeneration() {
				return false
			}
		}
		return true
	}
}

// waitFor waits until cond holds for the objects in the watch's store.
func (w *objectWatch) waitFor(ctx context.Context, timeout time.Duration, what string, cond func([]*unstructured.Unstructured) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var objs []*unstructured.Unstructured
		for _, o := range w.store.List() {
			if u, ok := o.(*unstructured.Unstructured); ok {
				objs = append(objs, u)
			}
		}
		if cond(objs) {
			return nil
		}
		select {
		case <-w.changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%d objects): %w", what, len(objs), ctx.Err())
		}
	}
}
