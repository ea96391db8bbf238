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

// The Progressing condition and spec.progressDeadlineSeconds, as Deployments
// have them.

import (
	"fmt"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The reasons of the Progressing condition.
const (
	reasonRolloutInProgress          = "RolloutInProgress"
	reasonScalingInProgress          = "ScalingInProgress"
	reasonRolloutComplete            = "RolloutComplete"
	reasonPartitionedRolloutComplete = "PartitionedRolloutComplete"
	reasonWaitingForPetDeletion      = "WaitingForPetDeletion"
	reasonPetPaused                  = "PetPaused"
	reasonProgressDeadlineExceeded   = "ProgressDeadlineExceeded"
)

// progressing returns the Progressing condition of set given its previous
// status old and the status just computed, and when to sync again for the
// deadline (0: no need).
//
//   - A pet paused by the initialized annotation: True, PetPaused.
//   - Pets to replace (RollingUpdate above the partition, Recreate) and not
//     all updated: True, RolloutInProgress. Pets to add, remove or wait for
//     (fewer available than spec.replicas, or more pets): True,
//     ScalingInProgress. Both are work in progress: the condition's
//     lastTransitionTime is the last time it made progress (a pet became
//     available, ready or updated, the pets got closer to spec.replicas, or
//     a new generation was observed), and once that is more than
//     progressDeadlineSeconds ago the condition is False,
//     ProgressDeadlineExceeded, until progress resumes.
//   - OnDelete pets of older revisions, nothing else to do: True,
//     WaitingForPetDeletion.
//   - Done: True, RolloutComplete, or PartitionedRolloutComplete when pets
//     below the partition keep the current revision.
//
// A PetSet that waits by design never exceeds the deadline.
func progressing(set *appsv1alpha1.PetSet, old, status *appsv1alpha1.PetSetStatus, pets []*v1.Pod, now time.Time) (metav1.Condition, time.Duration) {
	c := metav1.Condition{
		Type:               appsv1alpha1.PetSetProgressing,
		Status:             metav1.ConditionTrue,
		ObservedGeneration: set.Generation,
		LastTransitionTime: metav1.NewTime(now),
	}
	replicas := int32(replicasOf(set))
	for _, pod := range pets {
		if isPaused(pod) && !isTerminating(pod) {
			c.Reason = reasonPetPaused
			c.Message = fmt.Sprintf("pet %s is paused by %s=false", pod.Name, appsv1alpha1.PetSetInitAnnotation)
			return keepTransition(old, c), 0
		}
	}

	strategy := set.Spec.UpdateStrategy
	toUpdate := int32(0)
	if status.UpdateRevision != "" {
		switch strategy.Type {
		case appsv1alpha1.RollingUpdatePetSetStrategyType:
			partition := int32(0)
			if ru := strategy.RollingUpdate; ru != nil && ru.Partition != nil {
				partition = min(*ru.Partition, replicas)
			}
			toUpdate = max(0, replicas-partition-status.UpdatedReplicas)
		case appsv1alpha1.RecreatePetSetStrategyType:
			toUpdate = max(0, replicas-status.UpdatedReplicas)
		}
	}
	scaling := status.Replicas != replicas || status.AvailableReplicas < replicas
	switch {
	case toUpdate > 0 && status.CurrentRevision != status.UpdateRevision:
		c.Reason = reasonRolloutInProgress
		c.Message = fmt.Sprintf("%d of %d pets updated to revision %s, %d available", status.UpdatedReplicas, replicas, status.UpdateRevision, status.AvailableReplicas)
	case scaling:
		c.Reason = reasonScalingInProgress
		c.Message = fmt.Sprintf("%d pets, %d available, of %d", status.Replicas, status.AvailableReplicas, replicas)
	case strategy.Type != appsv1alpha1.RollingUpdatePetSetStrategyType && strategy.Type != appsv1alpha1.RecreatePetSetStrategyType &&
		status.UpdateRevision != "" && status.UpdatedReplicas < replicas:
		c.Reason = reasonWaitingForPetDeletion
		c.Message = fmt.Sprintf("%d pets run an older revision than %s; under OnDelete a pet changes when it is deleted", replicas-status.UpdatedReplicas, status.UpdateRevision)
		return keepTransition(old, c), 0
	case status.UpdateRevision != "" && status.UpdatedReplicas < replicas:
		c.Reason = reasonPartitionedRolloutComplete
		c.Message = fmt.Sprintf("%d of %d pets updated to revision %s; the pets below the partition keep revision %s", status.UpdatedReplicas, replicas, status.UpdateRevision, status.CurrentRevision)
		return keepTransition(old, c), 0
	default:
		c.Reason = reasonRolloutComplete
		c.Message = fmt.Sprintf("%d pets available", status.AvailableReplicas)
		if status.UpdateRevision != "" {
			c.Message = fmt.Sprintf("%d pets available at revision %s", status.AvailableReplicas, status.UpdateRevision)
		}
		return keepTransition(old, c), 0
	}

	// Work in progress: since when without progress?
	lastProgress := now
	d := set.Spec.ProgressDeadlineSeconds
	if prev := meta.FindStatusCondition(old.Conditions, appsv1alpha1.PetSetProgressing); prev != nil && inProgress(prev) &&
		!madeProgress(set, old, status) {
		switch {
		case prev.Status != metav1.ConditionFalse:
			lastProgress = prev.LastTransitionTime.Time
		case d != nil:
			// Exceeded already: stays so, since it became so.
			c.Status, c.Reason, c.LastTransitionTime = metav1.ConditionFalse, reasonProgressDeadlineExceeded, prev.LastTransitionTime
			c.Message = fmt.Sprintf("no pet became available or updated for more than %ds: %s", *d, c.Message)
			return c, 0
		}
		// Otherwise the deadline was removed: in progress again, from now.
	}
	c.LastTransitionTime = metav1.NewTime(lastProgress)
	if d == nil {
		return c, 0
	}
	deadline := lastProgress.Add(time.Duration(*d) * time.Second)
	if now.After(deadline) {
		c.Status, c.Reason, c.LastTransitionTime = metav1.ConditionFalse, reasonProgressDeadlineExceeded, metav1.NewTime(now)
		c.Message = fmt.Sprintf("no pet became available or updated for more than %ds: %s", *d, c.Message)
		return c, 0
	}
	return c, deadline.Sub(now) + time.Second
}

// inProgress reports whether a Progressing condition tracks work in
// progress (or its deadline exceeded).
func inProgress(c *metav1.Condition) bool {
	switch c.Reason {
	case reasonRolloutInProgress, reasonScalingInProgress, reasonProgressDeadlineExceeded:
		return true
	}
	return false
}

// madeProgress reports whether status shows progress over old: a new
// generation observed, more pets updated, ready or available, or a number of
// pets closer to spec.replicas.
func madeProgress(set *appsv1alpha1.PetSet, old, status *appsv1alpha1.PetSetStatus) bool {
	if old.ObservedGeneration == nil || status.ObservedGeneration == nil || *old.ObservedGeneration != *status.ObservedGeneration {
		return true
	}
	replicas := int32(replicasOf(set))
	distance := func(n int32) int32 { return max(n-replicas, replicas-n) }
	return status.UpdatedReplicas > old.UpdatedReplicas || status.ReadyReplicas > old.ReadyReplicas ||
		status.AvailableReplicas > old.AvailableReplicas || distance(status.Replicas) < distance(old.Replicas) ||
		status.UpdateRevision != old.UpdateRevision
}

// keepTransition gives c the transition time of the previous Progressing
// condition when its status is the same (as meta.SetStatusCondition does).
func keepTransition(old *appsv1alpha1.PetSetStatus, c metav1.Condition) metav1.Condition {
	if prev := meta.FindStatusCondition(old.Conditions, c.Type); prev != nil && prev.Status == c.Status && !inProgress(prev) {
		c.LastTransitionTime = prev.LastTransitionTime
	}
	return c
}

// setProgressing puts c in conditions, replacing any Progressing condition
// with its transition time as given.
func setProgressing(conditions *[]metav1.Condition, c metav1.Condition) {
	meta.RemoveStatusCondition(conditions, c.Type)
	meta.SetStatusCondition(conditions, c)
}
