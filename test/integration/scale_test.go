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
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestGetScaleReportsReplicasAndTheSelectorAsAString(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)

	tests := []struct {
		name         string
		mutate       func(*appsv1alpha1.PetSet)
		wantSelector string
	}{{
		name:         "the guide's defaulted selector",
		wantSelector: "app=nginx",
	}, {
		name: "several template labels",
		mutate: func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Template.Labels = map[string]string{"app": "nginx", "tier": "web"}
		},
		wantSelector: "app=nginx,tier=web",
	}, {
		name: "a selector with expressions",
		mutate: func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"nginx", "web"}},
			}}
		},
		wantSelector: "app in (nginx,web)",
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := guidePetSet(fmt.Sprintf("web-%d", i))
			if tc.mutate != nil {
				tc.mutate(ps)
			}
			created := createPetSet(t, s, ns, ps)
			scale, err := petSets(s, ns).GetScale(t.Context(), ps.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("getting the scale: %v", err)
			}
			want := &autoscalingv1.Scale{
				ObjectMeta: metav1.ObjectMeta{
					Name:              created.Name,
					Namespace:         created.Namespace,
					UID:               created.UID,
					ResourceVersion:   created.ResourceVersion,
					CreationTimestamp: created.CreationTimestamp,
				},
				Spec:   autoscalingv1.ScaleSpec{Replicas: 2},
				Status: autoscalingv1.ScaleStatus{Replicas: 0, Selector: tc.wantSelector},
			}
			if diff := cmp.Diff(want, scale); diff != "" {
				t.Errorf("scale (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateScaleChangesSpecReplicasOnly(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	created := createPetSet(t, s, ns, guidePetSet("web"))
	withStatus := created.DeepCopy()
	withStatus.Status = appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](1), Replicas: 2, ReadyReplicas: 2}
	withStatus, err := client.UpdateStatus(t.Context(), withStatus, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	scale, err := client.GetScale(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if scale.Status.Replicas != 2 {
		t.Errorf("scale status.replicas = %d, want the PetSet's status.replicas 2", scale.Status.Replicas)
	}
	scale.Spec.Replicas = 4
	updated, err := client.UpdateScale(t.Context(), "web", scale, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("updating the scale: %v", err)
	}
	if updated.Spec.Replicas != 4 || updated.ResourceVersion == scale.ResourceVersion {
		t.Errorf("updated scale: replicas=%d resourceVersion=%s, want 4 and not %s", updated.Spec.Replicas, updated.ResourceVersion, scale.ResourceVersion)
	}

	stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := withStatus.Spec.DeepCopy()
	want.Replicas = ptr.To[int32](4)
	if diff := cmp.Diff(*want, stored.Spec); diff != "" {
		t.Errorf("spec after the scale update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(withStatus.Status, stored.Status); diff != "" {
		t.Errorf("a scale update changed the status (-before +after):\n%s", diff)
	}
	if stored.Generation != created.Generation+1 {
		t.Errorf("generation after the scale update = %d, want %d", stored.Generation, created.Generation+1)
	}
	if stored.ResourceVersion != updated.ResourceVersion {
		t.Errorf("the PetSet's resource version %s is not the updated scale's %s", stored.ResourceVersion, updated.ResourceVersion)
	}
}

func TestUpdateScaleRefusals(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	createPetSet(t, s, ns, guidePetSet("web"))

	tests := []struct {
		name       string
		petSet     string
		mutate     func(*autoscalingv1.Scale)
		wantReason metav1.StatusReason
		wantFields []string
	}{
		{"negative replicas", "web", func(sc *autoscalingv1.Scale) { sc.Spec.Replicas = -1 }, metav1.StatusReasonInvalid, []string{"spec.replicas"}},
		{"a scale of another object's UID", "web", func(sc *autoscalingv1.Scale) { sc.UID = "not-the-uid" }, metav1.StatusReasonConflict, nil},
		{"a scale of a missing PetSet", "missing", func(sc *autoscalingv1.Scale) { sc.Name = "missing" }, metav1.StatusReasonNotFound, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scale, err := client.GetScale(t.Context(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(scale)
			_, err = client.UpdateScale(t.Context(), tc.petSet, scale, metav1.UpdateOptions{})
			if got := apierrors.ReasonForError(err); got != tc.wantReason {
				t.Fatalf("got %v (reason %q), want reason %q", err, got, tc.wantReason)
			}
			if diff := cmp.Diff(tc.wantFields, causeFields(err)); diff != "" {
				t.Errorf("fields of the causes (-want +got):\n%s", diff)
			}
		})
	}

	if _, err := client.GetScale(t.Context(), "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("getting the scale of a missing PetSet: got %v, want 404 NotFound", err)
	}
	stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(stored.Spec.Replicas, -1); got != 2 || stored.Generation != 1 {
		t.Errorf("after the refused scale updates: replicas=%d generation=%d, want 2 and 1", got, stored.Generation)
	}
}
