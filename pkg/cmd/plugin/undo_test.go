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
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
)

func TestUndoTarget(t *testing.T) {
	// Revisions 1 (nginx:1.25), 2 (oldImage), 3 (newImage).
	revs := []*appsv1.ControllerRevision{
		revision("web-a", 1, "nginx:1.25", ""),
		revision("web-old", 2, oldImage, ""),
		revision("web-new", 3, newImage, ""),
	}
	atImage := func(image string) setOpt {
		return func(s *appsv1alpha1.PetSet) { s.Spec.Template = template(image) }
	}
	notObserved := func(s *appsv1alpha1.PetSet) { s.Generation = 3 }
	tests := []struct {
		name       string
		set        *appsv1alpha1.PetSet
		revisions  []*appsv1.ControllerRevision
		toRevision int64
		// want is the number of the revision picked; wantSkip that the
		// template already is it.
		want     int64
		wantSkip bool
		wantErr  string
	}{
		{name: "previous", set: newSet(2), revisions: revs, want: 2},
		{
			// The controller has yet to record the new template: its
			// previous revision is the newest recorded.
			name: "previous, the current template not recorded yet", revisions: revs, want: 3,
			set: newSet(2, atImage("nginx:1.28"), notObserved),
		},
		{
			// After an undo to revision 1, it is the newest again as
			// number 4; the previous one is 3.
			name: "previous after an undo",
			set: newSet(2, atImage("nginx:1.25"), func(s *appsv1alpha1.PetSet) {
				s.Status.UpdateRevision = "web-a"
			}),
			revisions: []*appsv1.ControllerRevision{
				revision("web-old", 2, oldImage, ""), revision("web-new", 3, newImage, ""), revision("web-a", 4, "nginx:1.25", ""),
			},
			want: 3,
		},
		{
			// The revision the controller names for the generation holds
			// the template even where a plain comparison differs (a
			// default added by a newer server).
			name: "previous, the update revision compared by name",
			set: newSet(2, func(s *appsv1alpha1.PetSet) {
				s.Spec.Template.Spec.RestartPolicy = "Always"
			}),
			revisions: revs, want: 2,
		},
		{name: "to revision 1", set: newSet(2), revisions: revs, toRevision: 1, want: 1},
		{name: "to the current revision", set: newSet(2), revisions: revs, toRevision: 3, want: 3, wantSkip: true},
		{
			name: "to the revision of the current template, not recorded as such yet", revisions: revs,
			set: newSet(2, atImage(oldImage), notObserved), toRevision: 2, want: 2, wantSkip: true,
		},
		{
			name: "to a missing revision", set: newSet(2), revisions: revs, toRevision: 9,
			wantErr: "unable to find specified revision 9 in history (revisions: 1, 2, 3)",
		},
		{
			name: "no revision", set: newSet(2), toRevision: 1,
			wantErr: `unable to find specified revision 1 in history: petset "web" has no revisions`,
		},
		{
			name: "only the current revision", set: newSet(2), revisions: revs[2:],
			wantErr: "no last revision to roll back to",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rev, tmpl, err := undoTarget(tc.set, tc.revisions, tc.toRevision)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rev.Revision != tc.want || (tmpl == nil) != tc.wantSkip {
				t.Errorf("got revision %d (skip %t), want %d (skip %t)", rev.Revision, tmpl == nil, tc.want, tc.wantSkip)
			}
			if tmpl != nil {
				want, _ := revisionTemplate(rev)
				if diff := cmp.Diff(want, tmpl); diff != "" {
					t.Errorf("template (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// undoClients is web restarted (its template carries restartedAt) at
// revision 3, with revisions 1, 2 and 3.
func undoClients() fakeClients {
	set := newSet(2, func(s *appsv1alpha1.PetSet) {
		s.Spec.Template.Annotations = map[string]string{restartedAtAnnotation: "2025-01-01T00:00:00Z"}
	})
	restarted := revision("web-new", 3, newImage, "")
	restarted.Data.Raw, _ = json.Marshal(map[string]any{"spec": map[string]any{"template": set.Spec.Template}})
	return newFakeClients(set, objects(
		revision("web-a", 1, "nginx:1.25", ""), revision("web-old", 2, oldImage, ""), restarted,
	)...)
}

func runUndo(t *testing.T, clients fakeClients, o UndoOptions) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o.Name, o.Namespace, o.PetSets, o.Kube, o.Out = testName, testNamespace, clients.petsets, clients.kube, &out
	if o.DryRun == "" {
		o.DryRun = DryRunNone
	}
	err := o.Run(context.Background())
	return out.String(), err
}

// patches returns the patches sent to PetSets.
func patches(clients fakeClients) []clienttesting.PatchActionImpl {
	var out []clienttesting.PatchActionImpl
	for _, a := range clients.petsets.Actions() {
		if p, ok := a.(clienttesting.PatchActionImpl); ok {
			out = append(out, p)
		}
	}
	return out
}

// TestUndoReplacesTheTemplate: the previous revision's template replaces
// the current one as a whole: the restartedAt annotation the previous
// revision lacks goes too.
func TestUndoReplacesTheTemplate(t *testing.T) {
	clients := undoClients()
	out, err := runUndo(t, clients, UndoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "petset.apps/web rolled back to revision 2\n"; out != want {
		t.Errorf("printed %q, want %q", out, want)
	}
	set, err := clients.petsets.AppsV1alpha1().PetSets(testNamespace).Get(context.Background(), testName, metav1.GetOptions{})
	mustNot(t, err)
	if diff := cmp.Diff(template(oldImage), set.Spec.Template); diff != "" {
		t.Errorf("template after the undo (-want +got):\n%s", diff)
	}
	p := patches(clients)
	if len(p) != 1 || p[0].PatchType != types.JSONPatchType || p[0].PatchOptions.FieldManager != fieldManager || len(p[0].PatchOptions.DryRun) != 0 {
		t.Fatalf("patches %+v, want one JSON patch by %s", p, fieldManager)
	}
	var ops []map[string]any
	mustNot(t, json.Unmarshal(p[0].Patch, &ops))
	if len(ops) != 2 || ops[0]["op"] != "test" || ops[0]["path"] != "/metadata/uid" || ops[0]["value"] != string(testUID) ||
		ops[1]["op"] != "replace" || ops[1]["path"] != "/spec/template" {
		t.Errorf("patch %s, want a test of the UID and a replace of the template", p[0].Patch)
	}
}

func TestUndoToTheCurrentRevisionIsSkipped(t *testing.T) {
	clients := undoClients()
	out, err := runUndo(t, clients, UndoOptions{ToRevision: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := "petset.apps/web skipped rollback (current template already matches revision 3)\n"; out != want {
		t.Errorf("printed %q, want %q", out, want)
	}
	if p := patches(clients); len(p) != 0 {
		t.Errorf("sent %d patches", len(p))
	}
}

func TestUndoDryRun(t *testing.T) {
	clients := undoClients()
	out, err := runUndo(t, clients, UndoOptions{ToRevision: 1, DryRun: DryRunClient})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "petset.apps/web will roll back to revision 1 (dry run)\nPod Template:\n") || !strings.Contains(out, "nginx:1.25") {
		t.Errorf("--dry-run=client printed\n%s", out)
	}
	if p := patches(clients); len(p) != 0 {
		t.Errorf("--dry-run=client sent %d patches", len(p))
	}

	clients = undoClients()
	out, err = runUndo(t, clients, UndoOptions{ToRevision: 1, DryRun: DryRunServer})
	if err != nil {
		t.Fatal(err)
	}
	if want := "petset.apps/web rolled back to revision 1 (server dry run)\n"; out != want {
		t.Errorf("--dry-run=server printed %q, want %q", out, want)
	}
	if p := patches(clients); len(p) != 1 || !cmp.Equal(p[0].PatchOptions.DryRun, []string{metav1.DryRunAll}) {
		t.Errorf("--dry-run=server sent %+v, want one patch with dryRun=All", p)
	}
}

func TestUndoOfAReplacedPetSetFails(t *testing.T) {
	clients := undoClients()
	set := newSet(2)
	set.UID = "uid-another-web"
	patch, err := undoPatch(set, new(template(oldImage)))
	mustNot(t, err)
	_, err = clients.petsets.AppsV1alpha1().PetSets(testNamespace).Patch(context.Background(), testName, types.JSONPatchType, patch, metav1.PatchOptions{})
	if err == nil {
		t.Errorf("the patch applied to a PetSet of another UID")
	}
}
