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

// What PetSets do beyond StatefulSets, on the local cluster.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/petsets/petset/test/e2e/framework"
)

// TestPetSetRolloutRecoversOnceTheTemplateIsFixed rolls 3 pets out to a
// template whose pets never become ready (kwok keeps them Pending for an
// hour), then fixes the template. With unhealthyPodPolicy Wait, apps/v1's
// behaviour, the broken pet stays: the controller's sync of the fix deletes
// nothing. With ReplaceOldRevision it is replaced at once and the rollout
// completes.
func TestPetSetRolloutRecoversOnceTheTemplateIsFixed(t *testing.T) {
	for _, policy := range []appsv1alpha1.UnhealthyPodPolicyType{appsv1alpha1.WaitUnhealthyPodPolicy, appsv1alpha1.ReplaceOldRevisionUnhealthyPodPolicy} {
		t.Run(string(policy), func(t *testing.T) {
			ns := cluster.CreateNamespace(t)
			const replicas = 3
			rec := roCreate(t, ns, replicas, fmt.Sprintf("{type: RollingUpdate, rollingUpdate: {unhealthyPodPolicy: %s}}", policy), "")
			rec.WaitForSteady(t, pcPetNames(0, replicas))
			good := roWaitRolledOut(t, ns, replicas).Status.UpdateRevision

			roPatch(t, ns, fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:"1h"}}}}}`, roReadyDelayAnnotation))
			broken := roWaitStatus(t, ns, "web-2 replaced by a pet that never becomes ready", func(s appsv1alpha1.PetSetStatus) string {
				if s.UpdatedReplicas != 1 || s.ReadyReplicas != replicas-1 || s.Replicas != replicas {
					return "want web-2 at the broken revision, not ready"
				}
				return ""
			}).Status.UpdateRevision

			mark := rec.Len()
			fixed := time.Now()
			roPatch(t, ns, fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:null}}}}}`, roReadyDelayAnnotation))
			if policy == appsv1alpha1.WaitUnhealthyPodPolicy {
				evs := pcSynced(t, ns, rec)
				pcCheckNoDeletions(t, evs, mark)
				set := roWaitStatus(t, ns, "the fixed template's revision in status", func(s appsv1alpha1.PetSetStatus) string {
					if s.UpdateRevision != good {
						return "want the first revision back as the update revision"
					}
					return ""
				})
				if set.Status.ReadyReplicas != replicas-1 {
					t.Errorf("with %s, %d pets ready after the fix, want %d: the broken pet stays", policy, set.Status.ReadyReplicas, replicas-1)
				}
				pod, err := cluster.Kube.CoreV1().Pods(ns).Get(context.Background(), "web-2", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := pod.Labels[appsv1alpha1.ControllerRevisionHashLabel]; got != broken || pcPodReady(pod) {
					t.Errorf("with %s, web-2 runs revision %s (ready %t) after the fix, want the broken pet (revision %s) left as it is",
						policy, got, pcPodReady(pod), broken)
				}
				return
			}
			set := roWaitRolledOut(t, ns, replicas)
			t.Logf("the rollout completed %s after the fix", time.Since(fixed).Round(time.Millisecond))
			if set.Status.UpdateRevision != good {
				t.Errorf("update revision %s after the fix, want the first revision %s", set.Status.UpdateRevision, good)
			}
			evs := rec.Events()
			if diff := cmp.Diff([]string{"web-2"}, roDeletedOrder(evs, mark)); diff != "" {
				t.Errorf("pets replaced after the fix (-want +got):\n%s", diff)
			}
			roCheckPets(t, ns, repeat(pcImage, replicas), repeat(good, replicas))
		})
	}
}

