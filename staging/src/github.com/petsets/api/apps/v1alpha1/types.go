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

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	// PetSetInitAnnotation is the pod annotation that pauses a PetSet. A pet
	// whose pod carries it with the value "false" is treated as not ready, so
	// the controller neither scales up nor down until it is set to "true"
	// (or removed). It is a debugging hook for bootstrapping races.
	PetSetInitAnnotation = "pod.alpha.kubernetes.io/initialized"

	// PetSetPodNameLabel is set on every pet to its pod name, so that a
	// Service can select a single pet.
	PetSetPodNameLabel = "apps.petsets.io/pet-name"

	// PetSetPodOrdinalLabel is set on every pet to its ordinal index.
	PetSetPodOrdinalLabel = "apps.petsets.io/pet-ordinal"

	// PetSetClaimSetLabel is set on every claim the controller creates or
	// adopts to the name of its PetSet. A claim labelled for another PetSet
	// is never mounted.
	PetSetClaimSetLabel = "apps.petsets.io/petset"

	// PetSetClaimTemplateLabel is set on every claim the controller creates
	// or adopts to the name of the volume claim template it comes from.
	PetSetClaimTemplateLabel = "apps.petsets.io/claim-template"

	// PetSetFinalizer is the finalizer that keeps a deleted PetSet until the
	// controller has torn its pets down one at a time from the highest
	// ordinal (or released them, for an orphaning deletion). A server that
	// runs the controller sets it on every PetSet it creates.
	PetSetFinalizer = "apps.petsets.io/pets"

	// ControllerRevisionHashLabel is set on every pet to the name of the
	// ControllerRevision of the template it was created from, as apps/v1
	// does.
	ControllerRevisionHashLabel = "controller-revision-hash"

	// PodIndexLabel is set on every pet to its ordinal, under the key
	// StatefulSet pods carry, so that tools written for StatefulSets find
	// a pet's index.
	PodIndexLabel = "apps.kubernetes.io/pod-index"

	// MaxPetSetNameLength is the longest PetSet name whose pets can exist:
	// "<petset>-<ordinal>" is a pod name, a hostname and a label value
	// (at most 63 characters), and "<petset>-<10-character hash>" names the
	// PetSet's revisions in a label value.
	MaxPetSetNameLength = 52
)

// ReservedLabelKeys are the label keys the controller owns. They may not
// appear in a PetSet's selector, its pod template's labels or its volume
// claim templates' labels.
var ReservedLabelKeys = []string{
	PetSetPodNameLabel,
	PetSetPodOrdinalLabel,
	PetSetClaimSetLabel,
	PetSetClaimTemplateLabel,
	ControllerRevisionHashLabel,
	PodIndexLabel,
}

