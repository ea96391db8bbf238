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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestAvailableIn(t *testing.T) {
	readyAt := func(ago time.Duration) func(*v1.Pod) {
		return func(pod *v1.Pod) { pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(testNow.Add(-ago)) }
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		minReady int32
		wantWait time.Duration
		wantOK   bool
	}{
		{name: "no minReadySeconds: available once Ready", pod: testPet(0), wantOK: true},
		{name: "not Ready", pod: testPet(0, notReady), minReady: 5},
		{name: "paused", pod: testPet(0, setInitialized("false"))},
		{name: "Ready for less than minReadySeconds", pod: testPet(0, readyAt(2*time.Second)), minReady: 5, wantWait: 3 * time.Second, wantOK: true},
		{name: "Ready for exactly minReadySeconds", pod: testPet(0, readyAt(5*time.Second)), minReady: 5, wantOK: true},
		{name: "Ready for longer", pod: testPet(0, readyAt(time.Hour)), minReady: 5, wantOK: true},
		{name: "Ready without a transition time never becomes available", pod: testPet(0), minReady: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, ok := availableIn(tc.pod, tc.minReady, testNow)
			if wait != tc.wantWait || ok != tc.wantOK {
				t.Errorf("availableIn() = %v, %v; want %v, %v", wait, ok, tc.wantWait, tc.wantOK)
			}
			if got, want := isAvailable(tc.pod, tc.minReady, testNow), tc.wantOK && tc.wantWait == 0; got != want {
				t.Errorf("isAvailable() = %v, want %v", got, want)
			}
		})
	}
}

