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

// The conditions that report what blocks a PetSet: a PodDisruptionBudget
// refusing evictions (podRemovalPolicy Evict) and claim expansion
// (volumeClaimUpdatePolicy InPlace).

import (
	"errors"
	"fmt"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The reasons of the PodRemovalBlocked and ClaimsExpanded conditions.
const (
	reasonDisruptionBudget      = "DisruptionBudget"
	reasonNotBlocked            = "NotBlocked"
	reasonAllClaimsAtSize       = "AllClaimsAtSize"
	reasonClaimExpansionPending = "ExpansionInProgress"
	reasonClaimExpansionFailure = "ExpansionFailed"
)

// blockingConditions sets, in status, the conditions that say what blocks
// set, given the error of the sync's actions (syncErr) and the previous
// status old, at now:
//
//   - PodRemovalBlocked, under podRemovalPolicy Evict: True (reason
//     DisruptionBudget, the budget's words as message) when an eviction was
//     refused; False once the PetSet made progress or has nothing left to
//     do; otherwise as it was.
//   - ClaimsExpanded, under volumeClaimUpdatePolicy InPlace with claim
//     templates: True when every claim has reached its template's size;
//     False with ExpansionFailed when an expansion was refused or failed,
//     else with ExpansionInProgress.
//
// Either condition is removed when its policy is not in force.
func blockingConditions(set *appsv1alpha1.PetSet, old, status *appsv1alpha1.PetSetStatus, syncErr error, now time.Time) {
	condition := func(conditionType string, s metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: conditionType, Status: s, Reason: reason, Message: message,
			ObservedGeneration: set.Generation, LastTransitionTime: metav1.NewTime(now)}
	}

	if set.Spec.PodRemovalPolicy != appsv1alpha1.EvictPodRemovalPolicy {
		meta.RemoveStatusCondition(&status.Conditions, appsv1alpha1.PetSetPodRemovalBlocked)
	} else {
		var blocked *evictionBlockedError
		progress := meta.FindStatusCondition(status.Conditions, appsv1alpha1.PetSetProgressing)
		switch {
		case errors.As(syncErr, &blocked):
			meta.SetStatusCondition(&status.Conditions, condition(appsv1alpha1.PetSetPodRemovalBlocked, metav1.ConditionTrue, reasonDisruptionBudget,
				fmt.Sprintf("the eviction of pod %s was refused: %s", blocked.pod, blocked.budget)))
		case madeProgress(set, old, status) || progress == nil || !inProgress(progress) ||
			meta.FindStatusCondition(status.Conditions, appsv1alpha1.PetSetPodRemovalBlocked) == nil:
			meta.SetStatusCondition(&status.Conditions, condition(appsv1alpha1.PetSetPodRemovalBlocked, metav1.ConditionFalse, reasonNotBlocked,
				"no PodDisruptionBudget refused the last eviction"))
		}
	}

	if set.Spec.VolumeClaimUpdatePolicy != appsv1alpha1.InPlaceVolumeClaimUpdatePolicy || len(status.VolumeClaimTemplates) == 0 {
		meta.RemoveStatusCondition(&status.Conditions, appsv1alpha1.PetSetClaimsExpanded)
		return
	}
	var failed *claimExpansionError
	pending := 0
	for _, t := range status.VolumeClaimTemplates {
		pending += int(t.Claims - t.ClaimsAtSize)
	}
	switch {
	case errors.As(syncErr, &failed):
		meta.SetStatusCondition(&status.Conditions, condition(appsv1alpha1.PetSetClaimsExpanded, metav1.ConditionFalse, reasonClaimExpansionFailure,
			fmt.Sprintf("claim %s: %v", failed.claim, failed.err)))
	case pending > 0:
		meta.SetStatusCondition(&status.Conditions, condition(appsv1alpha1.PetSetClaimsExpanded, metav1.ConditionFalse, reasonClaimExpansionPending,
			fmt.Sprintf("%d claims below their template's size", pending)))
	default:
		meta.SetStatusCondition(&status.Conditions, condition(appsv1alpha1.PetSetClaimsExpanded, metav1.ConditionTrue, reasonAllClaimsAtSize,
			"every claim has its template's size"))
	}
}
