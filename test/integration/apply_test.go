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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1alpha1ac "github.com/petsets/client-go/applyconfigurations/apps/v1alpha1"
	autoscalingv1ac "github.com/petsets/client-go/applyconfigurations/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
)

const applier = "integration-applier"

// guideApplyConfiguration is the apply configuration of the guide's
// PetSet, reduced to what an applier cares about, with the given image.
func guideApplyConfiguration(name, ns, image string) *appsv1alpha1ac.PetSetApplyConfiguration {
	return appsv1alpha1ac.PetSet(name, ns).
		WithSpec(appsv1alpha1ac.PetSetSpec().
			WithReplicas(2).
			WithServiceName("nginx").
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{"app": "nginx"}).
				WithSpec(corev1ac.PodSpec().
					WithContainers(corev1ac.Container().
						WithName("nginx").
						WithImage(image).
						WithPorts(corev1ac.ContainerPort().WithName("web").WithContainerPort(80))))))
}

// managedBy returns the managed fields entries of manager on subresource
// as JSON, keyed by operation.
func managedBy(t *testing.T, ps *appsv1alpha1.PetSet, manager, subresource string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, entry := range ps.ManagedFields {
		if entry.Manager != manager || entry.Subresource != subresource {
			continue
		}
		raw := "{}"
		if entry.FieldsV1 != nil {
			raw = string(entry.FieldsV1.Raw)
		}
		out[string(entry.Operation)] = raw
	}
	return out
}

func TestApplyCreatesUpdatesAndOwnsFields(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	opts := metav1.ApplyOptions{FieldManager: applier}

	first, err := client.Apply(t.Context(), guideApplyConfiguration("web", ns, "nginx:1.0").
		WithAnnotations(map[string]string{"owner": applier}).
		WithStatus(appsv1alpha1ac.PetSetStatus().WithReplicas(7)), opts)
	if err != nil {
		t.Fatalf("applying a new PetSet: %v", err)
	}
	t.Run("the first apply creates the PetSet with its defaults", func(t *testing.T) {
		if first.Generation != 1 {
			t.Errorf("generation = %d, want 1", first.Generation)
		}
		if diff := cmp.Diff(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}, first.Spec.Selector); diff != "" {
			t.Errorf("defaulted selector (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"app": "nginx"}, first.Labels); diff != "" {
			t.Errorf("defaulted labels (-want +got):\n%s", diff)
		}
		// The status belongs to /status: an apply of the main resource
		// neither sets it nor owns it.
		if diff := cmp.Diff(appsv1alpha1.PetSetStatus{}, first.Status); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
		entries := managedBy(t, first, applier, "")
		if _, ok := entries[string(metav1.ManagedFieldsOperationApply)]; !ok || len(entries) != 1 {
			t.Fatalf("managed fields of %s: %v, want one Apply entry", applier, entries)
		}
		owned := entries[string(metav1.ManagedFieldsOperationApply)]
		for _, f := range []string{`"f:replicas"`, `"f:serviceName"`, `"f:image"`, `"f:owner"`} {
			if !strings.Contains(owned, f) {
				t.Errorf("%s does not own %s: %s", applier, f, owned)
			}
		}
		if strings.Contains(owned, `"f:status"`) {
			t.Errorf("%s owns the status through the main resource: %s", applier, owned)
		}
	})

	t.Run("applying the same configuration again changes nothing", func(t *testing.T) {
		again, err := client.Apply(t.Context(), guideApplyConfiguration("web", ns, "nginx:1.0").
			WithAnnotations(map[string]string{"owner": applier}), opts)
		if err != nil {
			t.Fatalf("re-applying: %v", err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("a no-op apply changed the object (-before +after):\n%s", diff)
		}
	})

	t.Run("an apply without a field it owned removes the field", func(t *testing.T) {
		updated, err := client.Apply(t.Context(), guideApplyConfiguration("web", ns, "nginx:1.1"), opts)
		if err != nil {
			t.Fatalf("applying a new image without the annotation: %v", err)
		}
		if got := updated.Spec.Template.Spec.Containers[0].Image; got != "nginx:1.1" {
			t.Errorf("image = %q, want nginx:1.1", got)
		}
		if _, ok := updated.Annotations["owner"]; ok {
			t.Errorf("the annotation the applier no longer applies is still there: %v", updated.Annotations)
		}
		if updated.Generation != 2 {
			t.Errorf("generation = %d, want 2", updated.Generation)
		}
	})

	t.Run("another manager's apply of an owned field is a conflict", func(t *testing.T) {
		other := appsv1alpha1ac.PetSet("web", ns).WithSpec(appsv1alpha1ac.PetSetSpec().WithReplicas(5))
		_, err := client.Apply(t.Context(), other, metav1.ApplyOptions{FieldManager: "other"})
		if !apierrors.IsConflict(err) {
			t.Fatalf("got %v, want 409 Conflict", err)
		}
		if msg := err.Error(); !strings.Contains(msg, ".spec.replicas") || !strings.Contains(msg, applier) {
			t.Errorf("the conflict does not name .spec.replicas and %s: %s", applier, msg)
		}

		forced, err := client.Apply(t.Context(), other, metav1.ApplyOptions{FieldManager: "other", Force: true})
		if err != nil {
			t.Fatalf("force-applying: %v", err)
		}
		if got := ptr.Deref(forced.Spec.Replicas, -1); got != 5 {
			t.Errorf("replicas after the forced apply = %d, want 5", got)
		}
		if owned := managedBy(t, forced, applier, "")[string(metav1.ManagedFieldsOperationApply)]; strings.Contains(owned, `"f:replicas"`) {
			t.Errorf("%s still owns spec.replicas after another manager forced it: %s", applier, owned)
		}
	})

	t.Run("the extracted configuration is what the manager applied", func(t *testing.T) {
		stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		extracted, err := appsv1alpha1ac.ExtractPetSet(stored, applier)
		if err != nil {
			t.Fatalf("extracting: %v", err)
		}
		// Extraction returns an owned list item whole (defaults included),
		// so the fields the applier set are compared one by one.
		type applied struct {
			Replicas    *int32
			ServiceName *string
			Labels      map[string]string
			Image       *string
		}
		got := applied{}
		if spec := extracted.Spec; spec != nil {
			got.Replicas, got.ServiceName = spec.Replicas, spec.ServiceName
			if tmpl := spec.Template; tmpl != nil {
				if tmpl.ObjectMetaApplyConfiguration != nil {
					got.Labels = tmpl.Labels
				}
				if tmpl.Spec != nil && len(tmpl.Spec.Containers) == 1 {
					got.Image = tmpl.Spec.Containers[0].Image
				}
			}
		}
		// spec.replicas went to "other".
		want := applied{ServiceName: ptr.To("nginx"), Labels: map[string]string{"app": "nginx"}, Image: ptr.To("nginx:1.1")}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("extracted configuration (-want +got):\n%s", diff)
		}
	})
}

