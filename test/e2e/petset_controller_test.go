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

// The PetSet guide's walkthrough against the bundled controller: every
// command of the guide, with what it shows asserted, and the ordering rules
// judged from the complete pod event history of the namespace.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/petsets/petset/test/e2e/framework"
)

// TestPetSetControllerCreatesTheGuideExample follows "Example PetSet" and
// "Pet Identity": kubectl create -f petset.yaml creates web-0, then web-1
// once web-0 is Running and Ready, each with its claim, hostname, subdomain,
// labels and controller reference; the status and events follow.
func TestPetSetControllerCreatesTheGuideExample(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 2, true)

	pets := pcWaitPets(t, ns, 2)
	rec.WaitForSteady(t, pcPetNames(0, 2))
	evs := rec.Events()
	pcCheckCreatedInOrder(t, evs, 0, "web-0", "web-1")
	pcCheckOrderedCreation(t, evs)
	pcCheckNoDeletions(t, evs, 0)

	// kubectl get po: web-0 and web-1, 1/1 Running.
	out := pcKubectl(t, ns, "", "get", "po")
	for _, name := range pcPetNames(0, 2) {
		if !pcHasRow(out, name, "1/1", "Running") {
			t.Errorf("kubectl get po shows no %s 1/1 Running:\n%s", name, out)
		}
	}

	// Stable storage: one Bound claim per pet, www-web-<ordinal>.
	claims := pcWaitClaimsBound(t, ns, pcClaimNames(0, 2)...)
	set := pcGetSet(t, ns)
	for i, name := range pcPetNames(0, 2) {
		claimName := pcClaimName(i)
		claim, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), claimName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if claim.Labels["app"] != "nginx" || claim.Labels[appsv1alpha1.PetSetPodNameLabel] != name {
			t.Errorf("claim %s has labels %v, want app=nginx and %s=%s", claimName, claim.Labels, appsv1alpha1.PetSetPodNameLabel, name)
		}
		if len(claim.OwnerReferences) != 0 {
			t.Errorf("claim %s has ownerReferences %v: claims must outlive their pets and the PetSet", claimName, claim.OwnerReferences)
		}
		if claim.Spec.VolumeName == "" {
			t.Errorf("claim %s is bound to no volume", claimName)
		} else {
			pv, err := cluster.Kube.CoreV1().PersistentVolumes().Get(context.Background(), claim.Spec.VolumeName, metav1.GetOptions{})
			if err != nil {
				t.Errorf("volume of claim %s: %v", claimName, err)
			} else if pv.Status.Phase != corev1.VolumeBound || pv.Spec.ClaimRef == nil ||
				pv.Spec.ClaimRef.Namespace != ns || pv.Spec.ClaimRef.Name != claimName || pv.Spec.ClaimRef.UID != claim.UID {
				t.Errorf("volume %s is %s with claimRef %v, want Bound to %s/%s", pv.Name, pv.Status.Phase, pv.Spec.ClaimRef, ns, claimName)
			}
		}
		pcCheckPetIdentity(t, set, pets[name], i, claims[claimName])
	}
	if out := pcKubectl(t, ns, "", "get", "pvc", "-l", pcAppSelector, "-o", "name"); !slices.Equal(strings.Fields(out),
		[]string{"persistentvolumeclaim/www-web-0", "persistentvolumeclaim/www-web-1"}) {
		t.Errorf("kubectl get pvc -l app=nginx printed %q, want www-web-0 and www-web-1", out)
	}

	// The PetSet: the controller's finalizer, and the status.
	if !slices.Contains(set.Finalizers, "apps.petsets.io/pets") {
		t.Errorf("PetSet finalizers %v, want apps.petsets.io/pets", set.Finalizers)
	}
	pcWaitStatus(t, ns, 2, 2)
	if out := pcKubectl(t, ns, "", "get", "petset"); !pcHasRow(out, "web", "2", "2") {
		t.Errorf("kubectl get petset shows no row web 2 2:\n%s", out)
	}

	// Events: the claim and then the pod of every pet.
	pcWaitEvents(t, ns, "SuccessfulCreate",
		"create Claim www-web-0 for Pod web-0 in PetSet web successful",
		"create Pod web-0 in PetSet web successful",
		"create Claim www-web-1 for Pod web-1 in PetSet web successful",
		"create Pod web-1 in PetSet web successful")
}

