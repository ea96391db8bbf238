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
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	retain = appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType
	del    = appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
)

// retainingPetSet returns the guide's PetSet with the given claim
// retention policy.
func retainingPetSet(replicas int, whenDeleted, whenScaled appsv1alpha1.PersistentVolumeClaimRetentionPolicyType) *appsv1alpha1.PetSet {
	set := newPetSet(replicas)
	set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: whenDeleted, WhenScaled: whenScaled,
	}
	return set
}

func TestDesiredClaimOwners(t *testing.T) {
	const podUID = types.UID("web-1-uid")
	setRef := func(set *appsv1alpha1.PetSet) metav1.OwnerReference { return *newControllerRef(set) }
	podRef := metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "web-1", UID: podUID, Controller: new(true), BlockOwnerDeletion: new(true)}
	foreign := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Backup", Name: "b", UID: "backup-uid", Controller: new(true)}
	plainOwner := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Note", Name: "n", UID: "note-uid"}
	type want struct {
		set, pod bool
		others   []metav1.OwnerReference
		touch    bool
	}
	tests := []struct {
		name                    string
		whenDeleted, whenScaled appsv1alpha1.PersistentVolumeClaimRetentionPolicyType
		inRange                 bool
		owners                  func(set *appsv1alpha1.PetSet) []metav1.OwnerReference
		want                    want
	}{}
	// Each policy combination, for a pet in range and a condemned one,
	// starting from a claim with no owners and from one with both.
	for _, wd := range []appsv1alpha1.PersistentVolumeClaimRetentionPolicyType{retain, del} {
		for _, ws := range []appsv1alpha1.PersistentVolumeClaimRetentionPolicyType{retain, del} {
			for _, inRange := range []bool{true, false} {
				w := want{touch: true,
					set: wd == del && (inRange || ws == retain),
					pod: ws == del && !inRange}
				for _, start := range []string{"no owners", "both owners"} {
					owners := func(*appsv1alpha1.PetSet) []metav1.OwnerReference { return nil }
					if start == "both owners" {
						owners = func(set *appsv1alpha1.PetSet) []metav1.OwnerReference {
							return []metav1.OwnerReference{setRef(set), podRef}
						}
					}
					tests = append(tests, struct {
						name                    string
						whenDeleted, whenScaled appsv1alpha1.PersistentVolumeClaimRetentionPolicyType
						inRange                 bool
						owners                  func(set *appsv1alpha1.PetSet) []metav1.OwnerReference
						want                    want
					}{fmt.Sprintf("whenDeleted %s whenScaled %s in range %v from %s", wd, ws, inRange, start), wd, ws, inRange, owners, w})
				}
			}
		}
	}
	tests = append(tests, []struct {
		name                    string
		whenDeleted, whenScaled appsv1alpha1.PersistentVolumeClaimRetentionPolicyType
		inRange                 bool
		owners                  func(set *appsv1alpha1.PetSet) []metav1.OwnerReference
		want                    want
	}{
		{name: "a claim controlled by someone else is left to it", whenDeleted: del, whenScaled: del, inRange: true,
			owners: func(*appsv1alpha1.PetSet) []metav1.OwnerReference { return []metav1.OwnerReference{foreign} },
			want:   want{others: []metav1.OwnerReference{foreign}, touch: true}},
		{name: "a claim controlled by someone else loses our references", whenDeleted: del, whenScaled: del, inRange: false,
			owners: func(set *appsv1alpha1.PetSet) []metav1.OwnerReference {
				return []metav1.OwnerReference{foreign, setRef(set), podRef}
			},
			want: want{others: []metav1.OwnerReference{foreign}, touch: true}},
		{name: "other owners that are not controllers are kept", whenDeleted: del, whenScaled: retain, inRange: true,
			owners: func(*appsv1alpha1.PetSet) []metav1.OwnerReference { return []metav1.OwnerReference{plainOwner} },
			want:   want{others: []metav1.OwnerReference{plainOwner}, set: true, touch: true}},
		{name: "a reference to an earlier PetSet of the name: stale, left alone", whenDeleted: del, whenScaled: del, inRange: true,
			owners: func(set *appsv1alpha1.PetSet) []metav1.OwnerReference {
				ref := setRef(set)
				ref.UID = "earlier"
				return []metav1.OwnerReference{ref}
			}},
		{name: "a reference to an earlier pod of the name: stale, left alone", whenDeleted: retain, whenScaled: del, inRange: false,
			owners: func(*appsv1alpha1.PetSet) []metav1.OwnerReference {
				ref := podRef
				ref.UID = "earlier"
				return []metav1.OwnerReference{ref}
			}},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := retainingPetSet(2, tc.whenDeleted, tc.whenScaled)
			claim := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "www-web-1", OwnerReferences: tc.owners(set)}}
			got, touch := desiredClaimOwners(claim, set, "web-1", podUID, tc.inRange)
			if touch != tc.want.touch {
				t.Fatalf("touch = %v, want %v", touch, tc.want.touch)
			}
			if !touch {
				return
			}
			want := tc.want.others
			if tc.want.set {
				want = append(want, setRef(set))
			}
			if tc.want.pod {
				want = append(want, podRef)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("owners (-want +got):\n%s", diff)
			}
		})
	}
}