// TestPetSetEvictionRespectsDisruptionBudgets rolls 3 pets out with
// maxUnavailable 2 under a PodDisruptionBudget of minAvailable 2, each new
// pet taking 2 seconds to become ready. Deleting (the default) breaks the
// budget: 2 pets unavailable at once. Evicting never has more than one
// unavailable, reports the budget that blocks, and completes.
func TestPetSetEvictionRespectsDisruptionBudgets(t *testing.T) {
	for _, tc := range []struct {
		policy          appsv1alpha1.PodRemovalPolicyType
		wantUnavailable int
	}{
		{appsv1alpha1.DeletePodRemovalPolicy, 2},
		{appsv1alpha1.EvictPodRemovalPolicy, 1},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			ns := cluster.CreateNamespace(t)
			const replicas = 3
			ctx := context.Background()
			pdb := &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Name: "web-pdb"},
				Spec: policyv1.PodDisruptionBudgetSpec{
					MinAvailable: new(intstr.FromInt32(replicas - 1)),
					Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
				},
			}
			if _, err := cluster.Kube.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
				t.Fatalf("creating the PodDisruptionBudget: %v", err)
			}
			rec := roCreateSpec(t, ns, replicas, "2s",
				"updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 2}}",
				"podRemovalPolicy: "+string(tc.policy))
			rec.WaitForSteady(t, pcPetNames(0, replicas))
			roWaitRolledOut(t, ns, replicas)
			framework.WaitFor(t, pcTimeout, "the budget to count the pets", func(ctx context.Context) (bool, string, error) {
				got, err := cluster.Kube.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, pdb.Name, metav1.GetOptions{})
				if err != nil {
					return false, err.Error(), nil
				}
				s := got.Status
				return s.ObservedGeneration == got.Generation && s.CurrentHealthy == replicas && s.DisruptionsAllowed == 1, fmt.Sprintf("status %+v", s), nil
			})

			setRec := pcRecordSet(t, ns)
			mark := rec.Len()
			roSetImage(t, ns, pcNewImage)
			set := roWaitRolledOut(t, ns, replicas)
			rec.WaitForSteady(t, pcPetNames(0, replicas))
			evs := rec.Events()
			if most, at := roUnavailable(evs, mark, replicas); most != tc.wantUnavailable {
				t.Errorf("with %s, at most %d pets were unavailable at once (first at %s), want %d", tc.policy, most, at, tc.wantUnavailable)
			}
			roCheckPets(t, ns, repeat(pcNewImage, replicas), repeat(set.Status.UpdateRevision, replicas))
			blocked := ""
			for _, e := range setRec.Events() {
				if c := meta.FindStatusCondition(e.Conditions, appsv1alpha1.PetSetPodRemovalBlocked); c != nil && c.Status == metav1.ConditionTrue {
					blocked = c.Message
				}
			}
			if tc.policy == appsv1alpha1.EvictPodRemovalPolicy {
				beWaitWarning(t, ns, "EvictionBlocked", "web-pdb")
				if !strings.Contains(blocked, "web-pdb") {
					t.Errorf("the PetSet never showed %s=True naming web-pdb (last message %q)", appsv1alpha1.PetSetPodRemovalBlocked, blocked)
				}
				if c := meta.FindStatusCondition(set.Status.Conditions, appsv1alpha1.PetSetPodRemovalBlocked); c == nil || c.Status != metav1.ConditionFalse {
					t.Errorf("after the rollout %s is %+v, want False", appsv1alpha1.PetSetPodRemovalBlocked, c)
				}
			} else if blocked != "" || meta.FindStatusCondition(set.Status.Conditions, appsv1alpha1.PetSetPodRemovalBlocked) != nil {
				t.Errorf("under Delete the PetSet has a %s condition", appsv1alpha1.PetSetPodRemovalBlocked)
			}
		})
	}
}

// beWaitWarning waits for a Warning event of PetSet web with reason whose
// message holds text.
func beWaitWarning(t testing.TB, ns, reason, text string) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("a %s event naming %q", reason, text), func(ctx context.Context) (bool, string, error) {
		list, err := cluster.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		var seen []string
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == "PetSet" && ev.InvolvedObject.Name == pcSetName && ev.Type == corev1.EventTypeWarning {
				if ev.Reason == reason && strings.Contains(ev.Message, text) {
					return true, "", nil
				}
				seen = append(seen, ev.Reason+": "+ev.Message)
			}
		}
		return false, fmt.Sprintf("Warning events seen: %q", seen), nil
	})
}