// pcCheckPetIdentity checks a pet's identity: name, hostname and subdomain,
// labels, the controller reference to set, the volume of its claim, and the
// template's image and annotation.
func pcCheckPetIdentity(t testing.TB, set *appsv1alpha1.PetSet, pod *corev1.Pod, ordinal int, claimUID types.UID) {
	t.Helper()
	name := pcPetName(ordinal)
	if pod == nil {
		t.Errorf("pet %s does not exist", name)
		return
	}
	if pod.Spec.Hostname != name || pod.Spec.Subdomain != pcServiceName {
		t.Errorf("%s has hostname %q and subdomain %q, want %q and %q", name, pod.Spec.Hostname, pod.Spec.Subdomain, name, pcServiceName)
	}
	wantLabels := map[string]string{
		"app":                              "nginx",
		appsv1alpha1.PetSetPodNameLabel:    name,
		appsv1alpha1.PetSetPodOrdinalLabel: strconv.Itoa(ordinal),
	}
	for k, v := range wantLabels {
		if pod.Labels[k] != v {
			t.Errorf("%s has labels %v, want %s=%s", name, pod.Labels, k, v)
		}
	}
	var refs []metav1.OwnerReference
	for _, ref := range pod.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			refs = append(refs, ref)
		}
	}
	if len(refs) != 1 {
		t.Errorf("%s has controller references %v, want exactly one", name, pod.OwnerReferences)
	} else {
		ref := refs[0]
		if ref.APIVersion != "apps/v1alpha1" || ref.Kind != "PetSet" || ref.Name != set.Name || ref.UID != set.UID ||
			ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("%s has controller reference %+v, want apps/v1alpha1 PetSet %s uid %s with blockOwnerDeletion", name, ref, set.Name, set.UID)
		}
	}
	claimName := pcClaimName(ordinal)
	var found bool
	for _, v := range pod.Spec.Volumes {
		if v.Name == pcClaimTemplate {
			found = v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claimName
		}
	}
	if !found {
		t.Errorf("%s has volumes %v, want %s from claim %s", name, pod.Spec.Volumes, pcClaimTemplate, claimName)
	}
	if claimUID == "" {
		t.Errorf("claim %s of %s has no UID", claimName, name)
	}
	if got := pod.Annotations[appsv1alpha1.PetSetInitAnnotation]; got != "true" {
		t.Errorf("%s has %s=%q, want the template's \"true\"", name, appsv1alpha1.PetSetInitAnnotation, got)
	}
}

// pcHasRow reports whether kubectl's table output has a row whose leading
// columns are cols.
func pcHasRow(out string, cols ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(cols) && slices.Equal(f[:len(cols)], cols) {
			return true
		}
	}
	return false
}

// TestPetSetControllerDNS follows "Network identity" and "Peer discovery":
// each pet's DNS name <pet>.nginx.<ns>.svc.cluster.local resolves to its pod
// IP, and the SRV records of the governing service list the pets.
func TestPetSetControllerDNS(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	pcCreateGuide(t, ns, 2, true)
	pets := pcWaitPets(t, ns, 2)

	domain := fmt.Sprintf("%s.%s.svc.%s.", pcServiceName, ns, pcDomain())
	var targets []string
	for _, name := range pcPetNames(0, 2) {
		ip := pets[name].Status.PodIP
		if ip == "" {
			t.Fatalf("%s has no pod IP", name)
		}
		pcWaitHost(t, name+"."+domain, ip)
		targets = append(targets, name+"."+domain)
	}
	// _web._tcp.nginx.<ns>.svc.cluster.local: the named port "web".
	pcWaitSRV(t, "web", "tcp", domain, 80, targets)
	// nslookup -type=srv nginx.<ns>: the service name alone.
	pcWaitSRV(t, "", "", domain, 80, targets)
}