// +genclient
// +genclient:method=GetScale,verb=get,subresource=scale,result=k8s.io/api/autoscaling/v1.Scale
// +genclient:method=UpdateScale,verb=update,subresource=scale,input=k8s.io/api/autoscaling/v1.Scale,result=k8s.io/api/autoscaling/v1.Scale
// +genclient:method=ApplyScale,verb=apply,subresource=scale,input=k8s.io/api/autoscaling/v1.Scale,result=k8s.io/api/autoscaling/v1.Scale
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PetSet represents a set of pods with consistent identities. Identities are
// defined as:
//   - Network: a single stable DNS name and hostname.
//   - Storage: as many volume claims as requested.
//
// The PetSet guarantees that a given network identity will always map to the
// same storage identity. PetSet is currently in alpha.
type PetSet struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// Spec defines the desired identities of pets in this set.
	// +optional
	Spec PetSetSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`

	// Status is the current status of Pets in this PetSet. This data may be
	// out of date by some window of time.
	// +optional
	Status PetSetStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// PetSetSpec is the specification of a PetSet.
type PetSetSpec struct {
	// Replicas is the desired number of replicas of the given Template.
	// These are replicas in the sense that they are instantiations of the
	// same Template, but individual replicas also have a consistent identity.
	// If unspecified, defaults to 1.
	// +optional
	Replicas *int32 `json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"`

	// Selector is a label query over pods that should match the replica count.
	// If empty, defaulted to labels on the pod template.
	// More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty" protobuf:"bytes,2,opt,name=selector"`

	// Template is the object that describes the pod that will be created if
	// insufficient replicas are detected. Each pod stamped out by the PetSet
	// will fulfill this Template, but have a unique identity from the rest
	// of the PetSet.
	Template corev1.PodTemplateSpec `json:"template" protobuf:"bytes,3,opt,name=template"`

	// VolumeClaimTemplates is a list of claims that pets are allowed to
	// reference. The PetSet controller is responsible for mapping network
	// identities to claims in a way that maintains the identity of a pet.
	// Every claim in this list must have at least one matching (by name)
	// volumeMount in one container in the template. A claim in this list
	// takes precedence over any volumes in the template, with the same name.
	// +optional
	// +listType=atomic
	VolumeClaimTemplates []corev1.PersistentVolumeClaim `json:"volumeClaimTemplates,omitempty" protobuf:"bytes,4,rep,name=volumeClaimTemplates"`

	// ServiceName is the name of the service that governs this PetSet.
	// This service must exist before the PetSet, and is responsible for
	// the network identity of the set. Pets get DNS/hostnames that follow the
	// pattern: pet-specific-string.serviceName.default.svc.cluster.local
	// where "pet-specific-string" is managed by the PetSet controller.
	ServiceName string `json:"serviceName" protobuf:"bytes,5,opt,name=serviceName"`

	// UpdateStrategy says how a change of the pod template reaches the
	// pets. The default, OnDelete, is the Kubernetes 1.4 behaviour: a pet
	// gets the new template when it is deleted and created again.
	// +optional
	UpdateStrategy PetSetUpdateStrategy `json:"updateStrategy,omitempty" protobuf:"bytes,6,opt,name=updateStrategy"`

	// RevisionHistoryLimit is the number of revisions of the pod template
	// kept as ControllerRevisions besides those the pets and the status
	// use. Defaults to 10.
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty" protobuf:"varint,7,opt,name=revisionHistoryLimit"`

	// PodManagementPolicy says how pets are created and deleted.
	// OrderedReady (the default, the Kubernetes 1.4 behaviour) creates
	// pets one at a time in ordinal order, each after the previous one is
	// available, and deletes them one at a time from the highest ordinal.
	// Parallel creates and deletes pets without waiting for the others,
	// in slow-start batches. It cannot change once the PetSet exists.
	// +optional
	PodManagementPolicy PodManagementPolicyType `json:"podManagementPolicy,omitempty" protobuf:"bytes,8,opt,name=podManagementPolicy,casttype=PodManagementPolicyType"`

	// MinReadySeconds is how long a pet must be Ready, without any of its
	// containers crashing, to count as available. Defaults to 0: a pet is
	// available as soon as it is Ready.
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty" protobuf:"varint,9,opt,name=minReadySeconds"`

	// ProgressDeadlineSeconds is how long a rollout or a scaling may go
	// without any pet becoming available or updated before the
	// Progressing condition turns False with reason
	// ProgressDeadlineExceeded. Unset, there is no deadline. It never makes
	// the controller delete anything. Must be greater than minReadySeconds.
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty" protobuf:"varint,10,opt,name=progressDeadlineSeconds"`

	// Ordinals sets the ordinals the pets are numbered with. Without it
	// they are 0..replicas-1.
	// +optional
	Ordinals *PetSetOrdinals `json:"ordinals,omitempty" protobuf:"bytes,11,opt,name=ordinals"`

	// PersistentVolumeClaimRetentionPolicy says whether the claims created
	// from volumeClaimTemplates are deleted when the PetSet is deleted or
	// scaled down. The default, Retain for both, is the Kubernetes 1.4
	// behaviour: claims are never deleted.
	// +optional
	PersistentVolumeClaimRetentionPolicy *PetSetPersistentVolumeClaimRetentionPolicy `json:"persistentVolumeClaimRetentionPolicy,omitempty" protobuf:"bytes,12,opt,name=persistentVolumeClaimRetentionPolicy"`

	// PodRemovalPolicy says how rolling updates, Recreate and scale downs
	// remove pets: Delete (the default, as apps/v1) deletes them; Evict
	// goes through the Eviction API, so that PodDisruptionBudgets are
	// respected: a pet whose eviction a budget refuses is retried with
	// backoff, never deleted past the budget. Pets in phase Failed or
	// Succeeded are deleted, and the teardown of a deleted PetSet deletes
	// its pets, under either policy.
	// +optional
	PodRemovalPolicy PodRemovalPolicyType `json:"podRemovalPolicy,omitempty" protobuf:"bytes,13,opt,name=podRemovalPolicy,casttype=PodRemovalPolicyType"`

	// VolumeClaimUpdatePolicy says when a change of a claim template's
	// storage request reaches the claims (a request may grow, never shrink;
	// a template's labels and annotations may change too):
	// OnClaimDelete (the default) applies it to the claims created from
	// then on; InPlace also updates every existing claim, from the highest
	// ordinal down, each after the previous one has reached its new
	// capacity.
	// +optional
	VolumeClaimUpdatePolicy VolumeClaimUpdatePolicyType `json:"volumeClaimUpdatePolicy,omitempty" protobuf:"bytes,14,opt,name=volumeClaimUpdatePolicy,casttype=VolumeClaimUpdatePolicyType"`
}