// claimOwners returns the kinds and names of the claim's owners.
func claimOwners(t *testing.T, f *fixture, name string) []string {
	t.Helper()
	claim, err := f.om.claimLister.PersistentVolumeClaims(testNamespace).Get(name)
	if err != nil {
		t.Fatalf("claim %s: %v", name, err)
	}
	var out []string
	for _, ref := range claim.OwnerReferences {
		out = append(out, ref.Kind+"/"+ref.Name)
	}
	return out
}

// TestRetentionThroughTheControl runs the retention policies through the
// pet control: claims get the PetSet as owner at creation when whenDeleted
// is Delete, condemned pets' claims get their pod as owner before the pod
// is deleted when whenScaled is Delete (the fake API server checks that),
// and a claim controlled by someone else is left alone.
func TestRetentionThroughTheControl(t *testing.T) {
	for _, tc := range []struct {
		whenDeleted, whenScaled    appsv1alpha1.PersistentVolumeClaimRetentionPolicyType
		wantInRange, wantCondemned []string
	}{
		{whenDeleted: retain, whenScaled: retain},
		{whenDeleted: del, whenScaled: retain, wantInRange: []string{"PetSet/web"}, wantCondemned: []string{"PetSet/web"}},
		{whenDeleted: retain, whenScaled: del, wantCondemned: []string{"Pod/web-2"}},
		{whenDeleted: del, whenScaled: del, wantInRange: []string{"PetSet/web"}, wantCondemned: []string{"Pod/web-2"}},
	} {
		t.Run(fmt.Sprintf("whenDeleted %s whenScaled %s", tc.whenDeleted, tc.whenScaled), func(t *testing.T) {
			f := newFixture(t, retainingPetSet(3, tc.whenDeleted, tc.whenScaled))
			// www-web-1 is controlled by a backup tool.
			f.om.claimIndexer.Add(&v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
				Name: "www-web-1", Namespace: testNamespace, UID: "www-web-1-uid",
				Labels:          map[string]string{"app": "nginx", appsv1alpha1.PetSetClaimSetLabel: "web", appsv1alpha1.PetSetClaimTemplateLabel: "www"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "Backup", Name: "b", UID: "b-uid", Controller: new(true)}},
			}})
			f.run(50, invariantOpts{})
			for _, name := range []string{"www-web-0", "www-web-2"} {
				if diff := cmp.Diff(tc.wantInRange, claimOwners(t, f, name), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("owners of %s in range (-want +got):\n%s", name, diff)
				}
			}
			f.setReplicas(2)
			f.run(50, invariantOpts{})
			if diff := cmp.Diff(tc.wantCondemned, claimOwners(t, f, "www-web-2"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("owners of the condemned pet's claim (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"Backup/b"}, claimOwners(t, f, "www-web-1")); diff != "" {
				t.Errorf("owners of the claim controlled by someone else (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStaleClaimBlocksCreation checks that a pet whose claim is still owned
// by an earlier pod of its name is not created until the garbage collector
// has deleted that claim.
func TestStaleClaimBlocksCreation(t *testing.T) {
	f := newFixture(t, retainingPetSet(1, retain, del))
	f.run(50, invariantOpts{})
	f.om.claimIndexer.Add(&v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
		Name: "www-web-1", Namespace: testNamespace, UID: "old-claim-uid",
		Labels:          map[string]string{"app": "nginx", appsv1alpha1.PetSetClaimSetLabel: "web", appsv1alpha1.PetSetClaimTemplateLabel: "www"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web-1", UID: "old-pod-uid", Controller: new(true)}},
	}})
	f.setReplicas(2)
	for range 5 {
		f.mustSync()
		f.kubelet()
	}
	if pod := f.om.serverPet(1); pod != nil {
		t.Fatalf("web-1 created while its claim is stale")
	}
	if f.requeueAfter != staleClaimRetry {
		t.Errorf("requeue after %v, want %v", f.requeueAfter, staleClaimRetry)
	}
	// The garbage collector deletes the claim.
	obj, _, _ := f.om.claimIndexer.GetByKey(testNamespace + "/www-web-1")
	f.om.claimIndexer.Delete(obj)
	f.run(20, invariantOpts{})
	if pod := f.om.serverPet(1); pod == nil {
		t.Fatalf("web-1 not created once its stale claim is gone")
	}
	if got := claimOwners(t, f, "www-web-1"); len(got) != 0 {
		t.Errorf("new claim of web-1 has owners %v", got)
	}
}