// TestPetSetControllerScale follows "Scaling a PetSet": kubectl scale to 5
// creates web-2..web-4 one at a time in order; kubectl patch to 3 deletes
// web-4, then web-3, one at a time; the five claims stay, and scaling up
// again gives the new pets the same claims.
func TestPetSetControllerScale(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 2, true)
	pcWaitPets(t, ns, 2)
	rec.WaitForSteady(t, pcPetNames(0, 2))

	mark := rec.Len()
	pcExpectOutput(t, pcKubectl(t, ns, "", "scale", "petset", pcSetName, "--replicas=5"), "petset.apps/web scaled")
	pets := pcWaitPets(t, ns, 5)
	rec.WaitForSteady(t, pcPetNames(0, 5))
	evs := rec.Events()
	pcCheckCreatedInOrder(t, evs, mark, "web-2", "web-3", "web-4")
	pcCheckOrderedCreation(t, evs)
	pcCheckNoDeletions(t, evs, 0)
	pcWaitStatus(t, ns, 5, 5)
	if out := pcKubectl(t, ns, "", "get", "petset", pcSetName); !pcHasRow(out, "web", "5", "5") {
		t.Errorf("kubectl get petset web shows no row web 5 5:\n%s", out)
	}
	claims := pcWaitClaimsBound(t, ns, pcClaimNames(0, 5)...)

	// Scale down to 3 with kubectl patch.
	mark = rec.Len()
	pcScaleWithPatch(t, ns, 3)
	kept := pcWaitPets(t, ns, 3)
	rec.WaitForGone(t, "web-3", "web-4")
	rec.WaitForSteady(t, pcPetNames(0, 3))
	evs = rec.Events()
	pcCheckDeletedInOrder(t, evs, mark, "web-4", "web-3")
	for _, e := range pcDeletionStarts(evs[mark:]) {
		if e.Name != "web-3" && e.Name != "web-4" {
			t.Errorf("scaling down to 3 deleted %s", e)
		}
	}
	for _, name := range pcPetNames(0, 3) {
		if kept[name].UID != pets[name].UID {
			t.Errorf("%s was replaced while scaling down", name)
		}
	}
	pcWaitStatus(t, ns, 3, 3)

	// Note that we still have 5 pvcs.
	if after := pcWaitClaimsBound(t, ns, pcClaimNames(0, 5)...); !maps.Equal(after, claims) {
		t.Errorf("claims after scaling down: %v, want the same as before: %v", after, claims)
	}
	if got := pcClaimUIDs(t, ns); len(got) != 5 {
		t.Errorf("the namespace holds claims %v, want the 5 of web-0..web-4", slices.Sorted(maps.Keys(got)))
	}

	// Scaling back up creates new pets that use the same volumes.
	mark = rec.Len()
	pcExpectOutput(t, pcKubectl(t, ns, "", "scale", "petset", pcSetName, "--replicas=5"), "petset.apps/web scaled")
	again := pcWaitPets(t, ns, 5)
	rec.WaitForSteady(t, pcPetNames(0, 5))
	evs = rec.Events()
	pcCheckCreatedInOrder(t, evs, mark, "web-3", "web-4")
	pcCheckOrderedCreation(t, evs)
	set := pcGetSet(t, ns)
	for i := 3; i < 5; i++ {
		name := pcPetName(i)
		if again[name].UID == pets[name].UID {
			t.Errorf("%s was not created again", name)
		}
		pcCheckPetIdentity(t, set, again[name], i, claims[pcClaimName(i)])
	}
	if got := pcClaimUIDs(t, ns); !maps.Equal(got, claims) {
		t.Errorf("claims after scaling up again: %v, want the original ones %v", got, claims)
	}
	pcWaitStatus(t, ns, 5, 5)
}

