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

package validation

import (
	"math"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apis/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/randfill"
	"sigs.k8s.io/yaml"
)

// guideManifest is the PetSet "web" of the guide's example.
const guideManifest = "../v1alpha1/testdata/petset-web.yaml"

// fieldError is what the tests compare of an error: its type and field path.
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

func checkErrors(t *testing.T, errs field.ErrorList, want []fieldError) {
	t.Helper()
	if diff := cmp.Diff(want, summarize(errs)); diff != "" {
		t.Errorf("unexpected errors (-want +got):\n%s\nerrors: %v", diff, errs.ToAggregate())
	}
}

// guidePetSet decodes the guide's PetSet as a client would send it, in the
// namespace the request would give it.
func guidePetSet(t *testing.T) *appsv1alpha1.PetSet {
	t.Helper()
	data, err := os.ReadFile(guideManifest)
	if err != nil {
		t.Fatalf("reading the guide's manifest: %v", err)
	}
	petSet := &appsv1alpha1.PetSet{}
	if err := yaml.UnmarshalStrict(data, petSet); err != nil {
		t.Fatalf("decoding the guide's manifest: %v", err)
	}
	petSet.Namespace = metav1.NamespaceDefault
	return petSet
}

// toInternal does to an external PetSet what the API server does to a
// request body before validating it: default, then convert.
func toInternal(t *testing.T, in *appsv1alpha1.PetSet) *apps.PetSet {
	t.Helper()
	ext := in.DeepCopy()
	v1alpha1.SetObjectDefaults_PetSet(ext)
	out := &apps.PetSet{}
	if err := v1alpha1.Convert_v1alpha1_PetSet_To_apps_PetSet(ext, out, nil); err != nil {
		t.Fatalf("converting: %v", err)
	}
	return out
}

// newPetSet is the guide's PetSet changed by mutate, as it reaches
// validation on a create.
func newPetSet(t *testing.T, mutate func(*appsv1alpha1.PetSet)) *apps.PetSet {
	t.Helper()
	ext := guidePetSet(t)
	if mutate != nil {
		mutate(ext)
	}
	return toInternal(t, ext)
}

// storedAndUpdated returns the guide's PetSet as stored, and the same
// object read back by a client, changed by mutate and sent as an update.
func storedAndUpdated(t *testing.T, mutate func(*appsv1alpha1.PetSet)) (updated, stored *apps.PetSet) {
	t.Helper()
	ext := guidePetSet(t)
	v1alpha1.SetObjectDefaults_PetSet(ext)
	ext.ResourceVersion = "1"
	ext.Generation = 1
	stored = toInternal(t, ext)
	if mutate != nil {
		mutate(ext)
	}
	return toInternal(t, ext), stored
}

func container(ext *appsv1alpha1.PetSet) *corev1.Container {
	return &ext.Spec.Template.Spec.Containers[0]
}

func claim(name, size string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			},
		},
	}
}

func TestValidatePetSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1alpha1.PetSet)
		want   []fieldError
	}{{
		name: "guide example, selector defaulted from the template labels",
	}, {
		name:   "no service name (the registry warns)",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.ServiceName = "" },
	}, {
		name:   "zero replicas",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Replicas = new(int32(0)) },
	}, {
		name: "rolling update with partition and percentage",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: new(int32(2)), MaxUnavailable: new(intstr.FromString("100%"))}}
		},
	}, {
		name:   "recreate",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.UpdateStrategy.Type = appsv1alpha1.RecreatePetSetStrategyType },
	}, {
		name: "every apps/v1 field set",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement
			p.Spec.MinReadySeconds = 5
			p.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: 5}
			p.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType,
			}
		},
	}, {
		name:   "unknown podManagementPolicy",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.PodManagementPolicy = "Random" },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.podManagementPolicy"}},
	}, {
		name:   "negative minReadySeconds",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.MinReadySeconds = -1 },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.minReadySeconds"}},
	}, {
		name:   "negative ordinals.start",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: -1} },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.ordinals.start"}},
	}, {
		name: "highest ordinal at the int32 limit",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Replicas = new(int32(3))
			p.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: math.MaxInt32 - 2}
		},
	}, {
		name: "highest ordinal beyond the int32 limit",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Replicas = new(int32(3))
			p.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: math.MaxInt32 - 1}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.ordinals.start"}},
	}, {
		name: "unknown claim retention policies",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: "Keep", WhenScaled: "delete",
			}
		},
		want: []fieldError{
			{field.ErrorTypeNotSupported, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"},
			{field.ErrorTypeNotSupported, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"},
		},
	}, {
		name: "pod-index label in the template",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Labels[appsv1alpha1.PodIndexLabel] = "0"
		},
		want: []fieldError{
			{field.ErrorTypeForbidden, "spec.selector.matchLabels[apps.kubernetes.io/pod-index]"},
			{field.ErrorTypeForbidden, "spec.template.metadata.labels[apps.kubernetes.io/pod-index]"},
		},
	}, {
		name:   "unknown update strategy",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.UpdateStrategy.Type = "Sometimes" },
		want:   []fieldError{{field.ErrorTypeNotSupported, "spec.updateStrategy.type"}},
	}, {
		name: "rollingUpdate with OnDelete",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.OnDeletePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: new(int32(1))}}
		},
		want: []fieldError{{field.ErrorTypeForbidden, "spec.updateStrategy.rollingUpdate"}},
	}, {
		name: "rollingUpdate with Recreate",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RecreatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{}}
		},
		want: []fieldError{{field.ErrorTypeForbidden, "spec.updateStrategy.rollingUpdate"}},
	}, {
		name: "negative partition, zero maxUnavailable",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: new(int32(-1)), MaxUnavailable: new(intstr.FromInt32(0))}}
		},
		want: []fieldError{
			{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.partition"},
			{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxUnavailable"},
		},
	}, {
		name: "maxUnavailable 0%",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{MaxUnavailable: new(intstr.FromString("0%"))}}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxUnavailable"}},
	}, {
		name: "maxUnavailable over 100%",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{MaxUnavailable: new(intstr.FromString("101%"))}}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxUnavailable"}},
	}, {
		name: "maxUnavailable not a percentage",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{MaxUnavailable: new(intstr.FromString("half"))}}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.updateStrategy.rollingUpdate.maxUnavailable"}},
	}, {
		name: "unknown unhealthyPodPolicy",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{UnhealthyPodPolicy: "Delete"}}
		},
		want: []fieldError{{field.ErrorTypeNotSupported, "spec.updateStrategy.rollingUpdate.unhealthyPodPolicy"}},
	}, {
		name:   "zero progressDeadlineSeconds",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.ProgressDeadlineSeconds = new(int32(0)) },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.progressDeadlineSeconds"}},
	}, {
		name: "progressDeadlineSeconds not above minReadySeconds",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.MinReadySeconds = 30
			p.Spec.ProgressDeadlineSeconds = new(int32(30))
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.progressDeadlineSeconds"}},
	}, {
		name:   "unknown podRemovalPolicy",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.PodRemovalPolicy = "Drain" },
		want:   []fieldError{{field.ErrorTypeNotSupported, "spec.podRemovalPolicy"}},
	}, {
		name:   "negative revisionHistoryLimit",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.RevisionHistoryLimit = new(int32(-1)) },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.revisionHistoryLimit"}},
	}, {
		name: "controller-revision-hash in the template labels",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Labels[appsv1alpha1.ControllerRevisionHashLabel] = "web-1"
		},
		want: []fieldError{
			{field.ErrorTypeForbidden, "spec.selector.matchLabels[controller-revision-hash]"},
			{field.ErrorTypeForbidden, "spec.template.metadata.labels[controller-revision-hash]"},
		},
	}, {
		name: "explicit selector matching a subset of the template labels",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Labels["tier"] = "web"
			p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"nginx", "apache"},
			}}}
		},
	}, {
		name: "mount resolving to a second claim template",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates = append(p.Spec.VolumeClaimTemplates, claim("logs", "100Mi"))
			container(p).VolumeMounts = append(container(p).VolumeMounts, corev1.VolumeMount{Name: "logs", MountPath: "/var/log/nginx"})
		},
	}, {
		name: "mount resolving to a template volume",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			container(p).VolumeMounts = append(container(p).VolumeMounts, corev1.VolumeMount{Name: "cache", MountPath: "/var/cache/nginx"})
		},
	}, {
		name: "claim template takes precedence over a template volume of the same name",
		mutate: func(p *appsv1alpha1.PetSet) {
			// On its own this volume is invalid (no path): it is replaced.
			p.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "www", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{}}}}
		},
	}, {
		name: "errors on template volumes keep their index when a claim template shadows an earlier one",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.Volumes = []corev1.Volume{
				{Name: "www", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "conf", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{}}},
			}
		},
		want: []fieldError{{field.ErrorTypeRequired, "spec.template.spec.volumes[1].hostPath.path"}},
	}, {
		name: "hostname and subdomain are set by the controller and not validated",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.Hostname = "Not_A_Label"
			p.Spec.Template.Spec.Subdomain = "Not_A_Label"
		},
	}, {
		name:   "bad name",
		mutate: func(p *appsv1alpha1.PetSet) { p.Name = "Web_1" },
		want:   []fieldError{{field.ErrorTypeInvalid, "metadata.name"}},
	}, {
		name:   "name too long for a DNS-1123 label",
		mutate: func(p *appsv1alpha1.PetSet) { p.Name = "web-" + strings.Repeat("a", 60) },
		want:   []fieldError{{field.ErrorTypeInvalid, "metadata.name"}},
	}, {
		name:   "no namespace",
		mutate: func(p *appsv1alpha1.PetSet) { p.Namespace = "" },
		want:   []fieldError{{field.ErrorTypeRequired, "metadata.namespace"}},
	}, {
		name:   "negative replicas",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Replicas = new(int32(-1)) },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.replicas"}},
	}, {
		name: "missing selector (no template labels to default it from)",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Labels = nil
		},
		want: []fieldError{{field.ErrorTypeRequired, "spec.selector"}},
	}, {
		name:   "empty selector",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Selector = &metav1.LabelSelector{} },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.selector"}},
	}, {
		name: "invalid selector",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "-nginx-"}}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.selector.matchLabels"}},
	}, {
		name: "selector not matching the template labels",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "apache"}}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	}, {
		name:   "restartPolicy Never",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
		want:   []fieldError{{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
	}, {
		name:   "restartPolicy OnFailure",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
		want:   []fieldError{{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
	}, {
		name:   "activeDeadlineSeconds",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64(600)) },
		want:   []fieldError{{field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"}},
	}, {
		name: "invalid template label",
		mutate: func(p *appsv1alpha1.PetSet) {
			// Set so that they are not defaulted from the template labels.
			p.Labels = map[string]string{"app": "nginx"}
			p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}
			p.Spec.Template.Labels["bad key"] = "x"
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.template.labels"}},
	}, {
		name: "no containers",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.Containers = nil
		},
		want: []fieldError{{field.ErrorTypeRequired, "spec.template.spec.containers"}},
	}, {
		name: "duplicate container names",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.Containers = append(p.Spec.Template.Spec.Containers, corev1.Container{Name: "nginx", Image: "busybox"})
		},
		want: []fieldError{{field.ErrorTypeDuplicate, "spec.template.spec.containers[1].name"}},
	}, {
		name:   "empty image",
		mutate: func(p *appsv1alpha1.PetSet) { container(p).Image = "" },
		want:   []fieldError{{field.ErrorTypeRequired, "spec.template.spec.containers[0].image"}},
	}, {
		name:   "port out of range",
		mutate: func(p *appsv1alpha1.PetSet) { container(p).Ports[0].ContainerPort = 70000 },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.template.spec.containers[0].ports[0].containerPort"}},
	}, {
		name:   "invalid port name",
		mutate: func(p *appsv1alpha1.PetSet) { container(p).Ports[0].Name = "Web_Port" },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.template.spec.containers[0].ports[0].name"}},
	}, {
		name: "probe without a handler",
		mutate: func(p *appsv1alpha1.PetSet) {
			container(p).ReadinessProbe = &corev1.Probe{}
		},
		want: []fieldError{{field.ErrorTypeRequired, "spec.template.spec.containers[0].readinessProbe"}},
	}, {
		name: "probe with a negative period",
		mutate: func(p *appsv1alpha1.PetSet) {
			container(p).LivenessProbe = &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}},
				PeriodSeconds: -5,
			}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.template.spec.containers[0].livenessProbe.periodSeconds"}},
	}, {
		name: "invalid resources",
		mutate: func(p *appsv1alpha1.PetSet) {
			container(p).Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.template.spec.containers[0].resources.requests"}},
	}, {
		name: "volumeMount resolving to nothing",
		mutate: func(p *appsv1alpha1.PetSet) {
			container(p).VolumeMounts = append(container(p).VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
		},
		want: []fieldError{{field.ErrorTypeNotFound, "spec.template.spec.containers[0].volumeMounts[1].name"}},
	}, {
		name:   "unknown dnsPolicy",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.DNSPolicy = "Sometimes" },
		want:   []fieldError{{field.ErrorTypeNotSupported, "spec.template.spec.dnsPolicy"}},
	}, {
		name: "ephemeral containers",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox",
			}}}
		},
		want: []fieldError{{field.ErrorTypeForbidden, "spec.template.spec.ephemeralContainers"}},
	}, {
		name: "bad claim template name",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates = append(p.Spec.VolumeClaimTemplates, claim("Logs_1", "1Gi"))
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.volumeClaimTemplates[1].metadata.name"}},
	}, {
		name: "claim template without a name",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates = append(p.Spec.VolumeClaimTemplates, claim("", "1Gi"))
		},
		want: []fieldError{{field.ErrorTypeRequired, "spec.volumeClaimTemplates[1].metadata.name"}},
	}, {
		name: "mount of a claim template with a bad name resolves to nothing",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Name = "WWW"
			container(p).VolumeMounts[0].Name = "WWW"
		},
		want: []fieldError{
			{field.ErrorTypeInvalid, "spec.volumeClaimTemplates[0].metadata.name"},
			{field.ErrorTypeNotFound, "spec.template.spec.containers[0].volumeMounts[0].name"},
		},
	}, {
		name: "duplicate claim template names",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates = append(p.Spec.VolumeClaimTemplates, claim("www", "2Gi"))
		},
		want: []fieldError{{field.ErrorTypeDuplicate, "spec.volumeClaimTemplates[1].metadata.name"}},
	}, {
		name: "invalid claim template label",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"bad key": "x"}
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.volumeClaimTemplates[0].metadata.labels"}},
	}, {
		name:   "missing access modes",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil },
		want:   []fieldError{{field.ErrorTypeRequired, "spec.volumeClaimTemplates[0].spec.accessModes"}},
	}, {
		name: "unknown access mode",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes"}
		},
		want: []fieldError{{field.ErrorTypeNotSupported, "spec.volumeClaimTemplates[0].spec.accessModes"}},
	}, {
		name:   "missing storage request",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests = nil },
		want:   []fieldError{{field.ErrorTypeRequired, "spec.volumeClaimTemplates[0].spec.resources.requests[storage]"}},
	}, {
		name: "zero storage request",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.volumeClaimTemplates[0].spec.resources.requests[storage]"}},
	}, {
		name: "invalid storage class name",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = new("Fast_SSD")
		},
		want: []fieldError{{field.ErrorTypeInvalid, "spec.volumeClaimTemplates[0].spec.storageClassName"}},
	}, {
		name:   "bad service name",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.ServiceName = "Nginx_Service" },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.serviceName"}},
	}, {
		name: "several errors at once",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Replicas = new(int32(-3))
			p.Spec.ServiceName = "-nginx"
			p.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			container(p).Image = ""
		},
		want: []fieldError{
			{field.ErrorTypeInvalid, "spec.replicas"},
			{field.ErrorTypeInvalid, "spec.serviceName"},
			{field.ErrorTypeRequired, "spec.template.spec.containers[0].image"},
			{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, ValidatePetSet(newPetSet(t, tc.mutate)), tc.want)
		})
	}
}

