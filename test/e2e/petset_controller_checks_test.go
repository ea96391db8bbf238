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

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// pcFakeT collects the errors of a check instead of failing the test.
type pcFakeT struct {
	testing.TB
	errors []string
}

func (f *pcFakeT) Helper() {}

func (f *pcFakeT) Logf(string, ...any) {}

func (f *pcFakeT) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// pcSynth builds a history from steps "<op><ordinal>", op being A (added,
// Pending), R (Running and Ready), P (Running and Ready but paused), T
// (terminating) or D (deleted). Each added pod gets a new UID.
func pcSynth(steps string) []pcPodEvent {
	var evs []pcPodEvent
	uids := map[string]types.UID{}
	last := map[string]pcPodEvent{}
	for i, step := range strings.Fields(steps) {
		name := pcPetName(int(step[1] - '0'))
		e := last[name]
		e.Seq, e.Name, e.RV = i, name, fmt.Sprint(100+i)
		switch step[0] {
		case 'A':
			uids[name] = types.UID(fmt.Sprintf("uid-%d", i))
			e = pcPodEvent{Seq: i, Name: name, RV: e.RV, Type: watch.Added, Phase: corev1.PodPending}
		case 'R', 'P':
			e.Type, e.Phase, e.Ready, e.Paused = watch.Modified, corev1.PodRunning, true, step[0] == 'P'
		case 'T':
			e.Type, e.Terminating = watch.Modified, true
		case 'D':
			e.Type = watch.Deleted
		}
		e.UID = uids[name]
		last[name] = e
		evs = append(evs, e)
	}
	return evs
}

// TestPetSetControllerOrderingChecks makes sure the ordering checks the
// controller tests rely on do catch violations (it needs no cluster).
func TestPetSetControllerOrderingChecks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history string
		check   func(t testing.TB, evs []pcPodEvent)
		fails   bool
	}{
		{"ordered creation", "A0 R0 A1 R1 A2 R2", func(t testing.TB, evs []pcPodEvent) {
			pcCheckCreatedInOrder(t, evs, 0, "web-0", "web-1", "web-2")
			pcCheckOrderedCreation(t, evs)
		}, false},
		{"created before the lower pet was ready", "A0 A1 R0 R1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckCreatedInOrder(t, evs, 0, "web-0", "web-1")
		}, true},
		{"invariant: created before the lower pet was ready", "A0 A1 R0 R1", pcCheckOrderedCreation, true},
		{"invariant: created while the lower pet is paused", "A0 P0 A1 R1", pcCheckOrderedCreation, true},
		{"invariant: created while the lower pet terminates", "A0 R0 T0 A1", pcCheckOrderedCreation, true},
		{"invariant: created with a gap", "A0 R0 A2", pcCheckOrderedCreation, true},
		{"created in the wrong order", "A1 R1 A0 R0", func(t testing.TB, evs []pcPodEvent) {
			pcCheckCreatedInOrder(t, evs, 0, "web-0", "web-1")
		}, true},
		{"created twice", "A0 R0 A1 R1 D1 A1 R1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckCreatedInOrder(t, evs, 0, "web-0", "web-1")
		}, true},
		{"ordered deletion", "A0 R0 A1 R1 A2 R2 T2 D2 T1 D1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckDeletedInOrder(t, evs, 0, "web-2", "web-1")
		}, false},
		{"ordered deletion without grace", "A0 R0 A1 R1 A2 R2 D2 D1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckDeletedInOrder(t, evs, 0, "web-2", "web-1")
		}, false},
		{"overlapping deletions", "A0 R0 A1 R1 A2 R2 T2 T1 D2 D1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckDeletedInOrder(t, evs, 0, "web-2", "web-1")
		}, true},
		{"deleted in the wrong order", "A0 R0 A1 R1 A2 R2 T1 D1 T2 D2", func(t testing.TB, evs []pcPodEvent) {
			pcCheckDeletedInOrder(t, evs, 0, "web-2", "web-1")
		}, true},
		{"created while the instance of the lower pet terminates", "A0 R0 T0 A1 R1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckCreatedInOrder(t, evs, 0, "web-0", "web-1")
		}, true},
		{"created after the lower pet was replaced", "A0 R0 D0 A1 A0 R0 R1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckCreatedInOrder(t, evs, 0, "web-0", "web-1")
		}, true},
		{"sequence: each pet once, no gap", "A0 R0 A1 P1 R1 A2 R2", pcCheckPetSequence, false},
		{"sequence: a pet created again", "A0 R0 A1 R1 D1 A1 R1", pcCheckPetSequence, true},
		{"sequence: two live instances", "A0 R0 A0", pcCheckPetSequence, true},
		{"sequence: a gap", "A0 R0 A2", pcCheckPetSequence, true},
		{"sequence: a gap below", "A0 R0 A1 R1 D0", pcCheckPetSequence, true},
		{"a deletion", "A0 R0 T0 D0", func(t testing.TB, evs []pcPodEvent) {
			pcCheckNoDeletions(t, evs, 0)
		}, true},
		{"a creation after the mark", "A0 R0 A1", func(t testing.TB, evs []pcPodEvent) {
			pcCheckNoCreations(t, evs, 2)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &pcFakeT{TB: t}
			tc.check(f, pcSynth(tc.history))
			if failed := len(f.errors) > 0; failed != tc.fails {
				t.Errorf("history %q: check failed=%t (%q), want %t", tc.history, failed, f.errors, tc.fails)
			}
		})
	}
}
