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

package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// containersPatch replaces the image of the container "nginx" and names no
// other field of it.
const containersPatch = `{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"gcr.io/google_containers/nginx-slim:0.9"}]}}}}`

// TestPatchTypes checks every patch type on the main resource. PetSets are
// compiled-in Go types of an aggregated server, not custom resources, so the
// server knows their patch strategies: a strategic merge patch is served
// (custom resources refuse it with 415) and merges the containers by name,
// where a JSON merge patch replaces the list.
func TestPatchTypes(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	guide := guidePetSet("unused")

	type result struct {
		Labels      map[string]string
		Annotations map[string]string
		Replicas    int32
		Containers  []patchedContainer
	}
	guideContainer := patchedContainer{
		Image:        guide.Spec.Template.Spec.Containers[0].Image,
		Ports:        []corev1.ContainerPort{{ContainerPort: 80, Name: "web", Protocol: corev1.ProtocolTCP}},
		VolumeMounts: guide.Spec.Template.Spec.Containers[0].VolumeMounts,
	}
	tests := []struct {
		name      string
		patchType types.PatchType
		patch     string
		want      result
	}{{
		name:      "JSON merge patch adds a label and sets replicas",
		patchType: types.MergePatchType,
		patch:     `{"metadata":{"labels":{"extra":"yes"}},"spec":{"replicas":3}}`,
		want: result{
			Labels:     map[string]string{"app": "nginx", "extra": "yes"},
			Replicas:   3,
			Containers: []patchedContainer{guideContainer},
		},
	}, {
		name:      "JSON merge patch replaces the whole container list",
		patchType: types.MergePatchType,
		patch:     containersPatch,
		want: result{
			Labels:     map[string]string{"app": "nginx"},
			Replicas:   2,
			Containers: []patchedContainer{{Image: "gcr.io/google_containers/nginx-slim:0.9"}},
		},
	}, {
		name:      "strategic merge patch merges the containers by name",
		patchType: types.StrategicMergePatchType,
		patch:     containersPatch,
		want: result{
			Labels:     map[string]string{"app": "nginx"},
			Replicas:   2,
			Containers: []patchedContainer{{Image: "gcr.io/google_containers/nginx-slim:0.9", Ports: guideContainer.Ports, VolumeMounts: guideContainer.VolumeMounts}},
		},
	}, {
		name:      "strategic merge patch removes a label with null",
		patchType: types.StrategicMergePatchType,
		patch:     `{"metadata":{"labels":{"app":null,"kept":"yes"}}}`,
		want: result{
			Labels:     map[string]string{"kept": "yes"},
			Replicas:   2,
			Containers: []patchedContainer{guideContainer},
		},
	}, {
		name:      "JSON patch tests, replaces and adds",
		patchType: types.JSONPatchType,
		patch: `[{"op":"test","path":"/spec/replicas","value":2},
			{"op":"replace","path":"/spec/replicas","value":4},
			{"op":"add","path":"/metadata/annotations","value":{"note":"patched"}}]`,
		want: result{
			Labels:      map[string]string{"app": "nginx"},
			Annotations: map[string]string{"note": "patched"},
			Replicas:    4,
			Containers:  []patchedContainer{guideContainer},
		},
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("web-%d", i)
			createPetSet(t, s, ns, guidePetSet(name))

			patched, err := petSets(s, ns).Patch(t.Context(), name, tc.patchType, []byte(tc.patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatalf("patching: %v", err)
			}
			stored, err := petSets(s, ns).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(patched, stored); diff != "" {
				t.Errorf("Get differs from what Patch returned (-patch +get):\n%s", diff)
			}
			got := result{
				Labels:      stored.Labels,
				Annotations: stored.Annotations,
				Replicas:    ptr.Deref(stored.Spec.Replicas, -1),
			}
			for _, c := range stored.Spec.Template.Spec.Containers {
				got.Containers = append(got.Containers, patchedContainer{c.Image, c.Ports, c.VolumeMounts})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("patched PetSet (-want +got):\n%s", diff)
			}
		})
	}
}

type patchedContainer struct {
	Image        string
	Ports        []corev1.ContainerPort
	VolumeMounts []corev1.VolumeMount
}

func TestPatchesThatDoNotApplyAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	tests := []struct {
		name      string
		patchType types.PatchType
		patch     string
		wantCode  int32
	}{
		{"a failing JSON patch test", types.JSONPatchType, `[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":5}]`, http.StatusUnprocessableEntity},
		{"a JSON patch removing a missing key", types.JSONPatchType, `[{"op":"remove","path":"/spec/nonexistent"}]`, http.StatusUnprocessableEntity},
		{"a JSON patch indexing past the containers", types.JSONPatchType, `[{"op":"replace","path":"/spec/template/spec/containers/5/image","value":"x"}]`, http.StatusUnprocessableEntity},
		{"a JSON patch that is not a list", types.JSONPatchType, `{"op":"replace"}`, http.StatusBadRequest},
		{"malformed JSON merge patch", types.MergePatchType, `{"spec":`, http.StatusBadRequest},
		{"malformed strategic merge patch", types.StrategicMergePatchType, `{"spec":`, http.StatusBadRequest},
		{"a strategic merge patch of the wrong type", types.StrategicMergePatchType, `{"spec":{"replicas":"two"}}`, http.StatusUnprocessableEntity},
		{"a merge patch of the wrong type", types.MergePatchType, `{"spec":{"replicas":"two"}}`, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := petSets(s, ns).Patch(t.Context(), "web", tc.patchType, []byte(tc.patch), metav1.PatchOptions{})
			if got := statusCode(err); got != tc.wantCode {
				t.Fatalf("got %v (code %d), want code %d", err, got, tc.wantCode)
			}
		})
	}
	stored, err := petSets(s, ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, stored); diff != "" {
		t.Errorf("a refused patch changed the object (-before +after):\n%s", diff)
	}
}

func TestPatchOfTheStatusSubresourceChangesOnlyTheStatus(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	patch := `{"spec":{"replicas":9},"status":{"replicas":2,"readyReplicas":1,"observedGeneration":1}}`
	patched, err := petSets(s, ns).Patch(t.Context(), "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("patching /status: %v", err)
	}
	wantStatus := appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](1), Replicas: 2, ReadyReplicas: 1}
	if diff := cmp.Diff(wantStatus, patched.Status); diff != "" {
		t.Errorf("patched status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(created.Spec, patched.Spec); diff != "" {
		t.Errorf("a patch of /status changed the spec (-before +after):\n%s", diff)
	}
	if patched.Generation != created.Generation {
		t.Errorf("a patch of /status changed the generation from %d to %d", created.Generation, patched.Generation)
	}
}

func TestPatchOfTheScaleSubresourceChangesReplicas(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	// The typed Patch decodes into a PetSet: the Scale is read raw.
	raw, err := s.Client.AppsV1alpha1().RESTClient().Patch(types.MergePatchType).
		Namespace(ns).Resource("petsets").Name("web").SubResource("scale").
		Body([]byte(`{"spec":{"replicas":6}}`)).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("patching /scale: %v", err)
	}
	var scale autoscalingv1.Scale
	if err := json.Unmarshal(raw, &scale); err != nil {
		t.Fatalf("decoding the Scale: %v\n%s", err, raw)
	}
	if scale.Spec.Replicas != 6 || scale.Status.Selector != "app=nginx" {
		t.Errorf("patched Scale: spec.replicas=%d status.selector=%q, want 6 and app=nginx", scale.Spec.Replicas, scale.Status.Selector)
	}
	stored, err := petSets(s, ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(stored.Spec.Replicas, -1); got != 6 {
		t.Errorf("spec.replicas after the scale patch = %d, want 6", got)
	}
	if stored.Generation != created.Generation+1 {
		t.Errorf("generation after the scale patch = %d, want %d", stored.Generation, created.Generation+1)
	}

	_, err = s.Client.AppsV1alpha1().RESTClient().Patch(types.MergePatchType).
		Namespace(ns).Resource("petsets").Name("web").SubResource("scale").
		Body([]byte(`{"spec":{"replicas":-1}}`)).DoRaw(t.Context())
	if !apierrors.IsInvalid(err) {
		t.Errorf("patching /scale to -1 replicas: got %v, want 422 Invalid", err)
	}
}
