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

// Claim expansion under volumeClaimUpdatePolicy InPlace: a claim template's
// storage request may grow, and the controller then expands the existing
// claims, from the highest ordinal down, one at a time, each after the
// previous one has reached its new capacity.

import (
	"context"
	"fmt"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
)

const (
	// reasonExpandingClaim: a claim's storage request is raised to its
	// template's.
	reasonExpandingClaim = "ExpandingClaim"
	// reasonClaimExpansionFailed: the API server refused the expansion (a
	// StorageClass without allowVolumeExpansion, say) or the resize failed.
	reasonClaimExpansionFailed = "ClaimExpansionFailed"
)

// petClaim is the claim of one pet from one claim template, nil when it
// does not exist (yet).
type petClaim struct {
	ordinal  int
	template *v1.PersistentVolumeClaim
	claim    *v1.PersistentVolumeClaim
}

// claimStepKind is what nextClaimExpansion asks for.
type claimStepKind int

const (
	claimStepNone claimStepKind = iota
	// claimStepExpand raises the claim's request to the template's.
	claimStepExpand
	// claimStepWait waits for the claim to reach its new capacity.
	claimStepWait
	// claimStepFailed: the claim's resize failed; nothing goes on until it
	// is resolved.
	claimStepFailed
)

// claimStep is the next step of claim expansion.
type claimStep struct {
	kind    claimStepKind
	claim   petClaim
	request resource.Quantity
	reason  string
}

// nextClaimExpansion decides the next step of the expansion of claims (the
// pets' claims, each pet's in template order): from the highest ordinal
// down, the first claim whose request is below its template's is expanded,
// unless a claim before it is still resizing (its request reached, its
// capacity not yet) or failed to: then that one is waited for. A claim that
// does not exist is skipped: it is created from the template as it is.
func nextClaimExpansion(claims []petClaim) claimStep {
	for _, pc := range claims {
		if pc.claim == nil || pc.claim.DeletionTimestamp != nil {
			continue
		}
		want := storageRequest(pc.template)
		if want.IsZero() {
			continue
		}
		request := storageRequest(pc.claim)
		if request.Cmp(want) < 0 {
			return claimStep{kind: claimStepExpand, claim: pc, request: want,
				reason: fmt.Sprintf("request %s below the template's %s", request.String(), want.String())}
		}
		if failed, why := resizeFailed(pc.claim); failed {
			return claimStep{kind: claimStepFailed, claim: pc, request: want, reason: why}
		}
		if capacity := pc.claim.Status.Capacity[v1.ResourceStorage]; capacity.Cmp(want) < 0 {
			return claimStep{kind: claimStepWait, claim: pc, request: want,
				reason: fmt.Sprintf("capacity %s below the request %s", capacity.String(), want.String())}
		}
	}
	return claimStep{}
}

// storageRequest returns a claim's storage request.
func storageRequest(claim *v1.PersistentVolumeClaim) resource.Quantity {
	return claim.Spec.Resources.Requests[v1.ResourceStorage]
}

// resizeFailed reports whether a claim's resize failed for good, as the
// resizer reports it in status.allocatedResourceStatuses.
func resizeFailed(claim *v1.PersistentVolumeClaim) (bool, string) {
	switch status := claim.Status.AllocatedResourceStatuses[v1.ResourceStorage]; status {
	case v1.PersistentVolumeClaimControllerResizeInfeasible, v1.PersistentVolumeClaimNodeResizeInfeasible:
		return true, fmt.Sprintf("the resize of claim %s failed: %s", claim.Name, status)
	}
	return false, ""
}

// petClaims returns the claims of the pets in range that exist, from the
// highest ordinal down, each pet's in template order, read from the cache.
func (c *defaultPetSetControl) petClaims(set *appsv1alpha1.PetSet, pets []*v1.Pod) ([]petClaim, error) {
	var out []petClaim
	for i := len(pets) - 1; i >= 0; i-- {
		ordinal := getOrdinal(pets[i])
		if !ordinalInRange(set, ordinal) {
			continue
		}
		for j := range set.Spec.VolumeClaimTemplates {
			template := &set.Spec.VolumeClaimTemplates[j]
			claim, err := c.petControl.GetPetClaim(set, template.Name, ordinal)
			if err != nil {
				return nil, err
			}
			out = append(out, petClaim{ordinal: ordinal, template: template, claim: claim})
		}
	}
	return out, nil
}