// TestPetSetControllerPetsKeepTheirIdentity follows "kubectl delete po -l
// app=nginx": the pets come back, in order, with the same names, hostnames,
// claims (same claim UIDs) and DNS names.
func TestPetSetControllerPetsKeepTheirIdentity(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 2, true)
	old := pcWaitPets(t, ns, 2)
	claims := pcWaitClaimsBound(t, ns, pcClaimNames(0, 2)...)
	rec.WaitForSteady(t, pcPetNames(0, 2))

	mark := rec.Len()
	out := pcKubectl(t, ns, "", "delete", "po", "-l", pcAppSelector)
	pcExpectOutput(t, out, `pod "web-0" deleted`, `pod "web-1" deleted`)

	pets := pcWaitPets(t, ns, 2)
	rec.WaitForSteady(t, pcPetNames(0, 2))
	evs := rec.Events()
	pcCheckCreatedInOrder(t, evs, mark, "web-0", "web-1")
	pcCheckOrderedCreation(t, evs)
	set := pcGetSet(t, ns)
	for i, name := range pcPetNames(0, 2) {
		if pets[name].UID == old[name].UID {
			t.Errorf("%s was not deleted", name)
		}
		pcCheckPetIdentity(t, set, pets[name], i, claims[pcClaimName(i)])
	}
	if got := pcClaimUIDs(t, ns); !maps.Equal(got, claims) {
		t.Errorf("claims after the pets came back: %v, want the same claims %v", got, claims)
	}
	pcWaitStatus(t, ns, 2, 2)

	// The DNS names follow the pets to their new pods.
	domain := fmt.Sprintf("%s.%s.svc.%s.", pcServiceName, ns, pcDomain())
	for _, name := range pcPetNames(0, 2) {
		pcWaitHost(t, name+"."+domain, pets[name].Status.PodIP)
	}
}

// TestPetSetControllerImageUpgrade follows "Image upgrades": changing the
// template's image changes no pet until it is deleted; a deleted pet comes
// back with the new image while the others keep the old one.
func TestPetSetControllerImageUpgrade(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 3, true)
	old := pcWaitPets(t, ns, 3)
	claims := pcWaitClaimsBound(t, ns, pcClaimNames(0, 3)...)
	rec.WaitForSteady(t, pcPetNames(0, 3))
	pcCheckImages(t, ns, pcImage, pcImage, pcImage)
	generation := pcGetSet(t, ns).Generation

	mark := rec.Len()
	out := pcKubectl(t, ns, "", "patch", "petset", pcSetName, "-p",
		fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":%q}]}}}}`, pcNewImage))
	pcExpectOutput(t, out, "petset.apps/web patched")
	set := pcWaitStatus(t, ns, 3, 3)
	if set.Generation != generation+1 {
		t.Errorf("the image change moved the generation from %d to %d, want %d", generation, set.Generation, generation+1)
	}
	if c := set.Spec.Template.Spec.Containers; len(c) != 1 || c[0].Image != pcNewImage || len(c[0].VolumeMounts) != 1 || len(c[0].Ports) != 1 {
		t.Errorf("template containers after the patch: %+v, want nginx with %s and its port and mount", c, pcNewImage)
	}
	// Updating containers has no effect until a pet is deleted: the
	// controller's sync of the new generation touched no pet.
	for _, e := range pcSince(pcSynced(t, ns, rec), mark) {
		if e.Type == watch.Added || e.Type == watch.Deleted || e.Terminating {
			t.Errorf("after the image change: unexpected %s", e)
		}
	}
	pcCheckImages(t, ns, pcImage, pcImage, pcImage)
	// The status tells the new template's revision apart from the pets'.
	set = roWaitStatus(t, ns, "the update revision in status", func(s appsv1alpha1.PetSetStatus) string {
		if s.UpdateRevision == "" || s.UpdateRevision == s.CurrentRevision || s.UpdatedReplicas != 0 || s.CurrentReplicas != 3 {
			return "want a new update revision, 0 updated and 3 current pets"
		}
		return ""
	})
	update := set.Status.UpdateRevision

	pcExpectOutput(t, pcKubectl(t, ns, "", "delete", "po", "web-0"), `pod "web-0" deleted`)
	pets := pcWaitPets(t, ns, 3)
	if pets["web-0"].UID == old["web-0"].UID {
		t.Fatalf("web-0 was not replaced")
	}
	for _, name := range []string{"web-1", "web-2"} {
		if pets[name].UID != old[name].UID {
			t.Errorf("%s was replaced, only web-0 was deleted", name)
		}
	}
	pcCheckImages(t, ns, pcNewImage, pcImage, pcImage)

	// Delete the remaining 2.
	mark = rec.Len()
	out = pcKubectl(t, ns, "", "delete", "po", "web-1", "web-2")
	pcExpectOutput(t, out, `pod "web-1" deleted`, `pod "web-2" deleted`)
	pets = pcWaitPets(t, ns, 3)
	rec.WaitForSteady(t, pcPetNames(0, 3))
	for _, name := range []string{"web-1", "web-2"} {
		if pets[name].UID == old[name].UID {
			t.Errorf("%s was not replaced", name)
		}
	}
	pcCheckImages(t, ns, pcNewImage, pcNewImage, pcNewImage)
	evs := rec.Events()
	pcCheckCreatedInOrder(t, evs, mark, "web-1", "web-2")
	pcCheckOrderedCreation(t, evs)
	if got := pcClaimUIDs(t, ns); !maps.Equal(got, claims) {
		t.Errorf("claims after the upgrade: %v, want the same claims %v", got, claims)
	}
	if got := roWaitRolledOut(t, ns, 3).Status.CurrentRevision; got != update {
		t.Errorf("once every pet was deleted the current revision is %s, want %s", got, update)
	}
}

