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

package plugin

import (
	"strconv"
	"strings"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The pets of a PetSet as the controller sees them: the pods it controls
// named <petset>-<ordinal>, with the controller's notion of ready.

// petOrdinal returns the ordinal of pod if it is a pet of set (named
// "<set>-<ordinal>", the ordinal written canonically, and controlled by set),
// or -1.
func petOrdinal(set *appsv1alpha1.PetSet, pod *corev1.Pod) int {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.UID != set.UID {
		return -1
	}
	suffix, ok := strings.CutPrefix(pod.Name, set.Name+"-")
	if !ok {
		return -1
	}
	ordinal, err := strconv.Atoi(suffix)
	if err != nil || ordinal < 0 || strconv.Itoa(ordinal) != suffix {
		return -1
	}
	return ordinal
}

// petsByOrdinal returns the pets of set among pods by ordinal.
func petsByOrdinal(set *appsv1alpha1.PetSet, pods []*corev1.Pod) map[int]*corev1.Pod {
	pets := make(map[int]*corev1.Pod, len(pods))
	for _, pod := range pods {
		if ordinal := petOrdinal(set, pod); ordinal >= 0 {
			pets[ordinal] = pod
		}
	}
	return pets
}

// petReady reports whether a pet counts as ready, as the controller counts
// status.readyReplicas: Running, its Ready condition True, not paused by
// the pod.alpha.kubernetes.io/initialized debug hook, and not terminating.
func petReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	if value, ok := pod.Annotations[appsv1alpha1.PetSetInitAnnotation]; ok {
		if initialized, err := strconv.ParseBool(value); err == nil && !initialized {
			return false
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// petRevision returns the name of the revision a pet was created from.
func petRevision(pod *corev1.Pod) string {
	return pod.Labels[appsv1alpha1.ControllerRevisionHashLabel]
}

// replicasOf returns spec.replicas, 1 when unset.
func replicasOf(set *appsv1alpha1.PetSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// strategyOf returns the update strategy type, OnDelete when unset.
func strategyOf(set *appsv1alpha1.PetSet) appsv1alpha1.PetSetUpdateStrategyType {
	if t := set.Spec.UpdateStrategy.Type; t != "" {
		return t
	}
	return appsv1alpha1.OnDeletePetSetStrategyType
}

// partitionOf returns the partition of a RollingUpdate PetSet, between 0
// and replicas; 0 for the other strategies.
func partitionOf(set *appsv1alpha1.PetSet) int {
	ru := set.Spec.UpdateStrategy.RollingUpdate
	if strategyOf(set) != appsv1alpha1.RollingUpdatePetSetStrategyType || ru == nil || ru.Partition == nil {
		return 0
	}
	return min(max(int(*ru.Partition), 0), replicasOf(set))
}