func TestAvailableCondition(t *testing.T) {
	rolling := func(maxUnavailable intstr.IntOrString) appsv1alpha1.PetSetUpdateStrategy {
		return appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
			RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{MaxUnavailable: &maxUnavailable}}
	}
	tests := []struct {
		name       string
		replicas   int
		strategy   appsv1alpha1.PetSetUpdateStrategy
		available  int32
		wantStatus metav1.ConditionStatus
		wantReason string
		wantMsg    string
	}{
		{name: "OnDelete: every pet available", replicas: 3, available: 3,
			wantStatus: metav1.ConditionTrue, wantReason: reasonMinimumPetsAvailable, wantMsg: "3 of 3 pets available, 3 needed"},
		{name: "OnDelete: one pet short", replicas: 3, available: 2,
			wantStatus: metav1.ConditionFalse, wantReason: reasonMinimumPetsUnavailable, wantMsg: "2 of 3 pets available, 3 needed"},
		{name: "RollingUpdate: maxUnavailable 1 allows one short", replicas: 3, available: 2, strategy: rolling(intstr.FromInt32(1)),
			wantStatus: metav1.ConditionTrue, wantReason: reasonMinimumPetsAvailable, wantMsg: "2 of 3 pets available, 2 needed"},
		{name: "RollingUpdate: 50% of 4 allows two short", replicas: 4, available: 2, strategy: rolling(intstr.FromString("50%")),
			wantStatus: metav1.ConditionTrue, wantReason: reasonMinimumPetsAvailable, wantMsg: "2 of 4 pets available, 2 needed"},
		{name: "RollingUpdate: 50% of 4, three short", replicas: 4, available: 1, strategy: rolling(intstr.FromString("50%")),
			wantStatus: metav1.ConditionFalse, wantReason: reasonMinimumPetsUnavailable, wantMsg: "1 of 4 pets available, 2 needed"},
		{name: "RollingUpdate: one pet still needs one available", replicas: 1, available: 0, strategy: rolling(intstr.FromInt32(1)),
			wantStatus: metav1.ConditionFalse, wantReason: reasonMinimumPetsUnavailable, wantMsg: "0 of 1 pets available, 1 needed"},
		{name: "RollingUpdate: maxUnavailable 100% still needs one", replicas: 3, available: 0, strategy: rolling(intstr.FromString("100%")),
			wantStatus: metav1.ConditionFalse, wantReason: reasonMinimumPetsUnavailable, wantMsg: "0 of 3 pets available, 1 needed"},
		{name: "zero replicas: available", replicas: 0, available: 0,
			wantStatus: metav1.ConditionTrue, wantReason: reasonMinimumPetsAvailable, wantMsg: "0 of 0 pets available, 0 needed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := newPetSet(tc.replicas)
			set.Generation = 4
			set.Spec.UpdateStrategy = tc.strategy
			got := availableCondition(set, tc.available, testNow)
			want := metav1.Condition{Type: appsv1alpha1.PetSetAvailable, Status: tc.wantStatus, ObservedGeneration: 4,
				LastTransitionTime: metav1.NewTime(testNow), Reason: tc.wantReason, Message: tc.wantMsg}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("availableCondition() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMinReadySeconds runs a PetSet with minReadySeconds on a fake clock:
// each pet is created only once the previous one has been Ready for
// minReadySeconds, the sync asks to be requeued exactly when a pet becomes
// available (no other event comes), availableReplicas lags readyReplicas,
// and the Available condition turns True, with its transition time, when
// the last pet becomes available.
func TestMinReadySeconds(t *testing.T) {
	const minReady = 10
	set := newPetSet(3)
	set.Spec.MinReadySeconds = minReady
	f := newFixture(t, set)

	readyAt := map[string]time.Time{}
	createdAt := map[string]time.Time{}
	for step := 0; step < 100; step++ {
		before := len(f.om.created)
		f.mustSync()
		f.checkInvariants(invariantOpts{})
		for _, name := range f.om.created[before:] {
			createdAt[name] = f.clock.Now()
		}
		s := f.set.Status
		if s.AvailableReplicas > s.ReadyReplicas {
			t.Fatalf("step %d: %d available, more than the %d Ready", step, s.AvailableReplicas, s.ReadyReplicas)
		}
		wantAvailable := int32(0)
		for _, pod := range f.om.serverPets() {
			if isAvailable(pod, minReady, f.clock.Now()) {
				wantAvailable++
			}
		}
		if s.AvailableReplicas != wantAvailable {
			t.Fatalf("step %d: availableReplicas %d, want %d", step, s.AvailableReplicas, wantAvailable)
		}
		if f.converged() && s.AvailableReplicas == 3 {
			break
		}
		// The kubelet makes a created pet Running and Ready at once;
		// otherwise time goes on to the requeue the sync asked for.
		pending := false
		for _, pod := range f.om.serverPets() {
			if !isRunningAndReady(pod) {
				pending = true
			}
		}
		if pending {
			f.kubelet()
			f.kubelet()
			for _, pod := range f.om.serverPets() {
				if _, seen := readyAt[pod.Name]; !seen && isRunningAndReady(pod) {
					readyAt[pod.Name] = f.clock.Now()
				}
			}
			continue
		}
		if f.requeueAfter <= 0 {
			if s.AvailableReplicas == 3 {
				break
			}
			t.Fatalf("step %d: %d of 3 available and no requeue asked for: status %+v", step, s.AvailableReplicas, s)
		}
		if s.ReadyReplicas == s.AvailableReplicas {
			t.Fatalf("step %d: requeue after %v although every Ready pet is available", step, f.requeueAfter)
		}
		f.clock.Step(f.requeueAfter)
	}
	if !f.converged() || f.set.Status.AvailableReplicas != 3 {
		t.Fatalf("did not converge: pets %v, status %+v", names(f.om.serverPets()), f.set.Status)
	}
	for _, next := range []string{"web-1", "web-2"} {
		previous := "web-" + string(next[len(next)-1]-1)
		if gap := createdAt[next].Sub(readyAt[previous]); gap < minReady*time.Second {
			t.Errorf("%s created %v after %s became Ready, want at least %ds", next, gap, previous, minReady)
		}
	}
	c := meta.FindStatusCondition(f.set.Status.Conditions, appsv1alpha1.PetSetAvailable)
	if c == nil || c.Status != metav1.ConditionTrue || !c.LastTransitionTime.Time.Equal(readyAt["web-2"].Add(minReady*time.Second)) {
		t.Errorf("Available condition %+v, want True since %v", c, readyAt["web-2"].Add(minReady*time.Second))
	}
}
