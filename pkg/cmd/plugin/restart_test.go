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

package plugin

import (
	"bytes"
	"context"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var restartTime = time.Date(2025, 6, 1, 12, 30, 45, 0, time.FixedZone("CEST", 2*3600))

func runRestart(t *testing.T, clients fakeClients) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := RestartOptions{
		Name: testName, Namespace: testNamespace, Now: func() time.Time { return restartTime },
		PetSets: clients.petsets, Out: &out, ErrOut: &errOut,
	}
	err := o.Run(context.Background())
	return out.String(), errOut.String(), err
}

func TestRestartPatch(t *testing.T) {
	patch, err := restartPatch(restartTime.Format(time.RFC3339))
	mustNot(t, err)
	want := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2025-06-01T12:30:45+02:00"}}}}}`
	if string(patch) != want {
		t.Errorf("patch %s, want %s", patch, want)
	}
}

// TestRestartSetsRestartedAt: the template annotation is set (others kept)
// with a strategic merge patch by kubectl rollout's field manager; what the
// update strategy makes of it is said on standard error.
func TestRestartSetsRestartedAt(t *testing.T) {
	tests := []struct {
		name     string
		set      *appsv1alpha1.PetSet
		wantNote string
	}{
		{
			name:     "OnDelete",
			set:      newSet(2),
			wantNote: `petset "web" has updateStrategy OnDelete: its pets change only when they are deleted (kubectl delete pod web-0 ...; see kubectl petset rollout status web)` + "\n",
		},
		{name: "RollingUpdate", set: newSet(2, rollingUpdate(0))},
		{
			name:     "RollingUpdate with a partition",
			set:      newSet(5, rollingUpdate(2)),
			wantNote: `petset "web" has a rolling update partition of 2: pets web-0 to web-1 keep the current revision` + "\n",
		},
		{name: "Recreate", set: newSet(2, strategy(recreate))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.set.Spec.Template.Annotations = map[string]string{"keep": "me", restartedAtAnnotation: "2020-01-01T00:00:00Z"}
			clients := newFakeClients(tc.set)
			out, errOut, err := runRestart(t, clients)
			if err != nil {
				t.Fatal(err)
			}
			if out != "petset.apps/web restarted\n" || errOut != tc.wantNote {
				t.Errorf("printed %q and on standard error %q, want %q", out, errOut, tc.wantNote)
			}
			set, err := clients.petsets.AppsV1alpha1().PetSets(testNamespace).Get(context.Background(), testName, metav1.GetOptions{})
			mustNot(t, err)
			want := map[string]string{"keep": "me", restartedAtAnnotation: "2025-06-01T12:30:45+02:00"}
			if got := set.Spec.Template.Annotations; len(got) != 2 || got["keep"] != want["keep"] || got[restartedAtAnnotation] != want[restartedAtAnnotation] {
				t.Errorf("template annotations %v, want %v", got, want)
			}
			p := patches(clients)
			if len(p) != 1 || p[0].PatchType != types.StrategicMergePatchType || p[0].PatchOptions.FieldManager != fieldManager {
				t.Errorf("patches %+v, want one strategic merge patch by %s", p, fieldManager)
			}
		})
	}
}

func TestRestartTwiceInASecondFails(t *testing.T) {
	set := newSet(1)
	set.Spec.Template.Annotations = map[string]string{restartedAtAnnotation: restartTime.Format(time.RFC3339)}
	clients := newFakeClients(set)
	_, _, err := runRestart(t, clients)
	want := "failed to create patch for web: if restart has already been triggered within the past second, please wait before attempting to trigger another"
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	if p := patches(clients); len(p) != 0 {
		t.Errorf("sent %d patches", len(p))
	}
}

func TestRestartOfAMissingPetSet(t *testing.T) {
	_, _, err := runRestart(t, newFakeClients(nil))
	if err == nil || err.Error() != `petsets.apps "web" not found in namespace "shop"` {
		t.Errorf("got error %v", err)
	}
}
