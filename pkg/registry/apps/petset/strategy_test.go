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
	"context"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apis/apps/install"
	"github.com/petsets/petset/pkg/apis/apps/validation"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// guideManifest is the PetSet "web" of the PetSet guide.
const guideManifest = "../../../apis/apps/v1alpha1/testdata/petset-web.yaml"

var testScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	install.Install(s)
	return s
}()

// guidePetSet decodes the guide's PetSet the way the API server decodes a
// request body (defaulted, converted to the internal type), in the namespace
// the request gives it.
func guidePetSet(t *testing.T) *apps.PetSet {
	t.Helper()
	data, err := os.ReadFile(guideManifest)
	if err != nil {
		t.Fatalf("reading the guide's manifest: %v", err)
	}
	obj, _, err := serializer.NewCodecFactory(testScheme).UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("decoding the guide's manifest: %v", err)
	}
	petSet, ok := obj.(*apps.PetSet)
	if !ok {
		t.Fatalf("decoded %T, want *apps.PetSet", obj)
	}
	petSet.Namespace = metav1.NamespaceDefault
	return petSet
}

// storedPetSet is the guide's PetSet as storage holds it after a while: a
// resource version, a generation past 1 and a status.
func storedPetSet(t *testing.T) *apps.PetSet {
	t.Helper()
	p := guidePetSet(t)
	p.ResourceVersion = "42"
	p.Generation = 3
	p.Status = apps.PetSetStatus{ObservedGeneration: new(int64(3)), Replicas: 2, ReadyReplicas: 1}
	return p
}

// fieldError is what the tests compare of a validation error.
type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, err := range errs {
		out = append(out, fieldError{Type: err.Type, Field: err.Field})
	}
	return out
}

