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

// Package petset implements the PetSet controller: it keeps, for every
// PetSet, the pets <petset>-0..<petset>-(replicas-1) with stable network
// identities and stable storage, creating them in order and deleting them in
// reverse order, one at a time.
package petset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned"
	petsetinformers "github.com/petsets/client-go/informers/externalversions/apps/v1alpha1"
	petsetlisters "github.com/petsets/client-go/listers/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

const (
	// workqueueName names the work queue, and so its metrics.
	workqueueName = "petset"

	// controllerIndex indexes pods by the UID of their controller, or by
	// namespace for pods without a controller.
	controllerIndex = "petsets.io/controller"

	reasonInvalidSelector = "InvalidSelector"
)

// Controller runs the PetSet control loop.
type Controller struct {
	petSetClient versioned.Interface
	recorder     record.EventRecorder

	control      petSetControlInterface
	petControl   petControlInterface
	revisions    *realRevisionControl
	expectations *petExpectations

	podIndexer cache.Indexer
	podsSynced cache.InformerSynced
	pvcsSynced cache.InformerSynced
	revsSynced cache.InformerSynced
	setLister  petsetlisters.PetSetLister
	setsSynced cache.InformerSynced

	queue workqueue.TypedRateLimitingInterface[string]
}

// DefaultTerminatingPetMargin is how long past its grace period a pet that
// is still terminating (for example on a node that never confirms) blocks the
// deletion of the next one, unless Options say otherwise.
const DefaultTerminatingPetMargin = 2 * time.Minute

// Options tune the controller. The zero value means the defaults.
type Options struct {
	// TerminatingPetMargin is how long past its grace period a
	// terminating pet blocks the next deletion in a teardown or scale
	// down. Defaults to DefaultTerminatingPetMargin.
	TerminatingPetMargin time.Duration
}

// NewController returns a PetSet controller. Pods and claims are written with
// kubeClient; PetSet status and finalizers with petSetClient. Events are
// recorded with recorder. The informers must not be started yet: the
// controller adds an index to the pod informer.
func NewController(
	ctx context.Context,
	kubeClient kubernetes.Interface,
	petSetClient versioned.Interface,
	podInformer coreinformers.PodInformer,
	pvcInformer coreinformers.PersistentVolumeClaimInformer,
	revisionInformer appsinformers.ControllerRevisionInformer,
	petSetInformer petsetinformers.PetSetInformer,
	recorder record.EventRecorder,
	opts Options,
) (*Controller, error) {
	logger := klog.FromContext(ctx)
	if opts.TerminatingPetMargin <= 0 {
		opts.TerminatingPetMargin = DefaultTerminatingPetMargin
	}

	expectations := newPetExpectations(clock.RealClock{})
	petControl := newRealPetControl(
		&realPetObjectManager{client: kubeClient, claimLister: pvcInformer.Lister()},
		recorder, expectations)

	revisions := &realRevisionControl{client: kubeClient, indexer: revisionInformer.Informer().GetIndexer()}
	c := &Controller{
		petSetClient: petSetClient,
		recorder:     recorder,
		revisions:    revisions,
		control: newDefaultPetSetControl(petControl, revisions,
			newRealStatusUpdater(petSetClient),
			newRealFinalizerControl(petSetClient),
			expectations, recorder, clock.RealClock{}, opts.TerminatingPetMargin),
		petControl:   petControl,
		expectations: expectations,
		podIndexer:   podInformer.Informer().GetIndexer(),
		podsSynced:   podInformer.Informer().HasSynced,
		pvcsSynced:   pvcInformer.Informer().HasSynced,
		revsSynced:   revisionInformer.Informer().HasSynced,
		setLister:    petSetInformer.Lister(),
		setsSynced:   petSetInformer.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: workqueueName},
		),
	}

	if err := addControllerIndex(podInformer.Informer()); err != nil {
		return nil, fmt.Errorf("add pod index %s: %w", controllerIndex, err)
	}
	if err := addControllerIndex(revisionInformer.Informer()); err != nil {
		return nil, fmt.Errorf("add ControllerRevision index %s: %w", controllerIndex, err)
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.addPod(logger, obj) },
		UpdateFunc: func(oldObj, newObj any) { c.updatePod(logger, oldObj, newObj) },
		DeleteFunc: func(obj any) { c.deletePod(logger, obj) },
	}); err != nil {
		return nil, fmt.Errorf("add pod event handler: %w", err)
	}
	if _, err := pvcInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) { c.updateClaim(logger, oldObj, newObj) },
		DeleteFunc: func(obj any) { c.deleteClaim(logger, obj) },
	}); err != nil {
		return nil, fmt.Errorf("add claim event handler: %w", err)
	}
	if _, err := revisionInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.revisionChanged(logger, obj) },
		UpdateFunc: func(_, newObj any) { c.revisionChanged(logger, newObj) },
		DeleteFunc: func(obj any) { c.revisionChanged(logger, obj) },
	}); err != nil {
		return nil, fmt.Errorf("add ControllerRevision event handler: %w", err)
	}
	if _, err := petSetInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueue(logger, obj) },
		UpdateFunc: func(_, newObj any) { c.enqueue(logger, newObj) },
		DeleteFunc: func(obj any) { c.enqueue(logger, obj) },
	}); err != nil {
		return nil, fmt.Errorf("add PetSet event handler: %w", err)
	}
	return c, nil
}

