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
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// testPet returns pet <ordinal> of newPetSet, Running and Ready, changed by
// mutators.
func testPet(ordinal int, mutators ...func(*v1.Pod)) *v1.Pod {
	pod := newPet(newPetSet(3), ordinal)
	setRunningReady(pod)
	for _, m := range mutators {
		m(pod)
	}
	return pod
}

func pending(pod *v1.Pod) { setPending(pod) }

func terminating(pod *v1.Pod) {
	now := metav1.NewTime(testNow)
	pod.DeletionTimestamp = &now
}

// notReady makes a Running pet fail its readiness probe.
func notReady(pod *v1.Pod) {
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse}}
}

func phase(p v1.PodPhase) func(*v1.Pod) {
	return func(pod *v1.Pod) { pod.Status.Phase = p }
}

// testNow is the time the decision tests are made at.
var testNow = time.Date(2016, 6, 1, 0, 0, 0, 0, time.UTC)

// terminatingSince marks a pet terminating whose grace period ended ago
// before testNow.
func terminatingSince(ago time.Duration) func(*v1.Pod) {
	return func(pod *v1.Pod) {
		ts := metav1.NewTime(testNow.Add(-ago))
		pod.DeletionTimestamp = &ts
	}
}

func TestNextTeardownAction(t *testing.T) {
	paused := setInitialized("false")
	tests := []struct {
		name         string
		pets         []*v1.Pod
		want         actionKind
		ordinal      int
		skipped      []string
		requeueAfter time.Duration
	}{
		{name: "nothing left", want: actionNone},
		{name: "highest first", pets: []*v1.Pod{testPet(0), testPet(1), testPet(2)}, want: actionDelete, ordinal: 2},
		{name: "a paused lower pet does not block", pets: []*v1.Pod{testPet(0, paused), testPet(1)}, want: actionDelete, ordinal: 1},
		{name: "a paused pet is deleted", pets: []*v1.Pod{testPet(0, paused)}, want: actionDelete, ordinal: 0},
		{name: "pending, failed, succeeded and unready pets go in order",
			pets: []*v1.Pod{testPet(0, pending), testPet(1, phase(v1.PodFailed)), testPet(2, phase(v1.PodSucceeded)), testPet(3, notReady)},
			want: actionDelete, ordinal: 3},
		{name: "wait for the terminating pet until its bound", pets: []*v1.Pod{testPet(0), testPet(1, terminatingSince(30*time.Second))},
			want: actionWait, ordinal: 1, requeueAfter: 90 * time.Second},
		{name: "a pet terminating before its grace period ends blocks", pets: []*v1.Pod{testPet(0), testPet(1, terminatingSince(-time.Minute))},
			want: actionWait, ordinal: 1, requeueAfter: 3 * time.Minute},
		{name: "a pet stuck terminating past its bound is skipped", pets: []*v1.Pod{testPet(0), testPet(1), testPet(2, terminatingSince(2*time.Minute))},
			want: actionDelete, ordinal: 1, skipped: []string{"web-2"}},
		{name: "only stuck pets left: done", pets: []*v1.Pod{testPet(0, terminatingSince(time.Hour)), testPet(1, terminatingSince(5*time.Minute))},
			want: actionNone, skipped: []string{"web-1", "web-0"}},
		{name: "a gap does not matter", pets: []*v1.Pod{testPet(0), testPet(3)}, want: actionDelete, ordinal: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextTeardownAction(tc.pets, testNow, testMargin)
			type result struct {
				Kind         string
				Ordinal      int
				Skipped      []string
				RequeueAfter time.Duration
			}
			want := result{tc.want.String(), tc.ordinal, tc.skipped, tc.requeueAfter}
			have := result{got.kind.String(), got.ordinal, nil, got.requeueAfter}
			for _, pod := range got.skipped {
				have.Skipped = append(have.Skipped, pod.Name)
			}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("nextTeardownAction() mismatch (-want +got), reason %q:\n%s", got.reason, diff)
			}
		})
	}
}

