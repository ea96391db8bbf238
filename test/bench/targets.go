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

package bench

import (
	"fmt"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// Target keys. The API targets are measured by the latency and bulk
// benchmarks, the controller targets by the controller benchmark;
// TargetStatefulSet is the anchor of every ratio.
const (
	TargetPetSetAggregated = "petset-aggregated"
	TargetPetSetDirect     = "petset-direct"
	TargetStatefulSet      = "statefulset"
	TargetCRD              = "crd"
	TargetPetSet           = "petset"
)

// Anchor is the target every ratio divides by.
const Anchor = TargetStatefulSet

// APITargets are the targets of the latency and bulk benchmarks, in their
// order in the first round.
var APITargets = []string{TargetPetSetAggregated, TargetPetSetDirect, TargetStatefulSet, TargetCRD}

// ControllerTargets are the targets of the controller benchmark.
var ControllerTargets = []string{TargetPetSet, TargetStatefulSet}

// ReportOrder is the order of the targets in tables and charts.
var ReportOrder = []string{TargetPetSetAggregated, TargetPetSetDirect, TargetPetSet, TargetStatefulSet, TargetCRD}

// TargetInfo describes a target in the results.
type TargetInfo struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Targets describes every target key.
var Targets = []TargetInfo{
	{TargetPetSetAggregated, "PetSet via aggregator", "PetSets (apps/v1alpha1) through kube-apiserver, which proxies them to petset-apiserver"},
	{TargetPetSetDirect, "PetSet direct", "PetSets sent to petset-apiserver itself with the front-proxy client certificate, as the aggregator sends them"},
	{TargetStatefulSet, "StatefulSet", "StatefulSets (apps/v1) in kube-apiserver; for the controller benchmark, kube-controller-manager's StatefulSet controller"},
	{TargetCRD, "CRD", "a CustomResourceDefinition petsets.bench.petsets.io whose schema is the server's published OpenAPI v3 schema of PetSet, served by kube-apiserver"},
	{TargetPetSet, "PetSet", "PetSets whichever way they are written: the memory figures (sampled on the first PetSet target of each round) and the controller benchmark (the PetSet controller bundled in petset-apiserver, PetSets written through the aggregator)"},
}

// TargetName returns the short display name of key.
func TargetName(key string) string {
	for _, t := range Targets {
		if t.Key == key {
			return t.Name
		}
	}
	return key
}

var (
	petSetGVR      = schema.GroupVersionResource{Group: "apps", Version: "v1alpha1", Resource: "petsets"}
	statefulSetGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	crdGVR         = schema.GroupVersionResource{Group: CRDGroup, Version: "v1alpha1", Resource: "petsets"}
	revisionGVR    = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "controllerrevisions"}
)

// apiTarget is one target of the latency and bulk benchmarks: a resource
// and the client that reaches it.
type apiTarget struct {
	key       string
	resource  dynamic.NamespaceableResourceInterface
	newObject func(name string) *unstructured.Unstructured
	// discovery reaches the API group version document of the resource
	// (discoveryPath) the way resource reaches the objects.
	discovery     rest.Interface
	discoveryPath string
	// controlled tells whether a controller acts on the objects (and
	// reports having seen them in status.observedGeneration).
	controlled bool
	// revisions reaches the ControllerRevisions that the controller of a
	// controlled target keeps and the garbage collector deletes after
	// their owner; nil for a target without a controller.
	revisions dynamic.NamespaceableResourceInterface
}

func newAPITarget(key string, gvr schema.GroupVersionResource, resource dynamic.NamespaceableResourceInterface, discovery rest.Interface, newObject func(name string) *unstructured.Unstructured) *apiTarget {
	return &apiTarget{
		key:           key,
		resource:      resource,
		newObject:     newObject,
		discovery:     discovery,
		discoveryPath: "/apis/" + gvr.Group + "/" + gvr.Version,
		controlled:    gvr != crdGVR,
	}
}

func (c *Cluster) apiTarget(key string) (*apiTarget, error) {
	t, err := c.newAPITarget(key)
	if err != nil {
		return nil, err
	}
	if t.controlled {
		t.revisions = c.Dynamic.Resource(revisionGVR)
	}
	return t, nil
}

