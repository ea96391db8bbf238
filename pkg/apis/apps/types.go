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

package apps

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PetSet represents a set of pods with consistent identities: a stable
// network name and hostname, and stable storage.
type PetSet struct {
	metav1.TypeMeta
	metav1.ObjectMeta

	// Spec defines the desired identities of pets in this set.
	Spec PetSetSpec

	// Status is the current status of the pets in this PetSet.
	Status PetSetStatus
}

// PetSetSpec is the specification of a PetSet.
type PetSetSpec struct {
	// Replicas is the desired number of pets.
	Replicas int32

	// Selector is a label query over the pets of this set.
	Selector *metav1.LabelSelector

	// Template describes the pod each pet runs.
	Template corev1.PodTemplateSpec

	// VolumeClaimTemplates are the claims each pet gets one of, named
	// <claim>-<petset>-<ordinal>.
	VolumeClaimTemplates []corev1.PersistentVolumeClaim

	// ServiceName is the governing headless Service of the set.
	ServiceName string

	// UpdateStrategy says how a template change reaches the pets.
	UpdateStrategy PetSetUpdateStrategy

	// RevisionHistoryLimit is the number of template revisions kept
	// besides those in use.
	RevisionHistoryLimit *int32

	// PodManagementPolicy is OrderedReady or Parallel; immutable.
	PodManagementPolicy PodManagementPolicyType

	// MinReadySeconds is how long a pet must be Ready to be available.
	MinReadySeconds int32

	// ProgressDeadlineSeconds bounds a rollout without progress; nil means
	// no deadline.
	ProgressDeadlineSeconds *int32

	// Ordinals sets the first ordinal; nil means 0.
	Ordinals *PetSetOrdinals

	// PersistentVolumeClaimRetentionPolicy says when claims are deleted.
	PersistentVolumeClaimRetentionPolicy *PetSetPersistentVolumeClaimRetentionPolicy

	// PodRemovalPolicy is Delete or Evict.
	PodRemovalPolicy PodRemovalPolicyType

	// VolumeClaimUpdatePolicy is OnClaimDelete or InPlace.
	VolumeClaimUpdatePolicy VolumeClaimUpdatePolicyType
}

// VolumeClaimUpdatePolicyType names when claim template changes reach
// existing claims.
type VolumeClaimUpdatePolicyType string

// The volume claim update policies.
const (
	OnClaimDeleteVolumeClaimUpdatePolicy VolumeClaimUpdatePolicyType = "OnClaimDelete"
	InPlaceVolumeClaimUpdatePolicy       VolumeClaimUpdatePolicyType = "InPlace"
)

// PodRemovalPolicyType names how a PetSet removes pets.
type PodRemovalPolicyType string

// The pod removal policies.
const (
	DeletePodRemovalPolicy PodRemovalPolicyType = "Delete"
	EvictPodRemovalPolicy  PodRemovalPolicyType = "Evict"
)

// PodManagementPolicyType names how a PetSet creates and deletes its pets.
type PodManagementPolicyType string

// The pod management policies.
const (
	OrderedReadyPodManagement PodManagementPolicyType = "OrderedReady"
	ParallelPodManagement     PodManagementPolicyType = "Parallel"
)

// PetSetOrdinals sets the numbering of the pets.
type PetSetOrdinals struct {
	// Start is the ordinal of the first pet.
	Start int32
}

// PersistentVolumeClaimRetentionPolicyType is Retain or Delete.
type PersistentVolumeClaimRetentionPolicyType string

// The claim retention policies.
const (
	RetainPersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Retain"
	DeletePersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Delete"
)

// PetSetPersistentVolumeClaimRetentionPolicy says what happens to the
// claims of pets that go away with the PetSet or a scale down.
type PetSetPersistentVolumeClaimRetentionPolicy struct {
	WhenDeleted PersistentVolumeClaimRetentionPolicyType
	WhenScaled  PersistentVolumeClaimRetentionPolicyType
}

// PetSetUpdateStrategyType names an update strategy.
type PetSetUpdateStrategyType string

// The update strategies.
const (
	OnDeletePetSetStrategyType      PetSetUpdateStrategyType = "OnDelete"
	RollingUpdatePetSetStrategyType PetSetUpdateStrategyType = "RollingUpdate"
	RecreatePetSetStrategyType      PetSetUpdateStrategyType = "Recreate"
)

// PetSetUpdateStrategy says how a template change reaches the pets.
type PetSetUpdateStrategy struct {
	Type          PetSetUpdateStrategyType
	RollingUpdate *RollingUpdatePetSetStrategy
}

// RollingUpdatePetSetStrategy tunes a rolling update.
type RollingUpdatePetSetStrategy struct {
	// Partition: pets below it keep the current revision.
	Partition *int32
	// MaxUnavailable bounds the unavailable pets during a rolling update.
	MaxUnavailable *intstr.IntOrString
	// UnhealthyPodPolicy: Wait, or ReplaceOldRevision to replace
	// unavailable pets of older revisions at once.
	UnhealthyPodPolicy UnhealthyPodPolicyType
}

// UnhealthyPodPolicyType names what a rolling update does with unavailable
// pets of older revisions.
type UnhealthyPodPolicyType string

// The unhealthy pod policies.
const (
	WaitUnhealthyPodPolicy               UnhealthyPodPolicyType = "Wait"
	ReplaceOldRevisionUnhealthyPodPolicy UnhealthyPodPolicyType = "ReplaceOldRevision"
)

// PetSetStatus represents the current state of a PetSet.
type PetSetStatus struct {
	// ObservedGeneration is the most recent generation the controller acted on.
	ObservedGeneration *int64

	// Replicas is the number of pets that exist.
	Replicas int32

	// ReadyReplicas is the number of pets that are Running and Ready.
	ReadyReplicas int32

	// CurrentReplicas and UpdatedReplicas count the pets at
	// CurrentRevision and UpdateRevision.
	CurrentReplicas int32
	UpdatedReplicas int32

	// CurrentRevision and UpdateRevision name ControllerRevisions.
	CurrentRevision string
	UpdateRevision  string

	// CollisionCount counts revision name collisions; it never decreases.
	CollisionCount *int32

	// AvailableReplicas is the number of pets Ready for at least
	// spec.minReadySeconds.
	AvailableReplicas int32

	// Conditions are the latest observations of the PetSet's state.
	Conditions []metav1.Condition

	// VolumeClaimTemplates reports the claims of each claim template.
	VolumeClaimTemplates []PetSetVolumeClaimTemplateStatus
}

// PetSetVolumeClaimTemplateStatus is the state of the claims of one claim
// template.
type PetSetVolumeClaimTemplateStatus struct {
	TemplateName string
	Claims       int32
	ClaimsAtSize int32
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PetSetList is a collection of PetSets.
type PetSetList struct {
	metav1.TypeMeta
	metav1.ListMeta

	Items []PetSet
}