func TestNextPetAction(t *testing.T) {
	paused := setInitialized("false")
	tests := []struct {
		name     string
		replicas int
		pets     []*v1.Pod
		want     actionKind
		ordinal  int
	}{
		{name: "no pets: create pet 0", replicas: 3, want: actionCreate, ordinal: 0},
		{name: "pet 0 ready: create pet 1", replicas: 3, pets: []*v1.Pod{testPet(0)}, want: actionCreate, ordinal: 1},
		{name: "pet 0 pending: wait for it", replicas: 3, pets: []*v1.Pod{testPet(0, pending)}, want: actionWait, ordinal: 0},
		{name: "pet 1 terminating: wait for it", replicas: 3, pets: []*v1.Pod{testPet(0), testPet(1, terminating)}, want: actionWait, ordinal: 1},
		{name: "pet 1 failed: delete it", replicas: 3, pets: []*v1.Pod{testPet(0), testPet(1, phase(v1.PodFailed))}, want: actionDelete, ordinal: 1},
		{name: "pet 1 succeeded: delete it", replicas: 3, pets: []*v1.Pod{testPet(0), testPet(1, phase(v1.PodSucceeded))}, want: actionDelete, ordinal: 1},
		{name: "failed and terminating: wait", replicas: 3, pets: []*v1.Pod{testPet(0, phase(v1.PodFailed), terminating)}, want: actionWait, ordinal: 0},
		{name: "pet 0 paused: no scale up", replicas: 3, pets: []*v1.Pod{testPet(0, paused)}, want: actionWait, ordinal: 0},
		{name: "pet 0 initialized true: scale up", replicas: 3, pets: []*v1.Pod{testPet(0, setInitialized("true"))}, want: actionCreate, ordinal: 1},
		{name: "pet 0 without annotation: scale up", replicas: 3, pets: []*v1.Pod{testPet(0, setInitialized(""))}, want: actionCreate, ordinal: 1},
		{name: "gap: recreate the missing pet", replicas: 3, pets: []*v1.Pod{testPet(0), testPet(2)}, want: actionCreate, ordinal: 1},
		{name: "missing pet behind an unready one: wait", replicas: 3, pets: []*v1.Pod{testPet(0, pending), testPet(2)}, want: actionWait, ordinal: 0},
		{name: "steady", replicas: 3, pets: []*v1.Pod{testPet(0), testPet(1), testPet(2)}, want: actionNone},
		{name: "scale down: highest first", replicas: 3,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2), testPet(3), testPet(4)}, want: actionDelete, ordinal: 4},
		{name: "scale down: wait for the terminating pet", replicas: 3,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2), testPet(3), testPet(4, terminating)}, want: actionWait, ordinal: 4},
		{name: "scale down: an unready lower condemned pet does not block", replicas: 3,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2), testPet(3, pending), testPet(4)}, want: actionDelete, ordinal: 4},
		{name: "scale down: two pending condemned pets go highest first", replicas: 2,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2, pending), testPet(3, pending)}, want: actionDelete, ordinal: 3},
		{name: "scale down: a failed condemned pet goes after the higher ones", replicas: 1,
			pets: []*v1.Pod{testPet(0), testPet(1, phase(v1.PodFailed)), testPet(2, pending)}, want: actionDelete, ordinal: 2},
		{name: "scale down: the next condemned pet goes once the higher one is gone", replicas: 2,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2, pending)}, want: actionDelete, ordinal: 2},
		{name: "scale down: a pet terminating within its bound blocks", replicas: 1,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2, terminatingSince(time.Minute))}, want: actionWait, ordinal: 2},
		{name: "scale down: a pet stuck terminating past its bound does not block", replicas: 1,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2, terminatingSince(3*time.Minute))}, want: actionDelete, ordinal: 1},
		{name: "scale down: only stuck pets left", replicas: 1,
			pets: []*v1.Pod{testPet(0), testPet(1, terminatingSince(3*time.Minute))}, want: actionNone},
		{name: "scale down: a paused lower condemned pet pauses it", replicas: 1,
			pets: []*v1.Pod{testPet(0), testPet(1, paused), testPet(2)}, want: actionWait, ordinal: 1},
		{name: "scale down: blocked by an unready pet in range", replicas: 3,
			pets: []*v1.Pod{testPet(0), testPet(1, pending), testPet(2), testPet(3), testPet(4)}, want: actionWait, ordinal: 1},
		{name: "scale down: the unready highest pet may go", replicas: 3,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2), testPet(3), testPet(4, pending)}, want: actionDelete, ordinal: 4},
		{name: "scale down: a paused highest pet stays", replicas: 3,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2), testPet(3), testPet(4, paused)}, want: actionWait, ordinal: 4},
		{name: "scale down: a paused pet in range blocks", replicas: 1,
			pets: []*v1.Pod{testPet(0, paused), testPet(1), testPet(2)}, want: actionWait, ordinal: 0},
		{name: "scale to zero", replicas: 0, pets: []*v1.Pod{testPet(0), testPet(1), testPet(2)}, want: actionDelete, ordinal: 2},
		{name: "recreate in range while a condemned pet terminates", replicas: 3,
			pets: []*v1.Pod{testPet(0), testPet(2), testPet(3), testPet(4, terminating)}, want: actionCreate, ordinal: 1},
		{name: "nothing left", replicas: 0, want: actionNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextPetAction(tc.replicas, tc.pets, testNow, testMargin)
			type result struct {
				Kind    string
				Ordinal int
			}
			want := result{tc.want.String(), tc.ordinal}
			have := result{got.kind.String(), got.ordinal}
			if tc.want == actionNone {
				have.Ordinal = 0
			}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("nextPetAction() mismatch (-want +got), reason %q:\n%s", got.reason, diff)
			}
			if got.kind == actionDelete && getOrdinal(got.pod) != tc.ordinal {
				t.Errorf("delete targets %s, want ordinal %d", got.pod.Name, tc.ordinal)
			}
		})
	}
}