func TestPrepareForCreate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*apps.PetSet)
	}{{
		name: "a fresh object gets generation 1 and an empty status",
	}, {
		name: "a status sent by the client is wiped",
		mutate: func(p *apps.PetSet) {
			p.Status = apps.PetSetStatus{ObservedGeneration: new(int64(9)), Replicas: 5, ReadyReplicas: 4}
		},
	}, {
		name:   "a generation sent by the client is replaced by 1",
		mutate: func(p *apps.PetSet) { p.Generation = 7 },
	}, {
		name: "spec and metadata are kept as sent",
		mutate: func(p *apps.PetSet) {
			p.Labels = map[string]string{"app": "nginx", "team": "web"}
			p.Annotations = map[string]string{"note": "kept"}
			p.Spec.Replicas = 5
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := guidePetSet(t)
			if tc.mutate != nil {
				tc.mutate(in)
			}
			want := in.DeepCopy()
			want.Generation = 1
			want.Status = apps.PetSetStatus{}

			got := in.DeepCopy()
			NewStrategy(testScheme, Options{}).PrepareForCreate(context.Background(), got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PrepareForCreate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrepareForCreateAddsTheControllerFinalizerOnlyWhereAControllerRuns(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		finalizers []string
		replicas   *int32
		want       []string
	}{
		{name: "server without a controller: none added", opts: Options{}},
		{name: "server without a controller: the user's kept", finalizers: []string{"example.com/x"}, want: []string{"example.com/x"}},
		{name: "server running the controller: added", opts: Options{ControllerFinalizer: true}, want: []string{appsv1alpha1.PetSetFinalizer}},
		{name: "server running the controller: appended to the user's", opts: Options{ControllerFinalizer: true},
			finalizers: []string{"example.com/x"}, want: []string{"example.com/x", appsv1alpha1.PetSetFinalizer}},
		{name: "server running the controller: not added twice", opts: Options{ControllerFinalizer: true},
			finalizers: []string{appsv1alpha1.PetSetFinalizer}, want: []string{appsv1alpha1.PetSetFinalizer}},
		{name: "server running the controller: none for a PetSet without replicas", opts: Options{ControllerFinalizer: true},
			replicas: new(int32(0))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := guidePetSet(t)
			got.Finalizers = tc.finalizers
			if tc.replicas != nil {
				got.Spec.Replicas = *tc.replicas
			}
			NewStrategy(testScheme, tc.opts).PrepareForCreate(context.Background(), got)
			if diff := cmp.Diff(tc.want, got.Finalizers); diff != "" {
				t.Errorf("finalizers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrepareForUpdate(t *testing.T) {
	tests := []struct {
		name string
		// mutate changes what the client sends, starting from the stored
		// object (generation 3).
		mutate         func(*apps.PetSet)
		wantGeneration int64
	}{{
		name:           "no change keeps the generation",
		wantGeneration: 3,
	}, {
		name:           "a label-only change keeps the generation",
		mutate:         func(p *apps.PetSet) { p.Labels = map[string]string{"app": "nginx", "team": "web"} },
		wantGeneration: 3,
	}, {
		name:           "an annotation-only change keeps the generation",
		mutate:         func(p *apps.PetSet) { p.Annotations = map[string]string{"note": "changed"} },
		wantGeneration: 3,
	}, {
		name:           "a replicas change bumps the generation",
		mutate:         func(p *apps.PetSet) { p.Spec.Replicas = 5 },
		wantGeneration: 4,
	}, {
		name: "a container image change bumps the generation",
		mutate: func(p *apps.PetSet) {
			p.Spec.Template.Spec.Containers[0].Image = "gcr.io/google_containers/nginx-slim:0.7"
		},
		wantGeneration: 4,
	}, {
		name:           "a minReadySeconds change bumps the generation",
		mutate:         func(p *apps.PetSet) { p.Spec.MinReadySeconds = 5 },
		wantGeneration: 4,
	}, {
		name:           "an ordinals change bumps the generation",
		mutate:         func(p *apps.PetSet) { p.Spec.Ordinals = &apps.PetSetOrdinals{Start: 5} },
		wantGeneration: 4,
	}, {
		name: "a claim retention policy change bumps the generation",
		mutate: func(p *apps.PetSet) {
			p.Spec.PersistentVolumeClaimRetentionPolicy = &apps.PetSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: apps.DeletePersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  apps.RetainPersistentVolumeClaimRetentionPolicyType,
			}
		},
		wantGeneration: 4,
	}, {
		name: "a spec change bumps from the stored generation, not from the one sent",
		mutate: func(p *apps.PetSet) {
			p.Spec.Replicas = 5
			p.Generation = 100
		},
		wantGeneration: 4,
	}, {
		name: "a storage request written differently but equal is no spec change",
		mutate: func(p *apps.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1024Mi")
		},
		wantGeneration: 3,
	}, {
		name: "a status-only change keeps the generation (and the stored status)",
		mutate: func(p *apps.PetSet) {
			p.Status = apps.PetSetStatus{ObservedGeneration: new(int64(9)), Replicas: 7, ReadyReplicas: 7, AvailableReplicas: 7,
				Conditions: []metav1.Condition{{Type: "Available", Status: metav1.ConditionTrue, Reason: "Available"}}}
		},
		wantGeneration: 3,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPetSet(t)
			in := old.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(in)
			}
			// What the strategy must produce: the object as sent, with the
			// stored status and the expected generation.
			want := in.DeepCopy()
			want.Status = *old.Status.DeepCopy()
			want.Generation = tc.wantGeneration

			got := in.DeepCopy()
			NewStrategy(testScheme, Options{}).PrepareForUpdate(context.Background(), got, old.DeepCopy())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PrepareForUpdate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusStrategyPrepareForUpdate(t *testing.T) {
	newStatus := apps.PetSetStatus{ObservedGeneration: new(int64(3)), Replicas: 2, ReadyReplicas: 2}
	tests := []struct {
		name   string
		mutate func(*apps.PetSet)
		// want changes the stored object into the expected result.
		want func(*apps.PetSet)
	}{{
		name:   "the status sent is taken",
		mutate: func(p *apps.PetSet) { p.Status = *newStatus.DeepCopy() },
		want:   func(p *apps.PetSet) { p.Status = *newStatus.DeepCopy() },
	}, {
		name: "spec changes are dropped in favour of the stored spec",
		mutate: func(p *apps.PetSet) {
			p.Spec.Replicas = 9
			p.Spec.ServiceName = "apache"
			p.Spec.Template.Spec.Containers[0].Image = "other"
			p.Status = *newStatus.DeepCopy()
		},
		want: func(p *apps.PetSet) { p.Status = *newStatus.DeepCopy() },
	}, {
		name: "a spec change sent to /status does not bump the generation",
		mutate: func(p *apps.PetSet) {
			p.Spec.Replicas = 9
		},
		want: func(p *apps.PetSet) {},
	}, {
		name: "metadata changes are kept",
		mutate: func(p *apps.PetSet) {
			p.Labels = map[string]string{"app": "nginx", "team": "web"}
			p.Annotations = map[string]string{"note": "status writer"}
			p.Status = *newStatus.DeepCopy()
		},
		want: func(p *apps.PetSet) {
			p.Labels = map[string]string{"app": "nginx", "team": "web"}
			p.Annotations = map[string]string{"note": "status writer"}
			p.Status = *newStatus.DeepCopy()
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPetSet(t)
			got := old.DeepCopy()
			tc.mutate(got)
			want := old.DeepCopy()
			tc.want(want)

			NewStatusStrategy(NewStrategy(testScheme, Options{})).PrepareForUpdate(context.Background(), got, old.DeepCopy())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("status PrepareForUpdate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*apps.PetSet)
		want   []fieldError
	}{{
		name: "the guide's PetSet is valid",
	}, {
		name:   "an empty serviceName is valid (it only warns)",
		mutate: func(p *apps.PetSet) { p.Spec.ServiceName = "" },
	}, {
		name:   "negative replicas are invalid at spec.replicas",
		mutate: func(p *apps.PetSet) { p.Spec.Replicas = -1 },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.replicas"}},
	}, {
		name:   "a serviceName that is no DNS label is invalid at spec.serviceName",
		mutate: func(p *apps.PetSet) { p.Spec.ServiceName = "Nginx_Service" },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.serviceName"}},
	}, {
		name: "a selector not matching the template labels is invalid at spec.template.metadata.labels",
		mutate: func(p *apps.PetSet) {
			p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "apache"}}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	}, {
		name:   "a missing selector is required",
		mutate: func(p *apps.PetSet) { p.Spec.Selector = nil },
		want:   []fieldError{{field.ErrorTypeRequired, "spec.selector"}},
	}, {
		name:   "a name that is no DNS label is invalid at metadata.name",
		mutate: func(p *apps.PetSet) { p.Name = "Web_1" },
		want:   []fieldError{{field.ErrorTypeInvalid, "metadata.name"}},
	}, {
		name:   "a PetSet needs a namespace",
		mutate: func(p *apps.PetSet) { p.Namespace = "" },
		want:   []fieldError{{field.ErrorTypeRequired, "metadata.namespace"}},
	}, {
		name:   "a name of 52 characters is valid",
		mutate: func(p *apps.PetSet) { p.Name = "web-" + strings.Repeat("a", 48) },
	}, {
		name:   "a name of 53 characters is too long at metadata.name",
		mutate: func(p *apps.PetSet) { p.Name = "web-" + strings.Repeat("a", 49) },
		want:   []fieldError{{field.ErrorTypeTooLong, "metadata.name"}},
	}, {
		name:   "a reserved label key in the template labels is forbidden at its key",
		mutate: func(p *apps.PetSet) { p.Spec.Template.Labels["apps.petsets.io/pet-ordinal"] = "0" },
		want:   []fieldError{{field.ErrorTypeForbidden, "spec.template.metadata.labels[apps.petsets.io/pet-ordinal]"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := guidePetSet(t)
			if tc.mutate != nil {
				tc.mutate(p)
			}
			errs := NewStrategy(testScheme, Options{}).Validate(context.Background(), p)
			if diff := cmp.Diff(tc.want, summarize(errs)); diff != "" {
				t.Errorf("Validate (-want +got):\n%s\nerrors: %v", diff, errs.ToAggregate())
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	forbidden := func(path string) fieldError { return fieldError{field.ErrorTypeForbidden, path} }
	tests := []struct {
		name   string
		mutate func(*apps.PetSet)
		want   []fieldError
	}{{
		name: "an unchanged PetSet is valid",
	}, {
		name:   "changing replicas is allowed",
		mutate: func(p *apps.PetSet) { p.Spec.Replicas = 5 },
	}, {
		name:   "scaling to zero is allowed",
		mutate: func(p *apps.PetSet) { p.Spec.Replicas = 0 },
	}, {
		name: "changing a container's image is allowed",
		mutate: func(p *apps.PetSet) {
			p.Spec.Template.Spec.Containers[0].Image = "gcr.io/google_containers/nginx-slim:0.7"
		},
	}, {
		name:   "changing labels and annotations of the PetSet is allowed",
		mutate: func(p *apps.PetSet) { p.Labels["team"] = "web"; p.Annotations = map[string]string{"note": "x"} },
	}, {
		name:   "changing serviceName is forbidden at spec.serviceName",
		mutate: func(p *apps.PetSet) { p.Spec.ServiceName = "apache" },
		want:   []fieldError{forbidden("spec.serviceName")},
	}, {
		name: "changing the selector is forbidden at spec.selector",
		mutate: func(p *apps.PetSet) {
			p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"nginx"},
			}}}
		},
		want: []fieldError{forbidden("spec.selector")},
	}, {
		name: "growing a claim template's request is allowed",
		mutate: func(p *apps.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		},
	}, {
		name: "changing a claim template otherwise is forbidden at spec.volumeClaimTemplates[0]",
		mutate: func(p *apps.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.VolumeMode = new(corev1.PersistentVolumeBlock)
		},
		want: []fieldError{forbidden("spec.volumeClaimTemplates[0]")},
	}, {
		name:   "changing the template's annotations is allowed",
		mutate: func(p *apps.PetSet) { p.Spec.Template.Annotations["pod.alpha.kubernetes.io/initialized"] = "false" },
	}, {
		name: "changing the update strategy and the revision history limit is allowed",
		mutate: func(p *apps.PetSet) {
			p.Spec.UpdateStrategy = apps.PetSetUpdateStrategy{Type: apps.RecreatePetSetStrategyType}
			p.Spec.RevisionHistoryLimit = new(int32(1))
		},
	}, {
		name: "changing minReadySeconds, ordinals and the claim retention policy is allowed",
		mutate: func(p *apps.PetSet) {
			p.Spec.MinReadySeconds = 5
			p.Spec.Ordinals = &apps.PetSetOrdinals{Start: 3}
			p.Spec.PersistentVolumeClaimRetentionPolicy = &apps.PetSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: apps.DeletePersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  apps.DeletePersistentVolumeClaimRetentionPolicyType,
			}
		},
	}, {
		name:   "changing podManagementPolicy is forbidden at spec.podManagementPolicy",
		mutate: func(p *apps.PetSet) { p.Spec.PodManagementPolicy = apps.ParallelPodManagement },
		want:   []fieldError{forbidden("spec.podManagementPolicy")},
	}, {
		name:   "an empty podManagementPolicy is the default, OrderedReady: no change",
		mutate: func(p *apps.PetSet) { p.Spec.PodManagementPolicy = "" },
	}, {
		name:   "template labels that no longer match the selector are invalid",
		mutate: func(p *apps.PetSet) { p.Spec.Template.Labels = map[string]string{"app": "apache"} },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	}, {
		name: "adding a container is allowed",
		mutate: func(p *apps.PetSet) {
			c := *p.Spec.Template.Spec.Containers[0].DeepCopy()
			c.Name = "sidecar"
			c.Ports = nil
			p.Spec.Template.Spec.Containers = append(p.Spec.Template.Spec.Containers, c)
		},
	}, {
		name:   "negative replicas are invalid at spec.replicas",
		mutate: func(p *apps.PetSet) { p.Spec.Replicas = -1 },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.replicas"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPetSet(t)
			p := old.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(p)
			}
			errs := NewStrategy(testScheme, Options{}).ValidateUpdate(context.Background(), p, old)
			if diff := cmp.Diff(tc.want, summarize(errs)); diff != "" {
				t.Errorf("ValidateUpdate (-want +got):\n%s\nerrors: %v", diff, errs.ToAggregate())
			}
			for _, err := range errs {
				if err.Type == field.ErrorTypeForbidden && !strings.Contains(err.Detail, validation.ForbiddenUpdateMessage) &&
					!strings.Contains(err.Detail, validation.ClaimTemplateUpdateMessage) {
					t.Errorf("forbidden error %q does not explain what may change", err.Error())
				}
			}
		})
	}
}

// TestValidateUpdateKeepsOlderPetSetsUpdatable updates PetSets stored
// before the name limit and the reserved label keys: the rules apply on
// create, and on update only to what the update adds.
func TestValidateUpdateKeepsOlderPetSetsUpdatable(t *testing.T) {
	older := func(p *apps.PetSet) {
		p.Name = "web-" + strings.Repeat("a", 56)
		p.Finalizers = []string{"apps.petsets.io/pets"}
		p.Spec.Template.Labels["apps.petsets.io/pet-name"] = "web-0"
		p.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"apps.petsets.io/petset": "web"}
	}
	tests := []struct {
		name   string
		mutate func(*apps.PetSet)
		want   []fieldError
	}{{
		name:   "scaling is allowed",
		mutate: func(p *apps.PetSet) { p.Spec.Replicas = 0 },
	}, {
		name:   "removing the finalizer is allowed",
		mutate: func(p *apps.PetSet) { p.Finalizers = nil },
	}, {
		name:   "relabelling the PetSet is allowed",
		mutate: func(p *apps.PetSet) { p.Labels["state"] = "retired" },
	}, {
		name:   "a reserved key the update adds is forbidden at its key",
		mutate: func(p *apps.PetSet) { p.Spec.Template.Labels["apps.petsets.io/pet-ordinal"] = "0" },
		want: []fieldError{
			{field.ErrorTypeForbidden, "spec.template.metadata.labels[apps.petsets.io/pet-ordinal]"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPetSet(t)
			older(old)
			p := old.DeepCopy()
			tc.mutate(p)
			errs := NewStrategy(testScheme, Options{}).ValidateUpdate(context.Background(), p, old)
			if diff := cmp.Diff(tc.want, summarize(errs)); diff != "" {
				t.Errorf("ValidateUpdate (-want +got):\n%s\nerrors: %v", diff, errs.ToAggregate())
			}
		})
	}
}

func TestStatusStrategyValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		status apps.PetSetStatus
		mutate func(*apps.PetSet)
		want   []fieldError
	}{{
		name:   "a consistent status is valid",
		status: apps.PetSetStatus{ObservedGeneration: new(int64(3)), Replicas: 2, ReadyReplicas: 2},
	}, {
		name:   "negative status.replicas is invalid (and then below the ready, current, updated and available counts)",
		status: apps.PetSetStatus{Replicas: -1},
		want: []fieldError{
			{field.ErrorTypeInvalid, "status.replicas"}, {field.ErrorTypeInvalid, "status.readyReplicas"},
			{field.ErrorTypeInvalid, "status.currentReplicas"}, {field.ErrorTypeInvalid, "status.updatedReplicas"},
			{field.ErrorTypeInvalid, "status.availableReplicas"},
		},
	}, {
		name:   "revisions and their counts are kept",
		status: apps.PetSetStatus{Replicas: 2, CurrentReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "web-a", UpdateRevision: "web-b", CollisionCount: new(int32(1))},
	}, {
		name:   "more updated pets than pets is invalid at status.updatedReplicas",
		status: apps.PetSetStatus{Replicas: 1, UpdatedReplicas: 2},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.updatedReplicas"}},
	}, {
		name:   "negative status.readyReplicas is invalid (and then below the available count)",
		status: apps.PetSetStatus{Replicas: 1, ReadyReplicas: -1},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.readyReplicas"}, {field.ErrorTypeInvalid, "status.availableReplicas"}},
	}, {
		name:   "more available than ready pets is invalid at status.availableReplicas",
		status: apps.PetSetStatus{Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 2},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.availableReplicas"}},
	}, {
		name:   "more ready than existing pets is invalid at status.readyReplicas",
		status: apps.PetSetStatus{Replicas: 1, ReadyReplicas: 2},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.readyReplicas"}},
	}, {
		name:   "negative observedGeneration is invalid",
		status: apps.PetSetStatus{ObservedGeneration: new(int64(-1))},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.observedGeneration"}},
	}, {
		name:   "a spec that would be refused on the main resource is not validated by /status",
		status: apps.PetSetStatus{Replicas: 1},
		mutate: func(p *apps.PetSet) { p.Spec.ServiceName = "apache" },
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPetSet(t)
			p := old.DeepCopy()
			p.Status = tc.status
			if tc.mutate != nil {
				tc.mutate(p)
			}
			errs := NewStatusStrategy(NewStrategy(testScheme, Options{})).ValidateUpdate(context.Background(), p, old)
			if diff := cmp.Diff(tc.want, summarize(errs)); diff != "" {
				t.Errorf("status ValidateUpdate (-want +got):\n%s\nerrors: %v", diff, errs.ToAggregate())
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	ctx := context.Background()
	s := NewStrategy(testScheme, Options{})
	tests := []struct {
		name        string
		serviceName string
		wantCreate  bool
	}{{
		name:        "an empty serviceName warns on create at spec.serviceName",
		serviceName: "",
		wantCreate:  true,
	}, {
		name:        "a serviceName set gives no warning",
		serviceName: "nginx",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := guidePetSet(t)
			p.Spec.ServiceName = tc.serviceName

			warnings := s.WarningsOnCreate(ctx, p)
			if !tc.wantCreate {
				if diff := cmp.Diff([]string(nil), warnings); diff != "" {
					t.Errorf("WarningsOnCreate (-want +got):\n%s", diff)
				}
			} else {
				if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "spec.serviceName: ") || !strings.Contains(warnings[0], "Service") {
					t.Errorf("WarningsOnCreate = %q, want one warning about the governing Service at spec.serviceName", warnings)
				}
			}

			// Updates never warn: serviceName cannot change anyway.
			if w := s.WarningsOnUpdate(ctx, p, p.DeepCopy()); w != nil {
				t.Errorf("WarningsOnUpdate = %q, want none", w)
			}
			if w := NewStatusStrategy(s).WarningsOnUpdate(ctx, p, p.DeepCopy()); w != nil {
				t.Errorf("status WarningsOnUpdate = %q, want none", w)
			}
		})
	}
}

func TestGetResetFields(t *testing.T) {
	setsEqual := cmp.Comparer(func(a, b *fieldpath.Set) bool { return a.Equals(b) })
	s := NewStrategy(testScheme, Options{})
	tests := []struct {
		name     string
		strategy rest.ResetFieldsStrategy
		want     map[fieldpath.APIVersion]*fieldpath.Set
	}{{
		name:     "the main resource resets the status of apps/v1alpha1",
		strategy: s,
		want: map[fieldpath.APIVersion]*fieldpath.Set{
			"apps/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
		},
	}, {
		name:     "/status resets the spec of apps/v1alpha1",
		strategy: NewStatusStrategy(s),
		want: map[fieldpath.APIVersion]*fieldpath.Set{
			"apps/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec")),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.strategy.GetResetFields(), setsEqual); diff != "" {
				t.Errorf("GetResetFields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStrategyPolicies(t *testing.T) {
	ctx := context.Background()
	s := NewStrategy(testScheme, Options{})
	status := NewStatusStrategy(s)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"PetSets are namespaced", s.NamespaceScoped(), true},
		{"/status is namespaced", status.NamespaceScoped(), true},
		{"an update never creates a PetSet", s.AllowCreateOnUpdate(ctx), false},
		{"an update through /status never creates a PetSet", status.AllowCreateOnUpdate(ctx), false},
		{"updates without a resourceVersion are allowed", s.AllowUnconditionalUpdate(ctx), true},
		{"a delete without a propagation policy deletes the dependents first", s.DefaultGarbageCollectionPolicy(ctx), rest.DeleteDependents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCanonicalizeLeavesThePetSetAlone(t *testing.T) {
	p := guidePetSet(t)
	got := p.DeepCopy()
	NewStrategy(testScheme, Options{}).Canonicalize(got)
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("Canonicalize changed the PetSet (-want +got):\n%s", diff)
	}
}

func TestGetAttrs(t *testing.T) {
	tests := []struct {
		name       string
		obj        runtime.Object
		wantLabels labels.Set
		wantFields fields.Set
		wantErr    bool
	}{{
		name: "labels and the metadata.name and metadata.namespace fields of a PetSet",
		obj: &apps.PetSet{ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", Labels: map[string]string{"app": "nginx"},
		}},
		wantLabels: labels.Set{"app": "nginx"},
		wantFields: fields.Set{"metadata.name": "web", "metadata.namespace": "shop"},
	}, {
		name:    "another type is an error",
		obj:     &apps.PetSetList{},
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotLabels, gotFields, err := GetAttrs(tc.obj)
			if (err != nil) != tc.wantErr {
				t.Fatalf("GetAttrs error = %v, want error: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantLabels, gotLabels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFields, gotFields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchPetSet(t *testing.T) {
	web := &apps.PetSet{ObjectMeta: metav1.ObjectMeta{
		Name: "web", Namespace: "shop", Labels: map[string]string{"app": "nginx", "tier": "frontend"},
	}}
	tests := []struct {
		name  string
		label string
		field string
		want  bool
	}{
		{name: "everything matches an empty selector", want: true},
		{name: "metadata.name selects by name", field: "metadata.name=web", want: true},
		{name: "metadata.name of another PetSet does not match", field: "metadata.name=db", want: false},
		{name: "metadata.name != excludes by name", field: "metadata.name!=web", want: false},
		{name: "metadata.namespace selects by namespace", field: "metadata.namespace=shop", want: true},
		{name: "metadata.namespace of another namespace does not match", field: "metadata.namespace=default", want: false},
		{name: "name and namespace together match", field: "metadata.name=web,metadata.namespace=shop", want: true},
		{name: "name and namespace together need both", field: "metadata.name=web,metadata.namespace=default", want: false},
		{name: "a matching label selector matches", label: "app=nginx", want: true},
		{name: "a set-based label selector matches", label: "tier in (frontend,backend)", want: true},
		{name: "a label selector for another app does not match", label: "app=apache", want: false},
		{name: "labels and fields must both match", label: "app=nginx", field: "metadata.name=db", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := labels.Parse(tc.label)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := fields.ParseSelector(tc.field)
			if err != nil {
				t.Fatal(err)
			}
			predicate := MatchPetSet(ls, fs)
			got, err := predicate.Matches(web)
			if err != nil {
				t.Fatalf("Matches: %v", err)
			}
			if got != tc.want {
				t.Errorf("Matches(label %q, field %q) = %v, want %v", tc.label, tc.field, got, tc.want)
			}
		})
	}
}
