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
	"errors"
	"fmt"
	"maps"
	"slices"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	reasonSuccessfulUpdate = "SuccessfulUpdate"
	reasonFailedUpdate     = "FailedUpdate"
	// reasonClaimConflict: a claim with a pet's claim name belongs to
	// another PetSet or claim template.
	reasonClaimConflict = "ClaimConflict"
	// reasonPetStuckTerminating: teardown or scale down went on past a pet
	// that stayed terminating beyond its grace period plus the margin.
	reasonPetStuckTerminating = "PetStuckTerminating"
	// reasonUpdatingPet: a pet running an older revision is deleted to be
	// created again at the update revision.
	reasonUpdatingPet = "UpdatingPet"
	// reasonEvictionBlocked: a PodDisruptionBudget refused the eviction of
	// a pet (podRemovalPolicy Evict).
	reasonEvictionBlocked = "EvictionBlocked"
	// reasonSuccessfulEvict and reasonFailedEvict report the outcome of an
	// eviction (podRemovalPolicy Evict).
	reasonSuccessfulEvict = "SuccessfulEvict"
	reasonFailedEvict     = "FailedEvict"
)

// petControlInterface performs the writes on pets: their pods and claims.
// Claims are only ever created, labelled and given owners (for the claim
// retention policy; the garbage collector deletes them), never deleted.
type petControlInterface interface {
	// CreatePet creates the missing claims of pod, then pod. A pod that
	// already exists is not an error.
	CreatePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// DeletePet deletes the pet's pod (gracefully). A pod that is already
	// gone is not an error.
	DeletePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// EvictPet is DeletePet through the Eviction API: a refusal by a
	// PodDisruptionBudget is an error wrapping errEvictionBlocked.
	EvictPet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// AdoptPet makes set the controller of the orphan pod.
	AdoptPet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// RestoreIdentity puts the pet name and ordinal labels back on pod.
	RestoreIdentity(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// LabelRevision sets the controller-revision-hash label of pod to
	// revision, in place.
	LabelRevision(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod, revision string) error
	// EnsureClaims creates the claims of pod that do not exist.
	EnsureClaims(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// ReleasePet removes set's ownerReference from pod.
	ReleasePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// UpdateClaimOwners sets the ownerReferences of pod's claims that
	// carry out set's claim retention policy.
	UpdateClaimOwners(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error
	// PetClaimsAreStale reports whether a claim of the pet to create is
	// still owned by an earlier pod of its name.
	PetClaimsAreStale(set *appsv1alpha1.PetSet, ordinal int) (bool, error)

	// GetPetClaim returns, from the cache, the claim of the pet with the
	// given ordinal from the claim template named template; nil when it
	// does not exist.
	GetPetClaim(set *appsv1alpha1.PetSet, template string, ordinal int) (*v1.PersistentVolumeClaim, error)
	// ExpandClaim raises the claim's storage request to request.
	ExpandClaim(ctx context.Context, set *appsv1alpha1.PetSet, claim *v1.PersistentVolumeClaim, request resource.Quantity) error
}

// petObjectManager is the API seam of the pet control: writes go to the API
// server, claim reads come from the informer cache. Tests replace it to
// inject failures.
type petObjectManager interface {
	CreatePod(ctx context.Context, pod *v1.Pod) (*v1.Pod, error)
	// ReadPod reads the pod from the API server, not the cache.
	ReadPod(ctx context.Context, namespace, name string) (*v1.Pod, error)
	// DeletePod deletes the pod, with its UID and resourceVersion as
	// preconditions.
	DeletePod(ctx context.Context, pod *v1.Pod) error
	// EvictPod evicts the pod through the Eviction API, with its UID and
	// resourceVersion as preconditions.
	EvictPod(ctx context.Context, pod *v1.Pod) error
	// PatchPod applies a strategic merge patch to the pod.
	PatchPod(ctx context.Context, namespace, name string, patch []byte) error
	// GetClaim reads the claim from the cache.
	GetClaim(namespace, name string) (*v1.PersistentVolumeClaim, error)
	// ReadClaim reads the claim from the API server, not the cache.
	ReadClaim(ctx context.Context, namespace, name string) (*v1.PersistentVolumeClaim, error)
	CreateClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error
	// PatchClaim applies a strategic merge patch to the claim.
	PatchClaim(ctx context.Context, namespace, name string, patch []byte) error
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

func (om *realPetObjectManager) ReadPod(ctx context.Context, namespace, name string) (*v1.Pod, error) {
	return om.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (om *realPetObjectManager) DeletePod(ctx context.Context, pod *v1.Pod) error {
	return om.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, podPreconditions(pod))
}

func (om *realPetObjectManager) EvictPod(ctx context.Context, pod *v1.Pod) error {
	opts := podPreconditions(pod)
	return om.client.PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		DeleteOptions: &opts,
	})
}

// podPreconditions are the options of a deletion that applies only to the
// pod as it was read: the same UID and resourceVersion.
func podPreconditions(pod *v1.Pod) metav1.DeleteOptions {
	uid, rv := pod.UID, pod.ResourceVersion
	return metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}}
}

