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
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	core "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

// testClaim returns claim www-web-<ordinal> with the given request and
// capacity ("" for none).
func testClaim(ordinal int, request, capacity string) *v1.PersistentVolumeClaim {
	claim := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "www-web-" + strconv.Itoa(ordinal), Namespace: testNamespace, UID: types.UID("claim-" + strconv.Itoa(ordinal))},
		Spec: v1.PersistentVolumeClaimSpec{Resources: v1.VolumeResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(request)},
		}},
	}
	if capacity != "" {
		claim.Status.Capacity = v1.ResourceList{v1.ResourceStorage: resource.MustParse(capacity)}
	}
	return claim
}

func TestNextClaimExpansion(t *testing.T) {
	template := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "www"}, Spec: v1.PersistentVolumeClaimSpec{
		Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("2Gi")}},
	}}
	// claims lists the claims of web-2, web-1, web-0, highest first.
	claims := func(cs ...*v1.PersistentVolumeClaim) []petClaim {
		var out []petClaim
		for i, c := range cs {
			out = append(out, petClaim{ordinal: len(cs) - 1 - i, template: template, claim: c})
		}
		return out
	}
	infeasible := testClaim(2, "2Gi", "1Gi")
	infeasible.Status.AllocatedResourceStatuses = map[v1.ResourceName]v1.ClaimResourceStatus{
		v1.ResourceStorage: v1.PersistentVolumeClaimControllerResizeInfeasible}
	deleting := testClaim(2, "1Gi", "1Gi")
	deleting.DeletionTimestamp = &metav1.Time{}

	tests := []struct {
		name      string
		claims    []petClaim
		wantKind  claimStepKind
		wantClaim string
	}{
		{name: "every claim at size", claims: claims(testClaim(2, "2Gi", "2Gi"), testClaim(1, "2Gi", "2Gi"), testClaim(0, "2Gi", "2Gi"))},
		{name: "the highest ordinal first", claims: claims(testClaim(2, "1Gi", "1Gi"), testClaim(1, "1Gi", "1Gi"), testClaim(0, "1Gi", "1Gi")),
			wantKind: claimStepExpand, wantClaim: "www-web-2"},
		{name: "a claim resizing is waited for", claims: claims(testClaim(2, "2Gi", "1Gi"), testClaim(1, "1Gi", "1Gi"), testClaim(0, "1Gi", "1Gi")),
			wantKind: claimStepWait, wantClaim: "www-web-2"},
		{name: "once resized, the next one", claims: claims(testClaim(2, "2Gi", "2Gi"), testClaim(1, "1Gi", "1Gi"), testClaim(0, "1Gi", "1Gi")),
			wantKind: claimStepExpand, wantClaim: "www-web-1"},
		{name: "a claim not bound yet has no capacity: waited for", claims: claims(testClaim(2, "2Gi", ""), testClaim(1, "1Gi", "1Gi")),
			wantKind: claimStepWait, wantClaim: "www-web-2"},
		{name: "a missing claim is skipped (created at the template's size)", claims: claims(nil, testClaim(1, "1Gi", "1Gi"), testClaim(0, "2Gi", "2Gi")),
			wantKind: claimStepExpand, wantClaim: "www-web-1"},
		{name: "a claim being deleted is skipped", claims: claims(deleting, testClaim(1, "2Gi", "2Gi"), testClaim(0, "2Gi", "2Gi"))},
		{name: "a claim grown beyond the template is at size", claims: claims(testClaim(2, "3Gi", "3Gi"), testClaim(1, "1Gi", "1Gi")),
			wantKind: claimStepExpand, wantClaim: "www-web-1"},
		{name: "a failed resize blocks", claims: claims(infeasible, testClaim(1, "1Gi", "1Gi")),
			wantKind: claimStepFailed, wantClaim: "www-web-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := nextClaimExpansion(tc.claims)
			got := ""
			if step.claim.claim != nil {
				got = step.claim.claim.Name
			}
			if step.kind != tc.wantKind || got != tc.wantClaim {
				t.Errorf("step %d on %q (%s), want %d on %q", step.kind, got, step.reason, tc.wantKind, tc.wantClaim)
			}
			if step.kind == claimStepExpand && step.request.Cmp(resource.MustParse("2Gi")) != 0 {
				t.Errorf("expand to %s, want the template's 2Gi", step.request.String())
			}
		})
	}
}