func TestValidatePetSetWithoutDefaults(t *testing.T) {
	// A template that missed the core defaults is refused the way
	// kube-apiserver would refuse it (this cannot reach validation through
	// the API server, which always defaults).
	ext := guidePetSet(t)
	ext.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}
	ext.Spec.Replicas = new(int32(1))
	petSet := &apps.PetSet{}
	if err := v1alpha1.Convert_v1alpha1_PetSet_To_apps_PetSet(ext, petSet, nil); err != nil {
		t.Fatal(err)
	}
	want := []fieldError{
		{field.ErrorTypeRequired, "spec.template.spec.containers[0].terminationMessagePolicy"},
		{field.ErrorTypeRequired, "spec.template.spec.containers[0].ports[0].protocol"},
		{field.ErrorTypeRequired, "spec.template.spec.containers[0].imagePullPolicy"},
		{field.ErrorTypeRequired, "spec.template.spec.restartPolicy"},
		{field.ErrorTypeRequired, "spec.template.spec.dnsPolicy"},
		{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"},
	}
	checkErrors(t, ValidatePetSet(petSet), want)
}

func TestValidatePetSetName(t *testing.T) {
	for name, valid := range map[string]bool{
		"web":       true,
		"web-1":     true,
		"a":         true,
		"Web":       false,
		"web.nginx": false,
		"-web":      false,
		"web_1":     false,
		"":          false,
	} {
		if got := len(ValidatePetSetName(name, false)) == 0; got != valid {
			t.Errorf("ValidatePetSetName(%q) valid = %v, want %v", name, got, valid)
		}
	}
	if errs := ValidatePetSetName("web-", true); len(errs) != 0 {
		t.Errorf("a prefix may end with a dash: %v", errs)
	}
}