// pcCheckImages checks the image of web-0, web-1, ... as the guide's
// kubectl get po web-$p --template '{{range ...}}{{$c.image}}{{end}}' does.
func pcCheckImages(t testing.TB, ns string, want ...string) {
	t.Helper()
	for i, image := range want {
		name := pcPetName(i)
		got := pcKubectl(t, ns, "", "get", "po", name, "--template", `{{range $i, $c := .spec.containers}}{{$c.image}}{{end}}`)
		if got != image {
			t.Errorf("%s runs %q, want %q", name, got, image)
		}
	}
}

// TestPetSetControllerInitializedAnnotationPauses follows "Troubleshooting":
// with pod.alpha.kubernetes.io/initialized "false" in the template, the
// PetSet stops after each pet (which is Running and Ready but not counted
// ready) until the pet is annotated "true"; "false" on any pet pauses scaling
// up and down.
func TestPetSetControllerInitializedAnnotationPauses(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 3, false)

	// web-0 runs, but the PetSet stops there: a sync with web-0 paused
	// creates nothing.
	pcWaitPetPaused(t, ns, rec, "web-0")
	pcWaitStatus(t, ns, 1, 0)
	if got := pcNames(pcCreations(pcResync(t, ns, rec))); !slices.Equal(got, []string{"web-0"}) {
		t.Fatalf("pods %v were created while web-0 is paused, want web-0 alone", got)
	}

	// Set it to true on each pet: the next one is created.
	for i := 0; i < 3; i++ {
		name := pcPetName(i)
		pcWaitPetPaused(t, ns, rec, name)
		mark := rec.Len()
		pcAnnotate(t, ns, name, true)
		if i < 2 {
			next := pcPetName(i + 1)
			rec.WaitFor(t, next+" created", func(evs []pcPodEvent) string {
				if _, ok := pcFind(evs, mark, next, pcIsAdded); !ok {
					return next + " not created yet"
				}
				return ""
			})
			// It was created after the annotation was observed: the
			// instance of the lower pet was healthy then.
			evs := rec.Events()
			added, _ := pcFind(evs, mark, next, pcIsAdded)
			if lower, ok := pcReplay(pcBefore(evs, added.Seq))[name]; !ok || !lower.healthy() {
				t.Errorf("%s was created (event #%d) before %s was annotated initialized=true (%v)", next, added.Seq, name, lower)
			}
		}
	}
	pcWaitPets(t, ns, 3)
	pcWaitStatus(t, ns, 3, 3)
	rec.WaitForSteady(t, pcPetNames(0, 3))
	pcCheckOrderedCreation(t, rec.Events())

	// "false" on any pet pauses the whole PetSet: web-0 holds a scale
	// down from 3 to 1.
	pcAnnotate(t, ns, "web-0", false)
	pcWaitStatus(t, ns, 3, 2)
	mark := rec.Len()
	pcScaleWithPatch(t, ns, 1)
	pcWaitStatus(t, ns, 3, 2)
	for _, e := range pcDeletionStarts(pcSince(pcSynced(t, ns, rec), mark)) {
		t.Errorf("deleted while web-0 is paused: %s", e)
	}
	pcAnnotate(t, ns, "web-0", true)
	pcWaitPets(t, ns, 1)
	rec.WaitForGone(t, "web-1", "web-2")
	pcCheckDeletedInOrder(t, rec.Events(), mark, "web-2", "web-1")
	pcWaitStatus(t, ns, 1, 1)

	// And a scale up: web-0 paused again, nothing is created.
	pcAnnotate(t, ns, "web-0", false)
	mark = rec.Len()
	pcScaleWithPatch(t, ns, 2)
	pcWaitStatus(t, ns, 1, 0)
	for _, e := range pcCreations(pcSince(pcSynced(t, ns, rec), mark)) {
		t.Errorf("created while web-0 is paused: %s", e)
	}
	pcAnnotate(t, ns, "web-0", true)
	pcWaitPetPaused(t, ns, rec, "web-1")
	pcCheckOrderedCreation(t, rec.Events())
	// A paused pet would also hold the deletion of the PetSet with the
	// namespace: leave none.
	pcAnnotate(t, ns, "web-1", true)
	pcWaitStatus(t, ns, 2, 2)
}