// Run waits for the caches to sync, then runs workers goroutines processing
// PetSets until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrashWithContext(ctx)
	logger := klog.FromContext(ctx)
	logger.Info("Starting PetSet controller", "workers", workers)

	var wg sync.WaitGroup
	defer func() {
		logger.Info("Shutting down PetSet controller")
		c.queue.ShutDown()
		wg.Wait()
	}()

	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.podsSynced, c.pvcsSynced, c.revsSynced, c.setsSynced) {
		return
	}
	for range workers {
		wg.Go(func() { wait.UntilWithContext(ctx, c.worker, time.Second) })
	}
	<-ctx.Done()
}

func (c *Controller) worker(ctx context.Context) {
	for c.processNextWorkItem(ctx) {
	}
}

// processNextWorkItem syncs one PetSet. A failed sync is retried with
// rate-limited backoff.
func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Error syncing PetSet, requeuing", "key", key)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// sync reconciles the PetSet with the given key.
func (c *Controller) sync(ctx context.Context, key string) error {
	logger := klog.FromContext(ctx)
	start := time.Now()
	defer func() {
		logger.V(4).Info("Finished syncing PetSet", "key", key, "duration", time.Since(start))
	}()

	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Dropping invalid key", "key", key)
		return nil
	}
	set, err := c.setLister.PetSets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		logger.V(2).Info("PetSet has been deleted", "key", key)
		c.expectations.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get PetSet %s from cache: %w", key, err)
	}

	pods, err := c.getPodsForPetSet(ctx, set)
	if err != nil {
		return err
	}
	if pods == nil {
		return nil
	}
	if err := c.adoptRevisions(ctx, set); err != nil {
		return err
	}
	requeueAfter, err := c.control.SyncPetSet(ctx, set, pods)
	if requeueAfter > 0 {
		// The decision changes with time alone (a terminating pet
		// reaches its bound): no event may come.
		c.queue.AddAfter(key, requeueAfter)
	}
	if remaining, pending := c.expectations.pendingFor(key); pending {
		// Writes the informer has not reported yet hold the PetSet
		// until they expire; sync again then, as no event may come.
		c.queue.AddAfter(key, remaining+time.Second)
	}
	return err
}

