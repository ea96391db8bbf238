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

package e2e

// Rollouts on the local cluster: spec.updateStrategy RollingUpdate (order,
// partition, maxUnavailable), Recreate, and the revision history across a
// restart of the server. The guide's OnDelete behaviour is
// TestPetSetControllerImageUpgrade's.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/petsets/petset/test/e2e/framework"
)

// roReadyDelayAnnotation makes kwok keep a pod Pending for the given
// duration before it becomes Running and Ready (hack/lib/kwok/pod-ready.yaml).
const roReadyDelayAnnotation = "local-cluster.petsets.io/ready-delay"

// roCreate starts recording the pods of ns and creates the guide's PetSet
// with replicas, the given spec.updateStrategy (YAML flow style) and, when
// readyDelay is set, the kwok readiness delay on every pet.
func roCreate(t testing.TB, ns string, replicas int, strategy, readyDelay string) *pcRecorder {
	t.Helper()
	return roCreateSpec(t, ns, replicas, readyDelay, "updateStrategy: "+strategy)
}

// roCreateSpec is roCreate with any spec fields, each a line of YAML.
func roCreateSpec(t testing.TB, ns string, replicas int, readyDelay string, spec ...string) *pcRecorder {
	t.Helper()
	manifest := pcGuideManifest(t, replicas, true)
	manifest = pcReplaceOnce(t, manifest, fmt.Sprintf("  replicas: %d\n", replicas),
		fmt.Sprintf("  replicas: %d\n  %s\n", replicas, strings.Join(spec, "\n  ")))
	if readyDelay != "" {
		manifest = pcReplaceOnce(t, manifest, `      annotations:
        pod.alpha.kubernetes.io/initialized: "true"
`, fmt.Sprintf(`      annotations:
        pod.alpha.kubernetes.io/initialized: "true"
        %s: %q
`, roReadyDelayAnnotation, readyDelay))
	}
	rec := pcRecordPods(t, ns)
	out := pcKubectl(t, ns, manifest, "create", "-f", "-")
	pcExpectOutput(t, out, "service/nginx created", "petset.apps/web created")
	return rec
}

// roPatch patches PetSet web with kubectl's default strategic merge patch.
func roPatch(t testing.TB, ns, patch string) {
	t.Helper()
	pcExpectOutput(t, pcKubectl(t, ns, "", "patch", "petset", pcSetName, "-p", patch), "petset.apps/web patched")
}

// roImagePatch is the part of a strategic merge patch of PetSet web that
// changes the image of the template's container (and nothing else of it).
func roImagePatch(image string) string {
	return fmt.Sprintf(`"template":{"spec":{"containers":[{"name":"nginx","image":%q}]}}`, image)
}

// roSetImage changes the image of the template's container.
func roSetImage(t testing.TB, ns, image string) {
	t.Helper()
	roPatch(t, ns, "{\"spec\":{"+roImagePatch(image)+"}}")
}

// roWaitStatus waits until PetSet web's status, for its current
// generation, satisfies cond (which describes what is missing, or returns
// ""), and returns the PetSet.
func roWaitStatus(t testing.TB, ns, what string, cond func(s appsv1alpha1.PetSetStatus) string) *appsv1alpha1.PetSet {
	t.Helper()
	var set *appsv1alpha1.PetSet
	framework.WaitFor(t, pcTimeout, what, func(ctx context.Context) (bool, string, error) {
		var err error
		set, err = cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, pcSetName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		s := set.Status
		if s.ObservedGeneration == nil || *s.ObservedGeneration != set.Generation {
			return false, fmt.Sprintf("generation %d not observed yet (status %+v)", set.Generation, s), nil
		}
		if msg := cond(s); msg != "" {
			return false, fmt.Sprintf("%s (status %+v)", msg, s), nil
		}
		return true, "", nil
	})
	return set
}

// roWaitRolledOut waits until every one of replicas pets runs the update
// revision and is ready, and the current revision has caught up with it.
func roWaitRolledOut(t testing.TB, ns string, replicas int32) *appsv1alpha1.PetSet {
	t.Helper()
	return roWaitStatus(t, ns, fmt.Sprintf("the rollout of %d pets to complete", replicas), func(s appsv1alpha1.PetSetStatus) string {
		if s.UpdateRevision == "" || s.CurrentRevision != s.UpdateRevision || s.UpdatedReplicas != replicas ||
			s.CurrentReplicas != replicas || s.ReadyReplicas != replicas || s.Replicas != replicas {
			return "rollout not complete"
		}
		return ""
	})
}

