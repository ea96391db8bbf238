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
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// controllerKind is the GroupVersionKind written into the controller
// ownerReference of every pet.
var controllerKind = appsv1alpha1.SchemeGroupVersion.WithKind("PetSet")

// getParentNameAndOrdinal splits a pet name "<petset>-<ordinal>" into the
// PetSet name and the ordinal. The ordinal must be written canonically (no
// sign, no leading zeros), so "web-01" is not an alias of "web-1". It
// returns ("", -1) for names that do not follow the pattern.
func getParentNameAndOrdinal(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return "", -1
	}
	suffix := name[i+1:]
	ordinal, err := strconv.Atoi(suffix)
	if err != nil || ordinal < 0 || strconv.Itoa(ordinal) != suffix {
		return "", -1
	}
	return name[:i], ordinal
}

// getOrdinal returns the ordinal of a pet, or -1 if the pod name does not
// carry one.
func getOrdinal(pod *v1.Pod) int {
	_, ordinal := getParentNameAndOrdinal(pod.Name)
	return ordinal
}

// getPetName returns the name of the pet with the given ordinal.
func getPetName(set *appsv1alpha1.PetSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

// isMemberOf reports whether the pod's name is a pet name of set, that is
// "<set>-<ordinal>".
func isMemberOf(set *appsv1alpha1.PetSet, pod *v1.Pod) bool {
	parent, ordinal := getParentNameAndOrdinal(pod.Name)
	return ordinal >= 0 && parent == set.Name
}

// getClaimName returns the name of the claim made from the template named
// claimTemplateName for the pet with the given ordinal:
// "<claim>-<petset>-<ordinal>".
func getClaimName(set *appsv1alpha1.PetSet, claimTemplateName string, ordinal int) string {
	return fmt.Sprintf("%s-%s", claimTemplateName, getPetName(set, ordinal))
}

// replicasOf returns the desired number of pets (spec.replicas, 1 when unset).
func replicasOf(set *appsv1alpha1.PetSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// startOrdinalOf returns the ordinal of the first pet (spec.ordinals.start,
// 0 when unset).
func startOrdinalOf(set *appsv1alpha1.PetSet) int {
	if set.Spec.Ordinals == nil {
		return 0
	}
	return int(set.Spec.Ordinals.Start)
}

// ordinalInRange reports whether the pet with the given ordinal is one
// set wants: start <= ordinal < start+replicas.
func ordinalInRange(set *appsv1alpha1.PetSet, ordinal int) bool {
	start := startOrdinalOf(set)
	return ordinal >= start && ordinal < start+replicasOf(set)
}

// getSelector returns the PetSet's label selector. A nil or empty selector is
// an error: it would select every pod in the namespace.
func getSelector(set *appsv1alpha1.PetSet) (labels.Selector, error) {
	if set.Spec.Selector == nil {
		return nil, fmt.Errorf("PetSet %s/%s has no selector", set.Namespace, set.Name)
	}
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("PetSet %s/%s has an invalid selector: %w", set.Namespace, set.Name, err)
	}
	if selector.Empty() {
		return nil, fmt.Errorf("PetSet %s/%s has an empty selector", set.Namespace, set.Name)
	}
	return selector, nil
}

// isPodReady reports whether the pod's PodReady condition is True.
func isPodReady(pod *v1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// isPaused reports whether the pod carries the debug hook
// pod.alpha.kubernetes.io/initialized with a false value. Such a pet counts as
// not ready, which pauses the whole PetSet. A missing or unparsable value does
// not pause.
func isPaused(pod *v1.Pod) bool {
	value, ok := pod.Annotations[appsv1alpha1.PetSetInitAnnotation]
	if !ok {
		return false
	}
	initialized, err := strconv.ParseBool(value)
	return err == nil && !initialized
}

// isRunningAndReady reports whether the pet is Running, its PodReady
// condition is True, and it is not paused by the initialized annotation.
func isRunningAndReady(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodRunning && isPodReady(pod) && !isPaused(pod)
}

// readySince returns when the pod's PodReady condition last became True;
// zero when it is not True or the time is not recorded.
func readySince(pod *v1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// availableIn returns how long it takes the pet to be available: Running
// and Ready (isRunningAndReady) for at least minReadySeconds, as apps/v1
// counts it. It is 0 when the pet is available at now, and ok is false when
// it is not Running and Ready, or its Ready condition has no transition
// time while minReadySeconds is positive (no time makes it available then).
func availableIn(pod *v1.Pod, minReadySeconds int32, now time.Time) (wait time.Duration, ok bool) {
	if !isRunningAndReady(pod) {
		return 0, false
	}
	if minReadySeconds <= 0 {
		return 0, true
	}
	since := readySince(pod)
	if since.IsZero() {
		return 0, false
	}
	return max(0, since.Add(time.Duration(minReadySeconds)*time.Second).Sub(now)), true
}

// isAvailable reports whether the pet has been Running and Ready for at
// least minReadySeconds at now.
func isAvailable(pod *v1.Pod, minReadySeconds int32, now time.Time) bool {
	wait, ok := availableIn(pod, minReadySeconds, now)
	return ok && wait == 0
}

// isTerminating reports whether the pod is being deleted.
func isTerminating(pod *v1.Pod) bool {
	return pod.DeletionTimestamp != nil
}

// isTerminated reports whether the pod has reached a terminal phase and must
// be replaced.
func isTerminated(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodFailed || pod.Status.Phase == v1.PodSucceeded
}

// isHealthy reports whether the pet lets the PetSet make progress: Running,
// Ready, not paused and not terminating.
func isHealthy(pod *v1.Pod) bool {
	return isRunningAndReady(pod) && !isTerminating(pod)
}

// hasFinalizer reports whether the object's finalizers contain finalizer.
func hasFinalizer(obj metav1.Object, finalizer string) bool {
	return slices.Contains(obj.GetFinalizers(), finalizer)
}

// newControllerRef returns the ownerReference that makes set the controller of
// a pet.
func newControllerRef(set *appsv1alpha1.PetSet) *metav1.OwnerReference {
	return metav1.NewControllerRef(set, controllerKind)
}

// isControlledBy reports whether the pod's controller ownerReference points to
// set (by UID).
func isControlledBy(pod *v1.Pod, set *appsv1alpha1.PetSet) bool {
	ref := metav1.GetControllerOfNoCopy(pod)
	return ref != nil && ref.UID == set.UID
}

// identityLabels returns the labels that carry a pet's identity: its name
// and its ordinal, the latter also under the key StatefulSet pods carry
// (apps.kubernetes.io/pod-index), which tools written for StatefulSets read.
func identityLabels(set *appsv1alpha1.PetSet, ordinal int) map[string]string {
	return map[string]string{
		appsv1alpha1.PetSetPodNameLabel:    getPetName(set, ordinal),
		appsv1alpha1.PetSetPodOrdinalLabel: strconv.Itoa(ordinal),
		appsv1alpha1.PodIndexLabel:         strconv.Itoa(ordinal),
	}
}

// claimLabels returns the labels that tie a claim to its PetSet and claim
// template.
func claimLabels(set *appsv1alpha1.PetSet, template string) map[string]string {
	return map[string]string{
		appsv1alpha1.PetSetClaimSetLabel:      set.Name,
		appsv1alpha1.PetSetClaimTemplateLabel: template,
	}
}

// newPetClaims returns the claims of the pet with the given ordinal, keyed by
// the name of their claim template. Each claim carries the template's
// annotations and spec, the template's labels plus the selector's matchLabels,
// the pet name label and the claim labels, and no ownerReference: claims
// outlive pets and the PetSet.
func newPetClaims(set *appsv1alpha1.PetSet, ordinal int) map[string]*v1.PersistentVolumeClaim {
	claims := make(map[string]*v1.PersistentVolumeClaim, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		template := &set.Spec.VolumeClaimTemplates[i]
		l := make(map[string]string, len(template.Labels)+3)
		maps.Copy(l, template.Labels)
		if set.Spec.Selector != nil {
			maps.Copy(l, set.Spec.Selector.MatchLabels)
		}
		l[appsv1alpha1.PetSetPodNameLabel] = getPetName(set, ordinal)
		maps.Copy(l, claimLabels(set, template.Name))
		claims[template.Name] = &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:        getClaimName(set, template.Name, ordinal),
				Namespace:   set.Namespace,
				Labels:      l,
				Annotations: maps.Clone(template.Annotations),
			},
			Spec: *template.Spec.DeepCopy(),
		}
	}
	return claims
}

// newPet builds the pod of the pet with the given ordinal from the PetSet's
// current template, with its network identity (name, hostname, subdomain,
// labels), its storage (one volume per claim template) and the controller
// ownerReference.
func newPet(set *appsv1alpha1.PetSet, ordinal int) *v1.Pod {
	return newPetFromTemplate(set, &set.Spec.Template, ordinal, "")
}

// newPetFromTemplate builds the pod of the pet with the given ordinal from
// template (the template a revision holds), labelled with the revision's
// name when it is not empty.
func newPetFromTemplate(set *appsv1alpha1.PetSet, from *v1.PodTemplateSpec, ordinal int, revision string) *v1.Pod {
	name := getPetName(set, ordinal)
	template := from.DeepCopy()
	l := make(map[string]string, len(template.Labels)+3)
	maps.Copy(l, template.Labels)
	maps.Copy(l, identityLabels(set, ordinal))
	if revision != "" {
		l[appsv1alpha1.ControllerRevisionHashLabel] = revision
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       set.Namespace,
			Labels:          l,
			Annotations:     template.Annotations,
			Finalizers:      template.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*newControllerRef(set)},
		},
		Spec: template.Spec,
	}
	pod.Spec.Hostname = name
	pod.Spec.Subdomain = set.Spec.ServiceName
	pod.Spec.Volumes = petVolumes(set, ordinal, pod.Spec.Volumes)
	return pod
}