// getPodsForPetSet returns the pods the PetSet controls. For a live PetSet it
// first reconciles ownership: orphans matching the selector and named
// <set>-<ordinal> are adopted, owned pods that no longer match are released,
// and pods of other controllers are ignored. A PetSet being deleted adopts and
// releases nothing. It returns nil (and records an event) when the PetSet's
// selector is unusable.
func (c *Controller) getPodsForPetSet(ctx context.Context, set *appsv1alpha1.PetSet) ([]*v1.Pod, error) {
	owned, err := c.podsByIndex(controllerIndexKeyForUID(set.UID), set.Namespace)
	if err != nil {
		return nil, err
	}
	if set.DeletionTimestamp != nil {
		return owned, nil
	}
	selector, err := getSelector(set)
	if err != nil {
		c.recorder.Eventf(set, v1.EventTypeWarning, reasonInvalidSelector, "%v", err)
		utilruntime.HandleErrorWithContext(ctx, err, "Not syncing PetSet", "petSet", klog.KObj(set))
		return nil, nil
	}
	orphans, err := c.podsByIndex(controllerIndexKeyForOrphans(set.Namespace), set.Namespace)
	if err != nil {
		return nil, err
	}
	return c.claimPods(ctx, set, selector, owned, orphans)
}

// claimPods adopts the matching orphans and releases the owned pods that no
// longer match. Before the first adoption it checks with a live read that
// the PetSet is still the same object and is not being deleted.
func (c *Controller) claimPods(ctx context.Context, set *appsv1alpha1.PetSet, selector labels.Selector, owned, orphans []*v1.Pod) ([]*v1.Pod, error) {
	match := func(pod *v1.Pod) bool {
		return selector.Matches(labels.Set(pod.Labels)) && isMemberOf(set, pod)
	}
	claimed := make([]*v1.Pod, 0, len(owned))
	var errs []error
	for _, pod := range owned {
		if match(pod) {
			claimed = append(claimed, pod)
			continue
		}
		if err := c.petControl.ReleasePet(ctx, set, pod); err != nil {
			errs = append(errs, err)
		}
	}

	var canAdoptErr error
	checked := false
	for _, pod := range orphans {
		if !match(pod) || isTerminating(pod) {
			continue
		}
		if !checked {
			canAdoptErr = c.canAdopt(ctx, set)
			checked = true
		}
		if canAdoptErr != nil {
			errs = append(errs, fmt.Errorf("cannot adopt pod %s/%s: %w", pod.Namespace, pod.Name, canAdoptErr))
			break
		}
		if err := c.petControl.AdoptPet(ctx, set, pod); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		claimed = append(claimed, pod)
	}
	return claimed, errors.Join(errs...)
}

// adoptRevisions makes a live PetSet the controller of the orphaned
// ControllerRevisions named after it that match its selector: the history a
// PetSet of the same name left when it was deleted with --cascade=orphan.
// The PetSet created again then reuses the revision of an unchanged template
// (the orphaned pets already carry its name) and keeps its history, as apps/v1
// does. Before adopting it checks with a live read that the PetSet is still
// the same object and is not being deleted.
func (c *Controller) adoptRevisions(ctx context.Context, set *appsv1alpha1.PetSet) error {
	if set.DeletionTimestamp != nil {
		return nil
	}
	orphans, err := c.revisions.ListOrphanRevisions(set)
	if err != nil || len(orphans) == 0 {
		return err
	}
	if err := c.canAdopt(ctx, set); err != nil {
		return fmt.Errorf("cannot adopt the revisions of PetSet %s/%s: %w", set.Namespace, set.Name, err)
	}
	var errs []error
	for _, rev := range orphans {
		if err := c.revisions.AdoptRevision(ctx, set, rev); err != nil {
			if !apierrors.IsNotFound(err) {
				c.recorder.Eventf(set, v1.EventTypeWarning, reasonFailedAdopt, "adopt ControllerRevision %s in PetSet %s failed error: %v", rev.Name, set.Name, err)
				errs = append(errs, err)
			}
			continue
		}
		klog.FromContext(ctx).V(2).Info("Adopted revision", "petSet", klog.KObj(set), "revision", rev.Name)
		c.recorder.Eventf(set, v1.EventTypeNormal, reasonAdopted, "adopt ControllerRevision %s in PetSet %s successful", rev.Name, set.Name)
	}
	return errors.Join(errs...)
}

