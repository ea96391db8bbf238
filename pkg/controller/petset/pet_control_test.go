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
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	core "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/clock"
)

// newClientPetControl returns a pet control writing to a fake clientset,
// reading claims from claimIndexer.
func newClientPetControl(objects ...runtime.Object) (*realPetControl, *fake.Clientset, cache.Indexer, *record.FakeRecorder) {
	client := fake.NewClientset(objects...)
	claimIndexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, obj := range objects {
		if claim, ok := obj.(*v1.PersistentVolumeClaim); ok {
			_ = claimIndexer.Add(claim)
		}
	}
	recorder := record.NewFakeRecorder(100)
	om := &realPetObjectManager{client: client, claimLister: corelisters.NewPersistentVolumeClaimLister(claimIndexer)}
	return newRealPetControl(om, recorder, newPetExpectations(clock.RealClock{})), client, claimIndexer, recorder
}

// writes lists the non-read actions of client as "verb resource name".
func writes(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		switch a := a.(type) {
		case core.CreateAction:
			obj := a.GetObject().(metav1.Object)
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+obj.GetName())
		case core.DeleteAction:
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+a.GetName())
		case core.PatchAction:
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+a.GetName())
		case core.UpdateAction:
			obj := a.GetObject().(metav1.Object)
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+obj.GetName())
		}
	}
	return out
}

