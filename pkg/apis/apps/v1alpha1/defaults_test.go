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

package v1alpha1_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apis/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// guidePetSet decodes the PetSet "web" of the guide's example.
func guidePetSet(t *testing.T) *appsv1alpha1.PetSet {
	t.Helper()
	data, err := os.ReadFile("testdata/petset-web.yaml")
	if err != nil {
		t.Fatalf("reading the guide's manifest: %v", err)
	}
	petSet := &appsv1alpha1.PetSet{}
	if err := yaml.UnmarshalStrict(data, petSet); err != nil {
		t.Fatalf("decoding the guide's manifest: %v", err)
	}
	return petSet
}

// minimalPetSet has only what a user must write.
func minimalPetSet(templateLabels map[string]string) *appsv1alpha1.PetSet {
	return &appsv1alpha1.PetSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: metav1.NamespaceDefault},
		Spec: appsv1alpha1.PetSetSpec{
			ServiceName: "nginx",
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: templateLabels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}},
				},
			},
		},
	}
}

func TestSetObjectDefaultsPetSet(t *testing.T) {
	appNginx := map[string]string{"app": "nginx"}
	tests := []struct {
		name         string
		in           *appsv1alpha1.PetSet
		wantReplicas int32
		wantSelector *metav1.LabelSelector
		wantLabels   map[string]string
	}{{
		name:         "selector and labels from the template labels, one replica",
		in:           minimalPetSet(map[string]string{"app": "nginx"}),
		wantReplicas: 1,
		wantSelector: &metav1.LabelSelector{MatchLabels: appNginx},
		wantLabels:   appNginx,
	}, {
		name: "PetSet labels are kept",
		in: func() *appsv1alpha1.PetSet {
			p := minimalPetSet(map[string]string{"app": "nginx"})
			p.Labels = map[string]string{"team": "web"}
			return p
		}(),
		wantReplicas: 1,
		wantSelector: &metav1.LabelSelector{MatchLabels: appNginx},
		wantLabels:   map[string]string{"team": "web"},
	}, {
		name: "selector is kept",
		in: func() *appsv1alpha1.PetSet {
			p := minimalPetSet(map[string]string{"app": "nginx", "tier": "web"})
			p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}
			return p
		}(),
		wantReplicas: 1,
		wantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}},
		wantLabels:   map[string]string{"app": "nginx", "tier": "web"},
	}, {
		name:         "no template labels: no selector, no labels",
		in:           minimalPetSet(nil),
		wantReplicas: 1,
	}, {
		name: "explicit zero replicas are kept",
		in: func() *appsv1alpha1.PetSet {
			p := minimalPetSet(map[string]string{"app": "nginx"})
			p.Spec.Replicas = new(int32(0))
			return p
		}(),
		wantReplicas: 0,
		wantSelector: &metav1.LabelSelector{MatchLabels: appNginx},
		wantLabels:   appNginx,
	}, {
		name: "explicit replicas are kept",
		in: func() *appsv1alpha1.PetSet {
			p := minimalPetSet(map[string]string{"app": "nginx"})
			p.Spec.Replicas = new(int32(5))
			return p
		}(),
		wantReplicas: 5,
		wantSelector: &metav1.LabelSelector{MatchLabels: appNginx},
		wantLabels:   appNginx,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.in.DeepCopy()
			v1alpha1.SetObjectDefaults_PetSet(p)
			if p.Spec.Replicas == nil {
				t.Fatal("replicas not defaulted")
			}
			if *p.Spec.Replicas != tc.wantReplicas {
				t.Errorf("replicas = %d, want %d", *p.Spec.Replicas, tc.wantReplicas)
			}
			if diff := cmp.Diff(tc.wantSelector, p.Spec.Selector); diff != "" {
				t.Errorf("selector (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLabels, p.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetObjectDefaultsPetSetCopiesLabels(t *testing.T) {
	p := minimalPetSet(map[string]string{"app": "nginx"})
	v1alpha1.SetObjectDefaults_PetSet(p)
	p.Spec.Template.Labels["app"] = "apache"
	if got := p.Spec.Selector.MatchLabels["app"]; got != "nginx" {
		t.Errorf("the selector shares the template labels: app = %q after changing the template", got)
	}
	if got := p.Labels["app"]; got != "nginx" {
		t.Errorf("the PetSet labels share the template labels: app = %q after changing the template", got)
	}
}

func TestSetObjectDefaultsUpdateStrategy(t *testing.T) {
	one, zero, ten, three := intstr.FromInt32(1), int32(0), int32(10), int32(3)
	half := intstr.FromString("50%")
	for _, tc := range []struct {
		name         string
		strategy     appsv1alpha1.PetSetUpdateStrategy
		historyLimit *int32
		want         appsv1alpha1.PetSetUpdateStrategy
		wantLimit    int32
	}{{
		name:      "none: OnDelete, the 1.4 behaviour",
		want:      appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.OnDeletePetSetStrategyType},
		wantLimit: ten,
	}, {
		name:     "RollingUpdate alone gets partition 0, maxUnavailable 1 and unhealthyPodPolicy Wait",
		strategy: appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType},
		want: appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
			RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: &zero, MaxUnavailable: &one, UnhealthyPodPolicy: appsv1alpha1.WaitUnhealthyPodPolicy}},
		wantLimit: ten,
	}, {
		name: "explicit values are kept",
		strategy: appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
			RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: &three, MaxUnavailable: &half, UnhealthyPodPolicy: appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy}},
		historyLimit: &zero,
		want: appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
			RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: &three, MaxUnavailable: &half, UnhealthyPodPolicy: appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy}},
		wantLimit: zero,
	}, {
		name:      "Recreate gets no rollingUpdate",
		strategy:  appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RecreatePetSetStrategyType},
		want:      appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RecreatePetSetStrategyType},
		wantLimit: ten,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := minimalPetSet(map[string]string{"app": "nginx"})
			p.Spec.UpdateStrategy = tc.strategy
			p.Spec.RevisionHistoryLimit = tc.historyLimit
			v1alpha1.SetObjectDefaults_PetSet(p)
			if diff := cmp.Diff(tc.want, p.Spec.UpdateStrategy); diff != "" {
				t.Errorf("updateStrategy (-want +got):\n%s", diff)
			}
			if p.Spec.RevisionHistoryLimit == nil || *p.Spec.RevisionHistoryLimit != tc.wantLimit {
				t.Errorf("revisionHistoryLimit %v, want %d", p.Spec.RevisionHistoryLimit, tc.wantLimit)
			}
		})
	}
}