func TestValidatePetSetUpdate(t *testing.T) {
	forbidden := func(path string) fieldError { return fieldError{field.ErrorTypeForbidden, path} }
	tests := []struct {
		name   string
		mutate func(*appsv1alpha1.PetSet)
		want   []fieldError
	}{{
		name: "no change",
	}, {
		name:   "replicas (scale up)",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Replicas = new(int32(5)) },
	}, {
		name:   "replicas (scale to zero)",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Replicas = new(int32(0)) },
	}, {
		name:   "container image (the guide's image upgrade)",
		mutate: func(p *appsv1alpha1.PetSet) { container(p).Image = "gcr.io/google_containers/nginx-slim:0.7" },
	}, {
		name: "container resources and env",
		mutate: func(p *appsv1alpha1.PetSet) {
			container(p).Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			}
			container(p).Env = []corev1.EnvVar{{Name: "NGINX_PORT", Value: "80"}}
		},
	}, {
		name: "container ports, probes and mounts",
		mutate: func(p *appsv1alpha1.PetSet) {
			container(p).Ports = append(container(p).Ports, corev1.ContainerPort{Name: "metrics", ContainerPort: 9113})
			container(p).ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}}}
			container(p).VolumeMounts[0].ReadOnly = true
		},
	}, {
		name: "PetSet labels and annotations",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Labels = map[string]string{"app": "nginx", "team": "web"}
			p.Annotations = map[string]string{"description": "the guide's example"}
		},
	}, {
		name: "same storage request written differently",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1073741824")
		},
	}, {
		name:   "serviceName",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.ServiceName = "apache" },
		want:   []fieldError{forbidden("spec.serviceName")},
	}, {
		name: "selector",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"nginx"},
			}}}
		},
		want: []fieldError{forbidden("spec.selector")},
	}, {
		name:   "template labels",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Labels["tier"] = "web" },
	}, {
		name:   "template labels that no longer match the selector",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Labels = map[string]string{"app": "apache"} },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	}, {
		name: "template annotations",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Annotations[appsv1alpha1.PetSetInitAnnotation] = "false"
		},
	}, {
		name: "a claim template's storage request grows",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		},
	}, {
		name: "a claim template's storage request shrinks",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
		},
		want: []fieldError{forbidden("spec.volumeClaimTemplates[0].spec.resources.requests[storage]")},
	}, {
		name: "a claim template's labels and annotations change",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"tier": "data"}
			p.Spec.VolumeClaimTemplates[0].Annotations = map[string]string{"backup": "daily"}
		},
	}, {
		name: "a claim template's access modes change, its request shrinks: each named",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			p.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
		},
		want: []fieldError{
			forbidden("spec.volumeClaimTemplates[0].spec.resources.requests[storage]"),
			forbidden("spec.volumeClaimTemplates[0]"),
		},
	}, {
		name: "volumeClaimUpdatePolicy",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimUpdatePolicy = appsv1alpha1.InPlaceVolumeClaimUpdatePolicy
		},
	}, {
		name: "added volumeClaimTemplate",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates = append(p.Spec.VolumeClaimTemplates, claim("logs", "1Gi"))
		},
		want: []fieldError{forbidden("spec.volumeClaimTemplates")},
	}, {
		name: "volumes",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		},
	}, {
		name: "initContainers",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
		},
	}, {
		name:   "terminationGracePeriodSeconds",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.TerminationGracePeriodSeconds = new(int64(30)) },
	}, {
		name:   "nodeSelector",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} },
	}, {
		name:   "hostname",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.Hostname = "web" },
	}, {
		name: "serviceAccountName (defaulting keeps the deprecated alias in sync)",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.ServiceAccountName = "nginx"
			p.Spec.Template.Spec.DeprecatedServiceAccount = ""
		},
	}, {
		name: "each changed field is named",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Replicas = new(int32(3))
			p.Spec.ServiceName = "apache"
			container(p).Image = "nginx:1.27"
			p.Spec.Template.Spec.DNSPolicy = corev1.DNSDefault
			p.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		},
		want: []fieldError{forbidden("spec.serviceName")},
	}, {
		name: "added container",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Spec.Containers = append(p.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
		},
	}, {
		name:   "removed container",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Template.Spec.Containers = nil },
		want:   []fieldError{{field.ErrorTypeRequired, "spec.template.spec.containers"}},
	}, {
		name: "updateStrategy",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{
				Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{
					Partition: new(int32(1)), MaxUnavailable: new(intstr.FromString("50%")),
				},
			}
		},
	}, {
		name:   "revisionHistoryLimit",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.RevisionHistoryLimit = new(int32(0)) },
	}, {
		name: "minReadySeconds, ordinals and claim retention",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.MinReadySeconds = 10
			p.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: 3}
			p.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
		},
	}, {
		name:   "progressDeadlineSeconds",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.ProgressDeadlineSeconds = new(int32(600)) },
	}, {
		name:   "podRemovalPolicy",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.PodRemovalPolicy = appsv1alpha1.EvictPodRemovalPolicy },
	}, {
		name:   "ordinals removed",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Ordinals = nil },
	}, {
		name:   "podManagementPolicy",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement },
		want:   []fieldError{forbidden("spec.podManagementPolicy")},
	}, {
		name: "podManagementPolicy and serviceName, each named",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement
			p.Spec.ServiceName = "apache"
		},
		want: []fieldError{forbidden("spec.podManagementPolicy"), forbidden("spec.serviceName")},
	}, {
		name:   "negative minReadySeconds",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.MinReadySeconds = -5 },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.minReadySeconds"}},
	}, {
		name: "claim template storage class and selector (each immutable path is named)",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = new("fast")
			p.Spec.Selector.MatchLabels["tier"] = "web"
			p.Spec.Template.Labels["tier"] = "web"
		},
		want: []fieldError{forbidden("spec.selector"), forbidden("spec.volumeClaimTemplates[0]")},
	}, {
		name:   "changed container made invalid",
		mutate: func(p *appsv1alpha1.PetSet) { container(p).Image = "" },
		want:   []fieldError{{field.ErrorTypeRequired, "spec.template.spec.containers[0].image"}},
	}, {
		name:   "negative replicas",
		mutate: func(p *appsv1alpha1.PetSet) { p.Spec.Replicas = new(int32(-1)) },
		want:   []fieldError{{field.ErrorTypeInvalid, "spec.replicas"}},
	}, {
		name:   "name",
		mutate: func(p *appsv1alpha1.PetSet) { p.Name = "web2" },
		want:   []fieldError{{field.ErrorTypeInvalid, "metadata.name"}},
	}, {
		name:   "no resourceVersion",
		mutate: func(p *appsv1alpha1.PetSet) { p.ResourceVersion = "" },
		want:   []fieldError{{field.ErrorTypeInvalid, "metadata.resourceVersion"}},
	}, {
		name:   "invalid PetSet label",
		mutate: func(p *appsv1alpha1.PetSet) { p.Labels = map[string]string{"app": "-"} },
		want:   []fieldError{{field.ErrorTypeInvalid, "metadata.labels"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			updated, stored := storedAndUpdated(t, tc.mutate)
			checkErrors(t, ValidatePetSetUpdate(updated, stored), tc.want)
		})
	}
}

