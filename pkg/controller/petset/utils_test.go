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
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGetParentNameAndOrdinal(t *testing.T) {
	tests := []struct {
		name       string
		wantParent string
		wantOrd    int
	}{
		{"web-0", "web", 0},
		{"web-12", "web", 12},
		{"my-web-3", "my-web", 3},
		{"web-01", "", -1},
		{"web-+1", "", -1},
		{"web--1", "web-", 1},
		{"web-", "", -1},
		{"-1", "", -1},
		{"web", "", -1},
		{"web-x", "", -1},
		{"web-99999999999999999999", "", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, ordinal := getParentNameAndOrdinal(tc.name)
			if parent != tc.wantParent || ordinal != tc.wantOrd {
				t.Errorf("getParentNameAndOrdinal(%q) = (%q, %d), want (%q, %d)", tc.name, parent, ordinal, tc.wantParent, tc.wantOrd)
			}
		})
	}
}

func TestIsMemberOf(t *testing.T) {
	set := newPetSet(3)
	for name, want := range map[string]bool{
		"web-0": true, "web-7": true, "web-01": false, "webx-0": false, "my-web-0": false, "web": false,
	} {
		pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if got := isMemberOf(set, pod); got != want {
			t.Errorf("isMemberOf(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIsRunningAndReady(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		want bool
	}{
		{"running and ready", testPet(0), true},
		{"pending", testPet(0, pending), false},
		{"running, not ready", testPet(0, func(p *v1.Pod) { p.Status.Conditions[0].Status = v1.ConditionFalse }), false},
		{"running, no conditions", testPet(0, func(p *v1.Pod) { p.Status.Conditions = nil }), false},
		{"failed", testPet(0, phase(v1.PodFailed)), false},
		{"initialized false", testPet(0, setInitialized("false")), false},
		{"initialized False", testPet(0, setInitialized("False")), false},
		{"initialized true", testPet(0, setInitialized("true")), true},
		{"initialized absent", testPet(0, setInitialized("")), true},
		{"initialized unparsable", testPet(0, setInitialized("maybe")), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := isRunningAndReady(tc.pod); got != tc.want {
				t.Errorf("isRunningAndReady() = %v, want %v", got, tc.want)
			}
		})
	}
	if !isTerminating(testPet(0, terminating)) || isHealthy(testPet(0, terminating)) {
		t.Errorf("a terminating pet must not be healthy")
	}
}

func TestNewPet(t *testing.T) {
	set := newPetSet(3)
	pod := newPet(set, 2)

	wantMeta := metav1.ObjectMeta{
		Name:      "web-2",
		Namespace: testNamespace,
		Labels: map[string]string{
			"app":                              "nginx",
			appsv1alpha1.PetSetPodNameLabel:    "web-2",
			appsv1alpha1.PetSetPodOrdinalLabel: "2",
			appsv1alpha1.PodIndexLabel:         "2",
		},
		Annotations: map[string]string{appsv1alpha1.PetSetInitAnnotation: "true"},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion:         "apps/v1alpha1",
			Kind:               "PetSet",
			Name:               "web",
			UID:                "web-uid",
			Controller:         ptrTo(true),
			BlockOwnerDeletion: ptrTo(true),
		}},
	}
	if diff := cmp.Diff(wantMeta, pod.ObjectMeta); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if pod.Spec.Hostname != "web-2" || pod.Spec.Subdomain != "nginx" {
		t.Errorf("hostname %q subdomain %q, want web-2 and nginx", pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	if !fullIdentityMatches(set, pod) || !storageMatches(set, pod) {
		t.Errorf("a new pet does not match its own identity or storage")
	}
	// The pod does not share the template's maps.
	pod.Annotations["x"] = "y"
	pod.Spec.Containers[0].Image = "other"
	if _, ok := set.Spec.Template.Annotations["x"]; ok || set.Spec.Template.Spec.Containers[0].Image != imageOld {
		t.Errorf("newPet aliases the PetSet's template")
	}
}

func TestIdentityAndStorageMatches(t *testing.T) {
	set := newPetSet(3)
	tests := []struct {
		name     string
		mutate   func(*v1.Pod)
		labels   bool
		identity bool
		storage  bool
	}{
		{"unchanged", func(*v1.Pod) {}, true, true, true},
		{"other hostname", func(p *v1.Pod) { p.Spec.Hostname = "x" }, true, false, true},
		{"other subdomain", func(p *v1.Pod) { p.Spec.Subdomain = "x" }, true, false, true},
		{"wrong ordinal label", func(p *v1.Pod) { p.Labels[appsv1alpha1.PetSetPodOrdinalLabel] = "7" }, false, false, true},
		{"no pet name label", func(p *v1.Pod) { delete(p.Labels, appsv1alpha1.PetSetPodNameLabel) }, false, false, true},
		{"no labels at all", func(p *v1.Pod) { p.Labels = nil }, false, false, true},
		{"not controlled", func(p *v1.Pod) { p.OwnerReferences = nil }, true, false, true},
		{"claim volume missing", func(p *v1.Pod) { p.Spec.Volumes = nil }, true, true, false},
		{"claim of another pet", func(p *v1.Pod) { p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = "www-web-0" }, true, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPet(set, 1)
			tc.mutate(pod)
			if got := identityMatches(set, pod); got != tc.labels {
				t.Errorf("identityMatches() = %v, want %v", got, tc.labels)
			}
			if got := fullIdentityMatches(set, pod); got != tc.identity {
				t.Errorf("fullIdentityMatches() = %v, want %v", got, tc.identity)
			}
			if got := storageMatches(set, pod); got != tc.storage {
				t.Errorf("storageMatches() = %v, want %v", got, tc.storage)
			}
		})
	}
}

func TestGetSelector(t *testing.T) {
	set := newPetSet(1)
	if _, err := getSelector(set); err != nil {
		t.Errorf("valid selector: %v", err)
	}
	for name, sel := range map[string]*metav1.LabelSelector{
		"nil":     nil,
		"empty":   {},
		"invalid": {MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}},
	} {
		set.Spec.Selector = sel
		if _, err := getSelector(set); err == nil {
			t.Errorf("%s selector accepted", name)
		}
	}
}

func TestClaimNames(t *testing.T) {
	set := newPetSet(3)
	claims := newPetClaims(set, 4)
	if got := claims["www"].Name; got != "www-web-4" {
		t.Errorf("claim name %q, want www-web-4", got)
	}
}
