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
}

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
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PetSetList is a collection of PetSets.
type PetSetList struct {
	metav1.TypeMeta
	metav1.ListMeta

	Items []PetSet
}
