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
	"strings"
	"testing"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/yaml"
)

// historyRevisions are web's revisions, created out of order, with a
// revision of another PetSet of the same labels and one another PetSet
// controls among them.
func historyRevisions() []runtime.Object {
	foreign := revision("web-foreign", 7, "other:1", "")
	foreign.OwnerReferences[0].UID = types.UID("uid-other")
	orphan := revision("web-orphan", 8, "other:2", "")
	orphan.OwnerReferences = nil
	otherLabels := revision("db-1", 9, "other:3", "")
	otherLabels.Labels = map[string]string{"app": "db"}
	return objects(
		revision("web-c", 3, newImage, "kubectl set image petset/web nginx=nginx:1.27"),
		revision("web-a", 1, "nginx:1.25", ""),
		foreign, orphan, otherLabels,
		revision("web-b", 2, oldImage, "kubectl apply --filename=web.yaml"),
	)
}

func runHistory(t *testing.T, clients fakeClients, o HistoryOptions) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o.Name, o.Namespace, o.PetSets, o.Kube, o.Out = testName, testNamespace, clients.petsets, clients.kube, &out
	err := o.Run(context.Background())
	return out.String(), err
}

func TestHistoryListsThePetSetsRevisionsInOrder(t *testing.T) {
	got, err := runHistory(t, newFakeClients(newSet(2), historyRevisions()...), HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "petset.apps/web\n" +
		"REVISION  CHANGE-CAUSE\n" +
		"1         <none>\n" +
		"2         kubectl apply --filename=web.yaml\n" +
		"3         kubectl set image petset/web nginx=nginx:1.27\n"
	if got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
}

func TestHistoryWithoutRevisions(t *testing.T) {
	got, err := runHistory(t, newFakeClients(newSet(2)), HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "petset.apps/web\nNo rollout history found.\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}

func TestHistoryOfOneRevisionDescribesItsTemplate(t *testing.T) {
	got, err := runHistory(t, newFakeClients(newSet(2), historyRevisions()...), HistoryOptions{Revision: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"petset.apps/web with revision #2\nPod Template:\n",
		"  Labels:  app=web\n",
		"   nginx:\n",
		"    Image:         " + oldImage + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("printed\n%s\nwant a line %q", got, want)
		}
	}
	if strings.Contains(got, newImage) {
		t.Errorf("printed another revision's image:\n%s", got)
	}

	_, err = runHistory(t, newFakeClients(newSet(2), historyRevisions()...), HistoryOptions{Revision: 7})
	if err == nil || err.Error() != `unable to find the specified revision 7 of petset "web"` {
		t.Errorf("revision 7 of another PetSet: got error %v", err)
	}
}

// TestHistoryOutput: -o prints the PetSet with each revision's template,
// as kubectl prints a StatefulSet's.
func TestHistoryOutput(t *testing.T) {
	printer := func(format string) HistoryOptions {
		t.Helper()
		flags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
		flags.OutputFormat = &format
		p, err := flags.ToPrinter()
		if err != nil {
			t.Fatal(err)
		}
		return HistoryOptions{Printer: p}
	}

	o := printer("yaml")
	o.Revision = 2
	got, err := runHistory(t, newFakeClients(newSet(2), historyRevisions()...), o)
	if err != nil {
		t.Fatal(err)
	}
	var set appsv1alpha1.PetSet
	if err := yaml.UnmarshalStrict([]byte(got), &set); err != nil {
		t.Fatalf("-o yaml printed no PetSet: %v\n%s", err, got)
	}
	if set.Kind != "PetSet" || set.APIVersion != "apps/v1alpha1" || set.Name != testName ||
		set.Spec.Template.Spec.Containers[0].Image != oldImage {
		t.Errorf("-o yaml --revision=2 printed\n%s", got)
	}

	got, err = runHistory(t, newFakeClients(newSet(2), historyRevisions()...), printer("jsonpath={.spec.template.spec.containers[0].image}{\"\\n\"}"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "nginx:1.25\n" + oldImage + "\n" + newImage + "\n"; got != want {
		t.Errorf("-o jsonpath printed %q, want %q", got, want)
	}
}

func TestListRevisionsSortsByNumberThenName(t *testing.T) {
	clients := newFakeClients(newSet(1), objects(
		revision("web-z", 2, newImage, ""), revision("web-y", 2, oldImage, ""), revision("web-x", 1, oldImage, ""),
	)...)
	revs, err := listRevisions(context.Background(), clients.kube, newSet(1))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range revs {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "web-x web-y web-z" {
		t.Errorf("revisions in the order %s", got)
	}
}

func TestRevisionTemplate(t *testing.T) {
	tmpl, err := revisionTemplate(revision("web-a", 1, oldImage, ""))
	if err != nil || tmpl.Spec.Containers[0].Image != oldImage {
		t.Errorf("got %v, %v", tmpl, err)
	}
	for _, raw := range []string{`{"spec":{}}`, `not json`} {
		rev := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(raw)}}
		rev.Name = "web-bad"
		if _, err := revisionTemplate(rev); err == nil {
			t.Errorf("data %s: no error", raw)
		}
	}
}