// canAdopt reads the PetSet from the API server (not the cache) and refuses
// adoption if it was replaced or is being deleted.
func (c *Controller) canAdopt(ctx context.Context, set *appsv1alpha1.PetSet) error {
	fresh, err := c.petSetClient.AppsV1alpha1().PetSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("recheck PetSet %s/%s: %w", set.Namespace, set.Name, err)
	}
	if fresh.UID != set.UID {
		return fmt.Errorf("PetSet %s/%s is gone: got uid %s, wanted %s", set.Namespace, set.Name, fresh.UID, set.UID)
	}
	if fresh.DeletionTimestamp != nil {
		return fmt.Errorf("PetSet %s/%s is being deleted since %v", set.Namespace, set.Name, fresh.DeletionTimestamp)
	}
	return nil
}

func (c *Controller) podsByIndex(indexKey, namespace string) ([]*v1.Pod, error) {
	return byControllerIndex[*v1.Pod](c.podIndexer, indexKey, namespace)
}

// byControllerIndex returns the objects of type T in namespace that indexer
// holds under indexKey of the controller index (addControllerIndex).
func byControllerIndex[T metav1.Object](indexer cache.Indexer, indexKey, namespace string) ([]T, error) {
	objs, err := indexer.ByIndex(controllerIndex, indexKey)
	if err != nil {
		return nil, fmt.Errorf("list by index %s=%s: %w", controllerIndex, indexKey, err)
	}
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		if o, ok := obj.(T); ok && o.GetNamespace() == namespace {
			out = append(out, o)
		}
	}
	return out, nil
}

func controllerIndexKeyForUID(uid types.UID) string {
	return "uid/" + string(uid)
}

func controllerIndexKeyForOrphans(namespace string) string {
	return "orphans/" + namespace
}

// addControllerIndex indexes the informer's objects (pods, ControllerRevisions)
// by controller UID, and those without a controller by namespace.
func addControllerIndex(informer cache.SharedIndexInformer) error {
	if _, ok := informer.GetIndexer().GetIndexers()[controllerIndex]; ok {
		return nil
	}
	return informer.AddIndexers(cache.Indexers{controllerIndex: controllerIndexFunc})
}

func controllerIndexFunc(obj any) ([]string, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return nil, nil
	}
	if ref := metav1.GetControllerOfNoCopy(o); ref != nil {
		return []string{controllerIndexKeyForUID(ref.UID)}, nil
	}
	return []string{controllerIndexKeyForOrphans(o.GetNamespace())}, nil
}

// enqueue adds the PetSet (or its tombstone) to the work queue.
func (c *Controller) enqueue(logger klog.Logger, obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleErrorWithLogger(logger, err, "Cannot get key for object", "object", obj)
		return
	}
	c.queue.Add(key)
}

// addPod enqueues the PetSet that controls the pod, or for an orphan every
// PetSet that could adopt it.
func (c *Controller) addPod(logger klog.Logger, obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if set := c.resolveControllerRef(pod.Namespace, ref); set != nil {
			logger.V(4).Info("Pet added", "pod", klog.KObj(pod), "petSet", klog.KObj(set))
			c.enqueue(logger, set)
		}
		return
	}
	for _, set := range c.getPetSetsForPod(logger, pod) {
		logger.V(4).Info("Orphan pod added", "pod", klog.KObj(pod), "petSet", klog.KObj(set))
		c.enqueue(logger, set)
	}
}

