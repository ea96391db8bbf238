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
	"slices"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

// Event reasons.
const (
	reasonSuccessfulCreate = "SuccessfulCreate"
	reasonFailedCreate     = "FailedCreate"
	reasonSuccessfulDelete = "SuccessfulDelete"
	reasonFailedDelete     = "FailedDelete"
	reasonAdopted          = "Adopted"
	reasonReleased         = "Released"
	reasonFailedAdopt      = "FailedAdopt"
	reasonFailedRelease    = "FailedRelease"
)

// petControlInterface performs the writes on pets: their pods and claims.
// Claims are only ever created, never deleted.
type petControlInterface interface {
	// CreatePet creates the missing claims of pod, then pod. A pod that
	// already exists is not an error.
	CreatePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// DeletePet deletes the pet's pod (gracefully). A pod that is already
	// gone is not an error.
	DeletePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// AdoptPet makes set the controller of the orphan pod.
	AdoptPet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// ReleasePet removes set's ownerReference from pod.
	ReleasePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
}

// petObjectManager is the API seam of the pet control: writes go to the API
// server, claim reads come from the informer cache. Tests replace it to
// inject failures.
type petObjectManager interface {
	CreatePod(ctx context.Context, pod *v1.Pod) (*v1.Pod, error)
	// DeletePod deletes the pod, with its UID as precondition.
	DeletePod(ctx context.Context, pod *v1.Pod) error
	// PatchPod applies a strategic merge patch to the pod.
	PatchPod(ctx context.Context, namespace, name string, patch []byte) error
	GetClaim(namespace, name string) (*v1.PersistentVolumeClaim, error)
	CreateClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error
}

// realPetObjectManager implements petObjectManager with a clientset and a
// claim lister.
type realPetObjectManager struct {
	client      kubernetes.Interface
	claimLister corelisters.PersistentVolumeClaimLister
}

func (om *realPetObjectManager) CreatePod(ctx context.Context, pod *v1.Pod) (*v1.Pod, error) {
	return om.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
}

func (om *realPetObjectManager) DeletePod(ctx context.Context, pod *v1.Pod) error {
	opts := metav1.DeleteOptions{}
	if pod.UID != "" {
		opts.Preconditions = metav1.NewUIDPreconditions(string(pod.UID))
	}
	return om.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, opts)
}

func (om *realPetObjectManager) PatchPod(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := om.client.CoreV1().Pods(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

func (om *realPetObjectManager) GetClaim(namespace, name string) (*v1.PersistentVolumeClaim, error) {
	return om.claimLister.PersistentVolumeClaims(namespace).Get(name)
}

func (om *realPetObjectManager) CreateClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	_, err := om.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, claim, metav1.CreateOptions{})
	return err
}

// realPetControl implements petControlInterface: it orders the writes
// (claims before the pod), records an event for each of them, and records
// the expectations the next sync waits for.
type realPetControl struct {
	objects      petObjectManager
	recorder     record.EventRecorder
	expectations *petExpectations
}

func newRealPetControl(objects petObjectManager, recorder record.EventRecorder, expectations *petExpectations) *realPetControl {
	return &realPetControl{objects: objects, recorder: recorder, expectations: expectations}
}

func (pc *realPetControl) CreatePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	logger := klog.FromContext(ctx)
	if err := pc.createClaims(ctx, set, pod); err != nil {
		pc.recordPodEvent("create", set, pod, err)
		return err
	}
	// Expect the pod before creating it: the informer may report it (and
	// even its deletion) before CreatePod returns.
	key := keyOf(set)
	pc.expectations.expectCreate(key, pod.Name)
	created, err := pc.objects.CreatePod(ctx, pod)
	switch {
	case apierrors.IsAlreadyExists(err):
		// Another pass (or another actor) created it: the informer will
		// show it.
		pc.expectations.createFailed(key, pod.Name)
		logger.V(4).Info("Pet already exists", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
		return nil
	case err != nil:
		pc.expectations.createFailed(key, pod.Name)
		err = fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
		pc.recordPodEvent("create", set, pod, err)
		return err
	}
	pc.expectations.createdAs(key, created.Name, created.UID)
	logger.V(2).Info("Created pet", "petSet", klog.KObj(set), "pod", klog.KObj(created))
	pc.recordPodEvent("create", set, pod, nil)
	return nil
}