func (om *realPetObjectManager) PatchPod(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := om.client.CoreV1().Pods(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

func (om *realPetObjectManager) GetClaim(namespace, name string) (*v1.PersistentVolumeClaim, error) {
	return om.claimLister.PersistentVolumeClaims(namespace).Get(name)
}

func (om *realPetObjectManager) ReadClaim(ctx context.Context, namespace, name string) (*v1.PersistentVolumeClaim, error) {
	return om.client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (om *realPetObjectManager) PatchClaim(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := om.client.CoreV1().PersistentVolumeClaims(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
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
		if !errors.Is(err, errNameTaken) {
			// A conflict was reported with the claim already.
			pc.recordPodEvent("create", set, pod, err)
		}
		return err
	}
	// Expect the pod before creating it: the informer may report it (and
	// even its deletion) before CreatePod returns.
	key := keyOf(set)
	pc.expectations.expectCreate(key, pod.Name)
	created, err := pc.objects.CreatePod(ctx, pod)
	switch {
	case apierrors.IsAlreadyExists(err):
		pc.expectations.createFailed(key, pod.Name)
		return pc.podNameTaken(ctx, set, pod, err)
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

// errNameTaken marks a pet or claim that cannot be created because another
// object holds its name. The PetSet is synced again with backoff, and as
// soon as the holder is deleted.
var errNameTaken = errors.New("name is taken")

// podNameTaken handles an AlreadyExists answer to a pet creation. If the pod
// that exists is the PetSet's own (the cache is behind), the next sync sees
// it. Otherwise the name is held by another pod: that is reported and
// retried, never taken for success.
func (pc *realPetControl) podNameTaken(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod, createErr error) error {
	holder, err := pc.objects.ReadPod(ctx, pod.Namespace, pod.Name)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("create pod %s/%s: %w; it is gone now, trying again", pod.Namespace, pod.Name, createErr)
	case err != nil:
		return fmt.Errorf("create pod %s/%s: %w; read the pod holding the name: %w", pod.Namespace, pod.Name, createErr, err)
	case isControlledBy(holder, set):
		klog.FromContext(ctx).V(4).Info("Pet already exists", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
		return nil
	}
	err = fmt.Errorf("pod %s/%s already exists and %s: %w", pod.Namespace, pod.Name, describePodHolder(set, holder), errNameTaken)
	pc.recordPodEvent("create", set, pod, err)
	return err
}

// describePodHolder says who holds the pod that took a pet's name.
func describePodHolder(set *appsv1alpha1.PetSet, pod *v1.Pod) string {
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		return fmt.Sprintf("is controlled by %s %s (uid %s)", ref.Kind, ref.Name, ref.UID)
	}
	if isTerminating(pod) {
		return "is terminating"
	}
	if selector, err := getSelector(set); err == nil && !selector.Matches(labels.Set(pod.Labels)) {
		return "is not controlled by this PetSet (it has no controller and its labels do not match the selector)"
	}
	return "has no controller; it is adopted on the next sync"
}

// EnsureClaims creates the claims of pod that do not exist yet.
func (pc *realPetControl) EnsureClaims(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	return pc.createClaims(ctx, set, pod)
}

// createClaims makes sure every claim of pod exists and belongs to set,
// creating the missing ones. A claim that exists is reused whatever its
// content, as it holds the pet's data: one without the PetSet's claim labels
// is adopted (users create claims beforehand to restore data), one labelled
// for another PetSet or claim template is never used.
func (pc *realPetControl) createClaims(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	claims := newPetClaims(set, getOrdinal(pod))
	names := slices.Sorted(maps.Keys(claims))
	for _, name := range names {
		claim := claims[name]
		existing, err := pc.objects.GetClaim(claim.Namespace, claim.Name)
		switch {
		case err == nil:
			if err := pc.useClaim(ctx, set, pod, name, existing); err != nil {
				return err
			}
			continue
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("get claim %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		err = pc.objects.CreateClaim(ctx, claim)
		if apierrors.IsAlreadyExists(err) {
			// Not in the cache yet: judge the claim as the API server
			// has it.
			existing, readErr := pc.objects.ReadClaim(ctx, claim.Namespace, claim.Name)
			if readErr != nil {
				err = fmt.Errorf("create claim %s/%s: %w; read the existing claim: %w", claim.Namespace, claim.Name, err, readErr)
				pc.recordClaimEvent("create", set, pod, claim, err)
				return err
			}
			if err := pc.useClaim(ctx, set, pod, name, existing); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			err = fmt.Errorf("create claim %s/%s: %w", claim.Namespace, claim.Name, err)
			pc.recordClaimEvent("create", set, pod, claim, err)
			return err
		}
		klog.FromContext(ctx).V(2).Info("Created claim", "petSet", klog.KObj(set), "pod", klog.KObj(pod), "claim", klog.KObj(claim))
		pc.recordClaimEvent("create", set, pod, claim, nil)
	}
	return nil
}

// useClaim checks that an existing claim may back the pet's volume made from
// the claim template named template, and adopts it if it carries no PetSet
// claim labels.
func (pc *realPetControl) useClaim(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod, template string, claim *v1.PersistentVolumeClaim) error {
	if claim.DeletionTimestamp != nil {
		return fmt.Errorf("claim %s/%s of pod %s is being deleted", claim.Namespace, claim.Name, pod.Name)
	}
	want := claimLabels(set, template)
	missing := map[string]string{}
	for key, value := range want {
		got, ok := claim.Labels[key]
		switch {
		case !ok:
			missing[key] = value
		case got != value:
			err := fmt.Errorf("claim %s/%s has label %s=%s, not %s: it belongs to another PetSet or claim template and is not mounted by pod %s: %w",
				claim.Namespace, claim.Name, key, got, value, pod.Name, errNameTaken)
			pc.recorder.Eventf(set, v1.EventTypeWarning, reasonClaimConflict, "%v", err)
			return err
		}
	}
	if len(missing) == 0 {
		return nil
	}
	patch, err := json.Marshal(labelsPatch{Metadata: labelsPatchMeta{Labels: missing, UID: claim.UID}})
	if err != nil {
		return fmt.Errorf("build adoption patch for claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	if err := pc.objects.PatchClaim(ctx, claim.Namespace, claim.Name, patch); err != nil {
		err = fmt.Errorf("adopt claim %s/%s: %w", claim.Namespace, claim.Name, err)
		pc.recorder.Eventf(set, v1.EventTypeWarning, reasonFailedAdopt, "%v", err)
		return err
	}
	klog.FromContext(ctx).V(2).Info("Adopted claim", "petSet", klog.KObj(set), "pod", klog.KObj(pod), "claim", klog.KObj(claim))
	pc.recorder.Eventf(set, v1.EventTypeNormal, reasonAdopted, "adopt Claim %s for Pod %s in PetSet %s successful", claim.Name, pod.Name, set.Name)
	return nil
}

// labelsPatch is a strategic merge patch setting labels. The UID makes it
// fail if the name now belongs to another object.
type labelsPatch struct {
	Metadata labelsPatchMeta `json:"metadata"`
}

type labelsPatchMeta struct {
	Labels map[string]string `json:"labels"`
	UID    types.UID         `json:"uid"`
}

// RestoreIdentity puts the pet name and ordinal labels back on a pet that
// lost them (an edit, or an adopted pod that never had them).
func (pc *realPetControl) RestoreIdentity(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	patch, err := json.Marshal(labelsPatch{Metadata: labelsPatchMeta{Labels: identityLabels(set, getOrdinal(pod)), UID: pod.UID}})
	if err != nil {
		return fmt.Errorf("build identity patch for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := pc.objects.PatchPod(ctx, pod.Namespace, pod.Name, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		err = fmt.Errorf("restore the identity labels of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		pc.recorder.Eventf(set, v1.EventTypeWarning, reasonFailedUpdate, "%v", err)
		return err
	}
	klog.FromContext(ctx).V(2).Info("Restored pet identity labels", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
	pc.recorder.Eventf(set, v1.EventTypeNormal, reasonSuccessfulUpdate, "restore identity labels of Pod %s in PetSet %s successful", pod.Name, set.Name)
	return nil
}

// LabelRevision labels a pet that has no controller-revision-hash label
// with the revision it runs, without restarting it.
func (pc *realPetControl) LabelRevision(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod, revision string) error {
	patch, err := json.Marshal(labelsPatch{Metadata: labelsPatchMeta{
		Labels: map[string]string{appsv1alpha1.ControllerRevisionHashLabel: revision}, UID: pod.UID}})
	if err != nil {
		return fmt.Errorf("build revision label patch for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := pc.objects.PatchPod(ctx, pod.Namespace, pod.Name, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		err = fmt.Errorf("label pod %s/%s with revision %s: %w", pod.Namespace, pod.Name, revision, err)
		pc.recorder.Eventf(set, v1.EventTypeWarning, reasonFailedUpdate, "%v", err)
		return err
	}
	klog.FromContext(ctx).V(2).Info("Labelled pet with its revision", "petSet", klog.KObj(set), "pod", klog.KObj(pod), "revision", revision)
	return nil
}

// DeletePet deletes a pet as it is now, not as the cache last showed it: it
// reads the pod from the API server and deletes it with its UID and
// resourceVersion as preconditions, so a pod that was released (an orphaning
// deletion the cache has not shown yet), replaced or changed meanwhile is
// not deleted. Such a change is an error, and the PetSet is evaluated again.
func (pc *realPetControl) DeletePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	return pc.removePet(ctx, set, pod, false)
}

func (pc *realPetControl) EvictPet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod) error {
	return pc.removePet(ctx, set, pod, true)
}

// removePet deletes or evicts the pet's pod, as it is on the server: a pod
// that was replaced or released since the decision is left alone
// (errReevaluate), as is one that is already terminating.
func (pc *realPetControl) removePet(ctx context.Context, set *appsv1alpha1.PetSet, pod *v1.Pod, evict bool) error {
	logger := klog.FromContext(ctx)
	live, err := pc.objects.ReadPod(ctx, pod.Namespace, pod.Name)
	switch {
	case apierrors.IsNotFound(err):
		logger.V(4).Info("Pet already deleted", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
		return nil
	case err != nil:
		err = fmt.Errorf("read pod %s/%s before deleting it: %w", pod.Namespace, pod.Name, err)
		pc.recordPodEvent("delete", set, pod, err)
		return err
	case live.UID != pod.UID:
		return fmt.Errorf("pod %s/%s was replaced (uid %s, the decision was made on %s): %w",
			pod.Namespace, pod.Name, live.UID, pod.UID, errReevaluate)
	case !isControlledBy(live, set):
		return fmt.Errorf("pod %s/%s is no longer controlled by the PetSet: %w", pod.Namespace, pod.Name, errReevaluate)
	case isTerminating(live):
		pc.expectations.expectDelete(keyOf(set), live.Name, live.UID)
		return nil
	}
	verb := "delete"
	if evict {
		verb = "evict"
		err = pc.objects.EvictPod(ctx, live)
	} else {
		err = pc.objects.DeletePod(ctx, live)
	}
	switch {
	case apierrors.IsNotFound(err):
		logger.V(4).Info("Pet already deleted", "petSet", klog.KObj(set), "pod", klog.KObj(pod))
		return nil
	case evict && apierrors.IsTooManyRequests(err):
		budget := disruptionBudgetMessage(err)
		logger.V(2).Info("Eviction of pet blocked by a PodDisruptionBudget", "petSet", klog.KObj(set), "pod", klog.KObj(pod), "budget", budget)
		pc.recorder.Eventf(set, v1.EventTypeWarning, reasonEvictionBlocked,
			"evict Pod %s in PetSet %s blocked: %s", pod.Name, set.Name, budget)
		return &evictionBlockedError{pod: pod.Name, budget: budget}
	case apierrors.IsConflict(err):
		return fmt.Errorf("pod %s/%s changed before it could be deleted: %w: %w", pod.Namespace, pod.Name, err, errReevaluate)
	case err != nil:
		err = fmt.Errorf("%s pod %s/%s: %w", verb, pod.Namespace, pod.Name, err)
		pc.recordPodEvent(verb, set, pod, err)
		return err
	}
	pc.expectations.expectDelete(keyOf(set), live.Name, live.UID)
	logger.V(2).Info("Removed pet", "petSet", klog.KObj(set), "pod", klog.KObj(pod), "verb", verb)
	pc.recordPodEvent(verb, set, pod, nil)
	return nil
}

// errEvictionBlocked marks an eviction a PodDisruptionBudget refused: the
// PetSet is synced again, with backoff, and never deletes the pet past the
// budget.
var errEvictionBlocked = errors.New("a PodDisruptionBudget blocks the eviction")

// evictionBlockedError is an eviction of pod that a PodDisruptionBudget
// refused, with what the budget said; it is errEvictionBlocked.
type evictionBlockedError struct {
	pod, budget string
}

func (e *evictionBlockedError) Error() string {
	return fmt.Sprintf("evict pod %s: %s: %v", e.pod, e.budget, errEvictionBlocked)
}

func (e *evictionBlockedError) Is(target error) bool { return target == errEvictionBlocked }

// disruptionBudgetMessage returns what an eviction refused with 429 says of
// the budget: the DisruptionBudget cause (which names the budget), or the
// message.
func disruptionBudgetMessage(err error) string {
	if status, ok := err.(apierrors.APIStatus); ok {
		if details := status.Status().Details; details != nil {
			for _, cause := range details.Causes {
				if cause.Type == policyv1.DisruptionBudgetCause && cause.Message != "" {
					return cause.Message
				}
			}
		}
	}
	return err.Error()
}

func (pc *realPetControl) GetPetClaim(set *appsv1alpha1.PetSet, template string, ordinal int) (*v1.PersistentVolumeClaim, error) {
	claim, err := pc.objects.GetClaim(set.Namespace, getClaimName(set, template, ordinal))
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get claim %s of pet %s: %w", template, getPetName(set, ordinal), err)
	}
	return claim, nil
}

// claimRequestPatch is a strategic merge patch of a claim's storage request;
// the claim's UID makes it fail if the name now belongs to another claim.
type claimRequestPatch struct {
	Metadata struct {
		UID types.UID `json:"uid"`
	} `json:"metadata"`
	Spec struct {
		Resources struct {
			Requests v1.ResourceList `json:"requests"`
		} `json:"resources"`
	} `json:"spec"`
}

func (pc *realPetControl) ExpandClaim(ctx context.Context, set *appsv1alpha1.PetSet, claim *v1.PersistentVolumeClaim, request resource.Quantity) error {
	var patch claimRequestPatch
	patch.Metadata.UID = claim.UID
	patch.Spec.Resources.Requests = v1.ResourceList{v1.ResourceStorage: request}
	raw, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("build expansion patch for claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	return pc.objects.PatchClaim(ctx, claim.Namespace, claim.Name, raw)
}

// errReevaluate marks a write that was not made because the object changed
// since the decision: the PetSet is synced again, with backoff.
var errReevaluate = errors.New("the PetSet is evaluated again")

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
	switch verb {
	case "delete":
		return reasonSuccessfulDelete
	case "evict":
		return reasonSuccessfulEvict
	}
	return reasonSuccessfulCreate
}

func failureReason(verb string) string {
	switch verb {
	case "delete":
		return reasonFailedDelete
	case "evict":
		return reasonFailedEvict
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