// VolumeClaimUpdatePolicyType names when claim template changes reach
// existing claims.
// +enum
type VolumeClaimUpdatePolicyType string

const (
	// OnClaimDeleteVolumeClaimUpdatePolicy leaves existing claims as they
	// are: a claim gets the template's request when it is created again.
	OnClaimDeleteVolumeClaimUpdatePolicy VolumeClaimUpdatePolicyType = "OnClaimDelete"
	// InPlaceVolumeClaimUpdatePolicy expands existing claims to the
	// template's request.
	InPlaceVolumeClaimUpdatePolicy VolumeClaimUpdatePolicyType = "InPlace"
)

// PodRemovalPolicyType names how a PetSet removes pets.
// +enum
type PodRemovalPolicyType string

const (
	// DeletePodRemovalPolicy deletes pets.
	DeletePodRemovalPolicy PodRemovalPolicyType = "Delete"
	// EvictPodRemovalPolicy evicts pets through the Eviction API.
	EvictPodRemovalPolicy PodRemovalPolicyType = "Evict"
)

// PodManagementPolicyType names how a PetSet creates and deletes its pets.
// +enum
type PodManagementPolicyType string

const (
	// OrderedReadyPodManagement creates pets in ordinal order, each after
	// the previous one is available, and deletes them in reverse order,
	// each after the previous one is gone. It is the default.
	OrderedReadyPodManagement PodManagementPolicyType = "OrderedReady"
	// ParallelPodManagement creates and deletes pets without waiting for
	// the other pets, in batches of 1, 2, 4, ... (at most 500).
	ParallelPodManagement PodManagementPolicyType = "Parallel"
)

// PetSetOrdinals sets the numbering of a PetSet's pets.
type PetSetOrdinals struct {
	// Start is the ordinal of the first pet: the pets are
	// <name>-<start> .. <name>-<start+replicas-1>. Defaults to 0.
	// +optional
	Start int32 `json:"start" protobuf:"varint,1,opt,name=start"`
}

// PersistentVolumeClaimRetentionPolicyType says what happens to the claims
// of a pet that goes away.
// +enum
type PersistentVolumeClaimRetentionPolicyType string

const (
	// RetainPersistentVolumeClaimRetentionPolicyType keeps the claims.
	RetainPersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Retain"
	// DeletePersistentVolumeClaimRetentionPolicyType has the garbage
	// collector delete the claims.
	DeletePersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Delete"
)

// PetSetPersistentVolumeClaimRetentionPolicy says what happens to the
// claims created from volumeClaimTemplates.
type PetSetPersistentVolumeClaimRetentionPolicy struct {
	// WhenDeleted applies when the PetSet is deleted: Retain (the default)
	// keeps the claims; Delete makes them dependents of the PetSet, so the
	// garbage collector deletes them once it is gone.
	// +optional
	WhenDeleted PersistentVolumeClaimRetentionPolicyType `json:"whenDeleted,omitempty" protobuf:"bytes,1,opt,name=whenDeleted,casttype=PersistentVolumeClaimRetentionPolicyType"`

	// WhenScaled applies when the PetSet is scaled down: Retain (the
	// default) keeps the claims; Delete makes the claims of each condemned
	// pet dependents of its pod, so the garbage collector deletes them
	// once the pod is gone.
	// +optional
	WhenScaled PersistentVolumeClaimRetentionPolicyType `json:"whenScaled,omitempty" protobuf:"bytes,2,opt,name=whenScaled,casttype=PersistentVolumeClaimRetentionPolicyType"`
}

