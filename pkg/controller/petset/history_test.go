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
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"

	petsetdefaults "github.com/petsets/petset/pkg/apis/apps/v1alpha1"
)

// defaultedPetSet returns the guide's PetSet as the server returns it, with
// every default set.
func defaultedPetSet(replicas int) *appsv1alpha1.PetSet {
	set := newPetSet(replicas)
	petsetdefaults.SetObjectDefaults_PetSet(set)
	return set
}

func TestHashRevision(t *testing.T) {
	data := []byte(`{"spec":{"template":{}}}`)
	h := hashRevision(data, 0)
	if len(h) != revisionHashLength {
		t.Errorf("hash %q has %d characters, want %d", h, len(h), revisionHashLength)
	}
	if again := hashRevision(data, 0); again != h {
		t.Errorf("hash not stable: %q then %q", h, again)
	}
	if other := hashRevision(data, 1); other == h {
		t.Errorf("the collision count does not change the hash %q", h)
	}
	if other := hashRevision([]byte(`{"spec":{"template":{"metadata":{}}}}`), 0); other == h {
		t.Errorf("another template has the same hash %q", h)
	}
	// The longest PetSet name gives a revision name that is a label value.
	set := newPetSet(1)
	set.Name = strings.Repeat("n", appsv1alpha1.MaxPetSetNameLength)
	rev, err := newRevision(set, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	if errs := validation.IsValidLabelValue(rev.Name); len(errs) > 0 {
		t.Errorf("revision name %q is not a label value: %v", rev.Name, errs)
	}
}

func TestNewRevision(t *testing.T) {
	set := defaultedPetSet(2)
	rev, err := newRevision(set, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref := metav1.GetControllerOfNoCopy(rev)
	if ref == nil || ref.UID != set.UID || ref.Kind != "PetSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("owner references %+v, want the PetSet as controller blocking its deletion", rev.OwnerReferences)
	}
	if rev.Revision != 3 || !strings.HasPrefix(rev.Name, "web-") {
		t.Errorf("revision %s number %d", rev.Name, rev.Revision)
	}
	var data map[string]map[string]json.RawMessage
	if err := json.Unmarshal(rev.Data.Raw, &data); err != nil {
		t.Fatal(err)
	}
	if _, ok := data["spec"]["template"]; !ok || len(data) != 1 || len(data["spec"]) != 1 {
		t.Errorf("data %s, want only spec.template", rev.Data.Raw)
	}
	if !revisionHolds(rev, set) {
		t.Errorf("the revision does not hold the template it was made of")
	}
	if rev.Annotations != nil {
		t.Errorf("annotations %v of a revision of a PetSet without a change cause, want none", rev.Annotations)
	}

	// The change cause is copied, as apps/v1 does, for kubectl petset
	// rollout history; other annotations are not.
	set.Annotations = map[string]string{
		changeCauseAnnotation:                              "kubectl set image petset/web nginx=nginx:1.27",
		"kubectl.kubernetes.io/last-applied-configuration": "{}",
	}
	rev, err = newRevision(set, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{changeCauseAnnotation: "kubectl set image petset/web nginx=nginx:1.27"}; !maps.Equal(rev.Annotations, want) {
		t.Errorf("annotations %v, want %v", rev.Annotations, want)
	}
}

// TestRevisionHoldsComparesSemantically: a revision written in another form
// (other field order, quantities written differently, defaults left out by
// an older server) holds the same template; another image does not.
func TestRevisionHoldsComparesSemantically(t *testing.T) {
	set := defaultedPetSet(1)
	set.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}
	raw := func(template v1.PodTemplateSpec) []byte {
		data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	undefaulted := newPetSet(1).Spec.Template
	undefaulted.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("1000m")}
	otherImage := *set.Spec.Template.DeepCopy()
	otherImage.Spec.Containers[0].Image = imageNew

	// The same template, its keys in another order.
	var generic map[string]any
	if err := json.Unmarshal(raw(set.Spec.Template), &generic); err != nil {
		t.Fatal(err)
	}
	reordered, err := json.MarshalIndent(generic, "", "   ")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{name: "same encoding", data: raw(set.Spec.Template), want: true},
		{name: "other layout and key order", data: reordered, want: true},
		{name: "defaults left out, quantity written in millis", data: raw(undefaulted), want: true},
		{name: "another image", data: raw(otherImage), want: false},
		{name: "not JSON", data: []byte("{"), want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: tc.data}}
			if got := revisionHolds(rev, set); got != tc.want {
				t.Errorf("revisionHolds = %v, want %v", got, tc.want)
			}
		})
	}
}