func TestSetObjectDefaultsPolicies(t *testing.T) {
	retain, del := appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
	for _, tc := range []struct {
		name       string
		policy     appsv1alpha1.PodManagementPolicyType
		retention  *appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy
		ordinals   *appsv1alpha1.PetSetOrdinals
		wantPolicy appsv1alpha1.PodManagementPolicyType
		want       appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy
	}{{
		name:       "none: OrderedReady and Retain, the 1.4 behaviour",
		wantPolicy: appsv1alpha1.OrderedReadyPodManagement,
		want:       appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: retain, WhenScaled: retain},
	}, {
		name:       "explicit values are kept",
		policy:     appsv1alpha1.ParallelPodManagement,
		retention:  &appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: del, WhenScaled: del},
		ordinals:   &appsv1alpha1.PetSetOrdinals{Start: 3},
		wantPolicy: appsv1alpha1.ParallelPodManagement,
		want:       appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: del, WhenScaled: del},
	}, {
		name:       "one retention policy set: the other is Retain",
		retention:  &appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{WhenScaled: del},
		wantPolicy: appsv1alpha1.OrderedReadyPodManagement,
		want:       appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: retain, WhenScaled: del},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := minimalPetSet(map[string]string{"app": "nginx"})
			p.Spec.PodManagementPolicy = tc.policy
			p.Spec.PersistentVolumeClaimRetentionPolicy = tc.retention
			p.Spec.Ordinals = tc.ordinals.DeepCopy()
			v1alpha1.SetObjectDefaults_PetSet(p)
			if p.Spec.PodManagementPolicy != tc.wantPolicy {
				t.Errorf("podManagementPolicy %q, want %q", p.Spec.PodManagementPolicy, tc.wantPolicy)
			}
			if diff := cmp.Diff(&tc.want, p.Spec.PersistentVolumeClaimRetentionPolicy); diff != "" {
				t.Errorf("persistentVolumeClaimRetentionPolicy (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ordinals, p.Spec.Ordinals); diff != "" {
				t.Errorf("ordinals are not defaulted (-want +got):\n%s", diff)
			}
			if p.Spec.MinReadySeconds != 0 {
				t.Errorf("minReadySeconds %d, want 0", p.Spec.MinReadySeconds)
			}
		})
	}
}