// updatePod enqueues the PetSets concerned by a pod change: the old and new
// controllers, and, for an orphan whose labels or ownership changed, every
// PetSet that could adopt it.
func (c *Controller) updatePod(logger klog.Logger, oldObj, newObj any) {
	oldPod, ok1 := oldObj.(*v1.Pod)
	curPod, ok2 := newObj.(*v1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == curPod.ResourceVersion {
		// A resync delivers the same version again: nothing changed.
		return
	}
	oldRef := metav1.GetControllerOfNoCopy(oldPod)
	curRef := metav1.GetControllerOfNoCopy(curPod)
	refChanged := !reflect.DeepEqual(oldRef, curRef)
	if refChanged && oldRef != nil {
		if set := c.resolveControllerRef(oldPod.Namespace, oldRef); set != nil {
			c.enqueue(logger, set)
		}
	}
	if curRef != nil {
		if set := c.resolveControllerRef(curPod.Namespace, curRef); set != nil {
			logger.V(4).Info("Pet updated", "pod", klog.KObj(curPod), "petSet", klog.KObj(set),
				"phase", curPod.Status.Phase, "ready", isPodReady(curPod))
			c.enqueue(logger, set)
		}
		return
	}
	if refChanged || !reflect.DeepEqual(oldPod.Labels, curPod.Labels) {
		for _, set := range c.getPetSetsForPod(logger, curPod) {
			c.enqueue(logger, set)
		}
	}
}

// deletePod enqueues the PetSet that controlled the deleted pod.
func (c *Controller) deletePod(logger klog.Logger, obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			utilruntime.HandleErrorWithLogger(logger, nil, "Unexpected object in pod delete event", "type", fmt.Sprintf("%T", obj))
			return
		}
		if pod, ok = tombstone.Obj.(*v1.Pod); !ok {
			utilruntime.HandleErrorWithLogger(logger, nil, "Tombstone holds an object that is not a pod", "type", fmt.Sprintf("%T", tombstone.Obj))
			return
		}
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if set := c.resolveControllerRef(pod.Namespace, ref); set != nil {
			logger.V(4).Info("Pet deleted", "pod", klog.KObj(pod), "petSet", klog.KObj(set))
			c.expectations.observeDeletion(keyOf(set), pod)
			c.enqueue(logger, set)
			return
		}
	}
	// A pod held a pet's name: the PetSet may be waiting for the name.
	if set := c.petSetNamedBy(pod); set != nil {
		logger.V(4).Info("Pod holding a pet name deleted", "pod", klog.KObj(pod), "petSet", klog.KObj(set))
		c.enqueue(logger, set)
	}
}

// revisionChanged enqueues the PetSet that controls a revision that was
// created, changed or deleted.
func (c *Controller) revisionChanged(logger klog.Logger, obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	rev, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rev); ref != nil {
		if set := c.resolveControllerRef(rev.Namespace, ref); set != nil {
			c.enqueue(logger, set)
		}
		return
	}
	// An orphan: the PetSet it is named after may adopt it.
	if i := strings.LastIndex(rev.Name, "-"); i > 0 {
		if set, err := c.setLister.PetSets(rev.Namespace).Get(rev.Name[:i]); err == nil {
			c.enqueue(logger, set)
		}
	}
}

// petSetNamedBy returns the PetSet whose pet name is the pod's name, if it is
// in the cache.
func (c *Controller) petSetNamedBy(pod *v1.Pod) *appsv1alpha1.PetSet {
	parent, ordinal := getParentNameAndOrdinal(pod.Name)
	if ordinal < 0 {
		return nil
	}
	set, err := c.setLister.PetSets(pod.Namespace).Get(parent)
	if err != nil {
		return nil
	}
	return set
}

