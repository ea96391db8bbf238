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
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_PetSet applies the Kubernetes 1.4 PetSet defaults: the
// selector and the PetSet's own labels come from the pod template's labels
// when they are not set, and replicas defaults to 1. The pod template and the
// claim templates get the same defaults kube-apiserver gives pods and claims
// (through the generated object defaulter).
func SetDefaults_PetSet(obj *appsv1alpha1.PetSet) {
	labels := obj.Spec.Template.Labels
	if len(labels) > 0 {
		if obj.Spec.Selector == nil {
			obj.Spec.Selector = &metav1.LabelSelector{MatchLabels: copyLabels(labels)}
		}
		if len(obj.Labels) == 0 {
			obj.Labels = copyLabels(labels)
		}
	}
	if obj.Spec.Replicas == nil {
		obj.Spec.Replicas = new(int32(1))
	}
	// Later additions, each keeping the 1.4 behaviour by default: a
	// template change reaches a pet when it is deleted.
	strategy := &obj.Spec.UpdateStrategy
	if strategy.Type == "" {
		strategy.Type = appsv1alpha1.OnDeletePetSetStrategyType
	}
	if strategy.Type == appsv1alpha1.RollingUpdatePetSetStrategyType {
		if strategy.RollingUpdate == nil {
			strategy.RollingUpdate = &appsv1alpha1.RollingUpdatePetSetStrategy{}
		}
		if strategy.RollingUpdate.Partition == nil {
			strategy.RollingUpdate.Partition = new(int32(0))
		}
		if strategy.RollingUpdate.MaxUnavailable == nil {
			strategy.RollingUpdate.MaxUnavailable = new(intstr.FromInt32(1))
		}
		if strategy.RollingUpdate.UnhealthyPodPolicy == "" {
			strategy.RollingUpdate.UnhealthyPodPolicy = appsv1alpha1.WaitUnhealthyPodPolicy
		}
	}
	if obj.Spec.RevisionHistoryLimit == nil {
		obj.Spec.RevisionHistoryLimit = new(int32(10))
	}
	// Pets are created and deleted in order, and their claims are never
	// deleted, as in Kubernetes 1.4 (and as apps/v1 defaults).
	if obj.Spec.PodManagementPolicy == "" {
		obj.Spec.PodManagementPolicy = appsv1alpha1.OrderedReadyPodManagement
	}
	if obj.Spec.PersistentVolumeClaimRetentionPolicy == nil {
		obj.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{}
	}
	policy := obj.Spec.PersistentVolumeClaimRetentionPolicy
	if policy.WhenDeleted == "" {
		policy.WhenDeleted = appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if policy.WhenScaled == "" {
		policy.WhenScaled = appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if obj.Spec.PodRemovalPolicy == "" {
		obj.Spec.PodRemovalPolicy = appsv1alpha1.DeletePodRemovalPolicy
	}
	if obj.Spec.VolumeClaimUpdatePolicy == "" {
		obj.Spec.VolumeClaimUpdatePolicy = appsv1alpha1.OnClaimDeleteVolumeClaimUpdatePolicy
	}
}

func copyLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