func TestSetObjectDefaultsPodTemplate(t *testing.T) {
	p := minimalPetSet(map[string]string{"app": "nginx"})
	p.Spec.Template.Spec.Containers = []corev1.Container{
		{Name: "tagged", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}}},
		{Name: "latest", Image: "nginx:latest"},
		{Name: "untagged", Image: "nginx"},
		{Name: "explicit", Image: "nginx", ImagePullPolicy: corev1.PullNever, TerminationMessagePath: "/tmp/end"},
	}
	p.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:1.36"}}
	v1alpha1.SetObjectDefaults_PetSet(p)
	spec := p.Spec.Template.Spec

	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("restartPolicy = %q, want Always", spec.RestartPolicy)
	}
	if spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("dnsPolicy = %q, want ClusterFirst", spec.DNSPolicy)
	}
	if spec.SchedulerName != corev1.DefaultSchedulerName {
		t.Errorf("schedulerName = %q, want %q", spec.SchedulerName, corev1.DefaultSchedulerName)
	}
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds != corev1.DefaultTerminationGracePeriodSeconds {
		t.Errorf("terminationGracePeriodSeconds = %v, want %d", spec.TerminationGracePeriodSeconds, corev1.DefaultTerminationGracePeriodSeconds)
	}
	if spec.SecurityContext == nil {
		t.Error("securityContext not defaulted")
	}

	wantPullPolicies := map[string]corev1.PullPolicy{
		"tagged":   corev1.PullIfNotPresent,
		"latest":   corev1.PullAlways,
		"untagged": corev1.PullAlways,
		"explicit": corev1.PullNever,
	}
	for _, c := range spec.Containers {
		if c.ImagePullPolicy != wantPullPolicies[c.Name] {
			t.Errorf("container %s: imagePullPolicy = %q, want %q", c.Name, c.ImagePullPolicy, wantPullPolicies[c.Name])
		}
		wantPath := corev1.TerminationMessagePathDefault
		if c.Name == "explicit" {
			wantPath = "/tmp/end"
		}
		if c.TerminationMessagePath != wantPath {
			t.Errorf("container %s: terminationMessagePath = %q, want %q", c.Name, c.TerminationMessagePath, wantPath)
		}
		if c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
			t.Errorf("container %s: terminationMessagePolicy = %q, want File", c.Name, c.TerminationMessagePolicy)
		}
	}
	if got := spec.Containers[0].Ports[0].Protocol; got != corev1.ProtocolTCP {
		t.Errorf("port protocol = %q, want TCP", got)
	}
	if got := spec.InitContainers[0].ImagePullPolicy; got != corev1.PullIfNotPresent {
		t.Errorf("init container imagePullPolicy = %q, want IfNotPresent", got)
	}
}

func TestSetObjectDefaultsKeepsExplicitTemplateValues(t *testing.T) {
	p := minimalPetSet(map[string]string{"app": "nginx"})
	p.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Template.Spec.DNSPolicy = corev1.DNSDefault
	p.Spec.Template.Spec.TerminationGracePeriodSeconds = new(int64(0))
	v1alpha1.SetObjectDefaults_PetSet(p)
	spec := p.Spec.Template.Spec
	if spec.RestartPolicy != corev1.RestartPolicyNever || spec.DNSPolicy != corev1.DNSDefault || *spec.TerminationGracePeriodSeconds != 0 {
		t.Errorf("explicit values changed: restartPolicy %q, dnsPolicy %q, terminationGracePeriodSeconds %d",
			spec.RestartPolicy, spec.DNSPolicy, *spec.TerminationGracePeriodSeconds)
	}
}

