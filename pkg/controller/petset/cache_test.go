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
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// withController gives obj a single ownerReference, a controller of the
// given kind.
func withController[T interface{ SetOwnerReferences([]metav1.OwnerReference) }](obj T, apiVersion, kind string) T {
	obj.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: apiVersion, Kind: kind, Name: "web", UID: "owner-uid", Controller: ptr.To(true),
	}})
	return obj
}

func TestCacheTransform(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	set := newPetSet(3)
	set.ManagedFields = managed
	pod := func() *v1.Pod {
		p := newPet(newPetSet(3), 0)
		p.ManagedFields = managed
		p.Status = v1.PodStatus{Phase: v1.PodRunning, PodIP: "10.0.0.7"}
		return p
	}
	revision := func() *appsv1.ControllerRevision {
		rev, err := newRevision(newPetSet(3), 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		rev.ManagedFields = managed
		return rev
	}
	claim := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "www-web-0", Namespace: testNamespace, ManagedFields: managed},
		Spec:       v1.PersistentVolumeClaimSpec{VolumeName: "pv-1"},
	}
	whole := func(obj metav1.Object) any {
		obj.SetManagedFields(nil)
		return obj
	}
	metadata := func(obj metav1.Object) metav1.ObjectMeta {
		obj.SetManagedFields(nil)
		return *obj.(interface{ GetObjectMeta() metav1.Object }).GetObjectMeta().(*metav1.ObjectMeta)
	}
	orphan := func(p *v1.Pod) *v1.Pod {
		p.OwnerReferences = nil
		return p
	}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{name: "PetSet loses its managed fields only", in: set.DeepCopy(), want: whole(set.DeepCopy())},
		{name: "pet of a PetSet is kept whole", in: pod(), want: whole(pod())},
		{
			name: "pod controlled by a PetSet of another version of the group is kept whole",
			in:   withController(pod(), "apps/v1beta1", "PetSet"), want: whole(withController(pod(), "apps/v1beta1", "PetSet")),
		},
		{name: "orphan pod is kept whole", in: orphan(pod()), want: whole(orphan(pod()))},
		{
			name: "pod of a StatefulSet keeps only its metadata",
			in:   withController(pod(), "apps/v1", "StatefulSet"),
			want: &v1.Pod{ObjectMeta: metadata(withController(pod(), "apps/v1", "StatefulSet"))},
		},
		{
			name: "pod of a PetSet kind in another group keeps only its metadata",
			in:   withController(pod(), "example.com/v1", "PetSet"),
			want: &v1.Pod{ObjectMeta: metadata(withController(pod(), "example.com/v1", "PetSet"))},
		},
		{name: "revision of a PetSet is kept whole", in: revision(), want: whole(revision())},
		{
			name: "revision of a StatefulSet keeps its metadata and number",
			in:   withController(revision(), "apps/v1", "StatefulSet"),
			want: &appsv1.ControllerRevision{ObjectMeta: metadata(withController(revision(), "apps/v1", "StatefulSet")), Revision: 1},
		},
		{
			name: "claim of another controller is kept whole: pets read claims by name",
			in:   withController(claim.DeepCopy(), "apps/v1", "StatefulSet"),
			want: whole(withController(claim.DeepCopy(), "apps/v1", "StatefulSet")),
		},
		{name: "a tombstone passes unchanged", in: cache.DeletedFinalStateUnknown{Key: "default/web-0"}, want: cache.DeletedFinalStateUnknown{Key: "default/web-0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CacheTransform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := got.(metav1.Object); ok {
				if m.GetManagedFields() != nil {
					t.Errorf("managed fields kept: %v", m.GetManagedFields())
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CacheTransform (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTrimmedObjectsStayIndexedUnderTheirController checks that what the
// event handlers and the controller index read survives the trim.
func TestTrimmedObjectsStayIndexedUnderTheirController(t *testing.T) {
	pod := withController(newPet(newPetSet(3), 0), "apps/v1", "StatefulSet")
	trimmed, err := CacheTransform(pod.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := controllerIndexFunc(trimmed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{controllerIndexKeyForUID("owner-uid")}, keys); diff != "" {
		t.Errorf("index keys (-want +got):\n%s", diff)
	}
	got := trimmed.(*v1.Pod)
	if diff := cmp.Diff(pod.Labels, got.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got.Name != pod.Name || got.Namespace != pod.Namespace || got.ResourceVersion != pod.ResourceVersion {
		t.Errorf("identity changed: %s/%s@%s, want %s/%s@%s", got.Namespace, got.Name, got.ResourceVersion,
			pod.Namespace, pod.Name, pod.ResourceVersion)
	}
}

// BenchmarkCacheOfOtherControllersObjects reports the heap an informer cache
// keeps per pod and per ControllerRevision of a StatefulSet, whole and
// trimmed by CacheTransform. Objects are decoded from JSON one by one, as a
// reflector does, so that no two share memory.
func BenchmarkCacheOfOtherControllersObjects(b *testing.B) {
	const objects = 1000
	set := newPetSet(3)
	set.Spec.Template.Spec.Containers[0].Env = []v1.EnvVar{{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{
		FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	pod := withController(newPet(set, 0), "apps/v1", "StatefulSet")
	// What admission, the scheduler and the kubelet add to every pod.
	pod.Spec.NodeName = "node-1"
	pod.Spec.ServiceAccountName = "default"
	pod.Spec.Tolerations = []v1.Toleration{
		{Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: "node.kubernetes.io/unreachable", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, v1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: v1.VolumeSource{
		Projected: &v1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](420), Sources: []v1.VolumeProjection{
			{ServiceAccountToken: &v1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](3607), Path: "token"}},
			{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []v1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "namespace",
				FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		}}}})
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, v1.VolumeMount{
		Name: "kube-api-access-x7k2p", ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"})
	started := metav1.Now()
	pod.Status = v1.PodStatus{Phase: v1.PodRunning, HostIP: "10.1.0.4", PodIP: "10.0.0.7", PodIPs: []v1.PodIP{{IP: "10.0.0.7"}},
		QOSClass: v1.PodQOSBestEffort, StartTime: &started,
		Conditions: []v1.PodCondition{
			{Type: v1.PodReadyToStartContainers, Status: v1.ConditionTrue, LastTransitionTime: started},
			{Type: v1.PodInitialized, Status: v1.ConditionTrue, LastTransitionTime: started},
			{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: started},
			{Type: v1.ContainersReady, Status: v1.ConditionTrue, LastTransitionTime: started},
			{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: started},
		},
		ContainerStatuses: []v1.ContainerStatus{{Name: "nginx", Ready: true, Started: ptr.To(true), Image: imageOld,
			ImageID:     "docker.io/library/nginx@sha256:0f04e4f646a3f14bf31d8bc8d885b6c951fdcf42589d06845f64d18aec6a3c4d",
			ContainerID: "containerd://5c1bbbd1d0b4c0a4c9b2f7d8e3f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3",
			State:       v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: started}}}},
	}
	revision, err := newRevision(set, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	revision = withController(revision, "apps/v1", "StatefulSet")
	kinds := []struct {
		name string
		obj  any
		new  func() any
	}{
		{name: "pod", obj: pod, new: func() any { return &v1.Pod{} }},
		{name: "revision", obj: revision, new: func() any { return &appsv1.ControllerRevision{} }},
	}
	for _, kind := range kinds {
		encoded, err := json.Marshal(kind.obj)
		if err != nil {
			b.Fatal(err)
		}
		for _, trim := range []bool{false, true} {
			name := kind.name + "/whole"
			if trim {
				name = kind.name + "/trimmed"
			}
			b.Run(name, func(b *testing.B) {
				var retained uint64
				for b.Loop() {
					store := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{controllerIndex: controllerIndexFunc})
					before := heapInUse()
					for i := range objects {
						obj := kind.new()
						if err := json.Unmarshal(encoded, obj); err != nil {
							b.Fatal(err)
						}
						obj.(metav1.Object).SetName(fmt.Sprintf("web-%d", i))
						if trim {
							if obj, err = CacheTransform(obj); err != nil {
								b.Fatal(err)
							}
						}
						if err := store.Add(obj); err != nil {
							b.Fatal(err)
						}
					}
					retained += heapInUse() - before
					runtime.KeepAlive(store)
				}
				b.ReportMetric(float64(retained)/float64(b.N)/objects, "B/cached-object")
			})
		}
	}
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