func TestApplyStatusSetsTheStatusOnly(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	created, err := client.Apply(t.Context(), guideApplyConfiguration("web", ns, "nginx:1.0"), metav1.ApplyOptions{FieldManager: applier})
	if err != nil {
		t.Fatal(err)
	}

	const controller = "integration-controller"
	status := appsv1alpha1ac.PetSet("web", ns).
		WithSpec(appsv1alpha1ac.PetSetSpec().WithReplicas(9)).
		WithStatus(appsv1alpha1ac.PetSetStatus().WithObservedGeneration(1).WithReplicas(2).WithReadyReplicas(1))
	applied, err := client.ApplyStatus(t.Context(), status, metav1.ApplyOptions{FieldManager: controller})
	if err != nil {
		t.Fatalf("applying the status: %v", err)
	}
	want := appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](1), Replicas: 2, ReadyReplicas: 1}
	if diff := cmp.Diff(want, applied.Status); diff != "" {
		t.Errorf("applied status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(created.Spec, applied.Spec); diff != "" {
		t.Errorf("an apply of /status changed the spec (-before +after):\n%s", diff)
	}
	if applied.Generation != created.Generation {
		t.Errorf("an apply of /status changed the generation from %d to %d", created.Generation, applied.Generation)
	}
	owned := managedBy(t, applied, controller, "status")[string(metav1.ManagedFieldsOperationApply)]
	if !strings.Contains(owned, `"f:readyReplicas"`) || strings.Contains(owned, `"f:spec"`) {
		t.Errorf("fields %s owns through /status: %s, want the status only", controller, owned)
	}

	extracted, err := appsv1alpha1ac.ExtractPetSetStatus(applied, controller)
	if err != nil {
		t.Fatalf("extracting the status: %v", err)
	}
	wantExtracted := appsv1alpha1ac.PetSet("web", ns).WithStatus(appsv1alpha1ac.PetSetStatus().WithObservedGeneration(1).WithReplicas(2).WithReadyReplicas(1))
	if diff := cmp.Diff(jsonOf(t, wantExtracted), jsonOf(t, extracted)); diff != "" {
		t.Errorf("extracted status configuration (-want +got):\n%s", diff)
	}

	_, err = client.ApplyStatus(t.Context(), appsv1alpha1ac.PetSet("web", ns).
		WithStatus(appsv1alpha1ac.PetSetStatus().WithReplicas(1).WithReadyReplicas(3)), metav1.ApplyOptions{FieldManager: controller})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("applying more ready than existing replicas: got %v, want 422 Invalid", err)
	}
	if diff := cmp.Diff([]string{"status.readyReplicas"}, causeFields(err)); diff != "" {
		t.Errorf("fields of the causes (-want +got):\n%s", diff)
	}
}

