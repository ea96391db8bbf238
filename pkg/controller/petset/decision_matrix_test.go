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
	"strings"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// matrixShape is the shape of a PetSet in the decision matrix.
type matrixShape struct {
	name           string
	setName        string
	replicas       int
	claimTemplates int
}

// shapedPetSet returns the guide's PetSet with the shape's name, replicas
// and number of claim templates.
func shapedPetSet(shape matrixShape) *appsv1alpha1.PetSet {
	set := newPetSet(shape.replicas)
	set.Name = shape.setName
	set.UID = "matrix-uid"
	templates := set.Spec.VolumeClaimTemplates[:0]
	for i := range shape.claimTemplates {
		name := "www"
		if i > 0 {
			name = fmt.Sprintf("data%d", i)
		}
		templates = append(templates, v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				Resources: v1.VolumeResourceRequirements{
					Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
				},
			},
		})
	}
	set.Spec.VolumeClaimTemplates = templates
	if shape.claimTemplates == 0 {
		set.Spec.Template.Spec.Containers[0].VolumeMounts = nil
	}
	return set
}

// matrixCondition puts the pets of a converged PetSet of `replicas` pets in
// some state before the operation runs.
type matrixCondition struct {
	name  string
	apply func(f *fixture, replicas int)
}

// matrixOperation is what the user does to the PetSet.
type matrixOperation struct {
	name  string
	apply func(f *fixture, replicas int)
	// target is the number of pets the operation asks for; -1 for a
	// deletion of the PetSet.
	target func(replicas int) int
}

// outcome is what the matrix expects of an operation.
type outcome int

const (
	// converges: the pets reach the target (pets stuck terminating aside).
	converges outcome = iota
	// blocked: no pet is created or deleted however long the controller
	// runs.
	blocked
	// gone: every pet is deleted or left stuck terminating, and the
	// PetSet is released.
	gone
	// released: every pet is released, none deleted, and the PetSet is
	// released.
	released
)

func (o outcome) String() string {
	return [...]string{"converges", "blocked", "gone", "released"}[o]
}

func petName(f *fixture, ordinal int) string { return getPetName(f.set, ordinal) }

func (f *fixture) setPetUnready(name string) {
	f.unready[name] = true
	f.updatePod(name, func(pod *v1.Pod) {
		pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse}}
	})
}

var matrixConditions = []matrixCondition{
	{name: "healthy", apply: func(*fixture, int) {}},
	{name: "lowest pet not Ready", apply: func(f *fixture, _ int) { f.setPetUnready(petName(f, 0)) }},
	{name: "two highest pets not Ready", apply: func(f *fixture, replicas int) {
		for o := max(0, replicas-2); o < replicas; o++ {
			f.setPetUnready(petName(f, o))
		}
	}},
	{name: "highest pet Failed", apply: func(f *fixture, replicas int) {
		f.updatePod(petName(f, replicas-1), func(pod *v1.Pod) { pod.Status.Phase = v1.PodFailed })
	}},
	{name: "highest pet Succeeded", apply: func(f *fixture, replicas int) {
		f.updatePod(petName(f, replicas-1), func(pod *v1.Pod) { pod.Status.Phase = v1.PodSucceeded })
	}},
	{name: "lowest pet paused", apply: func(f *fixture, _ int) {
		f.updatePod(petName(f, 0), setInitialized("false"))
	}},
	{name: "highest pet stuck terminating", apply: func(f *fixture, replicas int) {
		name := petName(f, replicas-1)
		f.stuck[name] = true
		f.userDelete(name)
	}},
}

var matrixOperations = []matrixOperation{
	{name: "scale up", apply: func(f *fixture, replicas int) { f.setReplicas(replicas + 2) },
		target: func(replicas int) int { return replicas + 2 }},
	{name: "scale down", apply: func(f *fixture, replicas int) { f.setReplicas(replicas / 2) },
		target: func(replicas int) int { return replicas / 2 }},
	{name: "teardown", apply: func(f *fixture, _ int) { f.markDeleted(PetSetFinalizer) },
		target: func(int) int { return -1 }},
	{name: "orphan", apply: func(f *fixture, _ int) { f.markDeleted(metav1.FinalizerOrphanDependents, PetSetFinalizer) },
		target: func(int) int { return -1 }},
}

// expectedOutcome states the rules: deleting the PetSet always finishes;
// an unhealthy pet (not Ready, paused, terminating) inside the target range
// halts scaling; a paused pet anywhere pauses scaling; a condemned pet's
// health never blocks scale down; Failed and Succeeded pets are replaced.
func expectedOutcome(cond string, op matrixOperation, replicas int) outcome {
	switch op.name {
	case "teardown":
		return gone
	case "orphan":
		return released
	}
	target := op.target(replicas)
	inRange := func(ordinal int) bool { return ordinal < target }
	switch cond {
	case "lowest pet not Ready":
		if inRange(0) {
			return blocked
		}
	case "two highest pets not Ready":
		if inRange(replicas - 1) {
			return blocked
		}
	case "lowest pet paused":
		return blocked
	case "highest pet stuck terminating":
		if inRange(replicas - 1) {
			return blocked
		}
	}
	return converges
}