func drain(recorder *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestCreatePetMakesClaimsFirst(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newPetSet(3)
	// A template volume with the claim's name is replaced by the claim.
	set.Spec.Template.Spec.Volumes = []v1.Volume{
		{Name: "www", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		{Name: "config", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
	}
	pc, client, _, recorder := newClientPetControl()

	if err := pc.CreatePet(ctx, set, newPet(set, 1)); err != nil {
		t.Fatalf("CreatePet: %v", err)
	}
	if diff := cmp.Diff([]string{"create persistentvolumeclaims www-web-1", "create pods web-1"}, writes(client)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}

	claim, err := client.CoreV1().PersistentVolumeClaims(testNamespace).Get(ctx, "www-web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{"app": "nginx", appsv1alpha1.PetSetPodNameLabel: "web-1",
		appsv1alpha1.PetSetClaimSetLabel: "web", appsv1alpha1.PetSetClaimTemplateLabel: "www"}
	if diff := cmp.Diff(wantLabels, claim.Labels); diff != "" {
		t.Errorf("claim labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(set.Spec.VolumeClaimTemplates[0].Annotations, claim.Annotations); diff != "" {
		t.Errorf("claim annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(set.Spec.VolumeClaimTemplates[0].Spec, claim.Spec); diff != "" {
		t.Errorf("claim spec (-want +got):\n%s", diff)
	}
	if len(claim.OwnerReferences) != 0 {
		t.Errorf("claim has owners %v: the garbage collector would delete it with the PetSet", claim.OwnerReferences)
	}

	pod, err := client.CoreV1().Pods(testNamespace).Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantVolumes := []v1.Volume{
		{Name: "www", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "www-web-1"}}},
		{Name: "config", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
	}
	if diff := cmp.Diff(wantVolumes, pod.Spec.Volumes); diff != "" {
		t.Errorf("pod volumes (-want +got):\n%s", diff)
	}
	wantEvents := []string{
		"Normal SuccessfulCreate create Claim www-web-1 for Pod web-1 in PetSet web successful",
		"Normal SuccessfulCreate create Pod web-1 in PetSet web successful",
	}
	if diff := cmp.Diff(wantEvents, drain(recorder)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestCreatePetClaimCases(t *testing.T) {
	set := newPetSet(1)
	existing := newPetClaims(set, 0)["www"]
	existing.Spec.VolumeName = "pv-0001"
	deleting := existing.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Finalizers = []string{"kubernetes.io/pvc-protection"}
	unlabelled := existing.DeepCopy()
	unlabelled.Labels = map[string]string{"restored": "yes"}
	otherSet := existing.DeepCopy()
	otherSet.Labels[appsv1alpha1.PetSetClaimSetLabel] = "other"
	otherTemplate := existing.DeepCopy()
	otherTemplate.Labels[appsv1alpha1.PetSetClaimTemplateLabel] = "data"
	conflict := func(label, value, want string) string {
		return fmt.Sprintf("Warning ClaimConflict claim default/www-web-0 has label %s=%s, not %s: "+
			"it belongs to another PetSet or claim template and is not mounted by pod web-0: name is taken", label, value, want)
	}

	tests := []struct {
		name       string
		objects    []runtime.Object
		failClaims error
		// hidden are created in the API server but not in the cache.
		hidden     []runtime.Object
		wantWrites []string
		wantErr    bool
		wantEvents []string
	}{
		{
			name:       "an existing claim is reused",
			objects:    []runtime.Object{existing},
			wantWrites: []string{"create pods web-0"},
			wantEvents: []string{"Normal SuccessfulCreate create Pod web-0 in PetSet web successful"},
		},
		{
			name:       "a claim being deleted blocks the pod",
			objects:    []runtime.Object{deleting},
			wantErr:    true,
			wantEvents: []string{"Warning FailedCreate create Pod web-0 in PetSet web failed error: claim default/www-web-0 of pod web-0 is being deleted"},
		},
		{
			name:       "a claim without the PetSet's claim labels is adopted and used",
			objects:    []runtime.Object{unlabelled},
			wantWrites: []string{"patch persistentvolumeclaims www-web-0", "create pods web-0"},
			wantEvents: []string{
				"Normal Adopted adopt Claim www-web-0 for Pod web-0 in PetSet web successful",
				"Normal SuccessfulCreate create Pod web-0 in PetSet web successful",
			},
		},
		{
			name:       "a claim labelled for another PetSet is never mounted",
			objects:    []runtime.Object{otherSet},
			wantErr:    true,
			wantEvents: []string{conflict(appsv1alpha1.PetSetClaimSetLabel, "other", "web")},
		},
		{
			name:       "a claim labelled for another claim template is never mounted",
			objects:    []runtime.Object{otherTemplate},
			wantErr:    true,
			wantEvents: []string{conflict(appsv1alpha1.PetSetClaimTemplateLabel, "data", "www")},
		},
		{
			name:       "a claim created meanwhile by another PetSet is found and not mounted",
			hidden:     []runtime.Object{otherSet},
			wantWrites: []string{"create persistentvolumeclaims www-web-0"},
			wantErr:    true,
			wantEvents: []string{conflict(appsv1alpha1.PetSetClaimSetLabel, "other", "web")},
		},
		{
			name:       "a claim created meanwhile for this pet is used",
			hidden:     []runtime.Object{existing},
			wantWrites: []string{"create persistentvolumeclaims www-web-0", "create pods web-0"},
			wantEvents: []string{"Normal SuccessfulCreate create Pod web-0 in PetSet web successful"},
		},
		{
			name:       "a failed claim create blocks the pod",
			failClaims: apierrors.NewForbidden(v1.Resource("persistentvolumeclaims"), "www-web-0", errors.New("quota")),
			wantWrites: []string{"create persistentvolumeclaims www-web-0"},
			wantErr:    true,
			wantEvents: []string{
				`Warning FailedCreate create Claim www-web-0 for Pod web-0 in PetSet web failed error: create claim default/www-web-0: persistentvolumeclaims "www-web-0" is forbidden: quota`,
				`Warning FailedCreate create Pod web-0 in PetSet web failed error: create claim default/www-web-0: persistentvolumeclaims "www-web-0" is forbidden: quota`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pc, client, _, recorder := newClientPetControl(tc.objects...)
			for _, obj := range tc.hidden {
				if err := client.Tracker().Add(obj); err != nil {
					t.Fatal(err)
				}
			}
			if tc.failClaims != nil {
				client.PrependReactor("create", "persistentvolumeclaims", func(core.Action) (bool, runtime.Object, error) {
					return true, nil, tc.failClaims
				})
			}
			err := pc.CreatePet(ctx, set, newPet(set, 0))
			if (err != nil) != tc.wantErr {
				t.Fatalf("CreatePet error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantWrites, writes(client)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantEvents, drain(recorder)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreatePetAlreadyExists(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newPetSet(1)
	pc, _, _, recorder := newClientPetControl(newPet(set, 0))
	if err := pc.CreatePet(ctx, set, newPet(set, 0)); err != nil {
		t.Fatalf("CreatePet of an existing pod: %v", err)
	}
	for _, e := range drain(recorder) {
		if strings.Contains(e, "create Pod web-0") {
			t.Errorf("unexpected pod event %q", e)
		}
	}
}

func TestDeletePet(t *testing.T) {
	set := newPetSet(1)
	pod := newPet(set, 0)
	pod.UID = "web-0-uid"
	pod.ResourceVersion = "7"
	recreated := pod.DeepCopy()
	recreated.UID = "web-0-other"
	released := pod.DeepCopy()
	released.OwnerReferences = nil
	deleting := pod.DeepCopy()
	deleting.DeletionTimestamp = ptrTo(metav1.Now())

	tests := []struct {
		name       string
		objects    []runtime.Object
		fail       error
		noDelete   bool
		wantErr    bool
		reevaluate bool
		wantEvents []string
	}{
		{name: "deleted", objects: []runtime.Object{pod},
			wantEvents: []string{"Normal SuccessfulDelete delete Pod web-0 in PetSet web successful"}},
		{name: "already gone", noDelete: true},
		{name: "replaced by another pod: evaluated again, not deleted", objects: []runtime.Object{recreated},
			noDelete: true, wantErr: true, reevaluate: true},
		{name: "released meanwhile: evaluated again, not deleted", objects: []runtime.Object{released},
			noDelete: true, wantErr: true, reevaluate: true},
		{name: "changed before the delete: evaluated again, not taken for deleted", objects: []runtime.Object{pod},
			fail:    apierrors.NewConflict(v1.Resource("pods"), "web-0", errors.New("precondition failed")),
			wantErr: true, reevaluate: true},
		{name: "terminating already: not deleted again", objects: []runtime.Object{deleting}, noDelete: true},
		{name: "failure", objects: []runtime.Object{pod}, wantErr: true,
			fail:       apierrors.NewInternalError(errors.New("boom")),
			wantEvents: []string{`Warning FailedDelete delete Pod web-0 in PetSet web failed error: delete pod default/web-0: Internal error occurred: boom`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pc, client, _, recorder := newClientPetControl(tc.objects...)
			var preconditions *metav1.Preconditions
			deletes := 0
			client.PrependReactor("delete", "pods", func(a core.Action) (bool, runtime.Object, error) {
				deletes++
				preconditions = a.(core.DeleteAction).GetDeleteOptions().Preconditions
				if tc.fail != nil {
					return true, nil, tc.fail
				}
				return false, nil, nil
			})
			err := pc.DeletePet(ctx, set, pod)
			if (err != nil) != tc.wantErr {
				t.Fatalf("DeletePet error = %v, want error %v", err, tc.wantErr)
			}
			if got := errors.Is(err, errReevaluate); got != tc.reevaluate {
				t.Errorf("DeletePet error %v: asks to evaluate again = %v, want %v", err, got, tc.reevaluate)
			}
			if tc.noDelete {
				if deletes != 0 {
					t.Errorf("deleted the pod %d times, want none", deletes)
				}
			} else if preconditions == nil || preconditions.UID == nil || *preconditions.UID != pod.UID ||
				preconditions.ResourceVersion == nil || *preconditions.ResourceVersion != pod.ResourceVersion {
				t.Errorf("delete without the live pod's UID and resourceVersion as preconditions: %+v", preconditions)
			}
			if diff := cmp.Diff(tc.wantEvents, drain(recorder)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdoptAndReleasePatches(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newPetSet(2)
	orphan := newPet(set, 0)
	orphan.OwnerReferences = nil
	orphan.UID = "web-0-uid"
	owned := newPet(set, 1)
	owned.UID = "web-1-uid"
	owned.OwnerReferences = append(owned.OwnerReferences, metav1.OwnerReference{
		APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "cm-uid"})
	pc, client, _, _ := newClientPetControl(orphan, owned)

	if err := pc.AdoptPet(ctx, set, orphan); err != nil {
		t.Fatalf("AdoptPet: %v", err)
	}
	if err := pc.ReleasePet(ctx, set, owned); err != nil {
		t.Fatalf("ReleasePet: %v", err)
	}
	adopted, _ := client.CoreV1().Pods(testNamespace).Get(ctx, "web-0", metav1.GetOptions{})
	if diff := cmp.Diff([]metav1.OwnerReference{*newControllerRef(set)}, adopted.OwnerReferences); diff != "" {
		t.Errorf("adopted owners (-want +got):\n%s", diff)
	}
	released, _ := client.CoreV1().Pods(testNamespace).Get(ctx, "web-1", metav1.GetOptions{})
	wantOwners := []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "cm-uid"}}
	if diff := cmp.Diff(wantOwners, released.OwnerReferences); diff != "" {
		t.Errorf("released owners (-want +got):\n%s", diff)
	}
	// Releasing a pod that is gone is not an error.
	if err := pc.ReleasePet(ctx, set, newPet(set, 5)); err != nil {
		t.Errorf("ReleasePet of a missing pod: %v", err)
	}
}

func TestEvictPet(t *testing.T) {
	set := newPetSet(1)
	pod := newPet(set, 0)
	pod.UID = "web-0-uid"
	pod.ResourceVersion = "7"
	budget := &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusTooManyRequests, Reason: metav1.StatusReasonTooManyRequests,
		Message: "Cannot evict pod as it would violate the pod's disruption budget.",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
			Type:    policyv1.DisruptionBudgetCause,
			Message: "The disruption budget web-pdb needs 2 healthy pods and has 1 currently",
		}}},
	}}

	tests := []struct {
		name        string
		fail        error
		wantErr     bool
		wantBlocked bool
		wantEvents  []string
	}{
		{name: "evicted",
			wantEvents: []string{"Normal SuccessfulEvict evict Pod web-0 in PetSet web successful"}},
		{name: "refused by a budget: blocked, named, retried", fail: budget, wantErr: true, wantBlocked: true,
			wantEvents: []string{"Warning EvictionBlocked evict Pod web-0 in PetSet web blocked: The disruption budget web-pdb needs 2 healthy pods and has 1 currently"}},
		{name: "failure", fail: apierrors.NewInternalError(errors.New("boom")), wantErr: true,
			wantEvents: []string{"Warning FailedEvict evict Pod web-0 in PetSet web failed error: evict pod default/web-0: Internal error occurred: boom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pc, client, _, recorder := newClientPetControl(pod.DeepCopy())
			var eviction *policyv1.Eviction
			client.PrependReactor("create", "pods", func(a core.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "eviction" {
					return false, nil, nil
				}
				eviction = a.(core.CreateAction).GetObject().(*policyv1.Eviction)
				return true, nil, tc.fail
			})
			client.PrependReactor("delete", "pods", func(core.Action) (bool, runtime.Object, error) {
				t.Errorf("the pod was deleted, want it evicted")
				return true, nil, nil
			})
			err := pc.EvictPet(ctx, set, pod)
			if (err != nil) != tc.wantErr {
				t.Fatalf("EvictPet error = %v, want error %v", err, tc.wantErr)
			}
			if got := errors.Is(err, errEvictionBlocked); got != tc.wantBlocked {
				t.Errorf("EvictPet error %v: blocked by a budget = %v, want %v", err, got, tc.wantBlocked)
			}
			if eviction == nil || eviction.Name != pod.Name || eviction.DeleteOptions == nil {
				t.Fatalf("eviction %+v, want one of %s with delete options", eviction, pod.Name)
			}
			if p := eviction.DeleteOptions.Preconditions; p == nil || p.UID == nil || *p.UID != pod.UID ||
				p.ResourceVersion == nil || *p.ResourceVersion != pod.ResourceVersion {
				t.Errorf("eviction without the live pod's UID and resourceVersion as preconditions: %+v", p)
			}
			if diff := cmp.Diff(tc.wantEvents, drain(recorder)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
