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

package petset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// petSetControlInterface reconciles one PetSet with its pets.
type petSetControlInterface interface {
	// SyncPetSet takes at most one pet action for set, given the pods set
	// controls as the informer sees them, and then writes set's status if
	// it changed. A non-nil error means the PetSet must be synced again
	// with backoff.
	// A positive duration asks for another sync after it even without an
	// event.
	SyncPetSet(ctx context.Context, set *appsv1alpha1.PetSet, pods []*v1.Pod) (time.Duration, error)
}

// actionKind is what the control loop decides to do next.
type actionKind int

const (
	// actionNone: every pet exists and is healthy, nothing to do.
	actionNone actionKind = iota
	// actionWait: progress is blocked by a pet (not ready, paused,
	// terminating); nothing is written until it changes.
	actionWait
	// actionCreate: create the pet with the given ordinal.
	actionCreate
	// actionDelete: delete the given pet.
	actionDelete
)

func (k actionKind) String() string {
	switch k {
	case actionNone:
		return "none"
	case actionWait:
		return "wait"
	case actionCreate:
		return "create"
	case actionDelete:
		return "delete"
	}
	return fmt.Sprintf("actionKind(%d)", int(k))
}

// petAction is the single next step of a PetSet.
type petAction struct {
	kind actionKind
	// ordinal is the ordinal of the pet acted on or waited for.
	ordinal int
	// pod is the pet to delete, or the pet that blocks progress.
	pod *v1.Pod
	// reason explains the decision, for logs.
	reason string
	// requeueAfter, when positive, is when the decision may change without
	// any event: a terminating pet that blocks reaches its time bound.
	requeueAfter time.Duration
	// skipped are the terminating pets the decision went past because
	// they stayed terminating beyond their grace period plus the margin.
	skipped []*v1.Pod
}

// terminationBound returns the time after which a terminating pet no longer
// blocks the deletion of the next one: the end of its grace period (the API
// server sets the pod's deletionTimestamp to the deletion request's time plus
// the grace period) plus margin.
func terminationBound(pod *v1.Pod, margin time.Duration) time.Time {
	return pod.DeletionTimestamp.Add(margin)
}

// isStuckTerminating reports whether pod is terminating and has passed its
// termination bound at now.
func isStuckTerminating(pod *v1.Pod, now time.Time, margin time.Duration) bool {
	return isTerminating(pod) && !now.Before(terminationBound(pod, margin))
}

// nextPetAction decides the one next pet action that brings the pets to
// replicas, following the PetSet ordering rules:
//
//   - Pets 0..replicas-1 are visited in ascending order. The first missing
//     one is created; so a pet is only created when all lower pets exist and
//     are healthy (Running, Ready, not paused, not terminating).
//   - A pet in phase Failed or Succeeded is deleted, to be created again from
//     the current template once it is gone.
//   - A terminating pet, or one that is not Running and Ready (or is paused by
//     the initialized annotation), blocks any further action.
//   - Once pets 0..replicas-1 are healthy, the condemned pets (ordinal >=
//     replicas) are deleted by nextRemoval, unless one of them is paused by
//     the initialized annotation: the debugging hook pauses scale down too.
//     A condemned pet's own health never blocks: it is going away.
//
// pets must hold member pods only (named <set>-<ordinal>). A pet terminating
// for longer than its grace period plus margin blocks no deletion.
func nextPetAction(replicas int, pets []*v1.Pod, now time.Time, margin time.Duration) petAction {
	byOrdinal := make(map[int]*v1.Pod, len(pets))
	condemned := make([]*v1.Pod, 0)
	for _, pod := range pets {
		ordinal := getOrdinal(pod)
		if ordinal < 0 {
			continue
		}
		byOrdinal[ordinal] = pod
		if ordinal >= replicas {
			condemned = append(condemned, pod)
		}
	}

	for ordinal := 0; ordinal < replicas; ordinal++ {
		pod, ok := byOrdinal[ordinal]
		switch {
		case !ok:
			return petAction{kind: actionCreate, ordinal: ordinal, reason: "pet is missing"}
		case isTerminating(pod):
			return petAction{kind: actionWait, ordinal: ordinal, pod: pod, reason: "pet is terminating"}
		case isTerminated(pod):
			return petAction{kind: actionDelete, ordinal: ordinal, pod: pod,
				reason: fmt.Sprintf("pet is in phase %s and must be recreated", pod.Status.Phase)}
		case isPaused(pod):
			return petAction{kind: actionWait, ordinal: ordinal, pod: pod,
				reason: fmt.Sprintf("pet is paused by %s=false", appsv1alpha1.PetSetInitAnnotation)}
		case !isRunningAndReady(pod):
			return petAction{kind: actionWait, ordinal: ordinal, pod: pod, reason: "pet is not Running and Ready"}
		}
	}

	for _, pod := range condemned {
		if isPaused(pod) && !isTerminating(pod) {
			return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
				reason: fmt.Sprintf("pet is paused by %s=false, scale down is paused", appsv1alpha1.PetSetInitAnnotation)}
		}
	}
	return nextRemoval(condemned, now, margin, "scale down")
}