// expandClaims takes the next step of claim expansion of a live PetSet
// under volumeClaimUpdatePolicy InPlace: at most one claim is expanded per
// sync; the claim informer's update brings the next sync.
func (c *defaultPetSetControl) expandClaims(ctx context.Context, set *appsv1alpha1.PetSet, pets []*v1.Pod) error {
	if set.Spec.VolumeClaimUpdatePolicy != appsv1alpha1.InPlaceVolumeClaimUpdatePolicy || len(set.Spec.VolumeClaimTemplates) == 0 {
		return nil
	}
	claims, err := c.petClaims(set, pets)
	if err != nil {
		return err
	}
	step := nextClaimExpansion(claims)
	logger := klog.FromContext(ctx)
	switch step.kind {
	case claimStepExpand:
		claim := step.claim.claim
		if err := c.petControl.ExpandClaim(ctx, set, claim, step.request); err != nil {
			c.recorder.Eventf(set, v1.EventTypeWarning, reasonClaimExpansionFailed,
				"expand Claim %s to %s in PetSet %s failed error: %v", claim.Name, step.request.String(), set.Name, err)
			return &claimExpansionError{claim: claim.Name, err: fmt.Errorf("expand claim %s/%s to %s: %w", claim.Namespace, claim.Name, step.request.String(), err)}
		}
		logger.V(2).Info("Expanding claim", "petSet", klog.KObj(set), "claim", klog.KObj(claim), "request", step.request.String(), "reason", step.reason)
		from := storageRequest(claim)
		c.recorder.Eventf(set, v1.EventTypeNormal, reasonExpandingClaim,
			"Expanding Claim %s from %s to %s", claim.Name, from.String(), step.request.String())
	case claimStepFailed:
		c.recorder.Eventf(set, v1.EventTypeWarning, reasonClaimExpansionFailed, "%s", step.reason)
		return &claimExpansionError{claim: step.claim.claim.Name, err: fmt.Errorf("claim expansion of PetSet %s/%s is blocked: %s", set.Namespace, set.Name, step.reason)}
	case claimStepWait:
		logger.V(4).Info("Waiting for a claim to be resized", "petSet", klog.KObj(set), "claim", klog.KObj(step.claim.claim), "reason", step.reason)
	}
	return nil
}

// claimTemplateStatus counts, per claim template, the claims of the pets in
// range and those that have reached the template's request. It is reported
// under volumeClaimUpdatePolicy InPlace only.
func (c *defaultPetSetControl) claimTemplateStatus(set *appsv1alpha1.PetSet, pets []*v1.Pod) ([]appsv1alpha1.PetSetVolumeClaimTemplateStatus, error) {
	if set.Spec.VolumeClaimUpdatePolicy != appsv1alpha1.InPlaceVolumeClaimUpdatePolicy || len(set.Spec.VolumeClaimTemplates) == 0 {
		return nil, nil
	}
	claims, err := c.petClaims(set, pets)
	if err != nil {
		return nil, err
	}
	out := make([]appsv1alpha1.PetSetVolumeClaimTemplateStatus, len(set.Spec.VolumeClaimTemplates))
	index := map[string]int{}
	for i, template := range set.Spec.VolumeClaimTemplates {
		out[i].TemplateName = template.Name
		index[template.Name] = i
	}
	for _, pc := range claims {
		if pc.claim == nil {
			continue
		}
		s := &out[index[pc.template.Name]]
		s.Claims++
		capacity, want := pc.claim.Status.Capacity[v1.ResourceStorage], storageRequest(pc.template)
		if capacity.Cmp(want) >= 0 {
			s.ClaimsAtSize++
		}
	}
	return out, nil
}

// claimExpansionError is a failed expansion of a claim: refused by the API
// server, or reported infeasible by the resizer.
type claimExpansionError struct {
	claim string
	err   error
}

func (e *claimExpansionError) Error() string { return e.err.Error() }
func (e *claimExpansionError) Unwrap() error { return e.err }
