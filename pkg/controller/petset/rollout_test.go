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
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func rollingPetSet(replicas, partition int, maxUnavailable intstr.IntOrString) *appsv1alpha1.PetSet {
	set := defaultedPetSet(replicas)
	set.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{
		Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
		RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{
			Partition: ptrTo(int32(partition)), MaxUnavailable: &maxUnavailable,
		},
	}
	return set
}

func TestResolveMaxUnavailable(t *testing.T) {
	for _, tc := range []struct {
		value    intstr.IntOrString
		replicas int
		want     int
	}{
		{intstr.FromInt32(1), 10, 1},
		{intstr.FromInt32(4), 3, 4},
		{intstr.FromString("50%"), 10, 5},
		{intstr.FromString("50%"), 5, 2},
		{intstr.FromString("10%"), 5, 1},
		{intstr.FromString("1%"), 0, 1},
		{intstr.FromString("100%"), 7, 7},
	} {
		if got := resolveMaxUnavailable(&tc.value, tc.replicas); got != tc.want {
			t.Errorf("maxUnavailable %s of %d replicas = %d, want %d", tc.value.String(), tc.replicas, got, tc.want)
		}
	}
}

// TestRollingUpdateHaltsOnUnhealthyPet: a pet in range that is not Ready
// halts the rolling update as it halts scaling.
func TestRollingUpdateHaltsOnUnhealthyPet(t *testing.T) {
	f := newFixture(t, rollingPetSet(5, 0, intstr.FromInt32(3)))
	f.run(80, invariantOpts{})
	f.setImage(imageNew)
	f.setPetUnready("web-0")
	for step := range 20 {
		f.stepChecked(step)
	}
	if len(f.om.deleted) != 0 {
		t.Errorf("pets replaced while web-0 is not Ready: %v", f.om.deleted)
	}
	delete(f.unready, "web-0")
	f.updatePod("web-0", setRunningReady)
	f.run(200, invariantOpts{allowGaps: true})
	for _, pod := range f.om.serverPets() {
		if revisionOf(pod) != f.set.Status.UpdateRevision {
			t.Errorf("pet %s runs %q after the update, want %q", pod.Name, revisionOf(pod), f.set.Status.UpdateRevision)
		}
	}
	if got := len(f.eventsWith("Normal " + reasonUpdatingPet)); got != 5 {
		t.Errorf("%d %s events, want one per replaced pet: %v", got, reasonUpdatingPet, f.events)
	}
}

// TestRollingUpdatePartitionKeepsCurrentRevision: a pet below the partition
// that is deleted comes back at the current revision; lowering the
// partition then updates it.
func TestRollingUpdatePartitionKeepsCurrentRevision(t *testing.T) {
	f := newFixture(t, rollingPetSet(4, 2, intstr.FromInt32(1)))
	f.run(80, invariantOpts{})
	old := f.set.Status.CurrentRevision
	f.setImage(imageNew)
	f.run(200, invariantOpts{allowGaps: true})
	update := f.set.Status.UpdateRevision
	f.userDelete("web-0")
	f.run(50, invariantOpts{allowGaps: true})
	pod := f.om.serverPet(0)
	if revisionOf(pod) != old || pod.Spec.Containers[0].Image != imageOld {
		t.Errorf("web-0 came back at %q with %s, want %q with %s", revisionOf(pod), pod.Spec.Containers[0].Image, old, imageOld)
	}
	if s := f.set.Status; s.CurrentRevision != old || s.CurrentReplicas != 2 || s.UpdatedReplicas != 2 {
		t.Errorf("status %+v, want 2 pets at %s and 2 at %s", s, old, update)
	}

	f.set.Spec.UpdateStrategy.RollingUpdate.Partition = ptrTo(int32(0))
	f.set.Generation++
	f.run(200, invariantOpts{allowGaps: true})
	f.mustSync()
	if s := f.set.Status; s.CurrentRevision != update || s.UpdatedReplicas != 4 || s.CurrentReplicas != 4 {
		t.Errorf("status after lowering the partition %+v, want every pet at %s", s, update)
	}
}

// TestRecreatePausedByInitializedAnnotation: the debugging hook pauses a
// Recreate update too.
func TestRecreatePausedByInitializedAnnotation(t *testing.T) {
	set := defaultedPetSet(3)
	set.Spec.UpdateStrategy.Type = appsv1alpha1.RecreatePetSetStrategyType
	f := newFixture(t, set)
	f.run(80, invariantOpts{})
	f.updatePod("web-1", setInitialized("false"))
	f.setImage(imageNew)
	for range 10 {
		f.mustSync()
		f.kubelet()
	}
	if len(f.om.deleted) != 0 {
		t.Errorf("pets deleted while web-1 is paused: %v", f.om.deleted)
	}
	f.updatePod("web-1", setInitialized("true"))
	f.run(100, invariantOpts{allowGaps: true})
	for _, pod := range f.om.serverPets() {
		if revisionOf(pod) != f.set.Status.UpdateRevision {
			t.Errorf("pet %s runs %q, want %q", pod.Name, revisionOf(pod), f.set.Status.UpdateRevision)
		}
	}
}