// pcWaitPetPaused waits until the pet exists Running and Ready (as kwok
// makes it) with the initialized annotation "false".
func pcWaitPetPaused(t testing.TB, ns string, rec *pcRecorder, name string) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, name+" Running and Ready, paused", func(ctx context.Context) (bool, string, error) {
		pod, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		v := pod.Annotations[appsv1alpha1.PetSetInitAnnotation]
		return pod.Status.Phase == corev1.PodRunning && pcPodReady(pod) && v == "false",
			fmt.Sprintf("%s: phase %s ready %t %s=%q", name, pod.Status.Phase, pcPodReady(pod), appsv1alpha1.PetSetInitAnnotation, v), nil
	})
	rec.WaitFor(t, name+" paused", func(evs []pcPodEvent) string {
		if e, ok := pcReplay(evs)[name]; !ok || !e.Ready || !e.Paused {
			return fmt.Sprintf("%s: %v", name, e)
		}
		return ""
	})
}

// TestPetSetControllerOrphaningDelete follows "Deleting a PetSet" with
// --cascade=orphan: the PetSet goes, its pets keep running without a
// reference to it, and their claims stay; deleting the pods then leaves the
// claims.
func TestPetSetControllerOrphaningDelete(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 2, true)
	pets := pcWaitPets(t, ns, 2)
	claims := pcWaitClaimsBound(t, ns, pcClaimNames(0, 2)...)
	rec.WaitForSteady(t, pcPetNames(0, 2))
	set := pcGetSet(t, ns)
	setRec := pcRecordSet(t, ns)

	mark := rec.Len()
	pcDeletePetSet(t, ns, setRec, "--cascade=orphan")
	setRec.WaitGone(t, pcSettle)

	// The pets keep running, released.
	framework.WaitFor(t, pcTimeout, "pets released", func(ctx context.Context) (bool, string, error) {
		list, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, pod := range list.Items {
			for _, ref := range pod.OwnerReferences {
				if ref.UID == set.UID {
					return false, fmt.Sprintf("%s still refers to the PetSet: %+v", pod.Name, ref), nil
				}
			}
		}
		return true, "", nil
	})
	// The controller has moved on (it runs another PetSet) and left the
	// orphans alone.
	other := cluster.CreateNamespace(t)
	pcRunOtherSet(t, other, "db", 1)
	for _, e := range pcSince(rec.Events(), mark) {
		if e.Type == watch.Added || e.Type == watch.Deleted || e.Terminating {
			t.Errorf("after the orphaning delete: unexpected %s", e)
		}
	}
	now := pcWaitPets(t, ns, 2)
	for _, name := range pcPetNames(0, 2) {
		pod := now[name]
		if pod.UID != pets[name].UID {
			t.Errorf("%s was replaced", name)
		}
		if len(pod.OwnerReferences) != 0 {
			t.Errorf("%s keeps ownerReferences %v", name, pod.OwnerReferences)
		}
	}
	out := pcKubectl(t, ns, "", "get", "po", "-l", pcAppSelector)
	for _, name := range pcPetNames(0, 2) {
		if !pcHasRow(out, name, "1/1", "Running") {
			t.Errorf("kubectl get po -l app=nginx shows no %s 1/1 Running:\n%s", name, out)
		}
	}
	if got := pcClaimUIDs(t, ns); !maps.Equal(got, claims) {
		t.Errorf("claims after the orphaning delete: %v, want %v", got, claims)
	}

	// Deleting the pods does not delete the volumes, and nothing brings
	// the pods back.
	mark = rec.Len()
	out = pcKubectl(t, ns, "", "delete", "po", "-l", pcAppSelector)
	pcExpectOutput(t, out, `pod "web-0" deleted`, `pod "web-1" deleted`)
	rec.WaitForGone(t, pcPetNames(0, 2)...)
	pcRunOtherSet(t, other, "db", 2)
	for _, e := range pcCreations(pcSince(rec.Events(), mark)) {
		t.Errorf("a deleted orphan was created again: %s", e)
	}
	if after := pcWaitClaimsBound(t, ns, pcClaimNames(0, 2)...); !maps.Equal(after, claims) {
		t.Errorf("claims after deleting the pods: %v, want %v", after, claims)
	}
	if out := pcKubectl(t, ns, "", "get", "pvc", "-l", pcAppSelector); !pcHasRow(out, "www-web-0", "Bound") || !pcHasRow(out, "www-web-1", "Bound") {
		t.Errorf("kubectl get pvc -l app=nginx does not show both claims Bound:\n%s", out)
	}
}

