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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// podPoll is how often the controller benchmark looks at its pod cache.
const podPoll = 20 * time.Millisecond

// Controller variants: without and with a volume claim template.
var ControllerVariants = []bool{false, true}

// variantName names a controller variant in metric names.
func variantName(claims bool) string {
	if claims {
		return "1 claim template"
	}
	return "no claims"
}

// controllerResult holds the times of one controller run.
type controllerResult struct {
	up, down, teardown time.Duration
}

// runController measures a controller on one set of opts.Pets pets
// (OrderedReady) in ns: created with 0 replicas, then
//
//   - 0→N: replicas patched to N, until N pods are Running and Ready;
//   - N→0: replicas patched to 0, until no pod is left;
//   - teardown: replicas patched to N again and, once N pods are ready,
//     the set deleted (default propagation), until no pod is left.
//
// Replicas are changed with the same JSON merge patch of spec.replicas for
// both kinds. Pods are watched through an informer on the namespace.
func runController(ctx context.Context, c *Cluster, kind string, claims bool, ns string, opts Options) (*controllerResult, error) {
	logger := klog.FromContext(ctx)
	var (
		resource dynamic.ResourceInterface
		obj      *unstructured.Unstructured
	)
	spec := setSpec{replicas: 0, claims: claims}
	switch kind {
	case TargetPetSet:
		spec.name = "ps-" + map[bool]string{false: "plain", true: "claims"}[claims]
		resource = c.Dynamic.Resource(petSetGVR).Namespace(ns)
		obj = spec.petSet()
	case TargetStatefulSet:
		spec.name = "sts-" + map[bool]string{false: "plain", true: "claims"}[claims]
		resource = c.Dynamic.Resource(statefulSetGVR).Namespace(ns)
		obj = spec.statefulSet()
	default:
		return nil, fmt.Errorf("unknown controller target %q", kind)
	}
	logger = klog.LoggerWithValues(logger, "kind", kind, "set", klog.KRef(ns, spec.name))

	pods, stop, err := podCache(ctx, c, ns, labels.SelectorFromSet(labels.Set{benchSetLabel: spec.name}), opts.WaitTimeout.D())
	if err != nil {
		return nil, err
	}
	defer stop()

	reqCtx, cancel := context.WithTimeout(ctx, opts.RequestTimeout.D())
	_, err = resource.Create(reqCtx, obj, metav1.CreateOptions{})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("creating %s %s: %w", kind, spec.name, err)
	}
	defer func() {
		// After a failure: the set and its pods go with the namespace,
		// but another variant runs in it first.
		delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.RequestTimeout.D())
		defer cancel()
		if err := resource.Delete(delCtx, spec.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			logger.Error(err, "Deleting the set")
		}
	}()

	scale := func(replicas int) error {
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
		reqCtx, cancel := context.WithTimeout(ctx, opts.RequestTimeout.D())
		defer cancel()
		if _, err := resource.Patch(reqCtx, spec.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("scaling %s %s to %d: %w", kind, spec.name, replicas, err)
		}
		return nil
	}
	n := opts.Pets
	allReady := func(ready, total int) bool { return ready == n && total == n }
	noneLeft := func(_, total int) bool { return total == 0 }
	res := &controllerResult{}

	start := time.Now()
	if err := scale(n); err != nil {
		return nil, err
	}
	if err := waitPods(ctx, pods, allReady, opts.WaitTimeout.D(), fmt.Sprintf("%d ready pods", n)); err != nil {
		return nil, err
	}
	res.up = time.Since(start)
	logger.V(1).Info("Scaled up", "pets", n, "duration", res.up)

	start = time.Now()
	if err := scale(0); err != nil {
		return nil, err
	}
	if err := waitPods(ctx, pods, noneLeft, opts.WaitTimeout.D(), "no pods"); err != nil {
		return nil, err
	}
	res.down = time.Since(start)
	logger.V(1).Info("Scaled down", "pets", n, "duration", res.down)

	if err := scale(n); err != nil {
		return nil, err
	}
	if err := waitPods(ctx, pods, allReady, opts.WaitTimeout.D(), fmt.Sprintf("%d ready pods again", n)); err != nil {
		return nil, err
	}
	start = time.Now()
	reqCtx, cancel = context.WithTimeout(ctx, opts.RequestTimeout.D())
	err = resource.Delete(reqCtx, spec.name, metav1.DeleteOptions{})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("deleting %s %s: %w", kind, spec.name, err)
	}
	if err := waitPods(ctx, pods, noneLeft, opts.WaitTimeout.D(), "no pods after the delete"); err != nil {
		return nil, err
	}
	res.teardown = time.Since(start)
	logger.V(1).Info("Torn down", "pets", n, "duration", res.teardown)

	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, opts.WaitTimeout.D(), true, func(ctx context.Context) (bool, error) {
		_, err := resource.Get(ctx, spec.name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for %s %s to be gone: %w", kind, spec.name, err)
	}
	return res, nil
}

// podCache starts an informer on the pods of ns that match selector and
// returns its store and a function that stops it.
func podCache(ctx context.Context, c *Cluster, ns string, selector labels.Selector, timeout time.Duration) (cache.Store, func(), error) {
	factory := informers.NewSharedInformerFactoryWithOptions(c.Kube, 0,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	informer := factory.Core().V1().Pods().Informer()
	stopCh := make(chan struct{})
	stop := func() {
		close(stopCh)
		factory.Shutdown()
	}
	factory.Start(stopCh)
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), informer.HasSynced) {
		stop()
		return nil, nil, fmt.Errorf("the pod cache of %s did not sync within %s", ns, timeout)
	}
	return informer.GetStore(), stop, nil
}

// waitPods waits until cond holds for the counts of Running and Ready
// pods (not being deleted) and of all pods in store.
func waitPods(ctx context.Context, store cache.Store, cond func(ready, total int) bool, timeout time.Duration, what string) error {
	var ready, total int
	err := wait.PollUntilContextTimeout(ctx, podPoll, timeout, true, func(context.Context) (bool, error) {
		ready, total = 0, 0
		for _, obj := range store.List() {
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				continue
			}
			total++
			if pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning && podReady(pod) {
				ready++
			}
		}
		return cond(ready, total), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s (%d ready of %d pods): %w", what, ready, total, err)
	}
	return nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