// petVolumes returns volumes with one volume per claim template, named after
// the template and pointing at the pet's claim. A claim template takes
// precedence over a template volume of the same name.
func petVolumes(set *appsv1alpha1.PetSet, ordinal int, volumes []v1.Volume) []v1.Volume {
	templates := set.Spec.VolumeClaimTemplates
	if len(templates) == 0 {
		return volumes
	}
	out := make([]v1.Volume, 0, len(volumes)+len(templates))
	claimed := make(map[string]bool, len(templates))
	for i := range templates {
		claimed[templates[i].Name] = true
		out = append(out, v1.Volume{
			Name: templates[i].Name,
			VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{
					ClaimName: getClaimName(set, templates[i].Name, ordinal),
				},
			},
		})
	}
	for _, v := range volumes {
		if !claimed[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// identityMatches reports whether the pet carries the identity labels of
// the ordinal its name gives. These are the part of a pet's identity that can
// drift (an edit, or an adopted pod that never had them) and be repaired in
// place; name, hostname and subdomain are fixed at creation.
func identityMatches(set *appsv1alpha1.PetSet, pod *v1.Pod) bool {
	ordinal := getOrdinal(pod)
	if ordinal < 0 {
		return false
	}
	for key, value := range identityLabels(set, ordinal) {
		if got, ok := pod.Labels[key]; !ok || got != value {
			return false
		}
	}
	return true
}

// sortByOrdinal sorts pets by ascending ordinal.
func sortByOrdinal(pods []*v1.Pod) {
	slices.SortFunc(pods, func(a, b *v1.Pod) int { return getOrdinal(a) - getOrdinal(b) })
}