// TestUnhealthyPodPolicy rolls a PetSet out to a template whose image never
// starts, then fixes the template. With Wait (apps/v1's behaviour) the
// broken pets stay as they are; with ReplaceOldRevision they are replaced
// at once and the rollout completes, never with more pets unavailable than
// the broken ones or maxUnavailable, whichever is more.
func TestUnhealthyPodPolicy(t *testing.T) {
	const imageBroken = "registry.invalid/nginx:broken"
	for _, tc := range []struct {
		name           string
		policy         appsv1alpha1.UnhealthyPodPolicyType
		partition      int
		maxUnavailable intstr.IntOrString
		parallel       bool
		wantBroken     []string
	}{
		{name: "Parallel replaces the broken pet whatever the policy, as apps/v1", policy: appsv1alpha1.WaitUnhealthyPodPolicy,
			maxUnavailable: intstr.FromInt32(1), parallel: true},
		{name: "Parallel with ReplaceOldRevision and maxUnavailable 2", policy: appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy,
			maxUnavailable: intstr.FromInt32(2), parallel: true},
		{name: "Wait keeps the broken pet", policy: appsv1alpha1.WaitUnhealthyPodPolicy,
			maxUnavailable: intstr.FromInt32(1), wantBroken: []string{"web-4"}},
		{name: "unset is Wait", maxUnavailable: intstr.FromInt32(1), wantBroken: []string{"web-4"}},
		{name: "ReplaceOldRevision replaces the broken pet", policy: appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy,
			maxUnavailable: intstr.FromInt32(1)},
		{name: "ReplaceOldRevision with maxUnavailable 2", policy: appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy,
			maxUnavailable: intstr.FromInt32(2)},
		{name: "ReplaceOldRevision with a partition", policy: appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy,
			partition: 3, maxUnavailable: intstr.FromInt32(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := rollingPetSet(5, tc.partition, tc.maxUnavailable)
			set.Spec.UpdateStrategy.RollingUpdate.UnhealthyPodPolicy = tc.policy
			if tc.parallel {
				set.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement
			}
			f := newFixture(t, set)
			f.run(80, invariantOpts{})
			f.brokenImages[imageBroken] = true
			f.setImage(imageBroken)
			for step := range 30 {
				f.stepRolling(step)
			}
			broken := f.podsRunning(imageBroken)
			if len(broken) == 0 {
				t.Fatalf("no pet runs the broken image: %v", names(f.om.serverPets()))
			}

			f.setImage(imageNew)
			deleted := len(f.om.deleted)
			limit := max(len(broken), resolveMaxUnavailable(&tc.maxUnavailable, 5))
			for step := range 100 {
				f.stepRolling(step)
				if n := f.unavailable(); n > limit {
					t.Fatalf("step %d: %d pets unavailable, want at most %d", step, n, limit)
				}
			}
			if tc.wantBroken != nil {
				if diff := cmp.Diff(tc.wantBroken, f.podsRunning(imageBroken)); diff != "" {
					t.Errorf("pets still running the broken image (-want +got):\n%s", diff)
				}
				if got := f.om.deleted[deleted:]; len(got) != 0 {
					t.Errorf("pets deleted after the fix: %v, want none", got)
				}
				return
			}
			if got := f.podsRunning(imageBroken); len(got) != 0 {
				t.Errorf("pets still running the broken image: %v", got)
			}
			var want []string
			for i := range 5 {
				if i < tc.partition {
					want = append(want, imageOld)
				} else {
					want = append(want, imageNew)
				}
			}
			var got []string
			for _, pod := range f.om.serverPets() {
				got = append(got, pod.Spec.Containers[0].Image)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("images of the pets by ordinal (-want +got):\n%s", diff)
			}
			if !f.converged() {
				t.Errorf("the PetSet did not converge: pets %v, status %+v", names(f.om.serverPets()), f.set.Status)
			}
		})
	}
}

// podsRunning returns the pets whose container runs image, by name.
func (f *fixture) podsRunning(image string) []string {
	var out []string
	for _, pod := range f.om.serverPets() {
		if pod.Spec.Containers[0].Image == image {
			out = append(out, pod.Name)
		}
	}
	return out
}