// createClaims creates the claims of pod that do not exist yet. A claim that
// exists is reused whatever its content: it holds the pet's data.
func (pc *realPetControl) createClaims(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	claims := newPetClaims(set, getOrdinal(pod))
	names := make([]string, 0, len(claims))
	for name := range claims {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		claim := claims[name]
		existing, err := pc.objects.GetClaim(claim.Namespace, claim.Name)
		switch {
		case err == nil:
			if existing.DeletionTimestamp != nil {
				return fmt.Errorf("claim %s/%s of pod %s is being deleted", claim.Namespace, claim.Name, pod.Name)
			}
			continue
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("get claim %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		err = pc.objects.CreateClaim(ctx, claim)
		switch {
		case apierrors.IsAlreadyExists(err):
			continue
		case err != nil:
			err = fmt.Errorf("create claim %s/%s: %w", claim.Namespace, claim.Name, err)
			pc.recordClaimEvent("create", set, pod, claim, err)
			return err
		}
		klog.FromContext(ctx).V(2).Info("Created claim", "petSet", klog.KObj(set), "pod", klog.KObj(pod), "claim", klog.KObj(claim))
		pc.recordClaimEvent("create", set, pod, claim, nil)
	}
	return nil
}

func (pc *realPetControl) DeletePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	err := pc.objects.DeletePod(ctx, pod)
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Gone already, or the name now belongs to another pod (UID
		// precondition): the pod we meant to delete does not exist.
		klog.FromContext(ctx).V(4).Info("Pet already deleted", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
		return nil
	case err != nil:
		err = fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
		pc.recordPodEvent("delete", set, pod, err)
		return err
	}
	pc.expectations.expectDelete(keyOf(set), pod.Name, pod.UID)
	klog.FromContext(ctx).V(2).Info("Deleted pet", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
	pc.recordPodEvent("delete", set, pod, nil)
	return nil
}

// ownerRefPatch is a strategic merge patch on a pod's ownerReferences. The
// pod UID makes it fail if the name now belongs to another pod.
type ownerRefPatch struct {
	Metadata ownerRefPatchMeta `json:"metadata"`
}

type ownerRefPatchMeta struct {
	OwnerReferences []any     `json:"ownerReferences"`
	UID             types.UID `json:"uid"`
}

func (pc *realPetControl) AdoptPet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	patch, err := json.Marshal(ownerRefPatch{Metadata: ownerRefPatchMeta{
		OwnerReferences: []any{newControllerRef(set)},
		UID:             pod.UID,
	}})
	if err != nil {
		return fmt.Errorf("build adoption patch for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := pc.objects.PatchPod(ctx, pod.Namespace, pod.Name, patch); err != nil {
		if !apierrors.IsNotFound(err) {
			pc.recorder.Eventf(set, v1.EventTypeWarning, reasonFailedAdopt,
				"adopt Pod %s in PetSet %s failed error: %v", pod.Name, set.Name, err)
		}
		return fmt.Errorf("adopt pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Adopted pet", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
	pc.recorder.Eventf(set, v1.EventTypeNormal, reasonAdopted, "adopt Pod %s in PetSet %s successful", pod.Name, set.Name)
	return nil
}

func (pc *realPetControl) ReleasePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	patch, err := json.Marshal(ownerRefPatch{Metadata: ownerRefPatchMeta{
		OwnerReferences: []any{map[string]string{"$patch": "delete", "uid": string(set.UID)}},
		UID:             pod.UID,
	}})
	if err != nil {
		return fmt.Errorf("build release patch for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	err = pc.objects.PatchPod(ctx, pod.Namespace, pod.Name, patch)
	switch {
	case apierrors.IsNotFound(err), apierrors.IsInvalid(err):
		// Gone, or no longer carrying our reference (or replaced by a
		// pod with another UID): nothing to release.
		return nil
	case err != nil:
		pc.recorder.Eventf(set, v1.EventTypeWarning, reasonFailedRelease,
			"release Pod %s from PetSet %s failed error: %v", pod.Name, set.Name, err)
		return fmt.Errorf("release pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Released pet", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
	pc.recorder.Eventf(set, v1.EventTypeNormal, reasonReleased, "release Pod %s from PetSet %s successful", pod.Name, set.Name)
	return nil
}

// recordPodEvent records the outcome of verb on a pet, for example
// "create Pod web-0 in PetSet web successful".
func (pc *realPetControl) recordPodEvent(verb string, set *appsv1alpha1.PetSet, pod *v1.Pod, err error) {
	if err == nil {
		pc.recorder.Eventf(set, v1.EventTypeNormal, successReason(verb),
			"%s Pod %s in PetSet %s successful", verb, pod.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, v1.EventTypeWarning, failureReason(verb),
		"%s Pod %s in PetSet %s failed error: %v", verb, pod.Name, set.Name, err)
}

// recordClaimEvent records the outcome of verb on a pet's claim, for example
// "create Claim www-web-0 for Pod web-0 in PetSet web successful".
func (pc *realPetControl) recordClaimEvent(verb string, set *appsv1alpha1.PetSet, pod *v1.Pod, claim *v1.PersistentVolumeClaim, err error) {
	if err == nil {
		pc.recorder.Eventf(set, v1.EventTypeNormal, successReason(verb),
			"%s Claim %s for Pod %s in PetSet %s successful", verb, claim.Name, pod.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, v1.EventTypeWarning, failureReason(verb),
		"%s Claim %s for Pod %s in PetSet %s failed error: %v", verb, claim.Name, pod.Name, set.Name, err)
}

func successReason(verb string) string {
	if verb == "delete" {
		return reasonSuccessfulDelete
	}
	return reasonSuccessfulCreate
}

func failureReason(verb string) string {
	if verb == "delete" {
		return reasonFailedDelete
	}
	return reasonFailedCreate
}

// keyOf returns the workqueue key of set.
func keyOf(set *appsv1alpha1.PetSet) string {
	key, err := cache.MetaNamespaceKeyFunc(set)
	if err != nil {
		return set.Namespace + "/" + set.Name
	}
	return key
}

var _ petControlInterface = &realPetControl{}
var _ petObjectManager = &realPetObjectManager{}
