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
	"k8s.io/apimachinery/pkg/util/intstr"

	petsetdefaults "github.com/petsets/petset/pkg/apis/apps/v1alpha1"
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

// rolloutCase is one update strategy of the rollout matrix.
type rolloutCase struct {
	name           string
	strategy       appsv1alpha1.PetSetUpdateStrategy
	partition      int
	maxUnavailable intstr.IntOrString
}

func rolloutCases(replicas int) []rolloutCase {
	cases := []rolloutCase{
		{name: "OnDelete", strategy: appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.OnDeletePetSetStrategyType}},
		{name: "Recreate", strategy: appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RecreatePetSetStrategyType}},
	}
	for _, partition := range []int{0, 2, replicas} {
		for _, maxUnavailable := range []intstr.IntOrString{intstr.FromInt32(1), intstr.FromInt32(2), intstr.FromString("50%")} {
			cases = append(cases, rolloutCase{
				name: fmt.Sprintf("RollingUpdate partition %d maxUnavailable %s", partition, maxUnavailable.String()),
				strategy: appsv1alpha1.PetSetUpdateStrategy{
					Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
					RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{
						Partition: ptrTo(int32(partition)), MaxUnavailable: ptrTo(maxUnavailable),
					},
				},
				partition:      partition,
				maxUnavailable: maxUnavailable,
			})
		}
	}
	return cases
}

// TestRolloutMatrix changes the template of a converged PetSet (and, in the
// second operation, scales it up in the middle of the update) for every
// strategy × partition × maxUnavailable, and checks after every step: no
// ordinal held twice; under RollingUpdate never more pets unavailable than
// maxUnavailable and no pet below the partition touched or created at the
// update revision; under Recreate never pets of both revisions at once;
// under OnDelete no pet deleted by the controller. It then checks the
// revisions the pets and the status end with, and that the teardown still
// reaches zero.
func TestRolloutMatrix(t *testing.T) {
	shapes := []matrixShape{
		{name: "one pet, no claims", setName: "web", replicas: 1, claimTemplates: 0},
		{name: "five pets, one claim", setName: "web", replicas: 5, claimTemplates: 1},
		{name: "ten pets, two claims", setName: "web", replicas: 10, claimTemplates: 2},
	}
	for _, shape := range shapes {
		for _, rc := range rolloutCases(shape.replicas) {
			for _, scaleUp := range []bool{false, true} {
				op := "template change"
				if scaleUp {
					op = "template change and scale up"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", shape.name, rc.name, op), func(t *testing.T) {
					runRolloutCase(t, shape, rc, scaleUp)
				})
			}
		}
	}
}

func runRolloutCase(t *testing.T, shape matrixShape, rc rolloutCase, scaleUp bool) {
	set := shapedPetSet(shape)
	set.Spec.UpdateStrategy = rc.strategy
	petsetdefaults.SetObjectDefaults_PetSet(set)
	f := newFixture(t, set)
	f.run(10*shape.replicas+10, invariantOpts{})
	old := f.set.Status.UpdateRevision
	if old == "" {
		t.Fatalf("no revision after the first rollout: %+v", f.set.Status)
	}

	f.setImage(imageNew)
	created, deleted := len(f.om.created), len(f.om.deleted)
	replicas := shape.replicas
	steps := 12*(shape.replicas+4) + 20
	maxBatch := 0
	for step := 0; step < steps; step++ {
		if scaleUp && step == 3 {
			replicas += 2
			f.setReplicas(replicas)
		}
		stepDeleted := len(f.om.deleted)
		if err := f.sync(); err != nil {
			t.Logf("step %d: sync error (retried): %v", step, err)
		}
		f.checkInvariants(invariantOpts{allowGaps: true})
		update := f.set.Status.UpdateRevision
		if update == old {
			t.Fatalf("step %d: the template change made no new revision", step)
		}
		f.checkRollout(step, rc, replicas, old, update, created, deleted)
		if n := len(f.om.deleted) - stepDeleted; n > maxBatch {
			maxBatch = n
		}
		f.clock.Step(matrixStep)
		f.kubelet()
		if rolloutDone(f, rc, shape.replicas, replicas, old, update) {
			break
		}
	}
	update := f.set.Status.UpdateRevision
	if !rolloutDone(f, rc, shape.replicas, replicas, old, update) {
		t.Fatalf("rollout did not finish: pets %v revisions %v status %+v", names(f.om.serverPets()), revisionsOf(f), f.set.Status)
	}
	// The budget is used: as many pets replaced at once as it allows
	// (Recreate: all of them).
	wantBatch := 0
	switch rc.strategy.Type {
	case appsv1alpha1.RecreatePetSetStrategyType:
		wantBatch = shape.replicas
	case appsv1alpha1.RollingUpdatePetSetStrategyType:
		wantBatch = min(resolveMaxUnavailable(&rc.maxUnavailable, shape.replicas), max(0, shape.replicas-rc.partition))
	}
	if !scaleUp && maxBatch != wantBatch {
		t.Errorf("at most %d pets deleted in one step, want %d", maxBatch, wantBatch)
	}
	// One more sync writes the final status.
	f.mustSync()
	s := f.set.Status
	wantCurrent, wantUpdated := old, replicas-min(rc.partition, shape.replicas)
	switch rc.strategy.Type {
	case appsv1alpha1.OnDeletePetSetStrategyType:
		wantUpdated = replicas - shape.replicas
	case appsv1alpha1.RecreatePetSetStrategyType:
		wantUpdated = replicas
	}
	if wantUpdated == replicas {
		wantCurrent = update
	}
	if s.UpdateRevision != update || s.CurrentRevision != wantCurrent || int(s.UpdatedReplicas) != wantUpdated {
		t.Errorf("status %+v, want current %s, update %s, %d updated", s, wantCurrent, update, wantUpdated)
	}

	if rc.strategy.Type == appsv1alpha1.OnDeletePetSetStrategyType {
		// A deleted pet comes back at the update revision.
		name := petName(f, shape.replicas-1)
		f.userDelete(name)
		f.run(50, invariantOpts{allowGaps: true})
		if got := revisionOf(f.om.serverPet(shape.replicas - 1)); got != update {
			t.Errorf("deleted pet %s came back at %q, want %q", name, got, update)
		}
	}

	// The teardown still reaches zero.
	f.markDeleted(PetSetFinalizer)
	created = len(f.om.created)
	for step := 0; step < 12*(replicas+2) && !f.gone; step++ {
		f.stepChecked(step)
	}
	if !f.gone || len(f.om.serverPets()) != 0 || len(f.om.created) != created {
		t.Errorf("teardown after the rollout: gone %v, pets %v, created %v", f.gone, names(f.om.serverPets()), f.om.created[created:])
	}
}