func TestScaleUpInOrder(t *testing.T) {
	f := newFixture(t, newPetSet(5))

	// Each create waits for the previous pet to be Running and Ready: with
	// the kubelet stalled, repeated syncs create nothing more.
	f.mustSync()
	f.checkInvariants(invariantOpts{})
	for range 3 {
		f.mustSync()
		f.checkInvariants(invariantOpts{})
	}
	if diff := cmp.Diff([]string{"web-0"}, f.om.created); diff != "" {
		t.Fatalf("creates while web-0 is not ready (-want +got):\n%s", diff)
	}
	f.updatePod("web-0", setPending)
	f.mustSync()
	if got := len(f.om.created); got != 1 {
		t.Fatalf("created %d pets while web-0 is Pending, want 1", got)
	}

	f.run(50, invariantOpts{})

	if diff := cmp.Diff(petNames(0, 4), f.om.created); diff != "" {
		t.Errorf("create order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(claimNames(0, 4), f.om.createdClaims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if !hasFinalizer(f.set, PetSetFinalizer) {
		t.Errorf("PetSet lacks finalizer %s: %v", PetSetFinalizer, f.set.Finalizers)
	}
	want := f.settled(appsv1alpha1.PetSetStatus{ObservedGeneration: ptrTo(int64(1)), Replicas: 5, ReadyReplicas: 5})
	if diff := cmp.Diff(want, f.set.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	for _, msg := range []string{
		"Normal SuccessfulCreate create Claim www-web-0 for Pod web-0 in PetSet web successful",
		"Normal SuccessfulCreate create Pod web-0 in PetSet web successful",
		"Normal SuccessfulCreate create Pod web-4 in PetSet web successful",
	} {
		if len(f.eventsWith(msg)) != 1 {
			t.Errorf("missing event %q in %v", msg, f.events)
		}
	}
}

func TestScaleDownInReverseOrderKeepsClaims(t *testing.T) {
	f := newFixture(t, newPetSet(5))
	f.run(50, invariantOpts{})

	f.setReplicas(3)
	// The first delete; while web-4 terminates nothing else happens.
	f.mustSync()
	for range 3 {
		f.mustSync()
		f.checkInvariants(invariantOpts{})
	}
	if diff := cmp.Diff([]string{"web-4"}, f.om.deleted); diff != "" {
		t.Fatalf("deletes while web-4 terminates (-want +got):\n%s", diff)
	}
	if got := f.set.Status.Replicas; got != 5 {
		t.Errorf("status.replicas = %d while web-4 terminates, want 5", got)
	}

	f.run(50, invariantOpts{})

	if diff := cmp.Diff(petNames(4, 3), f.om.deleted); diff != "" {
		t.Errorf("delete order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(petNames(0, 2), names(f.om.serverPets())); diff != "" {
		t.Errorf("pets (-want +got):\n%s", diff)
	}
	if got := len(f.om.claimIndexer.List()); got != 5 {
		t.Errorf("%d claims after scaling down, want all 5 kept", got)
	}
	want := f.settled(appsv1alpha1.PetSetStatus{ObservedGeneration: ptrTo(int64(2)), Replicas: 3, ReadyReplicas: 3})
	if diff := cmp.Diff(want, f.set.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if len(f.eventsWith("Normal SuccessfulDelete delete Pod web-4 in PetSet web successful")) != 1 {
		t.Errorf("missing delete event in %v", f.events)
	}

	// Scaling up again reuses the claims.
	f.setReplicas(5)
	f.run(50, invariantOpts{})
	if got := len(f.om.createdClaims); got != 5 {
		t.Errorf("%d claims created in total, want 5 (reused on scale up)", got)
	}
}

func TestPauseHook(t *testing.T) {
	tests := []struct {
		name     string
		replicas int
		scaleTo  int
		pause    string // pet annotated false
		value    string // value that resumes
		blocked  bool
	}{
		{name: "false on a pet pauses scale up", replicas: 2, scaleTo: 3, pause: "web-1", value: "true", blocked: true},
		{name: "false on a lower pet pauses scale down", replicas: 3, scaleTo: 1, pause: "web-0", value: "true", blocked: true},
		{name: "false on the highest pet pauses scale down", replicas: 3, scaleTo: 1, pause: "web-2", value: "", blocked: true},
		{name: "true does not pause", replicas: 2, scaleTo: 3, pause: "", blocked: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newPetSet(tc.replicas))
			f.run(50, invariantOpts{})
			if tc.pause != "" {
				f.updatePod(tc.pause, setInitialized("false"))
			}
			f.setReplicas(tc.scaleTo)
			creates, deletes := len(f.om.created), len(f.om.deleted)
			for range 5 {
				f.mustSync()
				f.checkInvariants(invariantOpts{allowGaps: true})
				f.kubelet()
			}
			acted := len(f.om.created) != creates || len(f.om.deleted) != deletes
			if acted == tc.blocked {
				t.Fatalf("acted = %v while %s is paused, want %v (created %v deleted %v)",
					acted, tc.pause, !tc.blocked, f.om.created, f.om.deleted)
			}
			if tc.blocked {
				if ready := f.set.Status.ReadyReplicas; int(ready) != tc.replicas-1 {
					t.Errorf("status.readyReplicas = %d, want the paused pet not counted (%d)", ready, tc.replicas-1)
				}
				f.updatePod(tc.pause, setInitialized(tc.value))
			}
			f.run(50, invariantOpts{})
			if got := len(f.om.serverPets()); got != tc.scaleTo {
				t.Errorf("%d pets after resuming, want %d", got, tc.scaleTo)
			}
		})
	}

	t.Run("template with false pauses after each pet", func(t *testing.T) {
		set := newPetSet(3)
		set.Spec.Template.Annotations[appsv1alpha1.PetSetInitAnnotation] = "false"
		f := newFixture(t, set)
		for want := 1; want <= 3; want++ {
			for range 4 {
				f.mustSync()
				f.checkInvariants(invariantOpts{})
				f.kubelet()
			}
			if diff := cmp.Diff(petNames(0, want-1), f.om.created); diff != "" {
				t.Fatalf("pets created while web-%d is not initialized (-want +got):\n%s", want-1, diff)
			}
			f.updatePod(fmt.Sprintf("web-%d", want-1), setInitialized("true"))
		}
		f.run(10, invariantOpts{})
	})
}

func TestRecreatePets(t *testing.T) {
	tests := []struct {
		name       string
		disrupt    func(f *fixture)
		deleteFail bool
		wantDelete bool
	}{
		{name: "deleted pet", disrupt: func(f *fixture) { f.userDelete("web-1") }},
		{name: "failed pet", wantDelete: true,
			disrupt: func(f *fixture) { f.updatePod("web-1", phase(v1.PodFailed)) }},
		{name: "succeeded pet", wantDelete: true,
			disrupt: func(f *fixture) { f.updatePod("web-1", phase(v1.PodSucceeded)) }},
		{name: "failed pet with a failing delete", wantDelete: true, deleteFail: true,
			disrupt: func(f *fixture) { f.updatePod("web-1", phase(v1.PodFailed)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newPetSet(3))
			f.run(50, invariantOpts{})
			oldUID := f.om.serverPet(1).UID

			// Image upgrade: edit the template, then replace pets.
			f.setImage(imageNew)
			tc.disrupt(f)
			if tc.deleteFail {
				f.om.deletePod.failNext(1, apierrors.NewInternalError(errors.New("etcd unavailable")))
				if err := f.sync(); err == nil {
					t.Fatalf("sync succeeded despite the failing delete")
				}
				if len(f.eventsWith("Warning FailedDelete delete Pod web-1 in PetSet web failed")) != 1 {
					t.Errorf("missing FailedDelete event in %v", f.events)
				}
			}
			f.mustSync()
			f.checkInvariants(invariantOpts{allowGaps: true})
			if got := f.om.deleted; tc.wantDelete != (len(got) == 1) {
				t.Fatalf("deleted %v, want a delete of web-1: %v", got, tc.wantDelete)
			}
			// While the pet terminates nothing is created.
			for range 2 {
				f.mustSync()
			}
			if got := len(f.om.created); got != 3 {
				t.Fatalf("pet recreated before the old one is gone: created %v", f.om.created)
			}
			f.kubelet() // the old pod goes away
			f.run(50, invariantOpts{allowGaps: true})

			pet := f.om.serverPet(1)
			if pet.UID == oldUID {
				t.Fatalf("web-1 was not recreated")
			}
			images := map[string]string{}
			for _, pod := range f.om.serverPets() {
				images[pod.Name] = pod.Spec.Containers[0].Image
			}
			want := map[string]string{"web-0": imageOld, "web-1": imageNew, "web-2": imageOld}
			if diff := cmp.Diff(want, images); diff != "" {
				t.Errorf("images: only the recreated pet uses the new template (-want +got):\n%s", diff)
			}
			if pet.Spec.Hostname != "web-1" || pet.Spec.Subdomain != "nginx" {
				t.Errorf("recreated pet has hostname %q subdomain %q", pet.Spec.Hostname, pet.Spec.Subdomain)
			}
			if diff := cmp.Diff(claimNames(0, 2), f.om.createdClaims); diff != "" {
				t.Errorf("claims: the recreated pet reuses its claim (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeletion(t *testing.T) {
	t.Run("cascading delete scales down in reverse order, then removes the finalizer", func(t *testing.T) {
		f := newFixture(t, newPetSet(3))
		f.run(50, invariantOpts{})
		f.markDeleted(PetSetFinalizer)

		f.mustSync()
		for range 2 {
			f.mustSync() // web-2 terminates: nothing else happens
		}
		if diff := cmp.Diff([]string{"web-2"}, f.om.deleted); diff != "" {
			t.Fatalf("deletes while web-2 terminates (-want +got):\n%s", diff)
		}
		f.run(50, invariantOpts{})
		if diff := cmp.Diff(petNames(2, 0), f.om.deleted); diff != "" {
			t.Errorf("delete order (-want +got):\n%s", diff)
		}
		if !f.fc.removed || !f.gone {
			t.Errorf("finalizer not removed: %v", f.set.Finalizers)
		}
		if got := len(f.om.created); got != 3 {
			t.Errorf("created %v during deletion", f.om.created[3:])
		}
		if got := len(f.om.claimIndexer.List()); got != 3 {
			t.Errorf("%d claims left, want 3", got)
		}
	})

	t.Run("cascading delete creates no missing pet", func(t *testing.T) {
		f := newFixture(t, newPetSet(3))
		f.run(50, invariantOpts{})
		f.userDelete("web-0")
		f.kubelet()
		f.markDeleted(PetSetFinalizer)
		f.run(50, invariantOpts{allowGaps: true})
		if got := len(f.om.created); got != 3 {
			t.Errorf("created %v during deletion", f.om.created[3:])
		}
		if diff := cmp.Diff(petNames(2, 1), f.om.deleted); diff != "" {
			t.Errorf("delete order (-want +got):\n%s", diff)
		}
	})

	t.Run("orphaning delete releases the pets and removes the finalizer", func(t *testing.T) {
		f := newFixture(t, newPetSet(3))
		f.run(50, invariantOpts{})
		f.markDeleted(metav1.FinalizerOrphanDependents, PetSetFinalizer)

		f.mustSync()
		if len(f.om.deleted) != 0 || len(f.om.created) != 3 {
			t.Errorf("orphaning delete wrote pets: created %v deleted %v", f.om.created, f.om.deleted)
		}
		if diff := cmp.Diff(petNames(0, 2), f.om.patched); diff != "" {
			t.Errorf("released pets (-want +got):\n%s", diff)
		}
		for _, pod := range f.om.serverPets() {
			if len(pod.OwnerReferences) != 0 {
				t.Errorf("pet %s still has owners %v", pod.Name, pod.OwnerReferences)
			}
			if !isRunningAndReady(pod) {
				t.Errorf("pet %s is no longer running", pod.Name)
			}
		}
		if diff := cmp.Diff([]string{metav1.FinalizerOrphanDependents}, f.set.Finalizers); diff != "" {
			t.Errorf("finalizers (-want +got):\n%s", diff)
		}
		if got := len(f.om.claimIndexer.List()); got != 3 {
			t.Errorf("%d claims left, want 3", got)
		}
	})

	t.Run("a release failure keeps the finalizer", func(t *testing.T) {
		f := newFixture(t, newPetSet(2))
		f.run(50, invariantOpts{})
		f.markDeleted(metav1.FinalizerOrphanDependents, PetSetFinalizer)
		f.om.patchPod.failNext(1, apierrors.NewServiceUnavailable("try later"))
		if err := f.sync(); err == nil {
			t.Fatalf("sync succeeded despite the failing release")
		}
		if f.fc.removed {
			t.Fatalf("finalizer removed before every pet was released")
		}
		f.mustSync()
		if !f.fc.removed {
			t.Errorf("finalizer not removed after the retry")
		}
	})

	t.Run("no pet is created when the finalizer update finds a deletion", func(t *testing.T) {
		f := newFixture(t, newPetSet(1))
		f.fc.deletedOnServer = true
		f.mustSync()
		if len(f.om.created) != 0 {
			t.Errorf("created %v for a PetSet being deleted", f.om.created)
		}
	})

	t.Run("the finalizer is added before any pet", func(t *testing.T) {
		f := newFixture(t, newPetSet(1))
		f.fc.add.failNext(1, apierrors.NewServiceUnavailable("try later"))
		if err := f.sync(); err == nil {
			t.Fatalf("sync succeeded despite the failing finalizer update")
		}
		if len(f.om.created) != 0 {
			t.Fatalf("pet created without the finalizer")
		}
		f.mustSync()
		if diff := cmp.Diff([]string{PetSetFinalizer}, f.set.Finalizers); diff != "" {
			t.Errorf("finalizers (-want +got):\n%s", diff)
		}
		if len(f.om.created) != 1 {
			t.Errorf("created %v, want web-0", f.om.created)
		}
	})

	t.Run("a PetSet without pets gets no finalizer until its first pet", func(t *testing.T) {
		f := newFixture(t, newPetSet(0))
		f.mustSync()
		f.mustSync()
		if f.fc.add.count() != 0 || len(f.set.Finalizers) != 0 {
			t.Fatalf("finalizer added to a PetSet without pets: %v", f.set.Finalizers)
		}
		f.setReplicas(1)
		f.mustSync()
		if diff := cmp.Diff([]string{PetSetFinalizer}, f.set.Finalizers); diff != "" {
			t.Errorf("finalizers once a pet is wanted (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"web-0"}, f.om.created); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
	})

}

// TestFailureInjection scales 0 -> 3 -> 1 while one write fails, checking
// the invariants after every step and that the PetSet converges anyway.
func TestFailureInjection(t *testing.T) {
	internal := apierrors.NewInternalError(errors.New("injected"))
	tests := []struct {
		name   string
		inject func(f *fixture, n int)
		event  string
	}{
		{name: "pod create", inject: func(f *fixture, n int) { f.om.createPod.failNext(n, internal) },
			event: "Warning FailedCreate create Pod"},
		{name: "claim create", inject: func(f *fixture, n int) { f.om.createClaim.failNext(n, internal) },
			event: "Warning FailedCreate create Claim"},
		// Scaling 3 -> 1 deletes two pets.
		{name: "pod delete", inject: func(f *fixture, n int) { f.om.deletePod.failNext(min(n, 2), internal) },
			event: "Warning FailedDelete delete Pod"},
		{name: "status update", inject: func(f *fixture, n int) { f.su.tracker.failNext(n, internal) }},
		{name: "status update conflict", inject: func(f *fixture, n int) {
			f.su.tracker.failNext(n, apierrors.NewConflict(appsv1alpha1.Resource("petsets"), "web", errors.New("stale")))
		}},
	}
	for _, tc := range tests {
		for n := 1; n <= 3; n++ {
			t.Run(fmt.Sprintf("%s fails at call %d", tc.name, n), func(t *testing.T) {
				f := newFixture(t, newPetSet(3))
				tc.inject(f, n)
				f.run(60, invariantOpts{})
				f.setReplicas(1)
				if tc.name == "pod delete" {
					tc.inject(f, n)
				}
				f.run(60, invariantOpts{})

				if diff := cmp.Diff([]string{"web-0"}, names(f.om.serverPets())); diff != "" {
					t.Errorf("pets (-want +got):\n%s", diff)
				}
				want := f.settled(appsv1alpha1.PetSetStatus{ObservedGeneration: ptrTo(int64(2)), Replicas: 1, ReadyReplicas: 1})
				if diff := cmp.Diff(want, f.set.Status); diff != "" {
					t.Errorf("status did not converge (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(claimNames(0, 2), f.om.createdClaims); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
				if tc.event != "" && len(f.eventsWith(tc.event)) == 0 {
					t.Errorf("no %q event in %v", tc.event, f.events)
				}
			})
		}
	}
}

func TestAlreadyExists(t *testing.T) {
	t.Run("pod", func(t *testing.T) {
		f := newFixture(t, newPetSet(1))
		// web-0 exists on the server but the informer has not shown it.
		f.om.stale = true
		if _, err := f.om.CreatePod(f.ctx, newPet(f.set, 0)); err != nil {
			t.Fatal(err)
		}
		f.om.created = nil
		if err := f.sync(); err != nil {
			t.Fatalf("AlreadyExists reported as an error: %v", err)
		}
		if got := f.eventsWith("Warning"); len(got) != 0 {
			t.Errorf("AlreadyExists reported as a failure: %v", got)
		}
		if len(f.eventsWith("SuccessfulCreate create Pod")) != 0 {
			t.Errorf("AlreadyExists reported as a create: %v", f.events)
		}
	})
	t.Run("claim created meanwhile for the pet", func(t *testing.T) {
		f := newFixture(t, newPetSet(1))
		f.om.hiddenClaims = []*v1.PersistentVolumeClaim{newPetClaims(f.set, 0)["www"]}
		f.mustSync()
		if diff := cmp.Diff([]string{"web-0"}, f.om.created); diff != "" {
			t.Errorf("pod not created after the claim AlreadyExists (-want +got):\n%s", diff)
		}
		if got := f.eventsWith("Warning"); len(got) != 0 {
			t.Errorf("AlreadyExists reported as a failure: %v", got)
		}
	})
	t.Run("pod name held by a pod of another controller", func(t *testing.T) {
		f := newFixture(t, newPetSet(1))
		foreign := newPet(f.set, 0)
		foreign.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid", Controller: ptrTo(true)}}
		f.om.stale = true
		if _, err := f.om.CreatePod(f.ctx, foreign); err != nil {
			t.Fatal(err)
		}
		f.om.created = nil
		err := f.sync()
		if !errors.Is(err, errNameTaken) {
			t.Fatalf("sync error = %v, want the name reported taken", err)
		}
		want := []string{"Warning FailedCreate create Pod web-0 in PetSet web failed error: pod default/web-0 already exists and is controlled by ReplicaSet rs (uid rs-uid): name is taken"}
		if diff := cmp.Diff(want, f.eventsWith("Warning")); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if _, pending := f.exp.pendingFor(keyOf(f.set)); pending {
			t.Errorf("a failed create left an expectation")
		}
	})
}

func TestCreateRejected(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "invalid", err: apierrors.NewInvalid(v1.SchemeGroupVersion.WithKind("Pod").GroupKind(), "web-0",
			field.ErrorList{field.Invalid(field.NewPath("spec", "containers").Index(0).Child("image"), "", "must not be empty")})},
		{name: "forbidden", err: apierrors.NewForbidden(v1.Resource("pods"), "web-0", errors.New("exceeded quota"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newPetSet(2))
			f.om.createPod.failNext(1, tc.err)
			err := f.sync()
			if err == nil {
				t.Fatalf("sync succeeded despite the rejected create")
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v does not wrap %v", err, tc.err)
			}
			got := f.eventsWith("Warning FailedCreate create Pod web-0 in PetSet web failed error:")
			if len(got) != 1 || !strings.Contains(got[0], tc.err.Error()) {
				t.Errorf("FailedCreate events %v, want one naming web-0 and the cause", f.events)
			}
			// The claim was made and is reused by the retry.
			f.run(20, invariantOpts{})
			if diff := cmp.Diff(claimNames(0, 1), f.om.createdClaims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoDuplicateWritesFromStaleInformer(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		f := newFixture(t, newPetSet(2))
		f.om.stale = true
		for range 4 {
			f.mustSync()
		}
		if got := f.om.createPod.count(); got != 1 {
			t.Fatalf("%d pod creates with a stale informer, want 1", got)
		}
		f.om.deliver()
		f.mustSync()
		if got := f.om.createPod.count(); got != 1 {
			t.Fatalf("%d pod creates once web-0 is seen pending, want 1", got)
		}
		f.om.stale = false
		f.run(20, invariantOpts{})
		if diff := cmp.Diff(petNames(0, 1), f.om.created); diff != "" {
			t.Errorf("creates (-want +got):\n%s", diff)
		}
	})

	t.Run("delete", func(t *testing.T) {
		f := newFixture(t, newPetSet(3))
		f.run(50, invariantOpts{})
		f.setReplicas(2)
		f.om.stale = true
		for range 4 {
			f.mustSync()
		}
		if got := f.om.deletePod.count(); got != 1 {
			t.Fatalf("%d pod deletes with a stale informer, want 1", got)
		}
		f.om.stale = false
		f.om.deliver()
		f.run(20, invariantOpts{})
		if diff := cmp.Diff([]string{"web-2"}, f.om.deleted); diff != "" {
			t.Errorf("deletes (-want +got):\n%s", diff)
		}
	})

	t.Run("expired expectations", func(t *testing.T) {
		f := newFixture(t, newPetSet(1))
		f.om.stale = true
		f.mustSync()
		f.clock.Step(expectationsTimeout + time.Second)
		// The controller acts again; the create finds the pod and is
		// not an error.
		f.mustSync()
		if got := f.om.createPod.count(); got != 2 {
			t.Errorf("%d pod creates after the expectation expired, want 2", got)
		}
		if got := f.eventsWith("Warning"); len(got) != 0 {
			t.Errorf("unexpected warnings %v", got)
		}
	})
}

func TestStatusWrittenOnlyWhenChanged(t *testing.T) {
	f := newFixture(t, newPetSet(2))
	f.run(50, invariantOpts{})
	writes := f.su.writes
	for range 3 {
		f.mustSync()
	}
	if f.su.writes != writes {
		t.Errorf("%d status writes in steady state, want none", f.su.writes-writes)
	}
	f.updatePod("web-1", setPending)
	f.mustSync()
	want := f.settled(appsv1alpha1.PetSetStatus{ObservedGeneration: ptrTo(int64(1)), Replicas: 2, ReadyReplicas: 1})
	if diff := cmp.Diff(want, f.set.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if f.su.writes != writes+1 {
		t.Errorf("%d status writes after one change, want 1", f.su.writes-writes)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestLateSyncNeverDeletesReleasedPets(t *testing.T) {
	f := newFixture(t, newPetSet(3))
	f.run(50, invariantOpts{})
	// The user deleted the PetSet with orphan propagation; the garbage
	// collector released the pets and removed its orphan finalizer. The
	// pod cache has not seen the releases yet.
	f.om.stale = true
	for _, pod := range f.om.serverPets() {
		f.updatePod(pod.Name, func(pod *v1.Pod) { pod.OwnerReferences = nil })
	}
	f.markDeleted(PetSetFinalizer)

	err := f.sync()
	if !errors.Is(err, errReevaluate) {
		t.Errorf("sync on a stale cache: error %v, want the PetSet evaluated again", err)
	}
	if len(f.om.deleted) != 0 {
		t.Fatalf("released pets deleted: %v", f.om.deleted)
	}
	f.om.stale = false
	f.om.deliver()
	f.mustSync()
	if len(f.om.deleted) != 0 {
		t.Errorf("released pets deleted: %v", f.om.deleted)
	}
	if !f.gone {
		t.Errorf("PetSet not released once its pets are gone from it: finalizers %v", f.set.Finalizers)
	}
	if got := len(f.om.serverPets()); got != 3 {
		t.Errorf("%d pets left running, want 3", got)
	}
}

func TestDriftIsRepaired(t *testing.T) {
	t.Run("identity labels come back", func(t *testing.T) {
		f := newFixture(t, newPetSet(2))
		f.run(50, invariantOpts{})
		f.updatePod("web-1", func(pod *v1.Pod) {
			delete(pod.Labels, appsv1alpha1.PetSetPodNameLabel)
			pod.Labels[appsv1alpha1.PetSetPodOrdinalLabel] = "7"
		})
		f.mustSync()
		pod := f.om.serverPet(1)
		want := map[string]string{"app": "nginx", appsv1alpha1.PetSetPodNameLabel: "web-1", appsv1alpha1.PetSetPodOrdinalLabel: "1",
			appsv1alpha1.PodIndexLabel: "1", appsv1alpha1.ControllerRevisionHashLabel: f.set.Status.UpdateRevision}
		if diff := cmp.Diff(want, pod.Labels); diff != "" {
			t.Errorf("labels after the repair (-want +got):\n%s", diff)
		}
		if got := f.eventsWith("restore identity labels of Pod web-1"); len(got) != 1 {
			t.Errorf("repair events: %v", f.events)
		}
		f.mustSync()
		if diff := cmp.Diff([]string{"web-1"}, f.om.patched); diff != "" {
			t.Errorf("patched pods (-want +got):\n%s", diff)
		}
	})
	t.Run("a Pending pet gets its deleted claim back", func(t *testing.T) {
		f := newFixture(t, newPetSet(2))
		f.run(50, invariantOpts{})
		f.updatePod("web-1", setPending)
		if err := f.om.claimIndexer.Delete(newPetClaims(f.set, 1)["www"]); err != nil {
			t.Fatal(err)
		}
		f.mustSync()
		if _, err := f.om.claimLister.PersistentVolumeClaims(testNamespace).Get("www-web-1"); err != nil {
			t.Errorf("claim of the Pending pet not created again: %v", err)
		}
	})
	t.Run("a Running pet's missing claim is left alone", func(t *testing.T) {
		f := newFixture(t, newPetSet(2))
		f.run(50, invariantOpts{})
		if err := f.om.claimIndexer.Delete(newPetClaims(f.set, 1)["www"]); err != nil {
			t.Fatal(err)
		}
		created := len(f.om.createdClaims)
		f.mustSync()
		if got := f.om.createdClaims[created:]; len(got) != 0 {
			t.Errorf("claims created for a running pet: %v", got)
		}
	})
}

func TestWaitingOnATerminatingPetAsksForARequeue(t *testing.T) {
	f := newFixture(t, newPetSet(2))
	f.run(50, invariantOpts{})
	f.stuck["web-1"] = true
	f.markDeleted(PetSetFinalizer)
	f.mustSync() // deletes web-1, which stays terminating
	f.mustSync()
	if f.requeueAfter != testMargin {
		t.Errorf("requeueAfter = %v while web-1 terminates, want %v", f.requeueAfter, testMargin)
	}
	f.clock.Step(testMargin)
	f.mustSync()
	if diff := cmp.Diff([]string{"web-1", "web-0"}, f.om.deleted); diff != "" {
		t.Errorf("deletes (-want +got):\n%s", diff)
	}
	if got := f.eventsWith("Warning PetStuckTerminating Pod web-1"); len(got) != 1 {
		t.Errorf("stuck events: %v", f.events)
	}
}