// PetSetUpdateStrategyType names an update strategy.
// +enum
type PetSetUpdateStrategyType string

const (
	// OnDeletePetSetStrategyType gives a pet the current template only
	// when it is deleted (by the user, or because it Failed) and created
	// again. It is the default, and the Kubernetes 1.4 behaviour.
	OnDeletePetSetStrategyType PetSetUpdateStrategyType = "OnDelete"
	// RollingUpdatePetSetStrategyType replaces the pets that run an older
	// template from the highest ordinal down to the partition, never more
	// than maxUnavailable unavailable at once.
	RollingUpdatePetSetStrategyType PetSetUpdateStrategyType = "RollingUpdate"
	// RecreatePetSetStrategyType deletes every pet that runs an older
	// template, waits until none remains, then creates the pets again in
	// order.
	RecreatePetSetStrategyType PetSetUpdateStrategyType = "Recreate"
)

// PetSetUpdateStrategy says how a change of the pod template reaches the
// pets.
type PetSetUpdateStrategy struct {
	// Type is OnDelete (the default), RollingUpdate or Recreate.
	// +optional
	Type PetSetUpdateStrategyType `json:"type,omitempty" protobuf:"bytes,1,opt,name=type,casttype=PetSetUpdateStrategyType"`

	// RollingUpdate tunes the RollingUpdate strategy; only with it.
	// +optional
	RollingUpdate *RollingUpdatePetSetStrategy `json:"rollingUpdate,omitempty" protobuf:"bytes,2,opt,name=rollingUpdate"`
}

// RollingUpdatePetSetStrategy tunes a rolling update.
type RollingUpdatePetSetStrategy struct {
	// Partition: pets whose ordinal is below it keep the current revision
	// during a rolling update, even when they are deleted. Defaults to 0.
	// +optional
	Partition *int32 `json:"partition,omitempty" protobuf:"varint,1,opt,name=partition"`

	// MaxUnavailable is how many pets may be unavailable at once during a
	// rolling update, counting pets that are already unavailable: a number
	// of at least 1, or a percentage of spec.replicas, rounded down with a
	// minimum of 1. Defaults to 1.
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty" protobuf:"bytes,2,opt,name=maxUnavailable"`

	// UnhealthyPodPolicy says what a rolling update does with a pet that
	// is unavailable and runs a revision other than the update revision:
	// Wait (the default, as apps/v1) waits for it to become available;
	// ReplaceOldRevision replaces it at once, without using the
	// maxUnavailable budget, under either pod management policy, so that a
	// rollout stuck on a broken template recovers once the template is
	// fixed. A pet that runs the update revision is never replaced for
	// being unhealthy, nor is a pet below the partition or one paused by
	// pod.alpha.kubernetes.io/initialized=false.
	// +optional
	UnhealthyPodPolicy UnhealthyPodPolicyType `json:"unhealthyPodPolicy,omitempty" protobuf:"bytes,3,opt,name=unhealthyPodPolicy,casttype=UnhealthyPodPolicyType"`
}

// UnhealthyPodPolicyType names what a rolling update does with unavailable
// pets of older revisions.
// +enum
type UnhealthyPodPolicyType string

const (
	// WaitUnhealthyPodPolicy waits for an unavailable pet to become
	// available, as apps/v1 does under OrderedReady.
	WaitUnhealthyPodPolicy UnhealthyPodPolicyType = "Wait"
	// ReplaceOldRevisionUnhealthyPodPolicy replaces an unavailable pet of
	// an older revision at once.
	ReplaceOldRevisionUnhealthyPodPolicy UnhealthyPodPolicyType = "ReplaceOldRevision"
)