func TestSetObjectDefaultsClaimTemplates(t *testing.T) {
	block := corev1.PersistentVolumeBlock
	p := minimalPetSet(map[string]string{"app": "nginx"})
	p.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{
		{ObjectMeta: metav1.ObjectMeta{Name: "www"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "raw"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: &block}},
	}
	v1alpha1.SetObjectDefaults_PetSet(p)
	for i, want := range []corev1.PersistentVolumeMode{corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeBlock} {
		claim := p.Spec.VolumeClaimTemplates[i]
		if claim.Spec.VolumeMode == nil || *claim.Spec.VolumeMode != want {
			t.Errorf("claim %s: volumeMode = %v, want %s", claim.Name, claim.Spec.VolumeMode, want)
		}
		if claim.Status.Phase != corev1.ClaimPending {
			t.Errorf("claim %s: status.phase = %q, want Pending", claim.Name, claim.Status.Phase)
		}
	}
}

func TestSetObjectDefaultsIdempotent(t *testing.T) {
	once := guidePetSet(t)
	v1alpha1.SetObjectDefaults_PetSet(once)
	twice := once.DeepCopy()
	v1alpha1.SetObjectDefaults_PetSet(twice)
	if diff := cmp.Diff(once, twice); diff != "" {
		t.Errorf("defaulting twice changed the object (-once +twice):\n%s", diff)
	}
}

func TestDefaultsRegisteredInScheme(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	viaScheme := guidePetSet(t)
	scheme.Default(viaScheme)
	direct := guidePetSet(t)
	v1alpha1.SetObjectDefaults_PetSet(direct)
	if diff := cmp.Diff(direct, viaScheme); diff != "" {
		t.Errorf("scheme defaulting differs (-direct +scheme):\n%s", diff)
	}

	list := &appsv1alpha1.PetSetList{Items: []appsv1alpha1.PetSet{*guidePetSet(t)}}
	scheme.Default(list)
	if diff := cmp.Diff(*direct, list.Items[0]); diff != "" {
		t.Errorf("list items not defaulted (-want +got):\n%s", diff)
	}
}

func TestGuideExampleDefaultsAndConversion(t *testing.T) {
	external := guidePetSet(t)
	v1alpha1.SetObjectDefaults_PetSet(external)
	// The kind and version are the serializer's business, not the
	// conversion's.
	external.TypeMeta = metav1.TypeMeta{}

	internal := &apps.PetSet{}
	if err := v1alpha1.Convert_v1alpha1_PetSet_To_apps_PetSet(external, internal, nil); err != nil {
		t.Fatalf("converting to internal: %v", err)
	}

	// What the guide shows of the object.
	if internal.Name != "web" || internal.Spec.ServiceName != "nginx" || internal.Spec.Replicas != 2 {
		t.Errorf("name %q, serviceName %q, replicas %d; want web, nginx, 2", internal.Name, internal.Spec.ServiceName, internal.Spec.Replicas)
	}
	appNginx := map[string]string{"app": "nginx"}
	if diff := cmp.Diff(&metav1.LabelSelector{MatchLabels: appNginx}, internal.Spec.Selector); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(appNginx, internal.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got := internal.Spec.Template.Annotations[appsv1alpha1.PetSetInitAnnotation]; got != "true" {
		t.Errorf("%s = %q, want \"true\"", appsv1alpha1.PetSetInitAnnotation, got)
	}
	if got := *internal.Spec.Template.Spec.TerminationGracePeriodSeconds; got != 0 {
		t.Errorf("terminationGracePeriodSeconds = %d, want the manifest's 0", got)
	}
	if len(internal.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("%d claim templates, want 1", len(internal.Spec.VolumeClaimTemplates))
	}
	claim := internal.Spec.VolumeClaimTemplates[0]
	if storage := claim.Spec.Resources.Requests[corev1.ResourceStorage]; claim.Name != "www" || storage.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("claim template %q requesting %s, want www requesting 1Gi", claim.Name, storage.String())
	}

	back := &appsv1alpha1.PetSet{}
	if err := v1alpha1.Convert_apps_PetSet_To_v1alpha1_PetSet(internal, back, nil); err != nil {
		t.Fatalf("converting back: %v", err)
	}
	if !apiequality.Semantic.DeepEqual(external, back) {
		t.Errorf("conversion round trip changed the object (-before +after):\n%s", cmp.Diff(external, back))
	}
	before, err := json.Marshal(external)
	if err != nil {
		t.Fatal(err)
	}
	after, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Errorf("conversion round trip changed the serialization:\nbefore: %s\nafter:  %s", before, after)
	}
}