// beClaimEvent is a change of a claim's storage request or capacity, as a
// watch saw it.
type beClaimEvent struct {
	name              string
	request, capacity string
}

// beRecordClaims records, from now until the test ends, every change of the
// storage request or capacity of the claims of ns, and returns a function
// that returns what it recorded so far.
func beRecordClaims(t testing.TB, ns string) func() []beClaimEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	list, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("listing the claims of %s: %v", ns, err)
	}
	w, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		cancel()
		t.Fatalf("watching the claims of %s: %v", ns, err)
	}
	var mu sync.Mutex
	var events []beClaimEvent
	last := map[string]beClaimEvent{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			claim, ok := ev.Object.(*corev1.PersistentVolumeClaim)
			if !ok {
				continue
			}
			request, capacity := claim.Spec.Resources.Requests[corev1.ResourceStorage], claim.Status.Capacity[corev1.ResourceStorage]
			e := beClaimEvent{name: claim.Name, request: request.String(), capacity: capacity.String()}
			mu.Lock()
			if last[claim.Name] != e {
				last[claim.Name] = e
				events = append(events, e)
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		w.Stop()
		<-done
	})
	return func() []beClaimEvent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(events)
	}
}

// beWaitClaimStatus waits until status.volumeClaimTemplates reports want.
func beWaitClaimStatus(t testing.TB, ns string, want ...appsv1alpha1.PetSetVolumeClaimTemplateStatus) *appsv1alpha1.PetSet {
	t.Helper()
	return roWaitStatus(t, ns, fmt.Sprintf("status.volumeClaimTemplates %+v", want), func(s appsv1alpha1.PetSetStatus) string {
		if diff := cmp.Diff(want, s.VolumeClaimTemplates); diff != "" {
			return "(-want +got) " + diff
		}
		return ""
	})
}

