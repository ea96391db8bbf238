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
	"encoding/json"
	"fmt"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// The claim retention policy is carried out as apps/v1 carries it out, by
// the garbage collector: a claim that must go with the PetSet has the PetSet
// as its controller, a claim that must go with its condemned pet has the pod
// as its controller, and the collector deletes it once that owner is gone.

// podKind is the kind of the pod owner of a claim.
var podKind = v1.SchemeGroupVersion.WithKind("Pod")

// retentionPolicyOf returns set's claim retention policy, Retain for what is
// not set.
func retentionPolicyOf(set *appsv1alpha1.PetSet) appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy {
	policy := appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if p := set.Spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		if p.WhenDeleted != "" {
			policy.WhenDeleted = p.WhenDeleted
		}
		if p.WhenScaled != "" {
			policy.WhenScaled = p.WhenScaled
		}
	}
	return policy
}

// refersTo reports whether ref names obj of kind gvk, whatever its UID.
func refersTo(ref *metav1.OwnerReference, name string, gvk schema.GroupVersionKind) bool {
	return ref.APIVersion == gvk.GroupVersion().String() && ref.Kind == gvk.Kind && ref.Name == name
}

// desiredClaimOwners returns the ownerReferences the claim of a pet should
// have under set's retention policy, and false when the claim must be left
// as it is:
//   - a reference to the PetSet or the pet by name but with another UID
//     (left by an earlier PetSet or pod of that name) makes the claim stale:
//     the garbage collector owns its fate;
//   - a claim controlled by anything but the PetSet and the pet is left to
//     that controller: the PetSet's and the pet's references are removed,
//     none added;
//   - otherwise the PetSet is the controller when whenDeleted is Delete
//     (while the pet is in range, or always when whenScaled is Retain), and
//     the pod when whenScaled is Delete and the pet is condemned.
//
// podName and podUID are the pet's (podUID empty for a pet not created yet).
func desiredClaimOwners(claim *v1.PersistentVolumeClaim, set *appsv1alpha1.PetSet, podName string, podUID types.UID, inRange bool) ([]metav1.OwnerReference, bool) {
	foreignController := false
	var kept []metav1.OwnerReference
	for _, ref := range claim.OwnerReferences {
		switch {
		case refersTo(&ref, set.Name, controllerKind):
			if ref.UID != set.UID {
				return nil, false
			}
		case refersTo(&ref, podName, podKind):
			if ref.UID != podUID {
				return nil, false
			}
		default:
			if ref.Controller != nil && *ref.Controller {
				foreignController = true
			}
			kept = append(kept, ref)
		}
	}
	if foreignController {
		return kept, true
	}
	policy := retentionPolicyOf(set)
	const del = appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
	if policy.WhenDeleted == del && (inRange || policy.WhenScaled != del) {
		kept = append(kept, *newControllerRef(set))
	}
	if policy.WhenScaled == del && !inRange && podUID != "" {
		kept = append(kept, metav1.OwnerReference{APIVersion: podKind.GroupVersion().String(), Kind: podKind.Kind,
			Name: podName, UID: podUID, Controller: new(true), BlockOwnerDeletion: new(true)})
	}
	return kept, true
}

// claimIsStale reports whether the claim belongs to an earlier pod of the
// pet's name: it has that pod as owner, and the pet does not exist (it is
// about to be created). The garbage collector deletes such a claim; the pet
// waits for that rather than mounting a claim that is going away.
func claimIsStale(claim *v1.PersistentVolumeClaim, podName string) bool {
	for _, ref := range claim.OwnerReferences {
		if refersTo(&ref, podName, podKind) {
			return true
		}
	}
	return false
}

// ownersPatch is a strategic merge patch replacing a claim's
// ownerReferences, made only on the claim's UID and resourceVersion.
type ownersPatch struct {
	Metadata ownersPatchMeta `json:"metadata"`
}

type ownersPatchMeta struct {
	OwnerReferences []any     `json:"ownerReferences"`
	UID             types.UID `json:"uid"`
	ResourceVersion string    `json:"resourceVersion"`
}

// UpdateClaimOwners brings the ownerReferences of pod's claims in line with
// set's retention policy (desiredClaimOwners). Claims that do not exist are
// left to EnsureClaims.
func (pc *realPetControl) UpdateClaimOwners(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	ordinal := getOrdinal(pod)
	inRange := ordinalInRange(set, ordinal)
	claims, err := pc.existingClaims(set, ordinal)
	if err != nil {
		return err
	}
	for _, claim := range claims {
		refs, ok := desiredClaimOwners(claim, set, pod.Name, pod.UID, inRange)
		if !ok || apiequality.Semantic.DeepEqual(refs, claim.OwnerReferences) {
			continue
		}
		list := []any{map[string]string{"$patch": "replace"}}
		for _, ref := range refs {
			list = append(list, ref)
		}
		patch, err := json.Marshal(ownersPatch{Metadata: ownersPatchMeta{OwnerReferences: list, UID: claim.UID, ResourceVersion: claim.ResourceVersion}})
		if err != nil {
			return fmt.Errorf("build owner patch for claim %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		if err := pc.objects.PatchClaim(ctx, claim.Namespace, claim.Name, patch); err != nil {
			err = fmt.Errorf("set the owners of claim %s/%s for the retention policy: %w", claim.Namespace, claim.Name, err)
			pc.recorder.Eventf(set, v1.EventTypeWarning, reasonFailedUpdate, "%v", err)
			return err
		}
		klog.FromContext(ctx).V(2).Info("Updated claim owners for the retention policy", "petSet", klog.KObj(set),
			"pod", klog.KObj(pod), "claim", klog.KObj(claim), "owners", len(refs))
	}
	return nil
}

// PetClaimsAreStale reports whether a claim of the pet with the given
// ordinal, about to be created, is stale (claimIsStale).
func (pc *realPetControl) PetClaimsAreStale(set *appsv1alpha1.PetSet, ordinal int) (bool, error) {
	claims, err := pc.existingClaims(set, ordinal)
	if err != nil {
		return false, err
	}
	name := getPetName(set, ordinal)
	for _, claim := range claims {
		if claimIsStale(claim, name) {
			return true, nil
		}
	}
	return false, nil
}

// existingClaims returns the claims of the pet with the given ordinal that
// exist, as the claim cache shows them.
func (pc *realPetControl) existingClaims(set *appsv1alpha1.PetSet, ordinal int) ([]*v1.PersistentVolumeClaim, error) {
	var claims []*v1.PersistentVolumeClaim
	for i := range set.Spec.VolumeClaimTemplates {
		claim, err := pc.GetPetClaim(set, set.Spec.VolumeClaimTemplates[i].Name, ordinal)
		if err != nil {
			return nil, err
		}
		if claim != nil {
			claims = append(claims, claim)
		}
	}
	return claims, nil
}
