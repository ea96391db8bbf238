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
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetfake "github.com/petsets/client-go/clientset/versioned/fake"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	core "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

// failFirst makes the first n calls of verb on petsets (optionally a
// subresource) fail with err, and counts all calls.
func failFirst(client *petsetfake.Clientset, verb, subresource string, n int, err error) *int {
	calls := 0
	client.PrependReactor(verb, "petsets", func(a core.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != subresource {
			return false, nil, nil
		}
		calls++
		if calls <= n {
			return true, nil, err
		}
		return false, nil, nil
	})
	return &calls
}

func verbs(client *petsetfake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		v := a.GetVerb()
		if a.GetSubresource() != "" {
			v += "/" + a.GetSubresource()
		}
		out = append(out, v)
	}
	return out
}

func TestStatusUpdater(t *testing.T) {
	conflict := apierrors.NewConflict(appsv1alpha1.Resource("petsets"), "web", errors.New("stale"))
	status := appsv1alpha1.PetSetStatus{ObservedGeneration: ptrTo(int64(1)), Replicas: 2, ReadyReplicas: 1}
	tests := []struct {
		name      string
		conflicts int
		fail      error
		server    func(*appsv1alpha1.PetSet)
		wantVerbs []string
		wantErr   bool
	}{
		{name: "written", wantVerbs: []string{"update/status"}},
		{name: "conflict: read from the API and retry", conflicts: 1,
			wantVerbs: []string{"update/status", "get", "update/status"}},
		{name: "conflict: the API already has the status", conflicts: 1,
			server:    func(s *appsv1alpha1.PetSet) { s.Status = status },
			wantVerbs: []string{"update/status", "get"}},
		{name: "conflict: the PetSet was replaced", conflicts: 1, wantErr: true,
			server:    func(s *appsv1alpha1.PetSet) { s.UID = "other" },
			wantVerbs: []string{"update/status", "get"}},
		{name: "other errors are not retried", wantErr: true,
			fail:      apierrors.NewInternalError(errors.New("boom")),
			wantVerbs: []string{"update/status"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			set := newPetSet(2)
			onServer := set.DeepCopy()
			onServer.ResourceVersion = "2"
			if tc.server != nil {
				tc.server(onServer)
			}
			client := petsetfake.NewClientset(onServer)
			switch {
			case tc.conflicts > 0:
				failFirst(client, "update", "status", tc.conflicts, conflict)
			case tc.fail != nil:
				failFirst(client, "update", "status", 1, tc.fail)
			}
			err := newRealStatusUpdater(client).UpdatePetSetStatus(ctx, set, &status)
			if (err != nil) != tc.wantErr {
				t.Fatalf("UpdatePetSetStatus error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantVerbs, verbs(client)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if tc.wantErr {
				return
			}
			got, err := client.AppsV1alpha1().PetSets(testNamespace).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(status, got.Status); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinalizerControl(t *testing.T) {
	conflict := apierrors.NewConflict(appsv1alpha1.Resource("petsets"), "web", errors.New("stale"))
	deleted := func(s *appsv1alpha1.PetSet) {
		now := metav1.Now()
		s.DeletionTimestamp = &now
	}
	tests := []struct {
		name           string
		add            bool
		finalizers     []string
		mutate         func(*appsv1alpha1.PetSet)
		server         func(*appsv1alpha1.PetSet)
		conflicts      int
		missing        bool
		wantFinalizers []string
		wantVerbs      []string
		wantDeleted    bool
	}{
		{name: "add", add: true,
			wantFinalizers: []string{PetSetFinalizer}, wantVerbs: []string{"update"}},
		{name: "add after a conflict", add: true, conflicts: 1, finalizers: []string{"example.com/other"},
			wantFinalizers: []string{"example.com/other", PetSetFinalizer}, wantVerbs: []string{"update", "get", "update"}},
		{name: "add is a no-op when present", add: true, finalizers: []string{PetSetFinalizer},
			wantFinalizers: []string{PetSetFinalizer}},
		{name: "never added to a PetSet being deleted", add: true, mutate: deleted, finalizers: []string{"example.com/other"},
			wantFinalizers: []string{"example.com/other"}, wantDeleted: true},
		{name: "not added when the API shows a deletion the cache missed", add: true, conflicts: 1, server: deleted,
			wantVerbs: []string{"update", "get"}, wantDeleted: true},
		{name: "remove keeps the other finalizers", finalizers: []string{metav1.FinalizerOrphanDependents, PetSetFinalizer},
			wantFinalizers: []string{metav1.FinalizerOrphanDependents}, wantVerbs: []string{"update"}},
		{name: "remove after a conflict", conflicts: 2, finalizers: []string{PetSetFinalizer},
			wantVerbs: []string{"update", "get", "update", "get", "update"}},
		{name: "remove from a PetSet that is gone", missing: true, finalizers: []string{PetSetFinalizer},
			wantVerbs: []string{"update"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			set := newPetSet(1)
			set.Finalizers = tc.finalizers
			if tc.mutate != nil {
				tc.mutate(set)
			}
			var objects []runtime.Object
			if !tc.missing {
				onServer := set.DeepCopy()
				if tc.server != nil {
					tc.server(onServer)
				}
				objects = append(objects, onServer)
			}
			client := petsetfake.NewClientset(objects...)
			if tc.conflicts > 0 {
				failFirst(client, "update", "", tc.conflicts, conflict)
			}
			fc := newRealFinalizerControl(client)
			var err error
			if tc.add {
				var updated *appsv1alpha1.PetSet
				updated, err = fc.AddFinalizer(ctx, set)
				if err == nil {
					if diff := cmp.Diff(tc.wantFinalizers, updated.Finalizers); diff != "" {
						t.Errorf("returned finalizers (-want +got):\n%s", diff)
					}
					if got := updated.DeletionTimestamp != nil; got != tc.wantDeleted {
						t.Errorf("returned PetSet deleted = %v, want %v", got, tc.wantDeleted)
					}
				}
			} else {
				err = fc.RemoveFinalizer(ctx, set)
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if diff := cmp.Diff(tc.wantVerbs, verbs(client)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if tc.missing {
				return
			}
			got, err := client.AppsV1alpha1().PetSets(testNamespace).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantFinalizers, got.Finalizers, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("finalizers (-want +got):\n%s", diff)
			}
		})
	}
}