func TestApplyScaleOwnsReplicasThroughTheScaleSubresource(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	created, err := client.Apply(t.Context(), guideApplyConfiguration("web", ns, "nginx:1.0"), metav1.ApplyOptions{FieldManager: applier})
	if err != nil {
		t.Fatal(err)
	}

	const autoscaler = "integration-autoscaler"
	scale := autoscalingv1ac.Scale().WithSpec(autoscalingv1ac.ScaleSpec().WithReplicas(4))
	// spec.replicas belongs to the applier: taking it over is forced, as
	// an autoscaler does.
	if _, err := client.ApplyScale(t.Context(), "web", scale, metav1.ApplyOptions{FieldManager: autoscaler}); !apierrors.IsConflict(err) {
		t.Fatalf("applying the scale of a field another manager owns: got %v, want 409 Conflict", err)
	}
	applied, err := client.ApplyScale(t.Context(), "web", scale, metav1.ApplyOptions{FieldManager: autoscaler, Force: true})
	if err != nil {
		t.Fatalf("force-applying the scale: %v", err)
	}
	if applied.Spec.Replicas != 4 || applied.Status.Selector != "app=nginx" || applied.UID != created.UID {
		t.Errorf("applied Scale: replicas=%d selector=%q uid=%s, want 4, app=nginx, %s",
			applied.Spec.Replicas, applied.Status.Selector, applied.UID, created.UID)
	}

	stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(stored.Spec.Replicas, -1); got != 4 {
		t.Errorf("spec.replicas of the PetSet = %d, want 4", got)
	}
	if stored.Generation != created.Generation+1 {
		t.Errorf("generation = %d, want %d", stored.Generation, created.Generation+1)
	}
	wantOwned := map[string]string{string(metav1.ManagedFieldsOperationApply): `{"f:spec":{"f:replicas":{}}}`}
	if diff := cmp.Diff(wantOwned, managedBy(t, stored, autoscaler, "scale")); diff != "" {
		t.Errorf("fields %s owns through /scale (-want +got):\n%s", autoscaler, diff)
	}
	if owned := managedBy(t, stored, applier, "")[string(metav1.ManagedFieldsOperationApply)]; strings.Contains(owned, `"f:replicas"`) {
		t.Errorf("%s still owns spec.replicas: %s", applier, owned)
	}
	extracted, err := appsv1alpha1ac.ExtractPetSetScale(stored, autoscaler)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(jsonOf(t, appsv1alpha1ac.PetSet("web", ns).WithSpec(appsv1alpha1ac.PetSetSpec().WithReplicas(4))), jsonOf(t, extracted)); diff != "" {
		t.Errorf("extracted scale configuration (-want +got):\n%s", diff)
	}

	// The applier's unchanged configuration now conflicts with the
	// autoscaler on spec.replicas, the usual applier/HPA hand-over.
	_, err = client.Apply(t.Context(), guideApplyConfiguration("web", ns, "nginx:1.0"), metav1.ApplyOptions{FieldManager: applier})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), autoscaler) {
		t.Errorf("re-applying replicas 2 after the autoscaler took them: got %v, want 409 Conflict naming %s", err, autoscaler)
	}

	_, err = client.ApplyScale(t.Context(), "web", autoscalingv1ac.Scale().WithSpec(autoscalingv1ac.ScaleSpec().WithReplicas(-3)),
		metav1.ApplyOptions{FieldManager: autoscaler, Force: true})
	if !apierrors.IsInvalid(err) {
		t.Errorf("applying a negative scale: got %v, want 422 Invalid", err)
	}
}

// jsonOf returns the JSON of v, for comparing apply configurations.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