// nextTeardownAction decides the next step of the teardown of a PetSet being
// deleted: every pet goes, from the highest ordinal down, each only after the
// previous one is gone. No pet's health, phase or pause annotation blocks it.
// actionNone means no pet is left to delete or wait for.
func nextTeardownAction(pets []*v1.Pod, now time.Time, margin time.Duration) petAction {
	return nextRemoval(pets, now, margin, "teardown")
}

// nextRemoval deletes pods one at a time from the highest ordinal down: the
// highest pod that is not terminating is deleted once every higher pod is
// gone, or has been terminating beyond its grace period plus margin (those
// are reported in skipped). It waits for a higher pod that is still within
// its bound, and asks to be requeued when that bound passes.
func nextRemoval(pods []*v1.Pod, now time.Time, margin time.Duration, what string) petAction {
	ordered := slices.Clone(pods)
	sortByOrdinal(ordered)
	var skipped []*v1.Pod
	for i := len(ordered) - 1; i >= 0; i-- {
		pod := ordered[i]
		if !isTerminating(pod) {
			return petAction{kind: actionDelete, ordinal: getOrdinal(pod), pod: pod, reason: what, skipped: skipped}
		}
		if isStuckTerminating(pod, now, margin) {
			skipped = append(skipped, pod)
			continue
		}
		return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
			reason:       "waiting for the pet to be gone before the next " + what,
			requeueAfter: terminationBound(pod, margin).Sub(now)}
	}
	if len(skipped) > 0 {
		return petAction{kind: actionNone, reason: "only pets stuck terminating are left", skipped: skipped}
	}
	return petAction{kind: actionNone}
}

// computeStatus returns the status of set given its pets.
func computeStatus(set *appsv1alpha1.PetSet, pets []*v1.Pod) appsv1alpha1.PetSetStatus {
	generation := set.Generation
	status := appsv1alpha1.PetSetStatus{ObservedGeneration: &generation}
	for _, pod := range pets {
		status.Replicas++
		if isRunningAndReady(pod) {
			status.ReadyReplicas++
		}
	}
	return status
}

// defaultPetSetControl implements petSetControlInterface.
type defaultPetSetControl struct {
	petControl    petControlInterface
	statusUpdater statusUpdaterInterface
	finalizers    finalizerControlInterface
	expectations  *petExpectations
	recorder      record.EventRecorder
	clock         clock.PassiveClock
	// terminatingMargin is how long past its grace period a terminating
	// pet keeps blocking the deletion of the next one.
	terminatingMargin time.Duration
}