func (c *Cluster) newAPITarget(key string) (*apiTarget, error) {
	switch key {
	case TargetPetSetAggregated:
		return newAPITarget(key, petSetGVR, c.Dynamic.Resource(petSetGVR), c.Kube.Discovery().RESTClient(), benchPetSet), nil
	case TargetPetSetDirect:
		if !c.HasDirect() {
			return nil, fmt.Errorf("target %s needs the cluster's state directory (front-proxy certificates)", key)
		}
		return newAPITarget(key, petSetGVR, c.DirectDynamic.Resource(petSetGVR), c.DirectREST, benchPetSet), nil
	case TargetStatefulSet:
		return newAPITarget(key, statefulSetGVR, c.Dynamic.Resource(statefulSetGVR), c.Kube.Discovery().RESTClient(), benchStatefulSet), nil
	case TargetCRD:
		return newAPITarget(key, crdGVR, c.Dynamic.Resource(crdGVR), c.Kube.Discovery().RESTClient(), benchCRObject), nil
	}
	return nil, fmt.Errorf("unknown API target %q", key)
}

// The objects of the latency and bulk benchmarks are the guide's example
// "web" (one container, one claim template) with replicas 0, so that no
// controller starts pods for them; each kind carries the same fields.
const (
	benchImage        = "gcr.io/google_containers/nginx-slim:0.8"
	benchService      = "nginx"
	benchClaim        = "www"
	benchSetLabel     = "bench.petsets.io/set"
	benchRunLabel     = "bench.petsets.io/run"
	benchPatchLabel   = "bench.petsets.io/patched"
	benchUpdateAnnot  = "bench.petsets.io/updated"
	benchDefaultLabel = "app"
)

// setSpec is what the PetSet and StatefulSet specs share.
type setSpec struct {
	name     string
	replicas int32
	claims   bool
}

func (s setSpec) labels() map[string]string {
	return map[string]string{benchDefaultLabel: "nginx", benchSetLabel: s.name}
}

func (s setSpec) template() corev1.PodTemplateSpec {
	container := corev1.Container{
		Name:  "nginx",
		Image: benchImage,
		Ports: []corev1.ContainerPort{{ContainerPort: 80, Name: "web"}},
	}
	if s.claims {
		container.VolumeMounts = []corev1.VolumeMount{{Name: benchClaim, MountPath: "/usr/share/nginx/html"}}
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: s.labels()},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers:                    []corev1.Container{container},
		},
	}
}

func (s setSpec) claimTemplates() []corev1.PersistentVolumeClaim {
	if !s.claims {
		return nil
	}
	return []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: benchClaim},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
	}}
}

func (s setSpec) petSet() *unstructured.Unstructured {
	ps := &appsv1alpha1.PetSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1alpha1", Kind: "PetSet"},
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Labels: s.labels()},
		Spec: appsv1alpha1.PetSetSpec{
			Replicas:             ptr.To(s.replicas),
			Selector:             &metav1.LabelSelector{MatchLabels: s.labels()},
			Template:             s.template(),
			VolumeClaimTemplates: s.claimTemplates(),
			ServiceName:          benchService,
		},
	}
	return toUnstructured(ps)
}

func (s setSpec) statefulSet() *unstructured.Unstructured {
	sts := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Labels: s.labels()},
		Spec: appsv1.StatefulSetSpec{
			Replicas:             ptr.To(s.replicas),
			Selector:             &metav1.LabelSelector{MatchLabels: s.labels()},
			Template:             s.template(),
			VolumeClaimTemplates: s.claimTemplates(),
			ServiceName:          benchService,
			PodManagementPolicy:  appsv1.OrderedReadyPodManagement,
		},
	}
	return toUnstructured(sts)
}

func benchPetSet(name string) *unstructured.Unstructured {
	return setSpec{name: name, claims: true}.petSet()
}

func benchStatefulSet(name string) *unstructured.Unstructured {
	return setSpec{name: name, claims: true}.statefulSet()
}

func benchCRObject(name string) *unstructured.Unstructured {
	u := benchPetSet(name)
	u.SetAPIVersion(CRDGroup + "/v1alpha1")
	return u
}

func toUnstructured(obj runtime.Object) *unstructured.Unstructured {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		// The objects are built above from typed values; a failure is a
		// programming error.
		panic(fmt.Sprintf("converting %T: %v", obj, err))
	}
	u := &unstructured.Unstructured{Object: m}
	// The converter writes creationTimestamp: null; clients do not send it.
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	if claims, ok, _ := unstructured.NestedSlice(u.Object, "spec", "volumeClaimTemplates"); ok {
		for _, c := range claims {
			if m, ok := c.(map[string]any); ok {
				unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
				delete(m, "status")
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, claims, "spec", "volumeClaimTemplates")
	}
	delete(u.Object, "status")
	return u
}