func revisionNumbers(f *fixture) map[string]int64 {
	out := map[string]int64{}
	for _, rev := range f.revs.revisions {
		out[rev.Name] = rev.Revision
	}
	return out
}

// TestRollbackReusesRevision: going back to an earlier template reuses its
// revision (renumbered as the newest) rather than creating one.
func TestRollbackReusesRevision(t *testing.T) {
	f := newFixture(t, defaultedPetSet(2))
	f.run(50, invariantOpts{})
	first := f.set.Status.UpdateRevision
	if first == "" || f.set.Status.CurrentRevision != first {
		t.Fatalf("status revisions %q/%q", f.set.Status.CurrentRevision, f.set.Status.UpdateRevision)
	}
	for _, pod := range f.om.serverPets() {
		if revisionOf(pod) != first {
			t.Errorf("pet %s has revision %q, want %q", pod.Name, revisionOf(pod), first)
		}
	}

	f.setImage(imageNew)
	f.mustSync()
	second := f.set.Status.UpdateRevision
	if second == first || f.set.Status.CurrentRevision != first {
		t.Fatalf("after the change: current %q update %q (first %q)", f.set.Status.CurrentRevision, second, first)
	}
	if f.set.Status.UpdatedReplicas != 0 || f.set.Status.CurrentReplicas != 2 {
		t.Errorf("counts after the change: current %d updated %d", f.set.Status.CurrentReplicas, f.set.Status.UpdatedReplicas)
	}

	f.setImage(imageOld)
	f.mustSync()
	if got := f.set.Status.UpdateRevision; got != first {
		t.Errorf("rollback created or chose revision %q, want %q reused", got, first)
	}
	numbers := revisionNumbers(f)
	if len(numbers) != 2 || numbers[first] != 3 || numbers[second] != 2 {
		t.Errorf("revisions %v, want %s renumbered 3 and %s at 2", numbers, first, second)
	}
	if f.set.Status.CurrentRevision != first || f.set.Status.UpdatedReplicas != 2 {
		t.Errorf("status after the rollback %+v", f.set.Status)
	}
}