// updateClaim enqueues the PetSets a claim's name belongs to when the
// claim's labels change: a claim that did not belong to the PetSet may now.
func (c *Controller) updateClaim(logger klog.Logger, oldObj, newObj any) {
	oldClaim, ok1 := oldObj.(*v1.PersistentVolumeClaim)
	curClaim, ok2 := newObj.(*v1.PersistentVolumeClaim)
	if !ok1 || !ok2 {
		return
	}
	relabelled := !reflect.DeepEqual(oldClaim.Labels, curClaim.Labels)
	resized := !apiequality.Semantic.DeepEqual(oldClaim.Spec.Resources.Requests, curClaim.Spec.Resources.Requests) ||
		!apiequality.Semantic.DeepEqual(oldClaim.Status.Capacity, curClaim.Status.Capacity) ||
		!reflect.DeepEqual(oldClaim.Status.AllocatedResourceStatuses, curClaim.Status.AllocatedResourceStatuses)
	if !relabelled && !resized {
		return
	}
	for _, set := range c.petSetsForClaim(logger, curClaim) {
		// A resize matters only to a PetSet that expands its claims.
		if relabelled || set.Spec.VolumeClaimUpdatePolicy == appsv1alpha1.InPlaceVolumeClaimUpdatePolicy {
			c.enqueue(logger, set)
		}
	}
}

// deleteClaim enqueues the PetSets a deleted claim's name belongs to: a pet
// may wait for a claim that belonged to another PetSet to go, and a Pending
// pet gets its deleted claim created again.
func (c *Controller) deleteClaim(logger klog.Logger, obj any) {
	claim, ok := obj.(*v1.PersistentVolumeClaim)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if claim, ok = tombstone.Obj.(*v1.PersistentVolumeClaim); !ok {
			return
		}
	}
	for _, set := range c.petSetsForClaim(logger, claim) {
		logger.V(4).Info("Claim deleted", "claim", klog.KObj(claim), "petSet", klog.KObj(set))
		c.enqueue(logger, set)
	}
}

// petSetsForClaim returns the PetSets in the claim's namespace one of whose
// pets' claims has the claim's name: "<template>-<petset>-<ordinal>". More
// than one PetSet can match, as names can collide: the PetSet's name is
// whatever follows one of the dashes, so each is looked up by name.
func (c *Controller) petSetsForClaim(logger klog.Logger, claim *v1.PersistentVolumeClaim) []*appsv1alpha1.PetSet {
	parent, ordinal := getParentNameAndOrdinal(claim.Name)
	if ordinal < 0 {
		return nil
	}
	lister := c.setLister.PetSets(claim.Namespace)
	var matching []*appsv1alpha1.PetSet
	for i := range len(parent) {
		if parent[i] != '-' {
			continue
		}
		template, name := parent[:i], parent[i+1:]
		set, err := lister.Get(name)
		if err != nil {
			if !apierrors.IsNotFound(err) {
				utilruntime.HandleErrorWithLogger(logger, err, "Cannot get PetSet", "petSet", klog.KRef(claim.Namespace, name))
			}
			continue
		}
		for j := range set.Spec.VolumeClaimTemplates {
			if set.Spec.VolumeClaimTemplates[j].Name == template {
				matching = append(matching, set)
				break
			}
		}
	}
	return matching
}

// resolveControllerRef returns the PetSet a controller reference points to,
// or nil if it is not a PetSet in the cache with that UID.
func (c *Controller) resolveControllerRef(namespace string, ref *metav1.OwnerReference) *appsv1alpha1.PetSet {
	if !isPetSetRef(ref) {
		return nil
	}
	set, err := c.setLister.PetSets(namespace).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

// getPetSetsForPod returns the PetSet whose pet name is the pod's name and
// whose selector matches the pod: none or one, as PetSet names are unique in
// a namespace.
func (c *Controller) getPetSetsForPod(logger klog.Logger, pod *v1.Pod) []*appsv1alpha1.PetSet {
	set := c.petSetNamedBy(pod)
	if set == nil {
		return nil
	}
	selector, err := getSelector(set)
	if err != nil {
		logger.V(4).Info("PetSet has an invalid selector", "petSet", klog.KObj(set), "err", err)
		return nil
	}
	if !selector.Matches(labels.Set(pod.Labels)) {
		return nil
	}
	return []*appsv1alpha1.PetSet{set}
}