// TestPetSetClaimTemplateGrowsInPlace grows the claim template of a PetSet
// of 3 pets from 1Gi to 2Gi under volumeClaimUpdatePolicy InPlace: every
// claim is expanded, the highest ordinal first, each once the previous one
// has its new capacity, and the status counts the claims at size. A shrink
// is refused with a 422 naming the request. Under a StorageClass that does
// not allow expansion the expansion is refused and reported; switching to
// OnClaimDelete then gives the new size to new claims only.
func TestPetSetClaimTemplateGrowsInPlace(t *testing.T) {
	const replicas = 3
	grow := `[{"op":"replace","path":"/spec/volumeClaimTemplates/0/spec/resources/requests/storage","value":"2Gi"}]`

	t.Run("expandable", func(t *testing.T) {
		ns := cluster.CreateNamespace(t)
		rec := roCreateSpec(t, ns, replicas, "", "volumeClaimUpdatePolicy: InPlace", "updateStrategy: {type: RollingUpdate}")
		rec.WaitForSteady(t, pcPetNames(0, replicas))
		pcWaitClaimsBound(t, ns, pcClaimNames(0, replicas)...)
		beWaitClaimStatus(t, ns, appsv1alpha1.PetSetVolumeClaimTemplateStatus{TemplateName: pcClaimTemplate, Claims: replicas, ClaimsAtSize: replicas})
		first := roWaitRolledOut(t, ns, replicas).Status.UpdateRevision
		claims := beRecordClaims(t, ns)

		mark := rec.Len()
		pcExpectOutput(t, pcKubectl(t, ns, "", "patch", "petset", pcSetName, "--type=json", "-p", grow), "petset.apps/web patched")
		beWaitClaimStatus(t, ns, appsv1alpha1.PetSetVolumeClaimTemplateStatus{TemplateName: pcClaimTemplate, Claims: replicas, ClaimsAtSize: replicas})
		// The claim templates are part of the revision under InPlace: a new
		// revision, reached by relabelling the pets in place, none replaced.
		if second := roWaitRolledOut(t, ns, replicas).Status.UpdateRevision; second == first {
			t.Errorf("growing the claim template kept revision %s", first)
		}
		pcCheckNoDeletions(t, pcSynced(t, ns, rec), mark)
		// Each claim's request grew after the previous one's capacity did.
		var order []string
		resized := map[string]bool{}
		for _, e := range claims() {
			if e.request == "2Gi" && !slices.Contains(order, e.name) {
				if n := len(order); n > 0 && !resized[order[n-1]] {
					t.Errorf("%s was expanded before %s had its new capacity", e.name, order[n-1])
				}
				order = append(order, e.name)
			}
			if e.capacity == "2Gi" {
				resized[e.name] = true
			}
		}
		if diff := cmp.Diff(roReversed(pcClaimNames(0, replicas)), order); diff != "" {
			t.Errorf("claims expanded (-want +got):\n%s", diff)
		}
		pcWaitEvents(t, ns, "ExpandingClaim", "Expanding Claim www-web-2 from 1Gi to 2Gi", "Expanding Claim www-web-0 from 1Gi to 2Gi")
		beWaitCondition(t, ns, appsv1alpha1.PetSetClaimsExpanded, metav1.ConditionTrue, "AllClaimsAtSize")

		shrink := `[{"op":"replace","path":"/spec/volumeClaimTemplates/0/spec/resources/requests/storage","value":"1Gi"}]`
		out, err := pcKubectlErr(ns, pcSettle, "patch", "petset", pcSetName, "--type=json", "-p", shrink)
		if err == nil || !strings.Contains(out+err.Error(), "spec.volumeClaimTemplates[0].spec.resources.requests[storage]: Forbidden") {
			t.Errorf("shrinking the claim template: %v, output %q; want a 422 naming spec.volumeClaimTemplates[0].spec.resources.requests[storage]", err, out)
		}
	})

	t.Run("not expandable", func(t *testing.T) {
		ns := cluster.CreateNamespace(t)
		manifest := pcGuideManifest(t, replicas, true)
		manifest = pcReplaceOnce(t, manifest, `      accessModes: [ "ReadWriteOnce" ]`, `      accessModes: [ "ReadWriteOnce" ]
      storageClassName: kwok-fixed`)
		manifest = pcReplaceOnce(t, manifest, fmt.Sprintf("  replicas: %d\n", replicas), fmt.Sprintf("  replicas: %d\n  volumeClaimUpdatePolicy: InPlace\n", replicas))
		rec := pcRecordPods(t, ns)
		pcExpectOutput(t, pcKubectl(t, ns, manifest, "create", "-f", "-"), "petset.apps/web created")
		rec.WaitForSteady(t, pcPetNames(0, replicas))
		pcWaitClaimsBound(t, ns, pcClaimNames(0, replicas)...)

		pcExpectOutput(t, pcKubectl(t, ns, "", "patch", "petset", pcSetName, "--type=json", "-p", grow), "petset.apps/web patched")
		beWaitWarning(t, ns, "ClaimExpansionFailed", "www-web-2")
		beWaitClaimStatus(t, ns, appsv1alpha1.PetSetVolumeClaimTemplateStatus{TemplateName: pcClaimTemplate, Claims: replicas, ClaimsAtSize: 0})
		beWaitCondition(t, ns, appsv1alpha1.PetSetClaimsExpanded, metav1.ConditionFalse, "ExpansionFailed")

		roPatch(t, ns, fmt.Sprintf(`{"spec":{"volumeClaimUpdatePolicy":"OnClaimDelete","replicas":%d}}`, replicas+1))
		pcWaitStatus(t, ns, replicas+1, replicas+1)
		for ordinal := range replicas + 1 {
			claim, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), pcClaimName(ordinal), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := "1Gi"
			if ordinal == replicas {
				want = "2Gi"
			}
			if got := claim.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != want {
				t.Errorf("claim %s requests %s, want %s", claim.Name, got.String(), want)
			}
		}
		if s := pcGetSet(t, ns).Status.VolumeClaimTemplates; s != nil {
			t.Errorf("status.volumeClaimTemplates %+v under OnClaimDelete, want none", s)
		}
	})
}