// TestRevisionNameCollision: a revision holding another template under the
// name the hash gives increments the collision count and the revision gets
// another name; the count is kept in the status.
func TestRevisionNameCollision(t *testing.T) {
	set := defaultedPetSet(1)
	f := newFixture(t, set)
	squatter, err := newRevision(set, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	other := set.DeepCopy()
	other.Spec.Template.Spec.Containers[0].Image = imageNew
	otherRev, err := newRevision(other, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	squatter.Data = otherRev.Data
	if _, err := f.revs.CreateRevision(f.ctx, squatter); err != nil {
		t.Fatal(err)
	}
	f.run(20, invariantOpts{})
	if got := f.set.Status.CollisionCount; got == nil || *got != 1 {
		t.Fatalf("collisionCount %v, want 1", got)
	}
	if got := f.set.Status.UpdateRevision; got == squatter.Name || got == "" {
		t.Errorf("update revision %q, want a name other than %q", got, squatter.Name)
	}
	want, err := newRevision(set, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.set.Status.UpdateRevision; got != want.Name {
		t.Errorf("update revision %q, want %q (hash with collision count 1)", got, want.Name)
	}
	if pod := f.om.serverPet(0); pod == nil || revisionOf(pod) != want.Name {
		t.Errorf("pet not created at %s: %v", want.Name, pod)
	}
}

// TestHistoryIsTruncated: beyond revisionHistoryLimit the oldest unused
// revisions are deleted, never one a pet or the status uses.
func TestHistoryIsTruncated(t *testing.T) {
	set := defaultedPetSet(2)
	set.Spec.RevisionHistoryLimit = ptrTo(int32(2))
	f := newFixture(t, set)
	f.run(50, invariantOpts{})
	first := f.set.Status.CurrentRevision
	for i := range 6 {
		f.setImage("registry.example/nginx:" + string(rune('a'+i)))
		f.mustSync()
	}
	// OnDelete: the pets still run the first revision.
	f.userDelete("web-1")
	f.run(50, invariantOpts{allowGaps: true})
	update := f.set.Status.UpdateRevision
	if got := revisionOf(f.om.serverPet(1)); got != update {
		t.Fatalf("deleted pet came back at %q, want %q", got, update)
	}
	if got := revisionOf(f.om.serverPet(0)); got != first {
		t.Fatalf("untouched pet runs %q, want %q", got, first)
	}
	numbers := revisionNumbers(f)
	// In use: first (web-0, currentRevision) and the update revision
	// (7); history: the two newest unused, 6 and 5.
	var kept []int64
	for _, n := range numbers {
		kept = append(kept, n)
	}
	slices.Sort(kept)
	if want := []int64{1, 5, 6, 7}; !slices.Equal(kept, want) {
		t.Errorf("revision numbers kept %v, want %v", kept, want)
	}
	if numbers[first] != 1 || numbers[update] != 7 {
		t.Errorf("revisions %v lost one in use (%s, %s)", numbers, first, update)
	}
	if len(f.revs.deleted) != 3 {
		t.Errorf("deleted revisions %v, want the 3 oldest unused", f.revs.deleted)
	}
}

// TestUpgradeLabelsMatchingPetsInPlace: pets created before revisions
// existed are labelled with the revision of the template they run (a patch,
// no restart), even with the fields the API server and kubelet add; a pet
// running another template counts as an older revision and, under the
// default OnDelete strategy, is left alone.
func TestUpgradeLabelsMatchingPetsInPlace(t *testing.T) {
	set := defaultedPetSet(3)
	f := newFixture(t, set)
	for ordinal := range 3 {
		pod := newPet(set, ordinal)
		if ordinal == 2 {
			pod.Spec.Containers[0].Image = imageNew
		}
		// What the API server, its admission plugins and the kubelet add.
		pod.Spec.NodeName = "node-1"
		pod.Spec.ServiceAccountName = "default"
		pod.Spec.DeprecatedServiceAccount = "default"
		pod.Spec.Priority = ptrTo(int32(0))
		pod.Spec.Tolerations = []v1.Toleration{
			{Key: v1.TaintNodeNotReady, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptrTo(int64(300))},
			{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptrTo(int64(300))},
		}
		pod.Spec.Volumes = append(pod.Spec.Volumes, v1.Volume{Name: "kube-api-access-x7k2p",
			VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{}}})
		pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
			v1.VolumeMount{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true})
		setRunningReady(pod)
		for _, claim := range newPetClaims(set, ordinal) {
			if err := f.om.CreateClaim(f.ctx, claim); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.om.CreatePod(f.ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	created := len(f.om.created)
	for range 5 {
		f.mustSync()
		f.kubelet()
	}
	update := f.set.Status.UpdateRevision
	for ordinal, want := range []string{update, update, ""} {
		if got := revisionOf(f.om.serverPet(ordinal)); got != want {
			t.Errorf("web-%d revision %q, want %q", ordinal, got, want)
		}
	}
	if len(f.om.deleted) != 0 || len(f.om.created) != created {
		t.Errorf("pets restarted: deleted %v created %v", f.om.deleted, f.om.created[created:])
	}
	if s := f.set.Status; s.UpdatedReplicas != 2 || s.CurrentReplicas != 2 || s.Replicas != 3 {
		t.Errorf("status %+v, want 2 of 3 pets at the revision", s)
	}

	// The pet of the other template changes when it is deleted.
	f.userDelete("web-2")
	f.run(50, invariantOpts{allowGaps: true})
	if got := revisionOf(f.om.serverPet(2)); got != update {
		t.Errorf("re-created web-2 runs %q, want %q", got, update)
	}
	if got := f.om.serverPet(2).Spec.Containers[0].Image; got != imageOld {
		t.Errorf("re-created web-2 runs image %s, want %s", got, imageOld)
	}
}

// TestPodRunsTemplate compares a pod with the template it was created from,
// leaving aside what the API server sets on pods.
func TestPodRunsTemplate(t *testing.T) {
	set := defaultedPetSet(1)
	set.Spec.Template.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
	for _, tc := range []struct {
		name   string
		mutate func(*v1.Pod)
		want   bool
	}{
		{name: "as created", mutate: func(*v1.Pod) {}, want: true},
		{name: "requests defaulted to the limits, a node, a priority class", mutate: func(pod *v1.Pod) {
			pod.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
			pod.Spec.NodeName = "node-1"
			pod.Spec.PriorityClassName = "default-priority"
			pod.Spec.Priority = ptrTo(int32(1000))
		}, want: true},
		{name: "the pause hook changed on the pet", mutate: func(pod *v1.Pod) {
			pod.Annotations[appsv1alpha1.PetSetInitAnnotation] = "false"
		}, want: true},
		{name: "another image", mutate: func(pod *v1.Pod) { pod.Spec.Containers[0].Image = imageNew }},
		{name: "another environment", mutate: func(pod *v1.Pod) {
			pod.Spec.Containers[0].Env = []v1.EnvVar{{Name: "A", Value: "b"}}
		}},
		{name: "a template label missing", mutate: func(pod *v1.Pod) { delete(pod.Labels, "app") }},
		{name: "a toleration of the user's", mutate: func(pod *v1.Pod) {
			pod.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPet(set, 0)
			tc.mutate(pod)
			if got := podRunsTemplate(set, &set.Spec.Template, pod); got != tc.want {
				t.Errorf("podRunsTemplate = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRevisionDataSurvivesAPatchOfTheRevision patches a revision's metadata
// the way the API server applies a JSON merge patch (the object through a
// map and back), as the garbage collector does to release a revision when its
// PetSet is deleted with --cascade=orphan: the data must come out byte for
// byte the same, since the API server refuses any change of it.
func TestRevisionDataSurvivesAPatchOfTheRevision(t *testing.T) {
	set := newPetSet(3)
	set.Spec.Template.Spec.TerminationGracePeriodSeconds = new(int64(30))
	rev, err := newRevision(set, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := json.Marshal(rev)
	if err != nil {
		t.Fatal(err)
	}
	var object map[string]any
	if err := json.Unmarshal(encoded, &object); err != nil {
		t.Fatal(err)
	}
	delete(object["metadata"].(map[string]any), "ownerReferences")
	patched, err := json.Marshal(object)
	if err != nil {
		t.Fatal(err)
	}
	var after appsv1.ControllerRevision
	if err := json.Unmarshal(patched, &after); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(rev.Data.Raw), string(after.Data.Raw)); diff != "" {
		t.Errorf("revision data changed by a metadata patch (-before +after):\n%s", diff)
	}
	if len(after.OwnerReferences) != 0 {
		t.Errorf("owner references not removed: %v", after.OwnerReferences)
	}
}

// TestRevisionControlReadsTheControllerIndex checks that the revision lists
// of a sync come from the controller index: the PetSet's own revisions that
// match its selector, and the orphans of its namespace named after it,
// whatever else the namespace and the cluster hold.
func TestRevisionControlReadsTheControllerIndex(t *testing.T) {
	set := newPetSet(1)
	other := newPetSet(1)
	other.Name, other.UID = "db", "db-uid"
	rev := func(name, namespace string, owner *appsv1alpha1.PetSet, lbls map[string]string) *appsv1.ControllerRevision {
		r := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: lbls}}
		if owner != nil {
			r.OwnerReferences = []metav1.OwnerReference{*newControllerRef(owner)}
		}
		return r
	}
	matching := map[string]string{"app": "nginx"}
	revisions := []*appsv1.ControllerRevision{
		rev("web-aaa", testNamespace, set, matching),
		rev("web-bbb", testNamespace, set, map[string]string{"app": "other"}),
		rev("db-aaa", testNamespace, other, matching),
		rev("web-ccc", testNamespace, nil, matching),
		rev("web-ddd", testNamespace, nil, map[string]string{"app": "other"}),
		rev("web-x-ddd", testNamespace, nil, matching),
		rev("db-bbb", testNamespace, nil, matching),
		rev("web-eee", "elsewhere", set, matching),
		rev("web-fff", "elsewhere", nil, matching),
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{controllerIndex: controllerIndexFunc})
	for _, r := range revisions {
		if err := indexer.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	rc := &realRevisionControl{indexer: indexer}
	names := func(revs []*appsv1.ControllerRevision) []string {
		var out []string
		for _, r := range revs {
			out = append(out, r.Namespace+"/"+r.Name)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name string
		list func(*appsv1alpha1.PetSet) ([]*appsv1.ControllerRevision, error)
		want []string
	}{
		{"own revisions that match the selector", rc.ListRevisions, []string{testNamespace + "/web-aaa"}},
		{"orphans of the namespace named after the PetSet", rc.ListOrphanRevisions, []string{testNamespace + "/web-ccc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.list(set)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(got)); diff != "" {
				t.Errorf("revisions (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkRevisionLists compares, for one PetSet among n in a namespace
// (one revision each), the revision lists of a sync read from the controller
// index with a scan of the namespace that matches every revision's labels
// against the selector (what a ControllerRevision lister's List does).
func BenchmarkRevisionLists(b *testing.B) {
	for _, n := range []int{100, 3000} {
		indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{
			cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
			controllerIndex:      controllerIndexFunc,
		})
		var sets []*appsv1alpha1.PetSet
		for i := range n {
			set := newPetSet(1)
			set.Name = fmt.Sprintf("web%d", i)
			set.UID = types.UID(set.Name + "-uid")
			sets = append(sets, set)
			rev := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{
				Name: set.Name + "-abc", Namespace: testNamespace, Labels: map[string]string{"app": "nginx"},
				OwnerReferences: []metav1.OwnerReference{*newControllerRef(set)},
			}}
			if err := indexer.Add(rev); err != nil {
				b.Fatal(err)
			}
		}
		set := sets[n/2]
		b.Run(fmt.Sprintf("revisions=%d/controller-index", n), func(b *testing.B) {
			rc := &realRevisionControl{indexer: indexer}
			for b.Loop() {
				if _, err := rc.ListRevisions(set); err != nil {
					b.Fatal(err)
				}
				if _, err := rc.ListOrphanRevisions(set); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("revisions=%d/namespace-scan", n), func(b *testing.B) {
			lister := appslisters.NewControllerRevisionLister(indexer)
			for b.Loop() {
				selector, err := getSelector(set)
				if err != nil {
					b.Fatal(err)
				}
				// ListRevisions and ListOrphanRevisions, one scan each.
				for range 2 {
					if _, err := lister.ControllerRevisions(set.Namespace).List(selector); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
