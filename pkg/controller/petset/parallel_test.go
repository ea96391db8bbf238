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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestSlowStartBatch(t *testing.T) {
	tests := []struct {
		name    string
		ops     int
		failAt  []int
		wantRan int
	}{
		{name: "nothing to do", ops: 0, wantRan: 0},
		{name: "one", ops: 1, wantRan: 1},
		{name: "ten: batches 1, 2, 4, 3", ops: 10, wantRan: 10},
		{name: "the first fails: nothing more", ops: 10, failAt: []int{0}, wantRan: 1},
		{name: "a failure in the second batch: it runs whole, then stop", ops: 10, failAt: []int{1}, wantRan: 3},
		{name: "a failure at the end of the third batch", ops: 10, failAt: []int{6}, wantRan: 7},
		{name: "two failures in one batch", ops: 10, failAt: []int{3, 5}, wantRan: 7},
		{name: "a failure in the last batch", ops: 10, failAt: []int{9}, wantRan: 10},
		// 1+2+...+256 = 511; the next batch is capped at 500, not 512.
		{name: "batches are capped at 500", ops: 1200, failAt: []int{700}, wantRan: 1011},
		{name: "after the cap, batches stay at 500", ops: 1200, failAt: []int{1011}, wantRan: 1200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var ran []int
			ops := make([]func() error, tc.ops)
			for i := range ops {
				ops[i] = func() error {
					mu.Lock()
					ran = append(ran, i)
					mu.Unlock()
					if slices.Contains(tc.failAt, i) {
						return fmt.Errorf("op %d: %w", i, errInjected)
					}
					return nil
				}
			}
			n, err := slowStartBatch(ops)
			if n != tc.wantRan {
				t.Errorf("ran %d operations, want %d", n, tc.wantRan)
			}
			slices.Sort(ran)
			want := make([]int, tc.wantRan)
			for i := range want {
				want[i] = i
			}
			if diff := cmp.Diff(want, ran, cmpEmptyInts); diff != "" {
				t.Errorf("operations run (-want +got):\n%s", diff)
			}
			if (err != nil) != (len(tc.failAt) > 0) || (err != nil && !errors.Is(err, errInjected)) {
				t.Errorf("error %v, want the injected failures %v", err, tc.failAt)
			}
		})
	}
}

var errInjected = errors.New("injected")

// cmpEmptyInts treats nil and empty slices alike.
var cmpEmptyInts = cmp.Comparer(func(a, b []int) bool { return slices.Equal(a, b) })

func TestNextParallelAction(t *testing.T) {
	r := rollout{replicas: 3, strategy: appsv1alpha1.OnDeletePetSetStrategyType, maxUnavailable: 1}
	shifted := r
	shifted.start = 2
	paused := setInitialized("false")
	tests := []struct {
		name        string
		r           rollout
		pets        []*v1.Pod
		want        actionKind
		wantCreates []int
		wantDeletes []string
	}{
		{name: "every missing pet at once", r: r, want: actionBatch, wantCreates: []int{0, 1, 2}},
		{name: "an unready or pending pet blocks nothing", r: r, pets: []*v1.Pod{testPet(0, notReady), testPet(2, pending)},
			want: actionBatch, wantCreates: []int{1}},
		{name: "a terminating pet blocks nothing", r: r, pets: []*v1.Pod{testPet(0, terminating)},
			want: actionBatch, wantCreates: []int{1, 2}},
		{name: "condemned pets all at once, highest first, with the creations", r: shifted,
			pets: []*v1.Pod{testPet(0), testPet(1, notReady), testPet(2), testPet(5), testPet(6, terminating)},
			want: actionBatch, wantCreates: []int{3, 4}, wantDeletes: []string{"web-5", "web-1", "web-0"}},
		{name: "Failed and Succeeded pets are replaced", r: r,
			pets: []*v1.Pod{testPet(0, phase(v1.PodFailed)), testPet(1), testPet(2, phase(v1.PodSucceeded))},
			want: actionBatch, wantDeletes: []string{"web-2", "web-0"}},
		{name: "a paused pet pauses everything", r: r, pets: []*v1.Pod{testPet(0, paused)}, want: actionWait},
		{name: "a paused condemned pet pauses the scale down", r: r,
			pets: []*v1.Pod{testPet(0), testPet(1), testPet(2), testPet(3, paused)}, want: actionWait},
		{name: "all there: nothing to do", r: r, pets: []*v1.Pod{testPet(0), testPet(1, notReady), testPet(2)}, want: actionNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextParallelAction(tc.r, tc.pets, testNow, testMargin)
			type result struct {
				Kind    string
				Creates []int
				Deletes []string
			}
			want := result{tc.want.String(), tc.wantCreates, tc.wantDeletes}
			have := result{Kind: got.kind.String(), Deletes: names(got.batch)}
			for _, c := range got.creates {
				have.Creates = append(have.Creates, c.ordinal)
			}
			if diff := cmp.Diff(want, have, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("nextParallelAction() mismatch (-want +got), reason %q:\n%s", got.reason, diff)
			}
		})
	}
}