func TestExpandClaimPatchesTheRequestOfThatClaim(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	claim := testClaim(0, "1Gi", "1Gi")
	pc, client, _, _ := newClientPetControl(claim)
	var patch []byte
	client.PrependReactor("patch", "persistentvolumeclaims", func(a core.Action) (bool, runtime.Object, error) {
		patch = a.(core.PatchAction).GetPatch()
		return false, nil, nil
	})
	if err := pc.ExpandClaim(ctx, newPetSet(1), claim, resource.MustParse("2Gi")); err != nil {
		t.Fatalf("ExpandClaim: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(patch, &got); err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	want := map[string]any{
		"metadata": map[string]any{"uid": string(claim.UID)},
		"spec":     map[string]any{"resources": map[string]any{"requests": map[string]any{"storage": "2Gi"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
	updated, err := client.CoreV1().PersistentVolumeClaims(testNamespace).Get(ctx, claim.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := updated.Spec.Resources.Requests[v1.ResourceStorage]; got.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Errorf("claim request %s after the patch, want 2Gi", got.String())
	}
}

// resize plays the volume resizer on the fixture's claims: every claim whose
// request is above its capacity gets the request as capacity; a new claim is
// bound at its request.
func (f *fixture) resize() {
	for _, obj := range f.om.claimIndexer.List() {
		claim := obj.(*v1.PersistentVolumeClaim)
		request, capacity := claim.Spec.Resources.Requests[v1.ResourceStorage], claim.Status.Capacity[v1.ResourceStorage]
		if request.Cmp(capacity) == 0 {
			continue
		}
		claim = claim.DeepCopy()
		claim.Status.Capacity = v1.ResourceList{v1.ResourceStorage: request}
		if err := f.om.claimIndexer.Update(claim); err != nil {
			f.t.Fatal(err)
		}
	}
}

// resizing returns the claims whose request is above their capacity.
func (f *fixture) resizing() []string {
	var out []string
	for _, obj := range f.om.claimIndexer.List() {
		claim := obj.(*v1.PersistentVolumeClaim)
		if request, capacity := claim.Spec.Resources.Requests[v1.ResourceStorage], claim.Status.Capacity[v1.ResourceStorage]; request.Cmp(capacity) > 0 {
			out = append(out, claim.Name)
		}
	}
	return out
}

// TestInPlaceClaimExpansion grows the claim template of 3 pets under
// InPlace: a refused expansion is reported (event, condition) and retried;
// then the claims are expanded from the highest ordinal down, never two
// resizing at once, and the status counts them.
func TestInPlaceClaimExpansion(t *testing.T) {
	set := newPetSet(3)
	set.Spec.VolumeClaimUpdatePolicy = appsv1alpha1.InPlaceVolumeClaimUpdatePolicy
	f := newFixture(t, set)
	f.run(40, invariantOpts{})
	f.resize()
	f.mustSync()
	if diff := cmp.Diff([]appsv1alpha1.PetSetVolumeClaimTemplateStatus{{TemplateName: "www", Claims: 3, ClaimsAtSize: 3}}, f.set.Status.VolumeClaimTemplates); diff != "" {
		t.Fatalf("claim status before the change (-want +got):\n%s", diff)
	}
	f.drainEvents()

	f.set.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[v1.ResourceStorage] = resource.MustParse("2Gi")
	f.set.Generation++
	f.om.patchClaim.failNext(1, apierrors.NewForbidden(v1.Resource("persistentvolumeclaims"), "www-web-2",
		errors.New("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")))
	var expansionErr *claimExpansionError
	if err := f.sync(); !errors.As(err, &expansionErr) || expansionErr.claim != "www-web-2" {
		t.Fatalf("sync with the expansion refused: %v, want a claimExpansionError on www-web-2", err)
	}
	if got := f.eventsWith("Warning " + reasonClaimExpansionFailed); len(got) != 1 {
		t.Errorf("events %v, want one %s", f.events, reasonClaimExpansionFailed)
	}
	if c := meta.FindStatusCondition(f.set.Status.Conditions, appsv1alpha1.PetSetClaimsExpanded); c == nil || c.Reason != reasonClaimExpansionFailure {
		t.Errorf("%s condition %+v, want False %s", appsv1alpha1.PetSetClaimsExpanded, c, reasonClaimExpansionFailure)
	}

	for step := range 20 {
		if err := f.sync(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if r := f.resizing(); len(r) > 1 {
			t.Fatalf("step %d: claims %v resizing at once", step, r)
		}
		f.resize()
	}
	if diff := cmp.Diff([]string{"www-web-2", "www-web-1", "www-web-0"}, f.om.patchedClaims); diff != "" {
		t.Errorf("claims expanded (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]appsv1alpha1.PetSetVolumeClaimTemplateStatus{{TemplateName: "www", Claims: 3, ClaimsAtSize: 3}}, f.set.Status.VolumeClaimTemplates); diff != "" {
		t.Errorf("claim status after the change (-want +got):\n%s", diff)
	}
	if c := meta.FindStatusCondition(f.set.Status.Conditions, appsv1alpha1.PetSetClaimsExpanded); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("%s condition %+v, want True", appsv1alpha1.PetSetClaimsExpanded, c)
	}
	if got := f.eventsWith("Normal " + reasonExpandingClaim); len(got) != 3 {
		t.Errorf("%d %s events, want 3: %v", len(got), reasonExpandingClaim, f.events)
	}
}

// TestClaimTemplatesAreInTheRevisionUnderInPlace: under InPlace a claim
// template change makes a new revision, whose pets are the old ones
// relabelled in place (no pet is replaced, even under RollingUpdate), while
// the claims are expanded; under OnClaimDelete the revision stays.
func TestClaimTemplatesAreInTheRevisionUnderInPlace(t *testing.T) {
	for _, policy := range []appsv1alpha1.VolumeClaimUpdatePolicyType{appsv1alpha1.OnClaimDeleteVolumeClaimUpdatePolicy, appsv1alpha1.InPlaceVolumeClaimUpdatePolicy} {
		t.Run(string(policy), func(t *testing.T) {
			set := rollingPetSet(3, 0, intstr.FromInt32(1))
			set.Spec.VolumeClaimUpdatePolicy = policy
			f := newFixture(t, set)
			f.run(40, invariantOpts{})
			f.resize()
			first := f.set.Status.UpdateRevision
			deleted := len(f.om.deleted)

			f.set.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[v1.ResourceStorage] = resource.MustParse("2Gi")
			f.set.Generation++
			for step := range 30 {
				f.stepRolling(step)
				f.resize()
			}
			f.mustSync()
			s := f.set.Status
			if got := f.om.deleted[deleted:]; len(got) != 0 {
				t.Errorf("pets replaced for a claim template change: %v", got)
			}
			if policy == appsv1alpha1.OnClaimDeleteVolumeClaimUpdatePolicy {
				if s.UpdateRevision != first {
					t.Errorf("under OnClaimDelete the claim template change made revision %s (was %s)", s.UpdateRevision, first)
				}
				return
			}
			if s.UpdateRevision == first || s.CurrentRevision != s.UpdateRevision || s.UpdatedReplicas != 3 {
				t.Errorf("status %+v: want a new revision, every pet at it", s)
			}
			for _, pod := range f.om.serverPets() {
				if revisionOf(pod) != s.UpdateRevision {
					t.Errorf("pet %s at revision %s, want %s (relabelled in place)", pod.Name, revisionOf(pod), s.UpdateRevision)
				}
			}
			rev := f.revs.revisions[podKey(testNamespace, s.UpdateRevision)]
			spec, err := decodeRevision(rev)
			if err != nil {
				t.Fatal(err)
			}
			if len(spec.VolumeClaimTemplates) != 1 || spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String() != "2Gi" {
				t.Errorf("revision %s holds claim templates %+v, want www at 2Gi", rev.Name, spec.VolumeClaimTemplates)
			}
			if diff := cmp.Diff([]string{"www-web-2", "www-web-1", "www-web-0"}, f.om.patchedClaims); diff != "" {
				t.Errorf("claims expanded (-want +got):\n%s", diff)
			}
		})
	}
}