// unavailable counts the pets in range that are missing or not healthy.
func (f *fixture) unavailable() int {
	start, replicas := startOrdinalOf(f.set), replicasOf(f.set)
	healthy := 0
	for _, pod := range f.om.serverPets() {
		if o := getOrdinal(pod); o >= start && o < start+replicas && isHealthy(pod) {
			healthy++
		}
	}
	return replicas - healthy
}

// stepRolling runs one sync and checks the invariants, then lets the clock
// and the kubelet move; unlike stepChecked it allows a rolling update's
// batch of deletions.
func (f *fixture) stepRolling(step int) {
	f.t.Helper()
	if err := f.sync(); err != nil {
		f.t.Logf("step %d: sync error (retried): %v", step, err)
	}
	f.checkInvariants(invariantOpts{allowGaps: true})
	f.clock.Step(matrixStep)
	f.kubelet()
}

// pdb plays a PodDisruptionBudget with minAvailable over every pet of the
// fixture: a healthy pet may be evicted while more than minAvailable pets are
// healthy, an unhealthy one while at least minAvailable are.
func (f *fixture) pdb(minAvailable int) func(pod *v1.Pod) string {
	return func(pod *v1.Pod) string {
		healthy := 0
		for _, p := range f.om.serverPets() {
			if isHealthy(p) {
				healthy++
			}
		}
		if healthy > minAvailable || (!isHealthy(pod) && healthy >= minAvailable) {
			return ""
		}
		return fmt.Sprintf("The disruption budget web-pdb needs %d healthy pods and has %d currently", minAvailable, healthy)
	}
}

// TestPodRemovalPolicy rolls 5 pets out with maxUnavailable 3 under a budget
// of minAvailable 4: Delete breaks the budget (3 pets unavailable at once),
// Evict never has more than one pet unavailable, reports the blocked
// evictions and still completes. A scale down that the budget forbids under
// Evict removes nothing until the policy is changed to Delete.
func TestPodRemovalPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy          appsv1alpha1.PodRemovalPolicyType
		wantUnavailable int
	}{
		{policy: appsv1alpha1.DeletePodRemovalPolicy, wantUnavailable: 3},
		{policy: appsv1alpha1.EvictPodRemovalPolicy, wantUnavailable: 1},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			set := rollingPetSet(5, 0, intstr.FromInt32(3))
			set.Spec.PodRemovalPolicy = tc.policy
			f := newFixture(t, set)
			f.run(80, invariantOpts{})
			f.om.budget = f.pdb(4)
			f.drainEvents()

			f.setImage(imageNew)
			most := 0
			for step := 0; step < 200; step++ {
				f.stepRolling(step)
				most = max(most, f.unavailable())
				if f.rolledOut() {
					break
				}
			}
			if !f.rolledOut() {
				t.Fatalf("the rollout did not complete: pets %v, status %+v", names(f.om.serverPets()), f.set.Status)
			}
			if most != tc.wantUnavailable {
				t.Errorf("at most %d pets unavailable at once, want %d", most, tc.wantUnavailable)
			}
			evicted, blocked := len(f.om.evicted), len(f.eventsWith("Warning "+reasonEvictionBlocked))
			if tc.policy == appsv1alpha1.DeletePodRemovalPolicy && (evicted != 0 || blocked != 0) {
				t.Errorf("Delete evicted %d pets and reported %d blocked evictions, want none", evicted, blocked)
			}
			if tc.policy == appsv1alpha1.EvictPodRemovalPolicy {
				if diff := cmp.Diff([]string{"web-4", "web-3", "web-2", "web-1", "web-0"}, f.om.evicted); diff != "" {
					t.Errorf("pets evicted (-want +got):\n%s", diff)
				}
				if blocked == 0 {
					t.Errorf("no %s event, want one for each refusal: %v", reasonEvictionBlocked, f.events)
				}
			}

			// A scale down to 2 under the budget of 4.
			f.setReplicas(2)
			for step := range 30 {
				f.stepRolling(step)
			}
			if tc.policy == appsv1alpha1.EvictPodRemovalPolicy {
				if got := len(f.om.serverPets()); got != 4 {
					t.Errorf("%d pets after a scale down the budget forbids, want 4 (one evicted, then blocked)", got)
				}
				f.set.Spec.PodRemovalPolicy = appsv1alpha1.DeletePodRemovalPolicy
				f.set.Generation++
			}
			f.run(50, invariantOpts{})
		})
	}
}

// rolledOut reports whether every pet runs the update revision, healthy,
// and the status says so.
func (f *fixture) rolledOut() bool {
	s := f.set.Status
	if s.UpdateRevision == "" || s.CurrentRevision != s.UpdateRevision || int(s.UpdatedReplicas) != replicasOf(f.set) {
		return false
	}
	for _, pod := range f.om.serverPets() {
		if revisionOf(pod) != s.UpdateRevision || !isHealthy(pod) {
			return false
		}
	}
	return true
}
