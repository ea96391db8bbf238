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

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// petSetControlInterface reconciles one PetSet with its pets.
type petSetControlInterface interface {
	// SyncPetSet takes at most one pet action for set, given the pods set
	// controls as the informer sees them, and then writes set's status if
	// it changed. A non-nil error means the PetSet must be synced again
	// with backoff.
	SyncPetSet(ctx context.Context, set *appsv1alpha1.PetSet, pods []*v1.Pod) error
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
//   - Once pets 0..replicas-1 are healthy, pets with ordinal >= replicas are
//     deleted from the highest down, one at a time: only when no pet is
//     terminating, no other pet is unhealthy, and the highest is not paused.
//
// pets must hold member pods only (named <set>-<ordinal>).
func nextPetAction(replicas int, pets []*v1.Pod) petAction {
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

	if len(condemned) == 0 {
		return petAction{kind: actionNone}
	}
	sortByOrdinal(condemned)
	target := condemned[len(condemned)-1]
	for _, pod := range condemned {
		if isTerminating(pod) {
			return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
				reason: "waiting for the pet to be gone before the next scale down"}
		}
	}
	for _, pod := range condemned {
		if isPaused(pod) {
			return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
				reason: fmt.Sprintf("pet is paused by %s=false", appsv1alpha1.PetSetInitAnnotation)}
		}
		if pod != target && !isRunningAndReady(pod) {
			return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
				reason: "pet is not Running and Ready, scale down is blocked"}
		}
	}
	return petAction{kind: actionDelete, ordinal: getOrdinal(target), pod: target, reason: "scale down"}
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
}

func newDefaultPetSetControl(petControl petControlInterface, statusUpdater statusUpdaterInterface,
	finalizers finalizerControlInterface, expectations *petExpectations) *defaultPetSetControl {
	return &defaultPetSetControl{
		petControl:    petControl,
		statusUpdater: statusUpdater,
		finalizers:    finalizers,
		expectations:  expectations,
	}
}

func (c *defaultPetSetControl) SyncPetSet(ctx context.Context, set *appsv1alpha1.PetSet, pods []*v1.Pod) error {
	pets := make([]*v1.Pod, 0, len(pods))
	for _, pod := range pods {
		if isMemberOf(set, pod) {
			pets = append(pets, pod)
		}
	}
	sortByOrdinal(pets)

	set, released, err := c.act(ctx, set, pods, pets)
	if released {
		// The PetSet no longer holds our finalizer and is going away.
		return err
	}
	if statusErr := c.updateStatus(ctx, set, pets); statusErr != nil {
		return errors.Join(err, statusErr)
	}
	return err
}

// act takes at most one pet action. It returns the PetSet as last written
// (it changes when the finalizer is added), and true once PetSetFinalizer has
// been removed from a PetSet being deleted.
func (c *defaultPetSetControl) act(ctx context.Context, set *appsv1alpha1.PetSet, pods, pets []*v1.Pod) (*appsv1alpha1.PetSet, bool, error) {
	logger := klog.FromContext(ctx)
	if !c.expectations.satisfied(logger, keyOf(set), pods) {
		return set, false, nil
	}

	if set.DeletionTimestamp != nil {
		var released bool
		var err error
		if hasFinalizer(set, metav1.FinalizerOrphanDependents) {
			released, err = c.orphan(ctx, set, pods)
		} else {
			released, err = c.cascade(ctx, set, pets)
		}
		return set, released, err
	}

	if !hasFinalizer(set, PetSetFinalizer) {
		// No pet is created before the PetSet holds the finalizer that
		// makes its deletion ordered.
		updated, err := c.finalizers.AddFinalizer(ctx, set)
		if err != nil {
			return set, false, err
		}
		set = updated
		if set.DeletionTimestamp != nil || !hasFinalizer(set, PetSetFinalizer) {
			// The cache was behind: the PetSet is being deleted. The
			// informer brings the change and the next sync handles it.
			logger.V(2).Info("PetSet is being deleted, not adding pets", "petSet", klog.KObj(set))
			return set, false, nil
		}
	}

	action := nextPetAction(replicasOf(set), pets)
	logger.V(4).Info("Next pet action", "petSet", klog.KObj(set), "action", action.kind,
		"ordinal", action.ordinal, "reason", action.reason)
	switch action.kind {
	case actionCreate:
		return set, false, c.petControl.CreatePet(ctx, set, newPet(set, action.ordinal))
	case actionDelete:
		return set, false, c.petControl.DeletePet(ctx, set, action.pod)
	}
	return set, false, nil
}

// cascade scales a PetSet being deleted down to zero, one pet at a time from
// the highest ordinal, then removes PetSetFinalizer.
func (c *defaultPetSetControl) cascade(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod) (bool, error) {
	logger := klog.FromContext(ctx)
	action := nextPetAction(0, pets)
	logger.V(4).Info("Next pet action for deleted PetSet", "petSet", klog.KObj(set), "action", action.kind,
		"ordinal", action.ordinal, "reason", action.reason)
	switch action.kind {
	case actionDelete:
		return false, c.petControl.DeletePet(ctx, set, action.pod)
	case actionWait:
		return false, nil
	}
	if !hasFinalizer(set, PetSetFinalizer) {
		return false, nil
	}
	if err := c.finalizers.RemoveFinalizer(ctx, set); err != nil {
		return false, err
	}
	logger.V(2).Info("All pets deleted, released the PetSet", "petSet", klog.KObj(set))
	return true, nil
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