func TestNextParallelTeardownAction(t *testing.T) {
	tests := []struct {
		name        string
		pets        []*v1.Pod
		want        actionKind
		wantDeletes []string
		wantRequeue time.Duration
	}{
		{name: "nothing left", want: actionNone},
		{name: "every pet at once, whatever its state", want: actionBatch,
			pets:        []*v1.Pod{testPet(0, pending), testPet(1, notReady), testPet(2, setInitialized("false")), testPet(3, terminating)},
			wantDeletes: []string{"web-2", "web-1", "web-0"}},
		{name: "wait for the terminating pets", pets: []*v1.Pod{testPet(0, terminatingSince(30*time.Second))},
			want: actionWait, wantRequeue: 90 * time.Second},
		{name: "pets stuck terminating do not hold the release", pets: []*v1.Pod{testPet(0, terminatingSince(time.Hour))},
			want: actionNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextParallelTeardownAction(tc.pets, testNow, testMargin)
			if got.kind != tc.want || got.requeueAfter != tc.wantRequeue || !slices.Equal(names(got.batch), tc.wantDeletes) {
				t.Errorf("nextParallelTeardownAction() = %s %v requeue %v, want %s %v requeue %v",
					got.kind, names(got.batch), got.requeueAfter, tc.want, tc.wantDeletes, tc.wantRequeue)
			}
		})
	}
}

// parallelPetSet returns the guide's PetSet with Parallel pet management.
func parallelPetSet(replicas int) *appsv1alpha1.PetSet {
	set := newPetSet(replicas)
	set.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement
	return set
}

// TestParallelScaling scales a Parallel PetSet whose pets never become
// Ready: every pet is created in the first sync, every condemned pet is
// deleted in one sync, and the teardown deletes every pet at once.
func TestParallelScaling(t *testing.T) {
	f := newFixture(t, parallelPetSet(10))
	for i := range 10 {
		f.unready[fmt.Sprintf("web-%d", i)] = true
	}
	f.mustSync()
	f.checkInvariants(invariantOpts{allowGaps: true})
	if diff := cmp.Diff(petNames(0, 9), sortedNames(f.om.created)); diff != "" {
		t.Fatalf("pets created by the first sync (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(claimNames(0, 9), sortedNames(f.om.createdClaims)); diff != "" {
		t.Errorf("claims created by the first sync (-want +got):\n%s", diff)
	}
	f.kubelet()
	f.mustSync()
	if s := f.set.Status; s.Replicas != 10 || s.ReadyReplicas != 0 || s.AvailableReplicas != 0 {
		t.Errorf("status %+v, want 10 pets, none Ready", s)
	}

	f.setReplicas(4)
	f.mustSync()
	f.checkInvariants(invariantOpts{allowGaps: true})
	if diff := cmp.Diff(petNames(4, 9), sortedNames(f.om.deleted)); diff != "" {
		t.Errorf("pets deleted by one sync of the scale down (-want +got):\n%s", diff)
	}
	f.kubelet()

	f.markDeleted(PetSetFinalizer)
	deleted := len(f.om.deleted)
	f.mustSync()
	if diff := cmp.Diff(petNames(0, 3), sortedNames(f.om.deleted[deleted:])); diff != "" {
		t.Errorf("pets deleted by one sync of the teardown (-want +got):\n%s", diff)
	}
	if f.fc.removed {
		t.Fatalf("finalizer removed while the pets terminate")
	}
	f.kubelet()
	f.mustSync()
	if !f.fc.removed {
		t.Errorf("finalizer not removed once the pets are gone")
	}
	for _, name := range f.om.createdClaims {
		if _, err := f.om.claimLister.PersistentVolumeClaims(testNamespace).Get(name); err != nil {
			t.Errorf("claim %s deleted: %v", name, err)
		}
	}
}

// TestParallelFailureInjection fails one pod creation of a Parallel scale
// up and checks that its batch runs whole and no later batch starts, and
// that the next syncs create the rest.
func TestParallelFailureInjection(t *testing.T) {
	internal := apierrors.NewInternalError(errInjected)
	for _, tc := range []struct {
		failAt      int
		wantCreated int
	}{
		{failAt: 1, wantCreated: 0},   // batch {web-0}
		{failAt: 2, wantCreated: 2},   // batch of 2: one created
		{failAt: 4, wantCreated: 6},   // batch of 4: three created
		{failAt: 8, wantCreated: 9},   // the last batch (3 of 10): two created
		{failAt: 11, wantCreated: 10}, // no failure in this sync
	} {
		t.Run(fmt.Sprintf("create %d fails", tc.failAt), func(t *testing.T) {
			f := newFixture(t, parallelPetSet(10))
			f.om.createPod.failNext(tc.failAt, internal)
			err := f.sync()
			if (err != nil) != (tc.failAt <= 10) {
				t.Errorf("sync error %v", err)
			}
			if got := len(f.om.created); got != tc.wantCreated {
				t.Errorf("%d pets created, want %d: %v", got, tc.wantCreated, f.om.created)
			}
			if got := f.om.createPod.count(); got != min(tc.failAt+batchRestAfter(tc.failAt), 10) {
				t.Errorf("%d create calls, want the failed batch run whole (%d)", got, min(tc.failAt+batchRestAfter(tc.failAt), 10))
			}
			f.run(20, invariantOpts{allowGaps: true})
			if diff := cmp.Diff(petNames(0, 9), names(f.om.serverPets())); diff != "" {
				t.Errorf("pets after the retries (-want +got):\n%s", diff)
			}
		})
	}
}

// batchRestAfter returns how many operations of the slow-start batch that
// holds the call-th operation (1-based) come after it.
func batchRestAfter(call int) int {
	end := 0
	for size := 1; ; size *= 2 {
		end += size
		if call <= end {
			return end - call
		}
	}
}

func sortedNames(in []string) []string {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b string) int {
		_, x := getParentNameAndOrdinal(a)
		_, y := getParentNameAndOrdinal(b)
		if x != y {
			return x - y
		}
		return strings.Compare(a, b)
	})
	return out
}