// roDeletedOrder returns the pets whose deletion began at or after event
// from, in the order the deletions began.
func roDeletedOrder(evs []pcPodEvent, from int) []string {
	return pcNames(pcDeletionStarts(pcSince(evs, from)))
}

// roUnavailable replays evs and returns, for every event at or after from,
// how many of pets 0..replicas-1 were unavailable right after it: missing,
// terminating, or not Running and Ready. It returns the largest count and
// the event at which it was first reached.
func roUnavailable(evs []pcPodEvent, from, replicas int) (most int, at pcPodEvent) {
	state := pcReplay(pcBefore(evs, from))
	count := func() int {
		n := 0
		for _, name := range pcPetNames(0, replicas) {
			if e, ok := state[name]; !ok || !e.healthy() {
				n++
			}
		}
		return n
	}
	most = count()
	for _, e := range pcSince(evs, from) {
		if e.Type == watch.Deleted {
			delete(state, e.Name)
		} else {
			state[e.Name] = e
		}
		if n := count(); n > most {
			most, at = n, e
		}
	}
	return most, at
}

// roCheckPets checks that pets 0..len(want)-1 run want's images and carry
// the revisions of revisions (by ordinal).
func roCheckPets(t testing.TB, ns string, images, revisions []string) map[string]*corev1.Pod {
	t.Helper()
	pets := pcWaitPets(t, ns, len(images))
	var gotImages, gotRevisions []string
	for i := range images {
		pod := pets[pcPetName(i)]
		gotImages = append(gotImages, pod.Spec.Containers[0].Image)
		gotRevisions = append(gotRevisions, pod.Labels[appsv1alpha1.ControllerRevisionHashLabel])
	}
	if diff := cmp.Diff(images, gotImages); diff != "" {
		t.Errorf("images of the pets by ordinal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(revisions, gotRevisions); diff != "" {
		t.Errorf("%s labels of the pets by ordinal (-want +got):\n%s", appsv1alpha1.ControllerRevisionHashLabel, diff)
	}
	return pets
}

// roRevisions returns the ControllerRevisions of ns by name, with their
// revision numbers.
func roRevisions(t testing.TB, ns string) map[string]int64 {
	t.Helper()
	list, err := cluster.Kube.AppsV1().ControllerRevisions(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the ControllerRevisions of %s: %v", ns, err)
	}
	out := map[string]int64{}
	for _, rev := range list.Items {
		out[rev.Name] = rev.Revision
	}
	return out
}

// repeat returns n copies of s.
func repeat(s string, n int) []string {
	return slices.Repeat([]string{s}, n)
}

// roReversed returns a reversed copy of names.
func roReversed(names []string) []string {
	out := slices.Clone(names)
	slices.Reverse(out)
	return out
}

// TestPetSetRollingUpdate changes the image of a RollingUpdate PetSet of 5
// pets: they are replaced from web-4 down to web-0, one at a time. Then,
// with partition 2, rolling back replaces only web-4, web-3 and web-2, reuses
// the first revision and leaves the current revision as it is, until the
// partition drops to 0.
func TestPetSetRollingUpdate(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	const replicas = 5
	rec := roCreate(t, ns, replicas, "{type: RollingUpdate}", "")
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	first := roWaitRolledOut(t, ns, replicas).Status.UpdateRevision
	roCheckPets(t, ns, repeat(pcImage, replicas), repeat(first, replicas))

	mark := rec.Len()
	roSetImage(t, ns, pcNewImage)
	second := roWaitRolledOut(t, ns, replicas).Status.UpdateRevision
	if second == first {
		t.Fatalf("the image change kept revision %s", first)
	}
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	evs := rec.Events()
	if diff := cmp.Diff(roReversed(pcPetNames(0, replicas)), roDeletedOrder(evs, mark)); diff != "" {
		t.Errorf("pets replaced (-want +got):\n%s", diff)
	}
	if most, at := roUnavailable(evs, mark, replicas); most != 1 {
		t.Errorf("at most %d pets were unavailable at once during the rollout (first at %s), want 1 (maxUnavailable's default)", most, at)
	}
	pcCheckCreatedInOrder(t, evs, mark, roReversed(pcPetNames(0, replicas))...)
	before := roCheckPets(t, ns, repeat(pcNewImage, replicas), repeat(second, replicas))

	// Back to the first image, with partition 2, in one change.
	mark = rec.Len()
	roPatch(t, ns, `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}},`+roImagePatch(pcImage)+`}}`)
	set := roWaitStatus(t, ns, "the partitioned rollout", func(s appsv1alpha1.PetSetStatus) string {
		if s.UpdatedReplicas != 3 || s.ReadyReplicas != replicas || s.CurrentReplicas != 2 {
			return "want 3 updated, 2 current, 5 ready"
		}
		return ""
	})
	if set.Status.UpdateRevision != first {
		t.Errorf("rolling back to the first template: update revision %s, want the first revision %s reused", set.Status.UpdateRevision, first)
	}
	if set.Status.CurrentRevision != second {
		t.Errorf("during the partitioned rollout the current revision is %s, want %s", set.Status.CurrentRevision, second)
	}
	evs = pcSynced(t, ns, rec)
	if diff := cmp.Diff([]string{"web-4", "web-3", "web-2"}, roDeletedOrder(evs, mark)); diff != "" {
		t.Errorf("pets replaced with partition 2 (-want +got):\n%s", diff)
	}
	after := roCheckPets(t, ns,
		[]string{pcNewImage, pcNewImage, pcImage, pcImage, pcImage},
		[]string{second, second, first, first, first})
	for _, name := range pcPetNames(0, 2) {
		if after[name].UID != before[name].UID {
			t.Errorf("%s is below the partition and was replaced", name)
		}
	}
	revisions := roRevisions(t, ns)
	if len(revisions) != 2 || revisions[first] <= revisions[second] {
		t.Errorf("revisions %v: want %s (reused, renumbered) above %s", revisions, first, second)
	}

	mark = rec.Len()
	roPatch(t, ns, `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
	if got := roWaitRolledOut(t, ns, replicas).Status.CurrentRevision; got != first {
		t.Errorf("after the partition dropped to 0 the current revision is %s, want %s", got, first)
	}
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	if diff := cmp.Diff([]string{"web-1", "web-0"}, roDeletedOrder(rec.Events(), mark)); diff != "" {
		t.Errorf("pets replaced once the partition dropped to 0 (-want +got):\n%s", diff)
	}
	roCheckPets(t, ns, repeat(pcImage, replicas), repeat(first, replicas))
}

// TestPetSetRollingUpdateMaxUnavailable rolls 5 pets with maxUnavailable 2,
// each new pet taking a few seconds to become ready: the number of
// unavailable pets seen by a watch reaches 2 and never exceeds it.
func TestPetSetRollingUpdateMaxUnavailable(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	const replicas = 5
	rec := roCreate(t, ns, replicas, "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 2}}", "2s")
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	roWaitRolledOut(t, ns, replicas)

	mark := rec.Len()
	roSetImage(t, ns, pcNewImage)
	set := roWaitRolledOut(t, ns, replicas)
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	evs := rec.Events()
	if most, at := roUnavailable(evs, mark, replicas); most != 2 {
		t.Errorf("at most %d pets were unavailable at once (first at %s), want exactly maxUnavailable 2", most, at)
	}
	order := roDeletedOrder(evs, mark)
	if !slices.IsSortedFunc(order, func(a, b string) int { return pcOrdinal(b) - pcOrdinal(a) }) || len(order) != replicas {
		t.Errorf("pets replaced in the order %v, want every pet once, highest ordinal first", order)
	}
	roCheckPets(t, ns, repeat(pcNewImage, replicas), repeat(set.Status.UpdateRevision, replicas))
}

// TestPetSetRecreate changes the image of a Recreate PetSet of 3 pets: every
// old pet is deleted, no new pet exists while an old one does, and the new
// pets are created in order. The revision history then survives a restart
// of the server: no revision is added or renumbered, no pet is replaced, and
// a pet added by a scale-up runs the update revision.
func TestPetSetRecreate(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	const replicas = 3
	rec := roCreate(t, ns, replicas, "{type: Recreate}", "")
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	first := roWaitRolledOut(t, ns, replicas).Status.UpdateRevision

	mark := rec.Len()
	roSetImage(t, ns, pcNewImage)
	second := roWaitRolledOut(t, ns, replicas).Status.UpdateRevision
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	evs := rec.Events()
	old := map[types.UID]bool{}
	for uid, e := range pcLive(pcBefore(evs, mark)) {
		if e.Revision == first {
			old[uid] = true
		}
	}
	if len(old) != replicas {
		t.Fatalf("%d pets ran revision %s before the change, want %d", len(old), first, replicas)
	}
	for _, e := range pcSince(evs, mark) {
		switch {
		case e.Type == watch.Deleted:
			delete(old, e.UID)
		case e.Type == watch.Added && len(old) > 0:
			t.Errorf("%s was created while %d pets of the old revision remained", e, len(old))
		}
	}
	if diff := cmp.Diff(roReversed(pcPetNames(0, replicas)), roDeletedOrder(evs, mark)); diff != "" {
		t.Errorf("pets deleted by Recreate (-want +got):\n%s", diff)
	}
	pcCheckCreatedInOrder(t, evs, mark, pcPetNames(0, replicas)...)
	before := roCheckPets(t, ns, repeat(pcNewImage, replicas), repeat(second, replicas))
	revisions := roRevisions(t, ns)
	if len(revisions) != 2 {
		t.Errorf("revisions %v, want %s and %s", revisions, first, second)
	}

	server := pcManageFirstServer(t)
	server.Stop()
	server.Start()
	mark = rec.Len()
	pcScaleWithPatch(t, ns, replicas+1)
	set := roWaitRolledOut(t, ns, replicas+1)
	rec.WaitForSteady(t, pcPetNames(0, replicas+1))
	if set.Status.UpdateRevision != second {
		t.Errorf("after a restart of the server the update revision is %s, want %s", set.Status.UpdateRevision, second)
	}
	if diff := cmp.Diff(revisions, roRevisions(t, ns)); diff != "" {
		t.Errorf("revisions changed across a restart of the server (-before +after):\n%s", diff)
	}
	after := roCheckPets(t, ns, repeat(pcNewImage, replicas+1), repeat(second, replicas+1))
	for name, pod := range before {
		if after[name].UID != pod.UID {
			t.Errorf("%s was replaced after the restart", name)
		}
	}
	if deleted := roDeletedOrder(rec.Events(), mark); len(deleted) > 0 {
		t.Errorf("pets deleted after the restart: %s", strings.Join(deleted, ", "))
	}
}

// TestPetSetCreatedAgainAfterAnOrphaningDeleteKeepsItsRevisions deletes a
// RollingUpdate PetSet with --cascade=orphan and creates it again from the
// same manifest: the new PetSet adopts the pets and the revision they were
// created from, so it replaces no pet (a new revision of the same template
// would make a rolling update replace every pet).
func TestPetSetCreatedAgainAfterAnOrphaningDeleteKeepsItsRevisions(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	const replicas = 2
	rec := roCreate(t, ns, replicas, "{type: RollingUpdate}", "")
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	old := roWaitRolledOut(t, ns, replicas)
	pets := roCheckPets(t, ns, repeat(pcImage, replicas), repeat(old.Status.UpdateRevision, replicas))

	setRec := pcRecordSet(t, ns)
	mark := rec.Len()
	pcDeletePetSet(t, ns, setRec, "--cascade=orphan")
	setRec.WaitGone(t, pcSettle)
	framework.WaitFor(t, pcSettle, "the revision released by the garbage collector", func(ctx context.Context) (bool, string, error) {
		rev, err := cluster.Kube.AppsV1().ControllerRevisions(ns).Get(ctx, old.Status.UpdateRevision, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(rev.OwnerReferences) == 0, fmt.Sprintf("owners %v", rev.OwnerReferences), nil
	})

	manifest := pcGuideManifest(t, replicas, true)
	manifest = pcReplaceOnce(t, manifest, fmt.Sprintf("  replicas: %d\n", replicas),
		fmt.Sprintf("  replicas: %d\n  updateStrategy: {type: RollingUpdate}\n", replicas))
	manifest = manifest[strings.Index(manifest, "---\n")+len("---\n"):]
	pcExpectOutput(t, pcKubectl(t, ns, manifest, "create", "-f", "-"), "petset.apps/web created")
	set := roWaitRolledOut(t, ns, replicas)
	if set.UID == old.UID {
		t.Fatalf("the PetSet was not created again")
	}
	if set.Status.UpdateRevision != old.Status.UpdateRevision || ptr.Deref(set.Status.CollisionCount, 0) != 0 {
		t.Errorf("the PetSet created again has update revision %s (collision count %d), want %s adopted",
			set.Status.UpdateRevision, ptr.Deref(set.Status.CollisionCount, 0), old.Status.UpdateRevision)
	}
	rev, err := cluster.Kube.AppsV1().ControllerRevisions(ns).Get(context.Background(), old.Status.UpdateRevision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(rev); ref == nil || ref.UID != set.UID {
		t.Errorf("revision %s is controlled by %v, want the PetSet created again (uid %s)", rev.Name, ref, set.UID)
	}
	evs := pcSynced(t, ns, rec)
	pcCheckNoDeletions(t, evs, mark)
	pcCheckNoCreations(t, evs, mark)
	for name, pod := range roCheckPets(t, ns, repeat(pcImage, replicas), repeat(old.Status.UpdateRevision, replicas)) {
		if pod.UID != pets[name].UID {
			t.Errorf("%s was replaced", name)
		}
		if ref := metav1.GetControllerOf(pod); ref == nil || ref.UID != set.UID {
			t.Errorf("%s is controlled by %v, want the PetSet created again", name, ref)
		}
	}
}