// PetSetStatus represents the current state of a PetSet.
type PetSetStatus struct {
	// ObservedGeneration is the most recent generation observed by this
	// PetSet.
	// +optional
	ObservedGeneration *int64 `json:"observedGeneration,omitempty" protobuf:"varint,1,opt,name=observedGeneration"`

	// Replicas is the number of actual replicas (pets that exist).
	Replicas int32 `json:"replicas" protobuf:"varint,2,opt,name=replicas"`

	// ReadyReplicas is the number of pets that are Running and Ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty" protobuf:"varint,3,opt,name=readyReplicas"`

	// CurrentReplicas is the number of pets that run currentRevision.
	// +optional
	CurrentReplicas int32 `json:"currentReplicas,omitempty" protobuf:"varint,4,opt,name=currentReplicas"`

	// UpdatedReplicas is the number of pets that run updateRevision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty" protobuf:"varint,5,opt,name=updatedReplicas"`

	// CurrentRevision is the name of the ControllerRevision of the
	// template the pets ran before the update in progress: the revision
	// of every pet once an update is complete.
	// +optional
	CurrentRevision string `json:"currentRevision,omitempty" protobuf:"bytes,6,opt,name=currentRevision"`

	// UpdateRevision is the name of the ControllerRevision of the current
	// pod template.
	// +optional
	UpdateRevision string `json:"updateRevision,omitempty" protobuf:"bytes,7,opt,name=updateRevision"`

	// CollisionCount counts the hash collisions of the PetSet's revision
	// names; it goes into the hash of the next revision name. It never
	// decreases.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty" protobuf:"varint,8,opt,name=collisionCount"`

	// AvailableReplicas is the number of pets that have been Ready for at
	// least spec.minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty" protobuf:"varint,9,opt,name=availableReplicas"`

	// Conditions are the latest observations of the PetSet's state. The
	// condition Available is True when enough pets are available.
	// +optional
	// +patchMergeKey=type
	// +patchStrategy=merge
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type" protobuf:"bytes,10,rep,name=conditions"`

	// VolumeClaimTemplates reports, per claim template, how many claims
	// of the pets exist and how many have reached the template's storage
	// request.
	// +optional
	// +listType=map
	// +listMapKey=templateName
	VolumeClaimTemplates []PetSetVolumeClaimTemplateStatus `json:"volumeClaimTemplates,omitempty" protobuf:"bytes,11,rep,name=volumeClaimTemplates"`
}

// PetSetVolumeClaimTemplateStatus is the state of the claims of one claim
// template.
type PetSetVolumeClaimTemplateStatus struct {
	// TemplateName is the name of the claim template.
	TemplateName string `json:"templateName" protobuf:"bytes,1,opt,name=templateName"`
	// Claims is how many pets in range have their claim of the template.
	Claims int32 `json:"claims" protobuf:"varint,2,opt,name=claims"`
	// ClaimsAtSize is how many of those claims have a capacity of at least
	// the template's storage request.
	ClaimsAtSize int32 `json:"claimsAtSize" protobuf:"varint,3,opt,name=claimsAtSize"`
}

// PetSetAvailable is the condition type that is True when enough of a
// PetSet's pets are available: at least spec.replicas minus
// rollingUpdate.maxUnavailable (under RollingUpdate; minus 0 otherwise),
// and at least one when spec.replicas > 0.
const PetSetAvailable = "Available"

// PetSetProgressing is the condition type that says whether a PetSet's
// rollout or scaling makes progress: True with reason RolloutInProgress or
// ScalingInProgress while pets are replaced or added, RolloutComplete (or
// PartitionedRolloutComplete) once done; True with reason
// WaitingForPetDeletion (OnDelete pets of older revisions) or PetPaused (a
// pet paused by pod.alpha.kubernetes.io/initialized=false) while the PetSet
// waits by design; False with reason ProgressDeadlineExceeded once no pet has
// become available or updated for spec.progressDeadlineSeconds.
const PetSetProgressing = "Progressing"

// PetSetPodRemovalBlocked is the condition type, under podRemovalPolicy
// Evict, that is True (reason DisruptionBudget, quoting the budget) while a
// PodDisruptionBudget refuses the eviction of a pet.
const PetSetPodRemovalBlocked = "PodRemovalBlocked"

// PetSetClaimsExpanded is the condition type, under volumeClaimUpdatePolicy
// InPlace, that is True (reason AllClaimsAtSize) when every claim has
// reached its template's storage request, and False with reason
// ExpansionInProgress or ExpansionFailed otherwise.
const PetSetClaimsExpanded = "ClaimsExpanded"

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PetSetList is a collection of PetSets.
type PetSetList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// Items is the list of PetSets.
	Items []PetSet `json:"items" protobuf:"bytes,2,rep,name=items"`
}
