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
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestProgressingCondition(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	gen := ptrTo(int64(1))
	// status of 3 pets: updated of them at revision "new", available
	// available; the current revision "old".
	status := func(pets, updated, available int32) appsv1alpha1.PetSetStatus {
		return appsv1alpha1.PetSetStatus{ObservedGeneration: gen, Replicas: pets, ReadyReplicas: available, AvailableReplicas: available,
			UpdatedReplicas: updated, CurrentReplicas: pets - updated, CurrentRevision: "old", UpdateRevision: "new"}
	}
	// settled is s once the rollout is done: the current revision is the
	// update revision.
	settled := func(s appsv1alpha1.PetSetStatus) appsv1alpha1.PetSetStatus {
		s.CurrentRevision = s.UpdateRevision
		return s
	}
	withCondition := func(s appsv1alpha1.PetSetStatus, st metav1.ConditionStatus, reason string, since metav1.Time) appsv1alpha1.PetSetStatus {
		s.Conditions = []metav1.Condition{{Type: appsv1alpha1.PetSetProgressing, Status: st, Reason: reason, LastTransitionTime: since}}
		return s
	}
	rolling := func(partition int32, deadline *int32) *appsv1alpha1.PetSet {
		set := rollingPetSet(3, int(partition), intstr.FromInt32(1))
		set.Spec.ProgressDeadlineSeconds = deadline
		return set
	}
	onDelete := newPetSet(3)
	recreate := newPetSet(3)
	recreate.Spec.UpdateStrategy.Type = appsv1alpha1.RecreatePetSetStrategyType
	minute := ptrTo(int32(60))
	paused := newPet(onDelete, 1)
	paused.Annotations = map[string]string{appsv1alpha1.PetSetInitAnnotation: "false"}

	tests := []struct {
		name        string
		set         *appsv1alpha1.PetSet
		old, status appsv1alpha1.PetSetStatus
		pets        []*v1.Pod
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantSince   metav1.Time
		wantRequeue time.Duration
	}{
		{name: "settled: complete", set: rolling(0, minute), old: status(3, 3, 3), status: status(3, 3, 3),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutComplete, wantSince: ago(0)},
		{name: "complete keeps its transition time", set: rolling(0, minute),
			old: withCondition(status(3, 3, 3), metav1.ConditionTrue, reasonRolloutComplete, ago(time.Hour)), status: status(3, 3, 3),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutComplete, wantSince: ago(time.Hour)},
		{name: "a rollout starts: in progress since now, requeued at the deadline", set: rolling(0, minute),
			old: withCondition(status(3, 3, 3), metav1.ConditionTrue, reasonRolloutComplete, ago(time.Hour)), status: status(3, 0, 3),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutInProgress, wantSince: ago(0), wantRequeue: 61 * time.Second},
		{name: "no progress for 30s of 60", set: rolling(0, minute),
			old: withCondition(status(3, 1, 2), metav1.ConditionTrue, reasonRolloutInProgress, ago(30*time.Second)), status: status(3, 1, 2),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutInProgress, wantSince: ago(30 * time.Second), wantRequeue: 31 * time.Second},
		{name: "no progress for 61s of 60: exceeded", set: rolling(0, minute),
			old: withCondition(status(3, 1, 2), metav1.ConditionTrue, reasonRolloutInProgress, ago(61*time.Second)), status: status(3, 1, 2),
			wantStatus: metav1.ConditionFalse, wantReason: reasonProgressDeadlineExceeded, wantSince: ago(0)},
		{name: "a pet updated: progress, since now", set: rolling(0, minute),
			old: withCondition(status(3, 1, 2), metav1.ConditionTrue, reasonRolloutInProgress, ago(61*time.Second)), status: status(3, 2, 2),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutInProgress, wantSince: ago(0), wantRequeue: 61 * time.Second},
		{name: "exceeded stays exceeded without progress", set: rolling(0, minute),
			old: withCondition(status(3, 1, 2), metav1.ConditionFalse, reasonProgressDeadlineExceeded, ago(time.Hour)), status: status(3, 1, 2),
			wantStatus: metav1.ConditionFalse, wantReason: reasonProgressDeadlineExceeded, wantSince: ago(time.Hour)},
		{name: "exceeded, then a pet becomes available: in progress again", set: rolling(0, minute),
			old: withCondition(status(3, 1, 2), metav1.ConditionFalse, reasonProgressDeadlineExceeded, ago(time.Hour)), status: status(3, 1, 3),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutInProgress, wantSince: ago(0), wantRequeue: 61 * time.Second},
		{name: "no deadline: never exceeded", set: rolling(0, nil),
			old: withCondition(status(3, 1, 2), metav1.ConditionTrue, reasonRolloutInProgress, ago(time.Hour)), status: status(3, 1, 2),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutInProgress, wantSince: ago(time.Hour)},
		{name: "partition 2 reached: partitioned rollout complete", set: rolling(2, minute), old: status(3, 1, 3), status: status(3, 1, 3),
			wantStatus: metav1.ConditionTrue, wantReason: reasonPartitionedRolloutComplete, wantSince: ago(0)},
		{name: "OnDelete pets of the old revision: waiting by design, never exceeded", set: onDelete,
			old: withCondition(status(3, 0, 3), metav1.ConditionTrue, reasonWaitingForPetDeletion, ago(time.Hour)), status: status(3, 0, 3),
			wantStatus: metav1.ConditionTrue, wantReason: reasonWaitingForPetDeletion, wantSince: ago(time.Hour)},
		{name: "a paused pet: waiting by design", set: rolling(0, minute),
			old: withCondition(status(3, 1, 2), metav1.ConditionTrue, reasonRolloutInProgress, ago(time.Hour)), status: status(3, 1, 2),
			pets: []*v1.Pod{paused}, wantStatus: metav1.ConditionTrue, wantReason: reasonPetPaused, wantSince: ago(0)},
		{name: "scaling up", set: rolling(0, minute), old: settled(status(2, 2, 2)), status: settled(status(2, 2, 2)),
			wantStatus: metav1.ConditionTrue, wantReason: reasonScalingInProgress, wantSince: ago(0), wantRequeue: 61 * time.Second},
		{name: "Recreate in progress", set: recreate, old: status(3, 0, 3), status: status(0, 0, 0),
			wantStatus: metav1.ConditionTrue, wantReason: reasonRolloutInProgress, wantSince: ago(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, requeue := progressing(tc.set, &tc.old, &tc.status, tc.pets, now)
			if c.Type != appsv1alpha1.PetSetProgressing || c.Status != tc.wantStatus || c.Reason != tc.wantReason || !c.LastTransitionTime.Equal(&tc.wantSince) {
				t.Errorf("condition %s=%s %s since %s (%s), want %s %s since %s", c.Type, c.Status, c.Reason, c.LastTransitionTime, c.Message,
					tc.wantStatus, tc.wantReason, tc.wantSince)
			}
			if requeue != tc.wantRequeue {
				t.Errorf("requeue after %s, want %s", requeue, tc.wantRequeue)
			}
		})
	}
}
