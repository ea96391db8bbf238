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
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
)

func TestNextRolloutActionWithStartOrdinal(t *testing.T) {
	rolling := rollout{replicas: 3, start: 5, strategy: appsv1alpha1.RollingUpdatePetSetStrategyType, partition: 1,
		maxUnavailable: 1, currentRevision: "old", updateRevision: "new"}
	onDelete := rollout{replicas: 3, start: 5, strategy: appsv1alpha1.OnDeletePetSetStrategyType, maxUnavailable: 1}
	at := func(revision string) func(*v1.Pod) {
		return func(pod *v1.Pod) { pod.Labels[appsv1alpha1.ControllerRevisionHashLabel] = revision }
	}
	tests := []struct {
		name         string
		r            rollout
		pets         []*v1.Pod
		want         actionKind
		ordinal      int
		wantRevision string
	}{
		{name: "the first pet is <name>-<start>", r: onDelete, want: actionCreate, ordinal: 5},
		{name: "then the next one", r: onDelete, pets: []*v1.Pod{testPet(5)}, want: actionCreate, ordinal: 6},
		{name: "an unready first pet blocks", r: onDelete, pets: []*v1.Pod{testPet(5, notReady)}, want: actionWait, ordinal: 5},
		{name: "all in range: nothing to do", r: onDelete, pets: []*v1.Pod{testPet(5), testPet(6), testPet(7)}, want: actionNone},
		{name: "a pet below start is condemned once the range is healthy", r: onDelete,
			pets: []*v1.Pod{testPet(2), testPet(5), testPet(6), testPet(7)}, want: actionDelete, ordinal: 2},
		{name: "pets below start are created first, removed after: the missing pet comes first", r: onDelete,
			pets: []*v1.Pod{testPet(3), testPet(4), testPet(5)}, want: actionCreate, ordinal: 6},
		{name: "condemned pets go from the highest ordinal, above the range first", r: onDelete,
			pets: []*v1.Pod{testPet(4), testPet(5), testPet(6), testPet(7), testPet(8)}, want: actionDelete, ordinal: 8},
		{name: "a condemned pet's health does not block", r: onDelete,
			pets: []*v1.Pod{testPet(4, notReady), testPet(5), testPet(6), testPet(7)}, want: actionDelete, ordinal: 4},
		{name: "rolling update: the partition counts from start, the pet below it is created at the current revision", r: rolling,
			want: actionCreate, ordinal: 5, wantRevision: "old"},
		{name: "rolling update: the pet at start+partition is created at the update revision", r: rolling,
			pets: []*v1.Pod{testPet(5, at("old"))}, want: actionCreate, ordinal: 6, wantRevision: "new"},
		{name: "rolling update deletes from the highest ordinal down to start+partition", r: rolling,
			pets: []*v1.Pod{testPet(5, at("old")), testPet(6, at("old")), testPet(7, at("old"))}, want: actionDelete, ordinal: 7},
		{name: "rolling update leaves the pets below start+partition alone", r: rolling,
			pets: []*v1.Pod{testPet(5, at("old")), testPet(6, at("new")), testPet(7, at("new"))}, want: actionNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextRolloutAction(tc.r, tc.pets, testNow, testMargin)
			type result struct {
				Kind     string
				Ordinal  int
				Revision string
			}
			want := result{tc.want.String(), tc.ordinal, tc.wantRevision}
			have := result{got.kind.String(), got.ordinal, got.revision}
			if got.kind == actionNone {
				have.Ordinal = 0
			}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("nextRolloutAction() mismatch (-want +got), reason %q:\n%s", got.reason, diff)
			}
		})
	}
}

// setStart changes spec.ordinals.start like kubectl patch.
func (f *fixture) setStart(start int) {
	f.set.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: int32(start)}
	f.set.Generation++
}

// TestStartOrdinalMatrix creates PetSets numbered from a start ordinal,
// then scales them, moves the start ordinal up and down and deletes them,
// checking the ordering rules and invariants after every step (one pet
// created or deleted at a time, pets created in order each after the lower
// ones in range are healthy, condemned pets deleted from the highest
// ordinal, no claim deleted) and that the pets end as exactly
// <name>-<start>..<name>-<start+replicas-1>, each carrying its ordinal in
// the pet-ordinal and pod-index labels.
func TestStartOrdinalMatrix(t *testing.T) {
	type operation struct {
		name      string
		apply     func(f *fixture)
		wantStart int
		wantPets  int
	}
	for _, replicas := range []int{1, 4} {
		for _, start := range []int{0, 3} {
			ops := []operation{
				{name: "none", apply: func(*fixture) {}, wantStart: start, wantPets: replicas},
				{name: "scale up", apply: func(f *fixture) { f.setReplicas(replicas + 2) }, wantStart: start, wantPets: replicas + 2},
				{name: "scale down", apply: func(f *fixture) { f.setReplicas(replicas / 2) }, wantStart: start, wantPets: replicas / 2},
				{name: "start moves up by 2", apply: func(f *fixture) { f.setStart(start + 2) }, wantStart: start + 2, wantPets: replicas},
				{name: "start moves past every pet", apply: func(f *fixture) { f.setStart(start + 10) }, wantStart: start + 10, wantPets: replicas},
				{name: "start moves down to 0", apply: func(f *fixture) { f.setStart(0) }, wantStart: 0, wantPets: replicas},
				{name: "start moves down by 1 and scale up", apply: func(f *fixture) { f.setStart(max(0, start-1)); f.setReplicas(replicas + 1) },
					wantStart: max(0, start-1), wantPets: replicas + 1},
				{name: "teardown", apply: func(f *fixture) { f.markDeleted(PetSetFinalizer) }, wantPets: -1},
			}
			for _, op := range ops {
				t.Run(fmt.Sprintf("%d pets from %d/%s", replicas, start, op.name), func(t *testing.T) {
					set := shapedPetSet(matrixShape{setName: "web", replicas: replicas, claimTemplates: 1})
					set.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: int32(start)}
					f := newFixture(t, set)
					f.run(10*replicas+10, invariantOpts{})
					checkPetRange(t, f, start, replicas)

					op.apply(f)
					steps := 12*(replicas+op.wantPets+2) + 20
					for step := 0; step < steps && !f.gone; step++ {
						f.stepChecked(step)
						if op.wantPets >= 0 && f.converged() {
							break
						}
					}
					if op.wantPets < 0 {
						if !f.gone || len(f.om.serverPets()) != 0 {
							t.Fatalf("teardown did not finish: pets %v", names(f.om.serverPets()))
						}
						return
					}
					if !f.converged() {
						t.Fatalf("did not converge: pets %v, status %+v", names(f.om.serverPets()), f.set.Status)
					}
					checkPetRange(t, f, op.wantStart, op.wantPets)
				})
			}
		}
	}
}

// checkPetRange checks that the pets are exactly <name>-<start> ..
// <name>-<start+replicas-1>, labelled with their ordinals.
func checkPetRange(t *testing.T, f *fixture, start, replicas int) {
	t.Helper()
	var want, got []string
	for o := start; o < start+replicas; o++ {
		want = append(want, fmt.Sprintf("web-%d", o))
	}
	for _, pod := range f.om.serverPets() {
		got = append(got, pod.Name)
		ordinal := strconv.Itoa(getOrdinal(pod))
		if pod.Labels[appsv1alpha1.PodIndexLabel] != ordinal || pod.Labels[appsv1alpha1.PetSetPodOrdinalLabel] != ordinal {
			t.Errorf("pet %s labels %v, want the ordinal %s", pod.Name, pod.Labels, ordinal)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pets (-want +got):\n%s", diff)
	}
}