// TestPetSetControllerCascadingDelete follows "Deleting a PetSet": kubectl
// delete petset scales it down to 0, one pet at a time from the highest
// ordinal, before the PetSet disappears; the claims stay.
func TestPetSetControllerCascadingDelete(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 3, true)
	pcWaitPets(t, ns, 3)
	claims := pcWaitClaimsBound(t, ns, pcClaimNames(0, 3)...)
	rec.WaitForSteady(t, pcPetNames(0, 3))

	// Watch the PetSet to know when it disappears.
	setRec := pcRecordSet(t, ns)

	mark := rec.Len()
	pcDeletePetSet(t, ns, setRec)
	rec.WaitForGone(t, pcPetNames(0, 3)...)
	evs := rec.Events()
	pcCheckDeletedInOrder(t, evs, mark, "web-2", "web-1", "web-0")
	pcCheckNoCreations(t, evs, mark)

	// The PetSet was there, being deleted and holding the controller's
	// finalizer, until its last pet was gone.
	deleted := setRec.WaitGone(t, pcSettle)
	var sawFinalizer bool
	for _, e := range setRec.Events() {
		if e.Terminating && slices.Contains(e.Finalizers, "apps.petsets.io/pets") {
			sawFinalizer = true
		}
	}
	if !sawFinalizer {
		t.Errorf("the PetSet was never seen being deleted while holding apps.petsets.io/pets")
	}
	pcCheckDeletedBefore(t, pcSince(evs, mark), deleted)

	if got := pcClaimUIDs(t, ns); !maps.Equal(got, claims) {
		t.Errorf("claims after the cascading delete: %v, want %v", got, claims)
	}
}