func newDefaultPetSetControl(petControl petControlInterface, statusUpdater statusUpdaterInterface,
	finalizers finalizerControlInterface, expectations *petExpectations, recorder record.EventRecorder,
	clock clock.PassiveClock, terminatingMargin time.Duration) *defaultPetSetControl {
	return &defaultPetSetControl{
		petControl:        petControl,
		statusUpdater:     statusUpdater,
		finalizers:        finalizers,
		expectations:      expectations,
		recorder:          recorder,
		clock:             clock,
		terminatingMargin: terminatingMargin,
	}
}

func (c *defaultPetSetControl) SyncPetSet(ctx context.Context, set *appsv1alpha1.PetSet, pods []*v1.Pod) (time.Duration, error) {
	pets := make([]*v1.Pod, 0, len(pods))
	for _, pod := range pods {
		if isMemberOf(set, pod) {
			pets = append(pets, pod)
		}
	}
	sortByOrdinal(pets)

	set, requeueAfter, released, err := c.act(ctx, set, pods, pets)
	if released {
		// The PetSet no longer holds our finalizer and is going away.
		return 0, err
	}
	if statusErr := c.updateStatus(ctx, set, pets); statusErr != nil {
		return requeueAfter, errors.Join(err, statusErr)
	}
	return requeueAfter, err
}

// act takes at most one pet action, after repairing the pets' drift. It
// returns the PetSet as last written (it changes when the finalizer is
// added), when to sync again without an event, and true once PetSetFinalizer
// has been removed from a PetSet being deleted.
func (c *defaultPetSetControl) act(ctx context.Context, set *appsv1alpha1.PetSet, pods, pets []*v1.Pod) (*appsv1alpha1.PetSet, time.Duration, bool, error) {
	logger := klog.FromContext(ctx)
	if !c.expectations.satisfied(logger, keyOf(set), pods) {
		return set, 0, false, nil
	}

	if set.DeletionTimestamp != nil {
		if hasFinalizer(set, metav1.FinalizerOrphanDependents) {
			released, err := c.orphan(ctx, set, pods)
			return set, 0, released, err
		}
		requeueAfter, released, err := c.cascade(ctx, set, pets)
		return set, requeueAfter, released, err
	}

	action := nextPetAction(replicasOf(set), pets, c.clock.Now(), c.terminatingMargin)
	if !hasFinalizer(set, PetSetFinalizer) && (len(pets) > 0 || action.kind == actionCreate) {
		// No pet is created, and no pet stays, before the PetSet holds
		// the finalizer that makes its deletion ordered. A PetSet without
		// pets needs none: its deletion has nothing to order.
		updated, err := c.finalizers.AddFinalizer(ctx, set)
		if err != nil {
			return set, 0, false, err
		}
		set = updated
		if set.DeletionTimestamp != nil || !hasFinalizer(set, PetSetFinalizer) {
			// The cache was behind: the PetSet is being deleted. The
			// informer brings the change and the next sync handles it.
			logger.V(2).Info("PetSet is being deleted, not adding pets", "petSet", klog.KObj(set))
			return set, 0, false, nil
		}
	}

	repairErr := c.repair(ctx, set, pets)

	logger.V(4).Info("Next pet action", "petSet", klog.KObj(set), "action", action.kind,
		"ordinal", action.ordinal, "reason", action.reason)
	var err error
	switch action.kind {
	case actionCreate:
		err = c.petControl.CreatePet(ctx, set, newPet(set, action.ordinal))
	case actionDelete:
		c.reportSkipped(ctx, set, action)
		err = c.petControl.DeletePet(ctx, set, action.pod)
	}
	return set, action.requeueAfter, false, errors.Join(repairErr, err)
}