// TestPetSetProgressDeadline rolls 3 pets out to a template whose pets never
// become ready, with progressDeadlineSeconds 10: the Progressing condition
// is True (RolloutInProgress) during the rollout, turns False with reason
// ProgressDeadlineExceeded once 10 seconds passed without progress, which
// kubectl wait sees, and nothing is deleted for it; fixing the template
// brings it back to True and the rollout completes (RolloutComplete).
func TestPetSetProgressDeadline(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	const replicas = 3
	rec := roCreateSpec(t, ns, replicas, "", "updateStrategy: {type: RollingUpdate}", "progressDeadlineSeconds: 10")
	rec.WaitForSteady(t, pcPetNames(0, replicas))
	roWaitRolledOut(t, ns, replicas)
	beWaitProgressing(t, ns, metav1.ConditionTrue, "RolloutComplete")

	roPatch(t, ns, fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:"1h"}}}}}`, roReadyDelayAnnotation))
	beWaitProgressing(t, ns, metav1.ConditionTrue, "RolloutInProgress")
	mark := rec.Len()
	out, err := pcKubectlErr(ns, 2*time.Minute, "wait", "petset/"+pcSetName, "--for=condition=Progressing=False", "--timeout=90s")
	if err != nil {
		t.Fatalf("kubectl wait --for=condition=Progressing=False: %v\n%s", err, out)
	}
	set := beWaitProgressing(t, ns, metav1.ConditionFalse, "ProgressDeadlineExceeded")
	c := meta.FindStatusCondition(set.Status.Conditions, appsv1alpha1.PetSetProgressing)
	t.Logf("Progressing: %s %s: %s", c.Status, c.Reason, c.Message)
	pcCheckNoDeletions(t, pcSynced(t, ns, rec), mark)
	// kubectl petset rollout status fails, as kubectl rollout status
	// deployment does.
	stdout, stderr, err := plBuild(t).run(t, ns, time.Minute, "status", pcSetName, "--timeout=30s")
	if err == nil || !strings.Contains(stderr, `petset "web" exceeded its progress deadline`) {
		t.Errorf("kubectl petset rollout status past the deadline: %v\n%s%s; want a failure saying the deadline was exceeded", err, stdout, stderr)
	}

	roPatch(t, ns, fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:null}}}}}`, roReadyDelayAnnotation))
	// web-2 runs the broken revision and waits (unhealthyPodPolicy Wait):
	// replace it by hand, as apps/v1 users do.
	pcExpectOutput(t, pcKubectl(t, ns, "", "delete", "pod", "web-2"), `pod "web-2" deleted`)
	roWaitRolledOut(t, ns, replicas)
	beWaitProgressing(t, ns, metav1.ConditionTrue, "RolloutComplete")
}

// beWaitProgressing waits until PetSet web's Progressing condition has
// status and reason, and returns the PetSet.
func beWaitProgressing(t testing.TB, ns string, status metav1.ConditionStatus, reason string) *appsv1alpha1.PetSet {
	t.Helper()
	return beWaitCondition(t, ns, appsv1alpha1.PetSetProgressing, status, reason)
}

// beWaitCondition waits until PetSet web's condition of conditionType has
// status and reason, and returns the PetSet.
func beWaitCondition(t testing.TB, ns, conditionType string, status metav1.ConditionStatus, reason string) *appsv1alpha1.PetSet {
	t.Helper()
	return roWaitStatus(t, ns, fmt.Sprintf("%s=%s %s", conditionType, status, reason), func(s appsv1alpha1.PetSetStatus) string {
		c := meta.FindStatusCondition(s.Conditions, conditionType)
		if c == nil || c.Status != status || c.Reason != reason {
			return fmt.Sprintf("%s is %+v", conditionType, c)
		}
		return ""
	})
}