func TestDecisionMatrix(t *testing.T) {
	shapes := []matrixShape{
		{name: "one pet, no claims", setName: "web", replicas: 1, claimTemplates: 0},
		{name: "one pet, one claim", setName: "web", replicas: 1, claimTemplates: 1},
		{name: "ten pets, one claim", setName: "web", replicas: 10, claimTemplates: 1},
		{name: "ten pets, two claims", setName: "web", replicas: 10, claimTemplates: 2},
		{name: "name at the length limit", setName: strings.Repeat("n", appsv1alpha1.MaxPetSetNameLength), replicas: 10, claimTemplates: 2},
	}
	for _, shape := range shapes {
		for _, cond := range matrixConditions {
			for _, op := range matrixOperations {
				want := expectedOutcome(cond.name, op, shape.replicas)
				name := fmt.Sprintf("%s/%s/%s %s", shape.name, cond.name, op.name, want)
				t.Run(name, func(t *testing.T) {
					runMatrixCase(t, shape, cond, op, want)
				})
			}
		}
	}
}

// matrixStep is how far the clock moves between two syncs: a pet stuck
// terminating passes its bound within a few steps.
const matrixStep = 30 * time.Second

func runMatrixCase(t *testing.T, shape matrixShape, cond matrixCondition, op matrixOperation, want outcome) {
	f := newFixture(t, shapedPetSet(shape))
	f.run(10*shape.replicas+10, invariantOpts{})
	cond.apply(f, shape.replicas)
	op.apply(f, shape.replicas)

	created, deleted := len(f.om.created), len(f.om.deleted)
	steps := 12*(shape.replicas+2) + 20
	for step := 0; step < steps && !f.gone; step++ {
		f.stepChecked(step)
		if want == converges && f.reached(op.target(shape.replicas)) {
			break
		}
	}

	switch want {
	case converges:
		if !f.reached(op.target(shape.replicas)) {
			t.Fatalf("did not converge to %d pets: %v", op.target(shape.replicas), names(f.om.serverPets()))
		}
	case blocked:
		if len(f.om.created) != created || len(f.om.deleted) != deleted {
			t.Errorf("pets written although scaling is halted: created %v deleted %v",
				f.om.created[created:], f.om.deleted[deleted:])
		}
	case gone:
		if !f.gone {
			t.Fatalf("teardown did not finish: pets %v, finalizers %v", names(f.om.serverPets()), f.set.Finalizers)
		}
		for _, pod := range f.om.serverPets() {
			if !f.stuck[pod.Name] {
				t.Errorf("pet %s left behind by the teardown", pod.Name)
			}
		}
		if len(f.om.created) != created {
			t.Errorf("pets created during the teardown: %v", f.om.created[created:])
		}
	case released:
		if !f.fc.removed {
			t.Fatalf("orphaning deletion did not release the PetSet: finalizers %v", f.set.Finalizers)
		}
		if len(f.om.deleted) != deleted || len(f.om.created) != created {
			t.Errorf("orphaning deletion wrote pets: created %v deleted %v", f.om.created[created:], f.om.deleted[deleted:])
		}
		for _, pod := range f.om.serverPets() {
			if isControlledBy(pod, f.set) {
				t.Errorf("pet %s still controlled after an orphaning deletion", pod.Name)
			}
		}
	}
	// Going on past a pet stuck terminating is reported: the teardown
	// always goes on past it; a scale down only when a lower pet goes too.
	if want == gone || (want == converges && op.target(shape.replicas) < shape.replicas-1) {
		for _, pod := range f.om.serverPets() {
			if f.stuck[pod.Name] {
				if len(f.eventsWith(reasonPetStuckTerminating+" Pod "+pod.Name)) == 0 {
					t.Errorf("no %s event for %s: %v", reasonPetStuckTerminating, pod.Name, f.events)
				}
			}
		}
	}
}

// stepChecked runs one sync, checks the invariants and the per-step limit
// (one pet created or deleted at a time; a Failed or Succeeded pet's removal
// excepted), then lets the clock and the kubelet move.
func (f *fixture) stepChecked(step int) {
	f.t.Helper()
	phases := map[string]v1.PodPhase{}
	for _, pod := range f.om.serverPets() {
		phases[pod.Name] = pod.Status.Phase
	}
	created, deleted := len(f.om.created), len(f.om.deleted)
	if err := f.sync(); err != nil {
		f.t.Logf("step %d: sync error (retried): %v", step, err)
	}
	f.checkInvariants(invariantOpts{allowGaps: true})
	changes := len(f.om.created) - created
	for _, name := range f.om.deleted[deleted:] {
		if p := phases[name]; p != v1.PodFailed && p != v1.PodSucceeded {
			changes++
		}
	}
	if changes > 1 {
		f.t.Errorf("step %d: %d pets created or deleted at once: created %v deleted %v",
			step, changes, f.om.created[created:], f.om.deleted[deleted:])
	}
	f.clock.Step(matrixStep)
	f.kubelet()
}

// reached reports whether the PetSet has exactly target pets 0..target-1,
// healthy, besides pets stuck terminating.
func (f *fixture) reached(target int) bool {
	count := 0
	for _, pod := range f.om.serverPets() {
		if f.stuck[pod.Name] && isTerminating(pod) {
			continue
		}
		if getOrdinal(pod) >= target || !isHealthy(pod) {
			return false
		}
		count++
	}
	return count == target
}