func TestValidatePetSetUpdateToleratesStoredProblems(t *testing.T) {
	// A PetSet stored when the rules were looser: its service name and
	// template would be refused today.
	_, stored := storedAndUpdated(t, nil)
	stored.Spec.ServiceName = "Nginx_Service"
	stored.Spec.Template.Spec.Containers[0].Ports[0].Name = "Web_Port"

	t.Run("scale", func(t *testing.T) {
		updated := stored.DeepCopy()
		updated.Spec.Replicas = 4
		checkErrors(t, ValidatePetSetUpdate(updated, stored), nil)
	})
	t.Run("finalize", func(t *testing.T) {
		updated := stored.DeepCopy()
		updated.Finalizers = nil
		updated.Labels = map[string]string{"app": "nginx", "state": "retired"}
		checkErrors(t, ValidatePetSetUpdate(updated, stored), nil)
	})
	t.Run("new problem", func(t *testing.T) {
		updated := stored.DeepCopy()
		updated.Spec.Template.Spec.Containers[0].Image = ""
		checkErrors(t, ValidatePetSetUpdate(updated, stored), []fieldError{
			{field.ErrorTypeRequired, "spec.template.spec.containers[0].image"},
		})
	})
}

// TestValidatePetSetUpdateEveryPodSpecField changes each field of the pod
// spec in turn and expects no change of it to be refused as an update of a
// fixed field: the template may change as a whole.
func TestValidatePetSetUpdateEveryPodSpecField(t *testing.T) {
	_, stored := storedAndUpdated(t, nil)
	filler := randfill.New().NilChance(0).NumElements(1, 2).RandSource(rand.NewSource(1))
	specType := reflect.TypeOf(corev1.PodSpec{})
	for i := 0; i < specType.NumField(); i++ {
		f := specType.Field(i)
		name := f.Name
		t.Run(name, func(t *testing.T) {
			updated := stored.DeepCopy()
			value := reflect.ValueOf(&updated.Spec.Template.Spec).Elem().Field(i)
			old := reflect.ValueOf(&stored.Spec.Template.Spec).Elem().Field(i)
			for attempt := 0; apiequality.Semantic.DeepEqual(value.Interface(), old.Interface()); attempt++ {
				if attempt == 100 {
					t.Fatalf("could not generate a different value for %s", name)
				}
				filler.Fill(value.Addr().Interface())
			}

			var got []fieldError
			for _, err := range ValidatePetSetUpdate(updated, stored) {
				if err.Type == field.ErrorTypeForbidden && err.Detail == ForbiddenUpdateMessage {
					got = append(got, fieldError{err.Type, err.Field})
				}
			}
			if diff := cmp.Diff([]fieldError(nil), got); diff != "" {
				t.Errorf("unexpected errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPetSetSpecFieldsCovered fails when a field is added to the spec, as a
// reminder that validatePetSetSpecUpdate must decide whether it may change.
func TestPetSetSpecFieldsCovered(t *testing.T) {
	var names []string
	specType := reflect.TypeOf(apps.PetSetSpec{})
	for i := 0; i < specType.NumField(); i++ {
		names = append(names, specType.Field(i).Name)
	}
	want := []string{"Replicas", "Selector", "Template", "VolumeClaimTemplates", "ServiceName", "UpdateStrategy", "RevisionHistoryLimit",
		"PodManagementPolicy", "MinReadySeconds", "ProgressDeadlineSeconds", "Ordinals", "PersistentVolumeClaimRetentionPolicy", "PodRemovalPolicy", "VolumeClaimUpdatePolicy"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("the PetSet spec fields changed; update validatePetSetSpecUpdate (-known +current):\n%s", diff)
	}
}

func TestValidatePetSetStatusUpdate(t *testing.T) {
	tests := []struct {
		name   string
		status apps.PetSetStatus
		want   []fieldError
	}{{
		name:   "valid",
		status: apps.PetSetStatus{ObservedGeneration: new(int64(1)), Replicas: 2, ReadyReplicas: 1},
	}, {
		name:   "all ready",
		status: apps.PetSetStatus{ObservedGeneration: new(int64(1)), Replicas: 2, ReadyReplicas: 2},
	}, {
		name:   "no observed generation yet",
		status: apps.PetSetStatus{},
	}, {
		name:   "negative replicas",
		status: apps.PetSetStatus{Replicas: -1, ReadyReplicas: -1},
		want: []fieldError{
			{field.ErrorTypeInvalid, "status.replicas"},
			{field.ErrorTypeInvalid, "status.readyReplicas"},
			{field.ErrorTypeInvalid, "status.currentReplicas"},
			{field.ErrorTypeInvalid, "status.updatedReplicas"},
			{field.ErrorTypeInvalid, "status.availableReplicas"},
			{field.ErrorTypeInvalid, "status.availableReplicas"},
		},
	}, {
		name:   "negative ready replicas",
		status: apps.PetSetStatus{Replicas: 1, ReadyReplicas: -1},
		want: []fieldError{
			{field.ErrorTypeInvalid, "status.readyReplicas"},
			{field.ErrorTypeInvalid, "status.availableReplicas"},
		},
	}, {
		name:   "more ready than existing",
		status: apps.PetSetStatus{Replicas: 1, ReadyReplicas: 2},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.readyReplicas"}},
	}, {
		name:   "negative observed generation",
		status: apps.PetSetStatus{ObservedGeneration: new(int64(-1)), Replicas: 1},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.observedGeneration"}},
	}, {
		name: "revisions",
		status: apps.PetSetStatus{Replicas: 3, CurrentReplicas: 1, UpdatedReplicas: 2,
			CurrentRevision: "web-a", UpdateRevision: "web-b", CollisionCount: new(int32(2))},
	}, {
		name:   "negative revision counts",
		status: apps.PetSetStatus{Replicas: 1, CurrentReplicas: -1, UpdatedReplicas: -1, CollisionCount: new(int32(-1))},
		want: []fieldError{
			{field.ErrorTypeInvalid, "status.currentReplicas"},
			{field.ErrorTypeInvalid, "status.updatedReplicas"},
			{field.ErrorTypeInvalid, "status.collisionCount"},
		},
	}, {
		name: "available replicas and conditions",
		status: apps.PetSetStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 1, Conditions: []metav1.Condition{{
			Type: appsv1alpha1.PetSetAvailable, Status: metav1.ConditionFalse, Reason: "TooFewAvailable",
			Message: "1 of 3 pets available", LastTransitionTime: metav1.Now(),
		}}},
	}, {
		name:   "negative available replicas",
		status: apps.PetSetStatus{Replicas: 1, AvailableReplicas: -1},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.availableReplicas"}},
	}, {
		name:   "more available than ready",
		status: apps.PetSetStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2},
		want:   []fieldError{{field.ErrorTypeInvalid, "status.availableReplicas"}},
	}, {
		name:   "more available than existing",
		status: apps.PetSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 2},
		want: []fieldError{
			{field.ErrorTypeInvalid, "status.availableReplicas"},
			{field.ErrorTypeInvalid, "status.availableReplicas"},
		},
	}, {
		name: "invalid and duplicate conditions",
		status: apps.PetSetStatus{Replicas: 1, Conditions: []metav1.Condition{{
			Type: appsv1alpha1.PetSetAvailable, Status: "Maybe", Reason: "Why", LastTransitionTime: metav1.Now(),
		}, {
			Type: appsv1alpha1.PetSetAvailable, Status: metav1.ConditionTrue, Reason: "Why", LastTransitionTime: metav1.Now(),
		}}},
		want: []fieldError{
			{field.ErrorTypeNotSupported, "status.conditions[0].status"},
			{field.ErrorTypeDuplicate, "status.conditions[1]"},
		},
	}, {
		name:   "more current or updated than existing",
		status: apps.PetSetStatus{Replicas: 1, CurrentReplicas: 2, UpdatedReplicas: 2},
		want: []fieldError{
			{field.ErrorTypeInvalid, "status.currentReplicas"},
			{field.ErrorTypeInvalid, "status.updatedReplicas"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stored := storedAndUpdated(t, nil)
			updated := stored.DeepCopy()
			updated.Status = tc.status
			checkErrors(t, ValidatePetSetStatusUpdate(updated, stored), tc.want)
		})
	}

	for _, tc := range []struct {
		name     string
		old, new *int32
		want     []fieldError
	}{
		{name: "collisionCount set", new: new(int32(1))},
		{name: "collisionCount increased", old: new(int32(1)), new: new(int32(2))},
		{name: "collisionCount kept", old: new(int32(2)), new: new(int32(2))},
		{name: "collisionCount decreased", old: new(int32(2)), new: new(int32(1)), want: []fieldError{{field.ErrorTypeInvalid, "status.collisionCount"}}},
		{name: "collisionCount removed", old: new(int32(2)), want: []fieldError{{field.ErrorTypeInvalid, "status.collisionCount"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stored := storedAndUpdated(t, nil)
			stored.Status.CollisionCount = tc.old
			updated := stored.DeepCopy()
			updated.Status.CollisionCount = tc.new
			checkErrors(t, ValidatePetSetStatusUpdate(updated, stored), tc.want)
		})
	}

	t.Run("metadata", func(t *testing.T) {
		_, stored := storedAndUpdated(t, nil)
		updated := stored.DeepCopy()
		updated.Namespace = "other"
		checkErrors(t, ValidatePetSetStatusUpdate(updated, stored), []fieldError{{field.ErrorTypeInvalid, "metadata.namespace"}})
	})
}

// nameOfLength returns a valid DNS-1123 label of n characters starting with
// prefix.
func nameOfLength(prefix string, n int) string {
	return prefix + strings.Repeat("a", n-len(prefix))
}

func TestValidatePetSetRefusesNamesWhosePetsCannotExist(t *testing.T) {
	longestName := nameOfLength("web", appsv1alpha1.MaxPetSetNameLength)
	tooLongMessage := "metadata.name: Too long: may not be more than 52 characters, so that the names of its pets (<name>-<ordinal>) and its revision labels (<name>-<hash>) fit in 63 characters"
	tests := []struct {
		name   string
		mutate func(*appsv1alpha1.PetSet)
		want   []string
	}{{
		name:   "a name of 52 characters is accepted: web-...-2147483647 has 63",
		mutate: func(p *appsv1alpha1.PetSet) { p.Name = longestName },
	}, {
		name:   "a name of 53 characters is too long at metadata.name, naming the limit",
		mutate: func(p *appsv1alpha1.PetSet) { p.Name = nameOfLength("web", 53) },
		want:   []string{tooLongMessage},
	}, {
		name:   "a name of 63 characters, a valid DNS label, is too long",
		mutate: func(p *appsv1alpha1.PetSet) { p.Name = nameOfLength("web", 63) },
		want:   []string{tooLongMessage},
	}, {
		name:   "a name of 64 characters is reported once, as no DNS label",
		mutate: func(p *appsv1alpha1.PetSet) { p.Name = nameOfLength("web", 64) },
		want:   []string{`metadata.name: Invalid value: "` + nameOfLength("web", 64) + `": must be no more than 63 characters`},
	}, {
		name: "the longest claim template name with the longest name is accepted: its claims fit",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Name = longestName
			claimName := nameOfLength("www", 63)
			p.Spec.VolumeClaimTemplates[0].Name = claimName
			container(p).VolumeMounts[0].Name = claimName
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, err := range ValidatePetSet(newPetSet(t, tc.mutate)) {
				got = append(got, err.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidatePetSetNameLimitIsTypedTooLong(t *testing.T) {
	errs := ValidatePetSet(newPetSet(t, func(p *appsv1alpha1.PetSet) { p.Name = nameOfLength("web", 53) }))
	checkErrors(t, errs, []fieldError{{field.ErrorTypeTooLong, "metadata.name"}})
}

func TestValidateClaimNameFits(t *testing.T) {
	path := field.NewPath("spec", "volumeClaimTemplates").Index(0).Child("metadata", "name")
	tests := []struct {
		name      string
		claimName string
		petSet    string
		want      []fieldError
	}{{
		name:      "the guide's www-web-2147483647 fits",
		claimName: "www",
		petSet:    "web",
	}, {
		name:      "the longest names the other rules allow fit (63+1+52+1+10 characters)",
		claimName: nameOfLength("www", 63),
		petSet:    nameOfLength("web", appsv1alpha1.MaxPetSetNameLength),
	}, {
		name:      "a claim of exactly 253 characters at the largest ordinal fits",
		claimName: nameOfLength("www", 253-1-3-1-10),
		petSet:    "web",
	}, {
		name:      "a claim of 254 characters at the largest ordinal is invalid at the template's name",
		claimName: nameOfLength("www", 254-1-3-1-10),
		petSet:    "web",
		want:      []fieldError{{field.ErrorTypeInvalid, path.String()}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := validateClaimNameFits(tc.claimName, tc.petSet, path)
			checkErrors(t, errs, tc.want)
			for _, err := range errs {
				if !strings.Contains(err.Detail, "-2147483647") || !strings.Contains(err.Detail, "253") {
					t.Errorf("error %q does not show the longest claim name and the limit", err.Error())
				}
			}
		})
	}
}

func TestValidatePetSetUpdateAcceptsStoredNamesOverTheLimit(t *testing.T) {
	// A PetSet created before the name limit: it can still be scaled,
	// relabelled and finalized.
	tests := []struct {
		name   string
		mutate func(*apps.PetSet)
	}{
		{"scale", func(p *apps.PetSet) { p.Spec.Replicas = 0 }},
		{"relabel", func(p *apps.PetSet) { p.Labels = map[string]string{"app": "nginx", "state": "retired"} }},
		{"remove the finalizer", func(p *apps.PetSet) { p.Finalizers = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stored := storedAndUpdated(t, nil)
			stored.Name = nameOfLength("web", 60)
			stored.Finalizers = []string{"apps.petsets.io/pets"}
			updated := stored.DeepCopy()
			tc.mutate(updated)
			checkErrors(t, ValidatePetSetUpdate(updated, stored), nil)
		})
	}
}

// reservedError is the error refusing a reserved label key at path.
func reservedError(path string) fieldError {
	return fieldError{field.ErrorTypeForbidden, path}
}

// checkReservedDetails checks that every Forbidden error about a label key
// says which key is reserved, and for what.
func checkReservedDetails(t *testing.T, errs field.ErrorList) {
	t.Helper()
	for _, err := range errs {
		if err.Type != field.ErrorTypeForbidden || err.Detail == ForbiddenUpdateMessage {
			continue
		}
		var key string
		for _, k := range appsv1alpha1.ReservedLabelKeys {
			if strings.Contains(err.Detail, `"`+k+`"`) {
				key = k
			}
		}
		if key == "" || err.Detail != ReservedLabelMessage(key) {
			t.Errorf("error %q does not name a reserved key as reserved for the controller", err.Error())
		}
	}
}

func TestValidatePetSetRefusesReservedLabelKeys(t *testing.T) {
	selectApp := func(p *appsv1alpha1.PetSet) {
		// Set so that they are not defaulted from the template labels.
		p.Labels = map[string]string{"app": "nginx"}
		p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}
	}
	type testCase struct {
		name   string
		mutate func(*appsv1alpha1.PetSet)
		want   []fieldError
	}
	var tests []testCase
	for _, key := range appsv1alpha1.ReservedLabelKeys {
		tests = append(tests, testCase{
			name: key + " in the template labels is forbidden at spec.template.metadata.labels[key]",
			mutate: func(p *appsv1alpha1.PetSet) {
				selectApp(p)
				p.Spec.Template.Labels[key] = "web-0"
			},
			want: []fieldError{reservedError("spec.template.metadata.labels[" + key + "]")},
		}, testCase{
			name: key + " in a claim template's labels is forbidden at spec.volumeClaimTemplates[i].metadata.labels[key]",
			mutate: func(p *appsv1alpha1.PetSet) {
				p.Spec.VolumeClaimTemplates = append(p.Spec.VolumeClaimTemplates, claim("logs", "1Gi"))
				p.Spec.VolumeClaimTemplates[1].Labels = map[string]string{"app": "nginx", key: "x"}
			},
			want: []fieldError{reservedError("spec.volumeClaimTemplates[1].metadata.labels[" + key + "]")},
		})
	}
	tests = append(tests, testCase{
		name: "a reserved key in selector.matchLabels is forbidden at spec.selector.matchLabels[key]",
		mutate: func(p *appsv1alpha1.PetSet) {
			selectApp(p)
			p.Spec.Selector.MatchLabels[appsv1alpha1.PetSetClaimSetLabel] = "web"
			p.Spec.Template.Labels[appsv1alpha1.PetSetClaimSetLabel] = "web"
		},
		want: []fieldError{
			reservedError("spec.selector.matchLabels[apps.petsets.io/petset]"),
			reservedError("spec.template.metadata.labels[apps.petsets.io/petset]"),
		},
	}, testCase{
		name: "a reserved key in a selector expression is forbidden at spec.selector.matchExpressions[i].key",
		mutate: func(p *appsv1alpha1.PetSet) {
			selectApp(p)
			p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"nginx"}},
				{Key: appsv1alpha1.PetSetPodOrdinalLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
			}}
		},
		want: []fieldError{reservedError("spec.selector.matchExpressions[1].key")},
	}, testCase{
		name: "a reserved template label is forbidden in the selector defaulted from it too",
		mutate: func(p *appsv1alpha1.PetSet) {
			p.Spec.Template.Labels[appsv1alpha1.PetSetPodNameLabel] = "web-0"
		},
		want: []fieldError{
			reservedError("spec.selector.matchLabels[apps.petsets.io/pet-name]"),
			reservedError("spec.template.metadata.labels[apps.petsets.io/pet-name]"),
		},
	}, testCase{
		name: "other keys of the apps.petsets.io prefix are accepted",
		mutate: func(p *appsv1alpha1.PetSet) {
			selectApp(p)
			p.Spec.Template.Labels["apps.petsets.io/role"] = "primary"
			p.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"apps.petsets.io/tier": "fast"}
		},
	}, testCase{
		name: "the reserved names without their prefix are accepted",
		mutate: func(p *appsv1alpha1.PetSet) {
			selectApp(p)
			p.Spec.Template.Labels["pet-name"] = "x"
			p.Spec.Template.Labels["petset"] = "web"
		},
	}, testCase{
		name: "every reserved key everywhere is reported once per place",
		mutate: func(p *appsv1alpha1.PetSet) {
			selectApp(p)
			p.Spec.Selector.MatchLabels[appsv1alpha1.PetSetPodNameLabel] = "web-0"
			p.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{
				{Key: appsv1alpha1.PetSetClaimTemplateLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
			}
			p.Spec.Template.Labels[appsv1alpha1.PetSetPodNameLabel] = "web-0"
			p.Spec.Template.Labels[appsv1alpha1.PetSetPodOrdinalLabel] = "0"
			p.Spec.VolumeClaimTemplates[0].Labels = map[string]string{appsv1alpha1.PetSetClaimSetLabel: "web"}
		},
		want: []fieldError{
			reservedError("spec.selector.matchLabels[apps.petsets.io/pet-name]"),
			reservedError("spec.selector.matchExpressions[0].key"),
			reservedError("spec.template.metadata.labels[apps.petsets.io/pet-name]"),
			reservedError("spec.template.metadata.labels[apps.petsets.io/pet-ordinal]"),
			reservedError("spec.volumeClaimTemplates[0].metadata.labels[apps.petsets.io/petset]"),
		},
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidatePetSet(newPetSet(t, tc.mutate))
			checkErrors(t, errs, tc.want)
			checkReservedDetails(t, errs)
		})
	}
}

func TestReservedLabelMessage(t *testing.T) {
	want := `the label key "apps.petsets.io/pet-name" is reserved for the PetSet controller, which sets it on the pets and their claims`
	if diff := cmp.Diff(want, ReservedLabelMessage(appsv1alpha1.PetSetPodNameLabel)); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

func TestValidatePetSetUpdateRatchetsReservedLabelKeys(t *testing.T) {
	fixed := func(path string) fieldError { return fieldError{field.ErrorTypeForbidden, path} }
	// withReservedKeys is a PetSet stored before the rule, with a reserved
	// key at every place.
	withReservedKeys := func(p *apps.PetSet) {
		p.Spec.Selector.MatchLabels[appsv1alpha1.PetSetClaimSetLabel] = "web"
		p.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{
			{Key: appsv1alpha1.PetSetPodOrdinalLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
		}
		p.Spec.Template.Labels[appsv1alpha1.PetSetClaimSetLabel] = "web"
		p.Spec.VolumeClaimTemplates[0].Labels = map[string]string{appsv1alpha1.PetSetClaimTemplateLabel: "www"}
	}
	tests := []struct {
		name   string
		stored func(*apps.PetSet)
		mutate func(*apps.PetSet)
		want   []fieldError
	}{{
		name:   "a stored PetSet with reserved keys can be scaled",
		stored: withReservedKeys,
		mutate: func(p *apps.PetSet) { p.Spec.Replicas = 5 },
	}, {
		name:   "a stored PetSet with reserved keys can change its image",
		stored: withReservedKeys,
		mutate: func(p *apps.PetSet) { p.Spec.Template.Spec.Containers[0].Image = "nginx:1.27" },
	}, {
		name:   "a stored PetSet with reserved keys can be relabelled and finalized",
		stored: withReservedKeys,
		mutate: func(p *apps.PetSet) {
			p.Labels = map[string]string{"app": "nginx", "state": "retired"}
			p.Finalizers = nil
		},
	}, {
		name:   "a reserved key new to the template labels is refused",
		mutate: func(p *apps.PetSet) { p.Spec.Template.Labels[appsv1alpha1.PetSetPodNameLabel] = "web-0" },
		want: []fieldError{
			reservedError("spec.template.metadata.labels[apps.petsets.io/pet-name]"),
		},
	}, {
		name:   "a second reserved key in the template labels is refused, the stored one is not",
		stored: withReservedKeys,
		mutate: func(p *apps.PetSet) { p.Spec.Template.Labels[appsv1alpha1.PetSetPodNameLabel] = "web-0" },
		want: []fieldError{
			reservedError("spec.template.metadata.labels[apps.petsets.io/pet-name]"),
		},
	}, {
		name:   "a stored reserved key is refused at a place it was not: template labels to claim labels",
		stored: withReservedKeys,
		mutate: func(p *apps.PetSet) {
			p.Spec.VolumeClaimTemplates[0].Labels[appsv1alpha1.PetSetClaimSetLabel] = "web"
		},
		want: []fieldError{
			reservedError("spec.volumeClaimTemplates[0].metadata.labels[apps.petsets.io/petset]"),
		},
	}, {
		name:   "a reserved key new to a selector expression is refused besides the change",
		stored: withReservedKeys,
		mutate: func(p *apps.PetSet) {
			p.Spec.Selector.MatchExpressions = append(p.Spec.Selector.MatchExpressions, metav1.LabelSelectorRequirement{
				Key: appsv1alpha1.PetSetPodNameLabel, Operator: metav1.LabelSelectorOpDoesNotExist,
			})
		},
		want: []fieldError{
			fixed("spec.selector"),
			reservedError("spec.selector.matchExpressions[1].key"),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stored := storedAndUpdated(t, nil)
			if tc.stored != nil {
				tc.stored(stored)
			}
			updated := stored.DeepCopy()
			tc.mutate(updated)
			errs := ValidatePetSetUpdate(updated, stored)
			checkErrors(t, errs, tc.want)
			checkReservedDetails(t, errs)
		})
	}
}
