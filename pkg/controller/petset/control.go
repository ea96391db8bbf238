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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
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
	// actionBatch: create and delete the given pets in slow-start
	// batches (Parallel pet management).
	actionBatch
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
	case actionBatch:
		return "batch"
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
	// revision is the revision a created pet runs.
	revision string
	// batch, for an update, holds every pet to delete at once (pod is
	// its first); nil for a single deletion.
	batch []*v1.Pod
	// update marks a deletion that replaces pets running an older
	// revision.
	update bool
	// creates, for actionBatch, are the pets to create (batch holds
	// those to delete).
	creates []petCreate
}

// petCreate is a pet an actionBatch creates.
type petCreate struct {
	ordinal  int
	revision string
}

// rollout is what the decision needs to know of a PetSet's update: the
// strategy, its parameters, and the revisions.
type rollout struct {
	replicas int
	// start is the first ordinal: the pets are start..start+replicas-1.
	start int
	// minReadySeconds is how long a pet must be Ready to be available;
	// a pet is created only after the lower ones are available.
	minReadySeconds int32
	strategy        appsv1alpha1.PetSetUpdateStrategyType
	partition       int
	maxUnavailable  int
	// currentRevision and updateRevision name the revisions; empty when
	// the PetSet has none (the decision then never replaces a pet).
	currentRevision, updateRevision string
	// replaceUnhealthy is unhealthyPodPolicy ReplaceOldRevision.
	replaceUnhealthy bool
}

// rolloutOf returns the rollout of set with the given revisions.
func rolloutOf(set *appsv1alpha1.PetSet, currentRevision, updateRevision string) rollout {
	r := rollout{
		replicas:        replicasOf(set),
		start:           startOrdinalOf(set),
		minReadySeconds: set.Spec.MinReadySeconds,
		strategy:        set.Spec.UpdateStrategy.Type,
		maxUnavailable:  1,
		currentRevision: currentRevision,
		updateRevision:  updateRevision,
	}
	if r.strategy == "" {
		r.strategy = appsv1alpha1.OnDeletePetSetStrategyType
	}
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && r.strategy == appsv1alpha1.RollingUpdatePetSetStrategyType {
		if ru.Partition != nil {
			r.partition = int(*ru.Partition)
		}
		if ru.MaxUnavailable != nil {
			r.maxUnavailable = resolveMaxUnavailable(ru.MaxUnavailable, r.replicas)
		}
		r.replaceUnhealthy = ru.UnhealthyPodPolicy == appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy
	}
	return r
}

// replacesUnhealthy reports whether the rolling update replaces pod, a pet
// in range that is not Running and Ready (nor terminating, terminated or
// paused), at once: under unhealthyPodPolicy ReplaceOldRevision, when the pet
// is at or above the partition and runs another revision than the update
// revision. Its replacement uses no maxUnavailable budget, as the pet is
// unavailable already; a pet at the update revision is never replaced for
// being unhealthy, so a template that is still broken cannot loop.
func (r rollout) replacesUnhealthy(ordinal int, pod *v1.Pod) bool {
	return r.replaceUnhealthy && r.replacesOld(ordinal, pod)
}

// replacesOld reports whether a rolling update replaces pod, of the given
// ordinal, for running another revision than the update revision: it is at
// or above the partition.
func (r rollout) replacesOld(ordinal int, pod *v1.Pod) bool {
	return r.strategy == appsv1alpha1.RollingUpdatePetSetStrategyType && r.updateRevision != "" &&
		ordinal >= r.start+r.partition && revisionOf(pod) != r.updateRevision
}