// checkRollout checks the rollout invariants after one step.
func (f *fixture) checkRollout(step int, rc rolloutCase, replicas int, old, update string, created, deleted int) {
	f.t.Helper()
	pets := f.om.serverPets()
	switch rc.strategy.Type {
	case appsv1alpha1.OnDeletePetSetStrategyType:
		if len(f.om.deleted) != deleted {
			f.t.Errorf("step %d: OnDelete deleted pets %v", step, f.om.deleted[deleted:])
		}
	case appsv1alpha1.RecreatePetSetStrategyType:
		hasOld, hasNew := false, false
		for _, pod := range pets {
			switch revisionOf(pod) {
			case update:
				hasNew = true
			default:
				hasOld = true
			}
		}
		if hasOld && hasNew {
			f.t.Errorf("step %d: Recreate runs both revisions at once: %v", step, revisionsOf(f))
		}
	case appsv1alpha1.RollingUpdatePetSetStrategyType:
		maxUnavailable := resolveMaxUnavailable(&rc.maxUnavailable, replicas)
		byOrdinal := map[int]*v1.Pod{}
		for _, pod := range pets {
			byOrdinal[getOrdinal(pod)] = pod
		}
		unavailable := 0
		for ordinal := 0; ordinal < replicas; ordinal++ {
			if pod, ok := byOrdinal[ordinal]; !ok || !isHealthy(pod) {
				unavailable++
			}
		}
		// Pets scaled up in the middle are missing until created, one
		// at a time; they are not made unavailable by the update.
		missingNew := 0
		for ordinal := len(byOrdinal); ordinal < replicas; ordinal++ {
			if _, ok := byOrdinal[ordinal]; !ok {
				missingNew++
			}
		}
		if unavailable-missingNew > maxUnavailable {
			f.t.Errorf("step %d: %d pets unavailable, maxUnavailable %d: %v", step, unavailable, maxUnavailable, revisionsOf(f))
		}
		for _, name := range f.om.deleted[deleted:] {
			if _, ordinal := getParentNameAndOrdinal(name); ordinal < rc.partition {
				f.t.Errorf("step %d: pet %s below the partition %d deleted", step, name, rc.partition)
			}
		}
		for _, pod := range pets {
			if getOrdinal(pod) < rc.partition && revisionOf(pod) != old {
				f.t.Errorf("step %d: pet %s below the partition %d runs %q", step, pod.Name, rc.partition, revisionOf(pod))
			}
		}
	}
	for _, name := range f.om.created[created:] {
		_, ordinal := getParentNameAndOrdinal(name)
		if pod := f.om.serverPet(ordinal); pod != nil && pod.Name == name && pod.Spec.Containers[0].Image != imageForRevision(pod, update) {
			f.t.Errorf("step %d: pet %s runs image %s at revision %s", step, name, pod.Spec.Containers[0].Image, revisionOf(pod))
		}
	}
}

// imageForRevision is the image a pet of the rollout matrix must run given
// its revision label.
func imageForRevision(pod *v1.Pod, update string) string {
	if revisionOf(pod) == update {
		return imageNew
	}
	return imageOld
}

// rolloutDone reports whether every pet is healthy and runs the revision the
// strategy leads it to.
func rolloutDone(f *fixture, rc rolloutCase, original, replicas int, old, update string) bool {
	pets := f.om.serverPets()
	if len(pets) != replicas {
		return false
	}
	for i, pod := range pets {
		if getOrdinal(pod) != i || !isHealthy(pod) {
			return false
		}
		want := update
		switch rc.strategy.Type {
		case appsv1alpha1.OnDeletePetSetStrategyType:
			if i < original {
				want = old
			}
		case appsv1alpha1.RollingUpdatePetSetStrategyType:
			if i < rc.partition {
				want = old
			}
		}
		if revisionOf(pod) != want {
			return false
		}
	}
	return true
}

// revisionsOf lists the pets with their revisions, for messages.
func revisionsOf(f *fixture) []string {
	var out []string
	for _, pod := range f.om.serverPets() {
		state := "healthy"
		if !isHealthy(pod) {
			state = "unavailable"
		}
		out = append(out, fmt.Sprintf("%s=%s(%s)", pod.Name, revisionOf(pod), state))
	}
	return out
}
