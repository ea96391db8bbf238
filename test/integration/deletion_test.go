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

package integration

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// petsFinalizer is the finalizer the controller holds on the PetSets it
// manages until their pets are gone.
const petsFinalizer = "apps.petsets.io/pets"

// removeFirstFinalizer is the JSON patch of
// kubectl patch petset web --type=json -p '[{"op":"remove","path":"/metadata/finalizers/0"}]'
const removeFirstFinalizer = `[{"op":"remove","path":"/metadata/finalizers/0"}]`

// TestPetSetHeldByTheControllersFinalizerIsDeletedByRemovingItByHand
// deletes a PetSet that carries the controller's finalizer on a server that
// runs no controller (standalone): it stays, marked for deletion, until the
// finalizers are removed by hand; then it goes.
func TestPetSetHeldByTheControllersFinalizerIsDeletedByRemovingItByHand(t *testing.T) {
	t.Parallel()
	s := shared(t)
	orphan := metav1.DeletePropagationOrphan
	background := metav1.DeletePropagationBackground

	tests := []struct {
		name        string
		propagation *metav1.DeletionPropagation
		// wantFinalizers are the finalizers of the PetSet once deleted,
		// each removed by one patch.
		wantFinalizers []string
	}{{
		name:           "kubectl delete (the default propagation): one patch deletes it",
		wantFinalizers: []string{petsFinalizer},
	}, {
		name:           "background propagation: one patch deletes it",
		propagation:    &background,
		wantFinalizers: []string{petsFinalizer},
	}, {
		// Without a garbage collector the orphan finalizer stays too.
		name:           "orphan propagation: the orphan finalizer stays as well, two patches delete it",
		propagation:    &orphan,
		wantFinalizers: []string{petsFinalizer, metav1.FinalizerOrphanDependents},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := testNamespace(t)
			client := petSets(s, ns)
			ps := guidePetSet("web")
			ps.Finalizers = []string{petsFinalizer}
			created := createPetSet(t, s, ns, ps)

			w, err := client.Watch(t.Context(), metav1.ListOptions{
				ResourceVersion: created.ResourceVersion,
				FieldSelector:   "metadata.name=web",
			})
			if err != nil {
				t.Fatalf("starting the watch: %v", err)
			}
			defer w.Stop()

			if err := client.Delete(t.Context(), "web", metav1.DeleteOptions{PropagationPolicy: tc.propagation}); err != nil {
				t.Fatalf("deleting: %v", err)
			}
			// Nothing removes the finalizers: the PetSet stays, marked.
			for i := range tc.wantFinalizers {
				current, err := client.Get(t.Context(), "web", metav1.GetOptions{})
				if err != nil {
					t.Fatalf("the PetSet is gone with finalizers %v left: %v", tc.wantFinalizers[i:], err)
				}
				if current.DeletionTimestamp == nil {
					t.Errorf("the deleted PetSet has no deletionTimestamp")
				}
				if diff := cmp.Diff(tc.wantFinalizers[i:], current.Finalizers); diff != "" {
					t.Fatalf("finalizers of the deleted PetSet (-want +got):\n%s", diff)
				}
				if _, err := client.Patch(t.Context(), "web", types.JSONPatchType, []byte(removeFirstFinalizer), metav1.PatchOptions{}); err != nil {
					t.Fatalf("removing finalizer %s: %v", tc.wantFinalizers[i], err)
				}
			}

			// The event carries the last stored state: marked for deletion,
			// with the finalizer the last patch removed.
			deleted := waitForDeleted(t, w, created.UID)
			if deleted.DeletionTimestamp == nil {
				t.Errorf("the DELETED event carries a PetSet without a deletionTimestamp")
			}
			if _, err := client.Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("getting the PetSet after its DELETED event: got %v, want 404 NotFound", err)
			}
		})
	}
}

// waitForDeleted reads w until the DELETED event of the PetSet uid and
// returns its object; it fails the test when the watch ends, or when no
// such event arrives within ioTimeout.
func waitForDeleted(t *testing.T, w watch.Interface, uid types.UID) *appsv1alpha1.PetSet {
	t.Helper()
	timeout := time.NewTimer(ioTimeout)
	defer timeout.Stop()
	var seen []watch.EventType
	for {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("the watch ended before the DELETED event, after %v", seen)
			}
			seen = append(seen, e.Type)
			ps, isPetSet := e.Object.(*appsv1alpha1.PetSet)
			if !isPetSet {
				t.Fatalf("watch event %s carries a %T: %+v", e.Type, e.Object, e.Object)
			}
			if e.Type == watch.Deleted && ps.UID == uid {
				return ps
			}
		case <-timeout.C:
			t.Fatalf("no DELETED event within %v; events seen: %v", ioTimeout, seen)
		}
	}
}