// repair brings existing pets back to what the PetSet says they are: a pet
// whose identity labels were removed or changed gets them back, and a
// Pending pet whose claim was deleted gets the claim created again (it cannot
// start without it). Terminating pets are left alone.
func (c *defaultPetSetControl) repair(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod) error {
	var errs []error
	for _, pod := range pets {
		if isTerminating(pod) {
			continue
		}
		if !identityMatches(set, pod) {
			if err := c.petControl.RestoreIdentity(ctx, set, pod); err != nil {
				errs = append(errs, err)
			}
		}
		if pod.Status.Phase == v1.PodPending || pod.Status.Phase == "" {
			if err := c.petControl.EnsureClaims(ctx, set, pod); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// reportSkipped records a Warning event for each pet the action went past
// because it stayed terminating beyond its grace period plus the margin.
func (c *defaultPetSetControl) reportSkipped(ctx context.Context, set *appsv1alpha1.PetSet, action petAction) {
	for _, pod := range action.skipped {
		klog.FromContext(ctx).Info("Pet is stuck terminating, going on without it", "petSet", klog.KObj(set),
			"pod", klog.KObj(pod), "deletionTimestamp", pod.DeletionTimestamp, "margin", c.terminatingMargin)
		c.recorder.Eventf(set, v1.EventTypeWarning, reasonPetStuckTerminating,
			"Pod %s has been terminating for more than its grace period plus %s (deletion due at %s); going on with the %s without waiting for it",
			pod.Name, c.terminatingMargin, pod.DeletionTimestamp.UTC().Format(time.RFC3339), action.reason)
	}
}

// cascade tears a PetSet being deleted down to zero, one pet at a time from
// the highest ordinal, whatever the pets' health, then removes
// PetSetFinalizer.
func (c *defaultPetSetControl) cascade(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod) (time.Duration, bool, error) {
	logger := klog.FromContext(ctx)
	action := nextTeardownAction(pets, c.clock.Now(), c.terminatingMargin)
	logger.V(4).Info("Next pet action for deleted PetSet", "petSet", klog.KObj(set), "action", action.kind,
		"ordinal", action.ordinal, "reason", action.reason)
	switch action.kind {
	case actionDelete:
		c.reportSkipped(ctx, set, action)
		return 0, false, c.petControl.DeletePet(ctx, set, action.pod)
	case actionWait:
		return action.requeueAfter, false, nil
	}
	if !hasFinalizer(set, PetSetFinalizer) {
		return 0, false, nil
	}
	if err := c.finalizers.RemoveFinalizer(ctx, set); err != nil {
		return 0, false, err
	}
	c.reportSkipped(ctx, set, action)
	logger.V(2).Info("All pets deleted, released the PetSet", "petSet", klog.KObj(set))
	return 0, true, nil
}

// orphan releases every pod of a PetSet deleted with the orphan propagation
// policy, then removes PetSetFinalizer. The pods keep running; the garbage
// collector removes the orphan finalizer.
func (c *defaultPetSetControl) orphan(ctx context.Context, set *appsv1alpha1.PetSet, pods []*v1.Pod) (bool, error) {
	var errs []error
	for _, pod := range pods {
		if err := c.petControl.ReleasePet(ctx, set, pod); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	if !hasFinalizer(set, PetSetFinalizer) {
		return false, nil
	}
	if err := c.finalizers.RemoveFinalizer(ctx, set); err != nil {
		return false, err
	}
	klog.FromContext(ctx).V(2).Info("Released all pets of the orphaned PetSet", "petSet", klog.KObj(set), "pets", len(pods))
	return true, nil
}

// updateStatus writes set's status when it differs from the observed one.
func (c *defaultPetSetControl) updateStatus(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod) error {
	status := computeStatus(set, pets)
	if apiequality.Semantic.DeepEqual(set.Status, status) {
		return nil
	}
	if err := c.statusUpdater.UpdatePetSetStatus(ctx, set, &status); err != nil {
		return err
	}
	klog.FromContext(ctx).V(4).Info("Updated PetSet status", "petSet", klog.KObj(set),
		"replicas", status.Replicas, "readyReplicas", status.ReadyReplicas, "observedGeneration", set.Generation)
	return nil
}

var _ petSetControlInterface = &defaultPetSetControl{}
