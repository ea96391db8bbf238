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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestBlockingConditions(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	evict := newPetSet(3)
	evict.Spec.PodRemovalPolicy = appsv1alpha1.EvictPodRemovalPolicy
	inPlace := newPetSet(3)
	inPlace.Spec.VolumeClaimUpdatePolicy = appsv1alpha1.InPlaceVolumeClaimUpdatePolicy
	blocked := fmt.Errorf("sync: %w", &evictionBlockedError{pod: "web-2", budget: "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"})
	refused := errors.Join(errors.New("other"), &claimExpansionError{claim: "www-web-2", err: errors.New("forbidden: only dynamically provisioned pvc can be resized")})
	gen := ptrTo(int64(1))
	inProgressStatus := func(ready int32, conditions ...metav1.Condition) appsv1alpha1.PetSetStatus {
		return appsv1alpha1.PetSetStatus{ObservedGeneration: gen, Replicas: 3, ReadyReplicas: ready, AvailableReplicas: ready,
			Conditions: append([]metav1.Condition{{Type: appsv1alpha1.PetSetProgressing, Status: metav1.ConditionTrue, Reason: reasonRolloutInProgress}}, conditions...)}
	}
	claims := func(atSize int32) []appsv1alpha1.PetSetVolumeClaimTemplateStatus {
		return []appsv1alpha1.PetSetVolumeClaimTemplateStatus{{TemplateName: "www", Claims: 3, ClaimsAtSize: atSize}}
	}
	isBlocked := metav1.Condition{Type: appsv1alpha1.PetSetPodRemovalBlocked, Status: metav1.ConditionTrue, Reason: reasonDisruptionBudget}

	type want struct{ conditionType, status, reason string }
	tests := []struct {
		name        string
		set         *appsv1alpha1.PetSet
		old, status appsv1alpha1.PetSetStatus
		claims      []appsv1alpha1.PetSetVolumeClaimTemplateStatus
		syncErr     error
		want        []want
	}{
		{name: "Delete, OnClaimDelete: no such condition", set: newPetSet(3), old: inProgressStatus(2, isBlocked), status: inProgressStatus(2, isBlocked), syncErr: blocked,
			want: []want{{appsv1alpha1.PetSetProgressing, "True", reasonRolloutInProgress}}},
		{name: "an eviction refused: blocked, naming the budget", set: evict, old: inProgressStatus(2), status: inProgressStatus(2), syncErr: blocked,
			want: []want{{appsv1alpha1.PetSetProgressing, "True", reasonRolloutInProgress}, {appsv1alpha1.PetSetPodRemovalBlocked, "True", reasonDisruptionBudget}}},
		{name: "no refusal this sync, no progress: still blocked", set: evict, old: inProgressStatus(2, isBlocked), status: inProgressStatus(2, isBlocked),
			want: []want{{appsv1alpha1.PetSetProgressing, "True", reasonRolloutInProgress}, {appsv1alpha1.PetSetPodRemovalBlocked, "True", reasonDisruptionBudget}}},
		{name: "progress: no longer blocked", set: evict, old: inProgressStatus(2, isBlocked), status: inProgressStatus(3, isBlocked),
			want: []want{{appsv1alpha1.PetSetProgressing, "True", reasonRolloutInProgress}, {appsv1alpha1.PetSetPodRemovalBlocked, "False", reasonNotBlocked}}},
		{name: "claims below size", set: inPlace, old: inProgressStatus(3), status: inProgressStatus(3), claims: claims(1),
			want: []want{{appsv1alpha1.PetSetProgressing, "True", reasonRolloutInProgress}, {appsv1alpha1.PetSetClaimsExpanded, "False", reasonClaimExpansionPending}}},
		{name: "an expansion refused", set: inPlace, old: inProgressStatus(3), status: inProgressStatus(3), claims: claims(1), syncErr: refused,
			want: []want{{appsv1alpha1.PetSetProgressing, "True", reasonRolloutInProgress}, {appsv1alpha1.PetSetClaimsExpanded, "False", reasonClaimExpansionFailure}}},
		{name: "every claim at size", set: inPlace, old: inProgressStatus(3), status: inProgressStatus(3), claims: claims(3),
			want: []want{{appsv1alpha1.PetSetProgressing, "True", reasonRolloutInProgress}, {appsv1alpha1.PetSetClaimsExpanded, "True", reasonAllClaimsAtSize}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			status.VolumeClaimTemplates = tc.claims
			blockingConditions(tc.set, &tc.old, &status, tc.syncErr, now)
			var got []want
			for _, c := range status.Conditions {
				got = append(got, want{c.Type, string(c.Status), c.Reason})
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if c := meta.FindStatusCondition(status.Conditions, appsv1alpha1.PetSetPodRemovalBlocked); c != nil && c.Status == metav1.ConditionTrue && tc.syncErr != nil &&
				c.Message != "the eviction of pod web-2 was refused: The disruption budget web-pdb needs 2 healthy pods and has 2 currently" {
				t.Errorf("PodRemovalBlocked message %q does not quote the budget", c.Message)
			}
		})
	}
}