// resolveMaxUnavailable turns maxUnavailable into a number of pets: a
// percentage of replicas rounds down, and the result is at least 1, as
// apps/v1 does.
func resolveMaxUnavailable(v *intstr.IntOrString, replicas int) int {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, replicas, false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// end returns the ordinal after the last pet's.
func (r rollout) end() int {
	return r.start + r.replicas
}

// inRange reports whether a pet of the given ordinal is wanted (as
// ordinalInRange, for the rollout's numbers).
func (r rollout) inRange(ordinal int) bool {
	return ordinal >= r.start && ordinal < r.end()
}

// revisionFor returns the revision the pet with the given ordinal is
// created from: the update revision, but the current one below the
// partition of a rolling update. The partition counts from the first
// ordinal, as apps/v1 counts it: pets start..start+partition-1 keep the
// current revision.
func (r rollout) revisionFor(ordinal int) string {
	if r.strategy == appsv1alpha1.RollingUpdatePetSetStrategyType && ordinal < r.start+r.partition && r.currentRevision != "" {
		return r.currentRevision
	}
	return r.updateRevision
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
// replicas, following the PetSet ordering rules (nextRolloutAction numbers
// the pets from a start ordinal instead of 0):
//
//   - Pets 0..replicas-1 are visited in ascending order. The first missing
//     one is created; so a pet is only created when all lower pets exist and
//     are healthy (Running, Ready, not paused, not terminating).
//   - A pet in phase Failed or Succeeded is deleted, to be created again from
//     the current template once it is gone.
//   - A terminating pet, or one that is not Running and Ready (or is paused by
//     the initialized annotation), blocks any further action; so does one
//     that has been Ready for less than minReadySeconds (nextRolloutAction:
//     it is not available yet), until then.
//   - Once pets 0..replicas-1 are healthy, the condemned pets (any other
//     ordinal) are deleted by nextRemoval, from the highest ordinal down, unless one of them is paused by
//     the initialized annotation: the debugging hook pauses scale down too.
//     A condemned pet's own health never blocks: it is going away.
//
// pets must hold member pods only (named <set>-<ordinal>). A pet terminating
// for longer than its grace period plus margin blocks no deletion.
func nextPetAction(replicas int, pets []*v1.Pod, now time.Time, margin time.Duration) petAction {
	return nextRolloutAction(rollout{replicas: replicas, strategy: appsv1alpha1.OnDeletePetSetStrategyType, maxUnavailable: 1}, pets, now, margin)
}

// nextRolloutAction is nextPetAction with an update strategy:
//
//   - OnDelete (the default) decides exactly as nextPetAction: a pet gets
//     the update revision when it is created again.
//   - Recreate first deletes, all at once, every pet whose revision is not
//     the update revision (a paused pet pauses this too), and creates no pet
//     while any of them remains (unless it is stuck terminating).
//   - RollingUpdate, once pets 0..replicas-1 exist and are healthy and the
//     condemned pets are gone, deletes the pets of ordinal >= partition that
//     do not run the update revision, from the highest ordinal down, at
//     most maxUnavailable minus the pets already unavailable at once; each
//     comes back (in order, at the update revision) before the budget
//     frees. With unhealthyPodPolicy ReplaceOldRevision, the first pet in
//     range that is not Running and Ready is deleted at once instead of
//     waited for when r.replacesUnhealthy says so.
//
// Pets are numbered from r.start: pets start..start+replicas-1 are
// wanted, any other is condemned (a change of the start ordinal condemns the
// pets it leaves out and creates those it brings in). Created pets run
// r.revisionFor(ordinal).
func nextRolloutAction(r rollout, pets []*v1.Pod, now time.Time, margin time.Duration) petAction {
	if r.strategy == appsv1alpha1.RecreatePetSetStrategyType && r.updateRevision != "" {
		if action, ok := recreateAction(r, pets, now, margin); ok {
			return action
		}
	}
	byOrdinal := make(map[int]*v1.Pod, len(pets))
	condemned := make([]*v1.Pod, 0)
	for _, pod := range pets {
		ordinal := getOrdinal(pod)
		if ordinal < 0 {
			continue
		}
		byOrdinal[ordinal] = pod
		if !r.inRange(ordinal) {
			condemned = append(condemned, pod)
		}
	}

	for ordinal := r.start; ordinal < r.end(); ordinal++ {
		pod, ok := byOrdinal[ordinal]
		switch {
		case !ok:
			return petAction{kind: actionCreate, ordinal: ordinal, reason: "pet is missing", revision: r.revisionFor(ordinal)}
		case isTerminating(pod):
			return petAction{kind: actionWait, ordinal: ordinal, pod: pod, reason: "pet is terminating"}
		case isTerminated(pod):
			return petAction{kind: actionDelete, ordinal: ordinal, pod: pod,
				reason: fmt.Sprintf("pet is in phase %s and must be recreated", pod.Status.Phase)}
		case isPaused(pod):
			return petAction{kind: actionWait, ordinal: ordinal, pod: pod,
				reason: fmt.Sprintf("pet is paused by %s=false", appsv1alpha1.PetSetInitAnnotation)}
		case !isRunningAndReady(pod) && r.replacesUnhealthy(ordinal, pod):
			return petAction{kind: actionDelete, ordinal: ordinal, pod: pod, batch: []*v1.Pod{pod}, update: true,
				reason: fmt.Sprintf("pet is unavailable and runs an older revision than %s (unhealthyPodPolicy %s)",
					r.updateRevision, appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy)}
		case !isRunningAndReady(pod):
			return petAction{kind: actionWait, ordinal: ordinal, pod: pod, reason: "pet is not Running and Ready"}
		}
		if wait, ok := availableIn(pod, r.minReadySeconds, now); !ok || wait > 0 {
			return petAction{kind: actionWait, ordinal: ordinal, pod: pod, requeueAfter: wait,
				reason: fmt.Sprintf("pet is not available yet: Ready for less than minReadySeconds (%ds)", r.minReadySeconds)}
		}
	}

	for _, pod := range condemned {
		if isPaused(pod) && !isTerminating(pod) {
			return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
				reason: fmt.Sprintf("pet is paused by %s=false, scale down is paused", appsv1alpha1.PetSetInitAnnotation)}
		}
	}
	removal := nextRemoval(condemned, now, margin, "scale down")
	if removal.kind != actionNone || r.strategy != appsv1alpha1.RollingUpdatePetSetStrategyType || r.updateRevision == "" {
		return removal
	}
	update := rollingUpdateAction(r, byOrdinal)
	update.skipped = removal.skipped
	return update
}

// rollingUpdateAction picks the pets a rolling update deletes next.
func rollingUpdateAction(r rollout, byOrdinal map[int]*v1.Pod) petAction {
	unavailable := 0
	for ordinal := r.start; ordinal < r.end(); ordinal++ {
		if pod, ok := byOrdinal[ordinal]; !ok || !isHealthy(pod) {
			unavailable++
		}
	}
	budget := r.maxUnavailable - unavailable
	var batch []*v1.Pod
	pending := 0
	for ordinal := r.end() - 1; ordinal >= r.start+r.partition && ordinal >= r.start; ordinal-- {
		pod, ok := byOrdinal[ordinal]
		if !ok || isTerminating(pod) || revisionOf(pod) == r.updateRevision {
			continue
		}
		pending++
		if len(batch) < budget {
			batch = append(batch, pod)
		}
	}
	switch {
	case len(batch) > 0:
		return petAction{kind: actionDelete, ordinal: getOrdinal(batch[0]), pod: batch[0], batch: batch, update: true,
			reason: fmt.Sprintf("rolling update to revision %s", r.updateRevision)}
	case pending > 0:
		return petAction{kind: actionWait, reason: fmt.Sprintf("rolling update waits: %d pets unavailable, maxUnavailable %d", unavailable, r.maxUnavailable)}
	}
	return petAction{kind: actionNone}
}

// recreateAction deletes every pet whose revision is not the update
// revision, and waits until none of them remains. It reports false when no
// such pet is left (but pets stuck terminating beyond their bound).
func recreateAction(r rollout, pets []*v1.Pod, now time.Time, margin time.Duration) (petAction, bool) {
	var batch, waiting []*v1.Pod
	for _, pod := range pets {
		if getOrdinal(pod) < 0 || revisionOf(pod) == r.updateRevision {
			continue
		}
		switch {
		case !isTerminating(pod) && isPaused(pod):
			return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
				reason: fmt.Sprintf("pet is paused by %s=false, the update is paused", appsv1alpha1.PetSetInitAnnotation)}, true
		case !isTerminating(pod):
			batch = append(batch, pod)
		case !isStuckTerminating(pod, now, margin):
			waiting = append(waiting, pod)
		}
	}
	if len(batch) > 0 {
		sortByOrdinal(batch)
		slices.Reverse(batch)
		return petAction{kind: actionDelete, ordinal: getOrdinal(batch[0]), pod: batch[0], batch: batch, update: true,
			reason: fmt.Sprintf("recreate at revision %s", r.updateRevision)}, true
	}
	if len(waiting) > 0 {
		first := waiting[0]
		for _, pod := range waiting[1:] {
			if terminationBound(pod, margin).Before(terminationBound(first, margin)) {
				first = pod
			}
		}
		return petAction{kind: actionWait, ordinal: getOrdinal(first), pod: first,
			reason:       "waiting for the pets of older revisions to be gone before creating pets again",
			requeueAfter: terminationBound(first, margin).Sub(now)}, true
	}
	return petAction{}, false
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

// computeStatus returns the status of set given its pets at now, keeping
// the revisions and collision count the status has.
func computeStatus(set *appsv1alpha1.PetSet, pets []*v1.Pod, now time.Time) appsv1alpha1.PetSetStatus {
	return computeRevisionStatus(set, pets, set.Status.CurrentRevision, set.Status.UpdateRevision, set.Status.CollisionCount, now)
}

// computeRevisionStatus returns the status of set given its pets at now and
// its revisions: the pets (not terminating) at each revision are counted,
// and once every pet runs the update revision it is the current revision
// too. The Available condition follows the available pets.
func computeRevisionStatus(set *appsv1alpha1.PetSet, pets []*v1.Pod, currentRevision, updateRevision string, collisionCount *int32, now time.Time) appsv1alpha1.PetSetStatus {
	generation := set.Generation
	status := appsv1alpha1.PetSetStatus{
		ObservedGeneration: &generation,
		CurrentRevision:    currentRevision,
		UpdateRevision:     updateRevision,
	}
	if collisionCount != nil {
		status.CollisionCount = new(*collisionCount)
	}
	for _, pod := range pets {
		status.Replicas++
		if isRunningAndReady(pod) {
			status.ReadyReplicas++
			if isAvailable(pod, set.Spec.MinReadySeconds, now) {
				status.AvailableReplicas++
			}
		}
		if isTerminating(pod) {
			continue
		}
		if revision := revisionOf(pod); revision != "" {
			if revision == currentRevision {
				status.CurrentReplicas++
			}
			if revision == updateRevision {
				status.UpdatedReplicas++
			}
		}
	}
	if updateRevision != "" && set.DeletionTimestamp == nil && int(status.UpdatedReplicas) == replicasOf(set) &&
		status.Replicas == status.UpdatedReplicas {
		status.CurrentRevision = updateRevision
		status.CurrentReplicas = status.UpdatedReplicas
	}
	status.Conditions = slices.Clone(set.Status.Conditions)
	meta.SetStatusCondition(&status.Conditions, availableCondition(set, status.AvailableReplicas, now))
	return status
}

// The reasons of the Available condition.
const (
	reasonMinimumPetsAvailable   = "MinimumPetsAvailable"
	reasonMinimumPetsUnavailable = "MinimumPetsUnavailable"
)

// minAvailable returns how many pets must be available for the PetSet to
// be Available: spec.replicas minus rollingUpdate.maxUnavailable under
// RollingUpdate (spec.replicas otherwise), and at least one when
// spec.replicas > 0.
func minAvailable(set *appsv1alpha1.PetSet) int {
	replicas := replicasOf(set)
	if replicas <= 0 {
		return 0
	}
	want := replicas
	if ru := set.Spec.UpdateStrategy.RollingUpdate; set.Spec.UpdateStrategy.Type == appsv1alpha1.RollingUpdatePetSetStrategyType {
		maxUnavailable := 1
		if ru != nil && ru.MaxUnavailable != nil {
			maxUnavailable = resolveMaxUnavailable(ru.MaxUnavailable, replicas)
		}
		want -= maxUnavailable
	}
	return max(1, want)
}

// availableCondition returns the Available condition of set with the given
// number of available pets; its transition time is now (kept by
// meta.SetStatusCondition when the status does not change).
func availableCondition(set *appsv1alpha1.PetSet, available int32, now time.Time) metav1.Condition {
	needed := minAvailable(set)
	c := metav1.Condition{
		Type:               appsv1alpha1.PetSetAvailable,
		Status:             metav1.ConditionTrue,
		ObservedGeneration: set.Generation,
		LastTransitionTime: metav1.NewTime(now),
		Reason:             reasonMinimumPetsAvailable,
		Message:            fmt.Sprintf("%d of %d pets available, %d needed", available, replicasOf(set), needed),
	}
	if int(available) < needed {
		c.Status = metav1.ConditionFalse
		c.Reason = reasonMinimumPetsUnavailable
	}
	return c
}

// defaultPetSetControl implements petSetControlInterface.
type defaultPetSetControl struct {
	petControl    petControlInterface
	revisions     revisionControlInterface
	statusUpdater statusUpdaterInterface
	finalizers    finalizerControlInterface
	expectations  *petExpectations
	recorder      record.EventRecorder
	clock         clock.PassiveClock
	// terminatingMargin is how long past its grace period a terminating
	// pet keeps blocking the deletion of the next one.
	terminatingMargin time.Duration
}

func newDefaultPetSetControl(petControl petControlInterface, revisions revisionControlInterface, statusUpdater statusUpdaterInterface,
	finalizers finalizerControlInterface, expectations *petExpectations, recorder record.EventRecorder,
	clock clock.PassiveClock, terminatingMargin time.Duration) *defaultPetSetControl {
	return &defaultPetSetControl{
		petControl:        petControl,
		revisions:         revisions,
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

	var revisions *revisionState
	if set.DeletionTimestamp == nil {
		var err error
		if revisions, err = c.syncRevisions(ctx, set); err != nil {
			var counted int32
			if set.Status.CollisionCount != nil {
				counted = *set.Status.CollisionCount
			}
			if revisions != nil && revisions.collisionCount > counted {
				// Keep the collisions counted so far: the next sync
				// tries the next name.
				status := set.Status.DeepCopy()
				status.CollisionCount = new(revisions.collisionCount)
				err = errors.Join(err, c.statusUpdater.UpdatePetSetStatus(ctx, set, status))
			}
			return 0, err
		}
	}

	set, requeueAfter, released, err := c.act(ctx, set, pods, pets, revisions)
	if released {
		// The PetSet no longer holds our finalizer and is going away.
		return 0, err
	}
	if revisions != nil {
		err = errors.Join(err, c.truncateHistory(ctx, set, revisions, pets))
	}
	// Sync again when a Ready pet becomes available: the status counts
	// it then, and the next pet may be created, without any event.
	requeueAfter = earliest(requeueAfter, nextAvailability(set, pets, c.clock.Now()))
	statusRequeue, statusErr := c.updateStatus(ctx, set, pets, revisions, err)
	if statusRequeue > 0 && (requeueAfter == 0 || statusRequeue < requeueAfter) {
		requeueAfter = statusRequeue
	}
	return requeueAfter, errors.Join(err, statusErr)
}

// nextAvailability returns how long until the next of the pets that are
// Ready but not available yet becomes available; 0 when there is none.
func nextAvailability(set *appsv1alpha1.PetSet, pets []*v1.Pod, now time.Time) time.Duration {
	var next time.Duration
	for _, pod := range pets {
		if wait, ok := availableIn(pod, set.Spec.MinReadySeconds, now); ok && wait > 0 {
			next = earliest(next, wait)
		}
	}
	return next
}

// earliest returns the shorter of two requeue delays, where 0 means none.
func earliest(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// act takes at most one pet action, after repairing the pets' drift. It
// returns the PetSet as last written (it changes when the finalizer is
// added), when to sync again without an event, and true once PetSetFinalizer
// has been removed from a PetSet being deleted.
func (c *defaultPetSetControl) act(ctx context.Context, set *appsv1alpha1.PetSet, pods, pets []*v1.Pod, revisions *revisionState) (*appsv1alpha1.PetSet, time.Duration, bool, error) {
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

	pets, relabel := withUpdateRevision(pets, revisions)
	r := rolloutOf(set, revisions.current.Name, revisions.update.Name)
	decide := nextRolloutAction
	if isParallel(set) {
		decide = nextParallelAction
	}
	action := decide(r, pets, c.clock.Now(), c.terminatingMargin)
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

	repairErr := errors.Join(c.repair(ctx, set, pets, revisions), c.relabel(ctx, set, relabel, revisions), c.expandClaims(ctx, set, pets))
	if err := c.syncClaimOwners(ctx, set, pets); err != nil {
		// A condemned pet is not deleted before its claims have the
		// owners that make the garbage collector delete them after it.
		return set, 0, false, errors.Join(repairErr, err)
	}
	action = c.withoutStaleClaims(ctx, set, action)

	logger.V(4).Info("Next pet action", "petSet", klog.KObj(set), "action", action.kind,
		"ordinal", action.ordinal, "reason", action.reason)
	var err error
	switch action.kind {
	case actionCreate:
		template := revisions.updateTemplate
		if action.revision == revisions.current.Name {
			template = revisions.currentTemplate
		}
		err = c.petControl.CreatePet(ctx, set, newPetFromTemplate(set, template, action.ordinal, action.revision))
	case actionDelete:
		c.reportSkipped(ctx, set, action)
		if !action.update {
			err = c.removePet(ctx, set, action.pod)
			break
		}
		var errs []error
		for _, pod := range action.batch {
			logger.V(2).Info("Replacing pet", "petSet", klog.KObj(set), "pod", klog.KObj(pod),
				"revision", revisionOf(pod), "updateRevision", revisions.update.Name, "reason", action.reason)
			if err := c.removePet(ctx, set, pod); err != nil {
				errs = append(errs, err)
				if errors.Is(err, errEvictionBlocked) {
					// Lower ordinals wait until the budget lets the
					// higher one go.
					break
				}
				continue
			}
			c.recorder.Eventf(set, v1.EventTypeNormal, reasonUpdatingPet,
				"Replacing Pod %s (revision %q) with revision %s: %s", pod.Name, revisionOf(pod), revisions.update.Name, action.reason)
		}
		err = errors.Join(errs...)
	case actionBatch:
		c.reportSkipped(ctx, set, action)
		ops := make([]func() error, 0, len(action.creates)+len(action.batch))
		for _, create := range action.creates {
			template := revisions.updateTemplate
			if create.revision == revisions.current.Name {
				template = revisions.currentTemplate
			}
			pod := newPetFromTemplate(set, template, create.ordinal, create.revision)
			ops = append(ops, func() error { return c.petControl.CreatePet(ctx, set, pod) })
		}
		ops = append(ops, c.deleteOps(action.batch, func(pod *v1.Pod) error { return c.removePet(ctx, set, pod) })...)
		var ran int
		ran, err = slowStartBatch(ops)
		logger.V(2).Info("Parallel pet writes", "petSet", klog.KObj(set), "creates", len(action.creates),
			"deletes", len(action.batch), "ran", ran, "err", err)
	}
	return set, action.requeueAfter, false, errors.Join(repairErr, err)
}

// removePet removes a pet of a live PetSet (a scale down, an update):
// through the Eviction API under podRemovalPolicy Evict, so that
// PodDisruptionBudgets hold, else by deletion. A pet in phase Failed or
// Succeeded is deleted under either policy: it is no longer running, and
// evicting it would only wait on a budget it does not count in.
func (c *defaultPetSetControl) removePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	if set.Spec.PodRemovalPolicy == appsv1alpha1.EvictPodRemovalPolicy && !isTerminated(pod) {
		return c.petControl.EvictPet(ctx, set, pod)
	}
	return c.petControl.DeletePet(ctx, set, pod)
}

// relabel gives pets the update revision's label in place (see
// withUpdateRevision).
func (c *defaultPetSetControl) relabel(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod, revisions *revisionState) error {
	var errs []error
	for _, pod := range pets {
		if err := c.petControl.LabelRevision(ctx, set, pod, revisions.update.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// repair brings existing pets back to what the PetSet says they are: a pet
// whose identity labels were removed or changed gets them back, and a
// Pending pet whose claim was deleted gets the claim created again (it cannot
// start without it). Terminating pets are left alone.
func (c *defaultPetSetControl) repair(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod, revisions *revisionState) error {
	var errs []error
	for _, pod := range pets {
		if isTerminating(pod) {
			continue
		}
		if revisionOf(pod) == "" {
			// A pet created before revisions existed: label it with
			// the revision it runs, if any; otherwise it counts as an
			// older revision.
			revision := ""
			switch {
			case podRunsTemplate(set, revisions.currentTemplate, pod):
				revision = revisions.current.Name
			case podRunsTemplate(set, revisions.updateTemplate, pod):
				revision = revisions.update.Name
			}
			if revision != "" {
				if err := c.petControl.LabelRevision(ctx, set, pod, revision); err != nil {
					errs = append(errs, err)
				}
			}
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

// deleteOps returns one operation per pod, deleting it, for slowStartBatch.
func (c *defaultPetSetControl) deleteOps(pods []*v1.Pod, remove func(*v1.Pod) error) []func() error {
	ops := make([]func() error, 0, len(pods))
	for _, pod := range pods {
		ops = append(ops, func() error { return remove(pod) })
	}
	return ops
}

// syncClaimOwners gives the claims of every pet that is not terminating
// the owners set's claim retention policy asks for (UpdateClaimOwners).
func (c *defaultPetSetControl) syncClaimOwners(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod) error {
	if len(set.Spec.VolumeClaimTemplates) == 0 {
		return nil
	}
	var errs []error
	for _, pod := range pets {
		if isTerminating(pod) || !isControlledBy(pod, set) {
			continue
		}
		if err := c.petControl.UpdateClaimOwners(ctx, set, pod); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// staleClaimRetry is when a PetSet whose next pet waits for a stale claim
// to be deleted is synced again, should no claim event come.
const staleClaimRetry = 5 * time.Second

// withoutStaleClaims drops from action the creations of pets whose claims
// are still owned by an earlier pod of their name (PetClaimsAreStale): they
// wait until the garbage collector has deleted those claims. As in apps/v1,
// only whenScaled: Delete gives claims pod owners, so only then is a claim
// checked.
func (c *defaultPetSetControl) withoutStaleClaims(ctx context.Context, set *appsv1alpha1.PetSet, action petAction) petAction {
	if retentionPolicyOf(set).WhenScaled != appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType {
		return action
	}
	stale := func(ordinal int) bool {
		isStale, err := c.petControl.PetClaimsAreStale(set, ordinal)
		if err != nil || isStale {
			klog.FromContext(ctx).V(2).Info("Pet waits for its stale claims to be deleted", "petSet", klog.KObj(set),
				"pet", getPetName(set, ordinal), "err", err)
			return true
		}
		return false
	}
	switch action.kind {
	case actionCreate:
		if stale(action.ordinal) {
			return petAction{kind: actionWait, ordinal: action.ordinal, requeueAfter: staleClaimRetry,
				reason: "a claim of the pet is still owned by an earlier pod of its name"}
		}
	case actionBatch:
		creates := action.creates[:0:0]
		for _, create := range action.creates {
			if stale(create.ordinal) {
				action.requeueAfter = staleClaimRetry
				continue
			}
			creates = append(creates, create)
		}
		action.creates = creates
	}
	return action
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
// the highest ordinal (under Parallel pet management all at once, in
// slow-start batches), whatever the pets' health, then removes
// PetSetFinalizer.
func (c *defaultPetSetControl) cascade(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod) (time.Duration, bool, error) {
	logger := klog.FromContext(ctx)
	var action petAction
	if isParallel(set) {
		action = nextParallelTeardownAction(pets, c.clock.Now(), c.terminatingMargin)
	} else {
		action = nextTeardownAction(pets, c.clock.Now(), c.terminatingMargin)
	}
	logger.V(4).Info("Next pet action for deleted PetSet", "petSet", klog.KObj(set), "action", action.kind,
		"ordinal", action.ordinal, "reason", action.reason)
	switch action.kind {
	case actionDelete:
		c.reportSkipped(ctx, set, action)
		return 0, false, c.petControl.DeletePet(ctx, set, action.pod)
	case actionBatch:
		_, err := slowStartBatch(c.deleteOps(action.batch, func(pod *v1.Pod) error { return c.petControl.DeletePet(ctx, set, pod) }))
		return 0, false, err
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
func (c *defaultPetSetControl) updateStatus(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod, revisions *revisionState, syncErr error) (time.Duration, error) {
	now := c.clock.Now()
	var status appsv1alpha1.PetSetStatus
	if revisions != nil {
		status = computeRevisionStatus(set, pets, revisions.current.Name, revisions.update.Name, &revisions.collisionCount, now)
	} else {
		status = computeStatus(set, pets, now)
	}
	claims, err := c.claimTemplateStatus(set, pets)
	if err != nil {
		return 0, err
	}
	status.VolumeClaimTemplates = claims
	var requeueAfter time.Duration
	if set.DeletionTimestamp == nil {
		var condition metav1.Condition
		condition, requeueAfter = progressing(set, &set.Status, &status, pets, now)
		setProgressing(&status.Conditions, condition)
		blockingConditions(set, &set.Status, &status, syncErr, now)
	}
	if apiequality.Semantic.DeepEqual(set.Status, status) {
		return requeueAfter, nil
	}
	if err := c.statusUpdater.UpdatePetSetStatus(ctx, set, &status); err != nil {
		return requeueAfter, err
	}
	klog.FromContext(ctx).V(4).Info("Updated PetSet status", "petSet", klog.KObj(set),
		"replicas", status.Replicas, "readyReplicas", status.ReadyReplicas, "observedGeneration", set.Generation)
	return requeueAfter, nil
}

var _ petSetControlInterface = &defaultPetSetControl{}
