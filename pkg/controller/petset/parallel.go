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
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
)

// maxBatchSize caps the slow-start batches of Parallel pet management, as
// apps/v1 caps them.
const maxBatchSize = 500

// isParallel reports whether set manages its pets in parallel.
func isParallel(set *appsv1alpha1.PetSet) bool {
	return set.Spec.PodManagementPolicy == appsv1alpha1.ParallelPodManagement
}

// nextParallelAction is nextRolloutAction under the Parallel pod management
// policy: no pet waits for another's health or termination.
//
//   - A paused pet (pod.alpha.kubernetes.io/initialized=false) pauses the
//     PetSet, as under OrderedReady.
//   - Recreate deletes the pets of older revisions first, as under
//     OrderedReady.
//   - Every missing pet in range is created, every Failed or Succeeded pet
//     in range deleted (to be created again), and every condemned pet that
//     is not terminating yet deleted, all in one actionBatch (the creations
//     first, then the deletions from the highest ordinal down).
//   - Under RollingUpdate, a pet in range that is not Running and Ready,
//     at or above the partition and at another revision than the update
//     revision is deleted in that batch too, to be created again at the
//     update revision, as apps/v1 does under Parallel.
//   - Once every pet in range exists and is healthy and no condemned pet is
//     left, a rolling update proceeds as under OrderedReady.
func nextParallelAction(r rollout, pets []*v1.Pod, now time.Time, margin time.Duration) petAction {
	for _, pod := range pets {
		if getOrdinal(pod) >= 0 && isPaused(pod) && !isTerminating(pod) {
			return petAction{kind: actionWait, ordinal: getOrdinal(pod), pod: pod,
				reason: fmt.Sprintf("pet is paused by %s=false", appsv1alpha1.PetSetInitAnnotation)}
		}
	}
	if r.strategy == appsv1alpha1.RecreatePetSetStrategyType && r.updateRevision != "" {
		if action, ok := recreateAction(r, pets, now, margin); ok {
			return action
		}
	}
	byOrdinal := make(map[int]*v1.Pod, len(pets))
	var deletes []*v1.Pod
	settled := true
	for _, pod := range pets {
		ordinal := getOrdinal(pod)
		if ordinal < 0 {
			continue
		}
		byOrdinal[ordinal] = pod
		switch {
		case !r.inRange(ordinal) && !isTerminating(pod):
			deletes = append(deletes, pod)
			settled = false
		case !r.inRange(ordinal) && !isStuckTerminating(pod, now, margin):
			settled = false
		}
	}
	action := petAction{kind: actionBatch, reason: "parallel pet management"}
	for ordinal := r.start; ordinal < r.end(); ordinal++ {
		pod, ok := byOrdinal[ordinal]
		switch {
		case !ok:
			action.creates = append(action.creates, petCreate{ordinal: ordinal, revision: r.revisionFor(ordinal)})
			settled = false
		case isTerminated(pod) && !isTerminating(pod):
			deletes = append(deletes, pod)
			settled = false
		case !isTerminating(pod) && !isRunningAndReady(pod) && r.replacesOld(ordinal, pod):
			// Unavailable and due for replacement by a rolling update:
			// replaced at once, outside the maxUnavailable budget, as
			// apps/v1 does under Parallel (whatever unhealthyPodPolicy).
			deletes = append(deletes, pod)
			settled = false
		case !isHealthy(pod):
			settled = false
		}
	}
	sortByOrdinal(deletes)
	slices.Reverse(deletes)
	action.batch = deletes
	if len(action.creates) > 0 || len(action.batch) > 0 {
		return action
	}
	if !settled || r.strategy != appsv1alpha1.RollingUpdatePetSetStrategyType || r.updateRevision == "" {
		return petAction{kind: actionNone}
	}
	return rollingUpdateAction(r, byOrdinal)
}

// nextParallelTeardownAction is nextTeardownAction under the Parallel pod
// management policy: every pet is deleted at once, in no order; actionNone
// once no pet is left but those stuck terminating beyond their bound.
func nextParallelTeardownAction(pets []*v1.Pod, now time.Time, margin time.Duration) petAction {
	var deletes, skipped []*v1.Pod
	var waiting *v1.Pod
	for _, pod := range pets {
		switch {
		case !isTerminating(pod):
			deletes = append(deletes, pod)
		case isStuckTerminating(pod, now, margin):
			skipped = append(skipped, pod)
		case waiting == nil || terminationBound(pod, margin).Before(terminationBound(waiting, margin)):
			waiting = pod
		}
	}
	switch {
	case len(deletes) > 0:
		sortByOrdinal(deletes)
		slices.Reverse(deletes)
		return petAction{kind: actionBatch, batch: deletes, reason: "teardown"}
	case waiting != nil:
		return petAction{kind: actionWait, ordinal: getOrdinal(waiting), pod: waiting,
			reason:       "waiting for the pets to be gone before releasing the PetSet",
			requeueAfter: terminationBound(waiting, margin).Sub(now)}
	}
	return petAction{kind: actionNone, skipped: skipped}
}

// slowStartBatch runs ops in batches of 1, 2, 4, ... (at most
// maxBatchSize) operations, the operations of a batch concurrently, as
// apps/v1 does for Parallel StatefulSets: a batch always runs whole, and no
// batch starts after one in which an operation failed. It returns how many
// operations ran and their errors, joined.
func slowStartBatch(ops []func() error) (int, error) {
	ran := 0
	for size := min(1, len(ops)); size > 0; size = min(2*size, maxBatchSize, len(ops)-ran) {
		batch := ops[ran : ran+size]
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, op := range batch {
			wg.Go(func() { errs[i] = op() })
		}
		wg.Wait()
		ran += size
		if err := errors.Join(errs...); err != nil {
			return ran, err
		}
	}
	return ran, nil
}
