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

// The PetSet controller where a PetSet could stall or collide with other
// objects: a teardown past paused, pending and stuck pets, a scale down past
// broken pets, pet names and claims that are taken, the orphaning delete;
// and the server's refusal of names too long for pets and of the label keys
// the controller owns. Every wait that the controller has to end is bounded,
// so a controller that stalls fails these tests with the state it stalled
// in.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/petsets/petset/test/e2e/framework"
)

const (
	// pcReadyLabel makes kwok take a running pod out of readiness ("false")
	// and bring it back ("true"); see hack/lib/kwok/pod-not-ready.yaml.
	pcReadyLabel = "local-cluster.petsets.io/ready"
	// pcHoldFinalizer keeps a deleted pod terminating until the test
	// removes it.
	pcHoldFinalizer = "e2e.petsets.io/hold"
	// pcNoNodeLabel is a node label no node has: a template selecting it
	// keeps its pets Pending.
	pcNoNodeLabel = "e2e.petsets.io/no-such-node"

	// pcPrompt is how soon a pet is created once its name or claim is
	// free: far below the controller's resync period (10 minutes).
	pcPrompt = 30 * time.Second
)

// pcCreateWeb starts recording the pods of ns, creates the headless Service
// nginx and the guide's PetSet web with the given replicas, changed by
// mutate, and returns the recorder.
func pcCreateWeb(t *testing.T, ns string, replicas int32, mutate func(*appsv1alpha1.PetSet)) *pcRecorder {
	t.Helper()
	rec := pcRecordPods(t, ns)
	pcExpectOutput(t, pcKubectl(t, ns, pcServiceManifest, "create", "-f", "-"), "service/nginx created")
	set := apiWebPetSet(t)
	set.Spec.Replicas = &replicas
	if mutate != nil {
		mutate(set)
	}
	if _, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(context.Background(), set, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating PetSet %s/%s: %v", ns, set.Name, err)
	}
	return rec
}

// pcSetPetReady labels a running pet so that kwok makes it not ready, or
// ready again, and waits until it is.
func pcSetPetReady(t *testing.T, ns, pod string, ready bool) {
	t.Helper()
	out := pcKubectl(t, ns, "", "label", "--overwrite", "pod", pod, fmt.Sprintf("%s=%t", pcReadyLabel, ready))
	pcExpectOutput(t, out, "pod/"+pod+" labeled")
	framework.WaitFor(t, pcSettle, fmt.Sprintf("%s Running with ready=%t", pod, ready), func(ctx context.Context) (bool, string, error) {
		p, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return p.Status.Phase == corev1.PodRunning && pcPodReady(p) == ready,
			fmt.Sprintf("phase %s ready %t", p.Status.Phase, pcPodReady(p)), nil
	})
}

// pcWaitPending waits until the pet exists and cannot be scheduled.
func pcWaitPending(t *testing.T, ns, pod string) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, pod+" Pending and unschedulable", func(ctx context.Context) (bool, string, error) {
		p, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return p.Status.Phase == corev1.PodPending, fmt.Sprintf("phase %s: %s", p.Status.Phase, c.Message), nil
			}
		}
		return false, fmt.Sprintf("phase %s, node %q", p.Status.Phase, p.Spec.NodeName), nil
	})
}

// pcRequestTooMuchCPU makes the pets created from now on ask for more CPU
// than the node has, so that they stay Pending: a change of the template's
// containers, which the controller does not apply to existing pets.
func pcRequestTooMuchCPU(t *testing.T, ns string) {
	t.Helper()
	patch := `[{"op":"add","path":"/spec/template/spec/containers/0/resources","value":{"requests":{"cpu":"100k"}}}]`
	pcExpectOutput(t, pcKubectl(t, ns, "", "patch", "petset", pcSetName, "--type=json", "-p", patch), "petset.apps/web patched")
}

// pcHold puts pcHoldFinalizer on a pod, so that once deleted it stays
// terminating; when the test ends the finalizer is removed from every pod
// of ns that has it.
func pcHold(t *testing.T, ns, pod string) {
	t.Helper()
	t.Cleanup(func() { pcReleaseHeld(t, ns) })
	patch := fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, pcHoldFinalizer)
	if _, err := cluster.Kube.CoreV1().Pods(ns).Patch(context.Background(), pod, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("adding finalizer %s to pod %s/%s: %v", pcHoldFinalizer, ns, pod, err)
	}
}

// pcReleaseHeld removes pcHoldFinalizer from every pod of ns.
func pcReleaseHeld(t *testing.T, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	list, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("listing the pods of %s: %v", ns, err)
		return
	}
	for _, pod := range list.Items {
		if !slices.Contains(pod.Finalizers, pcHoldFinalizer) {
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(pod.Finalizers), func(f string) bool { return f == pcHoldFinalizer })
		patch := fmt.Sprintf(`{"metadata":{"finalizers":%s,"uid":%q}}`, pcJSONStrings(rest), pod.UID)
		_, err := cluster.Kube.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("removing finalizer %s from pod %s/%s: %v", pcHoldFinalizer, ns, pod.Name, err)
		}
	}
}

func pcJSONStrings(ss []string) string {
	quoted := make([]string, 0, len(ss))
	for _, s := range ss {
		quoted = append(quoted, fmt.Sprintf("%q", s))
	}
	return "[" + strings.Join(quoted, ",") + "]"
}

// TestPetSetDeletionFinishesPastPausedAndPendingPets deletes a PetSet whose
// pets cannot make progress: kubectl delete petset still completes, the pets
// going one at a time from the highest ordinal (each instance gone before the
// next deletion starts) before the PetSet itself.
func TestPetSetDeletionFinishesPastPausedAndPendingPets(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup brings PetSet web into the state it is deleted in and
		// returns the pets in the order they must be deleted.
		setup func(t *testing.T, ns string) (*pcRecorder, []string)
	}{
		{
			name: "a paused pet below a running one",
			setup: func(t *testing.T, ns string) (*pcRecorder, []string) {
				rec := pcCreateWeb(t, ns, 2, nil)
				pcWaitPets(t, ns, 2)
				pcAnnotate(t, ns, "web-0", false)
				pcWaitStatus(t, ns, 2, 1)
				return rec, []string{"web-1", "web-0"}
			},
		},
		{
			name: "a pending pet",
			setup: func(t *testing.T, ns string) (*pcRecorder, []string) {
				rec := pcCreateWeb(t, ns, 2, func(set *appsv1alpha1.PetSet) {
					set.Spec.Template.Spec.NodeSelector = map[string]string{pcNoNodeLabel: "true"}
				})
				pcWaitPending(t, ns, "web-0")
				pcWaitStatus(t, ns, 1, 0)
				return rec, []string{"web-0"}
			},
		},
		{
			name: "a pending pet above a paused one",
			setup: func(t *testing.T, ns string) (*pcRecorder, []string) {
				rec := pcCreateWeb(t, ns, 1, nil)
				pcWaitPets(t, ns, 1)
				pcRequestTooMuchCPU(t, ns)
				pcScaleWithPatch(t, ns, 2)
				pcWaitPending(t, ns, "web-1")
				pcAnnotate(t, ns, "web-0", false)
				pcWaitStatus(t, ns, 2, 0)
				return rec, []string{"web-1", "web-0"}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := cluster.CreateNamespace(t)
			rec, order := tc.setup(t, ns)
			setRec := pcRecordSet(t, ns)

			mark := rec.Len()
			pcDeletePetSet(t, ns, setRec)
			deleted := setRec.WaitGone(t, pcSettle)
			rec.WaitWithin(t, pcSettle, fmt.Sprintf("pods %v deleted", order), func(evs []pcPodEvent) string {
				if live := pcReplay(evs); len(live) > 0 {
					return fmt.Sprintf("left: %v", pcNames(slices.Collect(maps.Values(live))))
				}
				return ""
			})
			evs := rec.Events()
			pcCheckDeletedInOrder(t, evs, mark, order...)
			pcCheckNoCreations(t, evs, mark)
			pcCheckDeletedBefore(t, pcSince(evs, mark), deleted)
		})
	}
}

// TestPetSetDeletionGoesOnPastAPetStuckTerminating deletes a PetSet whose
// highest pet never finishes terminating (a finalizer of the test holds it):
// the pet holds the next deletion for its grace period plus the server's
// --terminating-pet-margin, no less, then the teardown goes on, the PetSet
// goes and a PetStuckTerminating warning names the pet.
func TestPetSetDeletionGoesOnPastAPetStuckTerminating(t *testing.T) {
	const grace = 1 // terminationGracePeriodSeconds of the pets
	margin := pcTerminatingPetMargin
	if v, ok := cluster.PetSetFlag("terminating-pet-margin"); !ok || v != margin.String() {
		t.Errorf("petset-apiserver runs without --terminating-pet-margin=%s (flags: %q); expecting that margin anyway", margin, cluster.PetSetArgs)
	}
	ns := cluster.CreateNamespace(t)
	rec := pcCreateWeb(t, ns, 2, func(set *appsv1alpha1.PetSet) {
		set.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](grace)
	})
	pcWaitPets(t, ns, 2)
	rec.WaitForSteady(t, pcPetNames(0, 2))
	pcHold(t, ns, "web-1")
	setRec := pcRecordSet(t, ns)

	mark := rec.Len()
	out, err := pcKubectlErr(ns, pcTimeout, "delete", "petset", pcSetName, "--wait=false")
	if err != nil {
		t.Fatal(err)
	}
	pcExpectOutput(t, out, `petset.apps "web" deleted`)

	// web-1 goes first and stays terminating; web-0's deletion starts once
	// web-1's grace period and the margin have passed.
	bound := time.Duration(grace)*time.Second + margin + 30*time.Second
	rec.WaitWithin(t, bound, "the deletion of web-0 past web-1, stuck terminating", func(evs []pcPodEvent) string {
		starts := pcNames(pcDeletionStarts(pcSince(evs, mark)))
		if !slices.Contains(starts, "web-0") {
			return fmt.Sprintf("deletions started: %v; pods: %s", starts, pcPodStates(ns))
		}
		return ""
	})
	evs := rec.Events()
	starts := pcDeletionStarts(pcSince(evs, mark))
	if got := pcNames(starts); !slices.Equal(got, []string{"web-1", "web-0"}) {
		t.Fatalf("deletions started in the order %v, want web-1 then web-0", got)
	}
	waited := starts[1].At - starts[0].At
	t.Logf("web-0's deletion started %s after web-1's", waited.Round(time.Millisecond))
	if waited < margin-2*time.Second {
		t.Errorf("web-0's deletion started %s after web-1's, before web-1's grace period (%ds) and the margin (%s) had passed", waited.Round(time.Millisecond), grace, margin)
	}
	if e, ok := pcReplay(pcBefore(evs, starts[1].Seq))["web-1"]; !ok || !e.Terminating || e.UID != starts[0].UID {
		t.Errorf("when web-0's deletion started, web-1 was %v, want the held instance terminating", e)
	}

	// The PetSet goes once web-0 is gone, web-1 still held; it warned.
	deleted := setRec.WaitGone(t, pcSettle)
	evs = rec.Events()
	gone, ok := pcFindUID(evs, mark, starts[1].UID, pcIsDeleted)
	if !ok {
		t.Errorf("PetSet %s is gone but web-0 is not: %s", pcSetName, pcPodStates(ns))
	} else {
		pcCheckDeletedBefore(t, []pcPodEvent{gone}, deleted)
	}
	if e, ok := pcReplay(evs)["web-1"]; !ok || !e.Terminating {
		t.Errorf("web-1 is %v, want it still held terminating", e)
	}
	pcWaitSetEvent(t, ns, corev1.EventTypeWarning, "PetStuckTerminating", pcSettle, "web-1")

	// Released, web-1 goes too.
	pcReleaseHeld(t, ns)
	rec.WaitWithin(t, pcSettle, "web-1 gone once released", func(evs []pcPodEvent) string {
		if _, ok := pcFindUID(evs, mark, starts[0].UID, pcIsDeleted); !ok {
			return "web-1 still there: " + pcPodStates(ns)
		}
		return ""
	})
	pcCheckNoCreations(t, rec.Events(), mark)
}

// TestPetSetScaleDownGoesPastBrokenPetsAboveTheNewSize scales a PetSet down
// while pets above the new size are not ready or Pending: they are deleted
// anyway, from the highest ordinal, each once the previous one is gone, and
// the PetSet converges to the new size.
func TestPetSetScaleDownGoesPastBrokenPetsAboveTheNewSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup brings PetSet web into the state it is scaled down in
		// and returns the new size.
		setup func(t *testing.T, ns string) (*pcRecorder, int)
		// order is the order of the deletions.
		order []string
	}{
		{
			name: "two not-ready pets",
			setup: func(t *testing.T, ns string) (*pcRecorder, int) {
				rec := pcCreateWeb(t, ns, 5, nil)
				pcWaitPets(t, ns, 5)
				pcSetPetReady(t, ns, "web-3", false)
				pcSetPetReady(t, ns, "web-4", false)
				pcWaitStatus(t, ns, 5, 3)
				return rec, 2
			},
			order: []string{"web-4", "web-3", "web-2"},
		},
		{
			name: "a pending pet above a not-ready one",
			setup: func(t *testing.T, ns string) (*pcRecorder, int) {
				rec := pcCreateWeb(t, ns, 3, nil)
				pcWaitPets(t, ns, 3)
				pcRequestTooMuchCPU(t, ns)
				pcScaleWithPatch(t, ns, 4)
				pcWaitPending(t, ns, "web-3")
				pcSetPetReady(t, ns, "web-2", false)
				pcWaitStatus(t, ns, 4, 2)
				return rec, 1
			},
			order: []string{"web-3", "web-2", "web-1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := cluster.CreateNamespace(t)
			rec, size := tc.setup(t, ns)

			mark := rec.Len()
			pcScaleWithPatch(t, ns, size)
			rec.WaitWithin(t, pcSettle, fmt.Sprintf("the scale down to %d", size), func(evs []pcPodEvent) string {
				var left []string
				for name := range pcReplay(evs) {
					if pcOrdinal(name) >= size {
						left = append(left, name)
					}
				}
				if len(left) > 0 {
					slices.Sort(left)
					return fmt.Sprintf("still there: %v; pods: %s", left, pcPodStates(ns))
				}
				return ""
			})
			evs := rec.Events()
			pcCheckDeletedInOrder(t, evs, mark, tc.order...)
			pcCheckNoCreations(t, evs, mark)
			pcWaitPets(t, ns, size)
			pcWaitStatus(t, ns, int32(size), int32(size))
		})
	}
}

// TestPetSetScaleDownHaltsOnANotReadyPetInTheNewRange scales a PetSet down
// while a pet that stays is not ready: the controller deletes nothing (it
// has synced the new size with the pet not ready), and goes on once the pet
// is ready again.
func TestPetSetScaleDownHaltsOnANotReadyPetInTheNewRange(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateWeb(t, ns, 4, nil)
	pcWaitPets(t, ns, 4)
	pcSetPetReady(t, ns, "web-1", false)
	pcWaitStatus(t, ns, 4, 3)

	mark := rec.Len()
	pcScaleWithPatch(t, ns, 2)
	pcWaitStatus(t, ns, 4, 3)
	for _, e := range pcDeletionStarts(pcSince(pcSynced(t, ns, rec), mark)) {
		t.Errorf("deleted while web-1 is not ready: %s", e)
	}

	pcSetPetReady(t, ns, "web-1", true)
	rec.WaitWithin(t, pcSettle, "the scale down to 2 once web-1 is ready", func(evs []pcPodEvent) string {
		if live := pcReplay(evs); len(live) != 2 {
			return "pods: " + pcPodStates(ns)
		}
		return ""
	})
	pcCheckDeletedInOrder(t, rec.Events(), mark, "web-3", "web-2")
	pcWaitStatus(t, ns, 2, 2)
}

// TestPetSetNamesAreLimitedTo52Characters creates PetSets with names of 53
// and 52 characters: the first is refused (422, cause metadata.name), since
// its pets' names and hostnames would not fit; the second runs its pets.
func TestPetSetNamesAreLimitedTo52Characters(t *testing.T) {
	for _, tc := range []struct {
		length  int
		refused bool
	}{
		{length: 53, refused: true},
		{length: 52},
	} {
		t.Run(fmt.Sprintf("%d characters", tc.length), func(t *testing.T) {
			ctx := context.Background()
			ns := cluster.CreateNamespace(t)
			set := apiWebPetSet(t)
			set.Name = "web" + strings.Repeat("x", tc.length-3)
			set.Spec.Replicas = ptr.To[int32](1)
			_, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, set, metav1.CreateOptions{})
			if tc.refused {
				pcCheckInvalid(t, err, "metadata.name", "")
				return
			}
			if err != nil {
				t.Fatalf("creating PetSet %s (%d characters): %v", set.Name, len(set.Name), err)
			}
			pet := set.Name + "-0"
			framework.WaitFor(t, pcTimeout, pet+" Running and Ready", func(ctx context.Context) (bool, string, error) {
				pod, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, pet, metav1.GetOptions{})
				if err != nil {
					return false, err.Error(), nil
				}
				return pod.Status.Phase == corev1.PodRunning && pcPodReady(pod) && pod.Spec.Hostname == pet,
					fmt.Sprintf("phase %s ready %t hostname %q", pod.Status.Phase, pcPodReady(pod), pod.Spec.Hostname), nil
			})
		})
	}
}

// pcCheckInvalid checks that err is a 422 Unprocessable Entity with a cause
// whose field is field (when not empty) and whose field or message names
// key (when not empty).
func pcCheckInvalid(t *testing.T, err error, field, key string) {
	t.Helper()
	if err == nil {
		t.Fatalf("created, want 422 Unprocessable Entity")
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != 422 || !apierrors.IsInvalid(err) {
		t.Fatalf("got %v (reason %s), want 422 Unprocessable Entity", err, apierrors.ReasonForError(err))
	}
	var causes []string
	found := false
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			causes = append(causes, fmt.Sprintf("%s: %s", c.Field, c.Message))
			if (field == "" || c.Field == field) && (key == "" || strings.Contains(c.Field+" "+c.Message, key)) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the 422 has causes %q, want one with field %q naming %q (error: %v)", causes, field, key, err)
	}
}

// TestPetSetLabelKeysOfTheControllerAreRefused creates PetSets whose
// selector or template labels use apps.petsets.io/pet-name, which the
// controller sets on every pet: each is refused with 422 naming the key.
func TestPetSetLabelKeysOfTheControllerAreRefused(t *testing.T) {
	key := appsv1alpha1.PetSetPodNameLabel
	app := map[string]string{"app": "nginx"}
	withKey := map[string]string{"app": "nginx", key: "web-0"}
	ns := cluster.CreateNamespace(t)
	for _, tc := range []struct {
		name     string
		selector *metav1.LabelSelector
		labels   map[string]string
	}{
		{
			name:     "selector matchLabels",
			selector: &metav1.LabelSelector{MatchLabels: withKey},
			labels:   withKey,
		},
		{
			name: "selector matchExpressions",
			selector: &metav1.LabelSelector{MatchLabels: app, MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: key, Operator: metav1.LabelSelectorOpDoesNotExist},
			}},
			labels: app,
		},
		{
			name:     "template labels",
			selector: &metav1.LabelSelector{MatchLabels: app},
			labels:   withKey,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := apiWebPetSet(t)
			set.Spec.Selector = tc.selector
			set.Spec.Template.Labels = tc.labels
			_, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(context.Background(), set, metav1.CreateOptions{})
			pcCheckInvalid(t, err, "", key)
		})
	}
}

// TestPetSetReportsATakenPetNameAndCreatesThePetOnceItIsFree runs PetSet web
// next to a pod named web-1 that is not its own: the controller creates
// web-0, reports that web-1 exists with a FailedCreate warning, leaves the
// foreign pod alone, and creates web-1 within seconds of the foreign pod's
// deletion.
func TestPetSetReportsATakenPetNameAndCreatesThePetOnceItIsFree(t *testing.T) {
	ctx := context.Background()
	ns := cluster.CreateNamespace(t)
	foreign, err := cluster.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"app": "foreign"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers:                    []corev1.Container{{Name: "main", Image: pcImage}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the foreign pod web-1: %v", err)
	}
	rec := pcCreateWeb(t, ns, 2, nil)
	rec.WaitFor(t, "web-0 Running and Ready", func(evs []pcPodEvent) string {
		if e, ok := pcReplay(evs)["web-0"]; !ok || !e.healthy() {
			return fmt.Sprintf("web-0: %v", e)
		}
		return ""
	})
	pcWaitSetEvent(t, ns, corev1.EventTypeWarning, "FailedCreate", pcSettle, "web-1", "already exists")

	// The foreign pod is not the PetSet's: untouched.
	got, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, "web-1", metav1.GetOptions{})
	switch {
	case err != nil:
		t.Fatalf("getting the foreign pod: %v", err)
	case got.UID != foreign.UID || got.DeletionTimestamp != nil || len(got.OwnerReferences) != 0 || got.Labels["app"] != "foreign":
		t.Fatalf("the foreign pod web-1 was changed: uid %s (was %s), deletionTimestamp %v, ownerReferences %v, labels %v",
			got.UID, foreign.UID, got.DeletionTimestamp, got.OwnerReferences, got.Labels)
	}

	// Free the name: the pet comes promptly.
	if err := cluster.Kube.CoreV1().Pods(ns).Delete(ctx, "web-1", metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(foreign.UID))}); err != nil {
		t.Fatalf("deleting the foreign pod: %v", err)
	}
	rec.WaitWithin(t, pcPrompt+15*time.Second, "web-1 created by the PetSet", func(evs []pcPodEvent) string {
		for _, e := range pcCreations(evs) {
			if e.Name == "web-1" && e.UID != foreign.UID {
				return ""
			}
		}
		return "pods: " + pcPodStates(ns)
	})
	evs := rec.Events()
	gone, ok := pcFindUID(evs, 0, foreign.UID, pcIsDeleted)
	if !ok {
		t.Fatalf("web-1 was created but the watch never saw the foreign pod go")
	}
	var created pcPodEvent
	for _, e := range pcCreations(evs) {
		if e.Name == "web-1" && e.UID != foreign.UID {
			created = e
			break
		}
	}
	took := created.At - gone.At
	t.Logf("web-1 created %s after the foreign pod was gone", took.Round(time.Millisecond))
	if took > pcPrompt {
		t.Errorf("web-1 was created %s after the foreign pod was gone, want within %s", took.Round(time.Millisecond), pcPrompt)
	}
	pets := pcWaitPets(t, ns, 2)
	if ref := metav1.GetControllerOf(pets["web-1"]); ref == nil || ref.Kind != "PetSet" || ref.Name != pcSetName {
		t.Errorf("web-1 has controller %v, want PetSet %s", ref, pcSetName)
	}
	pcWaitStatus(t, ns, 2, 2)
}

// pcCreateClaim creates a claim as the claim template www would, with the
// given labels.
func pcCreateClaim(t *testing.T, ns, name string, labels map[string]string) *corev1.PersistentVolumeClaim {
	t.Helper()
	claim, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Create(context.Background(), &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating claim %s/%s: %v", ns, name, err)
	}
	return claim
}

// pcCheckClaimLabels checks that the claim carries the labels of the
// PetSet web's claim template www.
func pcCheckClaimLabels(t *testing.T, ns, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	var claim *corev1.PersistentVolumeClaim
	framework.WaitFor(t, pcSettle, "claim "+name+" labelled for PetSet "+pcSetName, func(ctx context.Context) (bool, string, error) {
		var err error
		claim, err = cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		l := claim.Labels
		return l[appsv1alpha1.PetSetClaimSetLabel] == pcSetName && l[appsv1alpha1.PetSetClaimTemplateLabel] == pcClaimTemplate,
			fmt.Sprintf("labels %v", l), nil
	})
	return claim
}

// pcMountedClaim returns the claim the pod mounts as volume www.
func pcMountedClaim(pod *corev1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		if v.Name == pcClaimTemplate && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

// TestPetSetClaimsNeverCollide covers the claims of a PetSet: those it
// creates carry the labels apps.petsets.io/petset and
// apps.petsets.io/claim-template; a claim of the right name without them is
// adopted; a claim of the right name labelled for another PetSet is never
// mounted.
func TestPetSetClaimsNeverCollide(t *testing.T) {
	t.Run("an unlabelled claim is adopted and new claims are labelled", func(t *testing.T) {
		ns := cluster.CreateNamespace(t)
		pre := pcCreateClaim(t, ns, pcClaimName(0), map[string]string{"app": "nginx"})
		pcCreateWeb(t, ns, 2, nil)
		pets := pcWaitPets(t, ns, 2)
		adopted := pcCheckClaimLabels(t, ns, pcClaimName(0))
		if adopted.UID != pre.UID {
			t.Errorf("claim %s was replaced (uid %s, was %s), want the existing claim adopted", pcClaimName(0), adopted.UID, pre.UID)
		}
		pcCheckClaimLabels(t, ns, pcClaimName(1))
		for i, name := range pcPetNames(0, 2) {
			if got := pcMountedClaim(pets[name]); got != pcClaimName(i) {
				t.Errorf("%s mounts claim %q as %s, want %s", name, got, pcClaimTemplate, pcClaimName(i))
			}
		}
	})

	t.Run("a claim of another PetSet is never mounted", func(t *testing.T) {
		ctx := context.Background()
		ns := cluster.CreateNamespace(t)
		pre := pcCreateClaim(t, ns, pcClaimName(0), map[string]string{appsv1alpha1.PetSetClaimSetLabel: "other"})
		rec := pcCreateWeb(t, ns, 1, nil)
		pcWaitSetEvent(t, ns, corev1.EventTypeWarning, "ClaimConflict", pcSettle, pcClaimName(0))

		// The controller has met the claim and refused it: no pet, the
		// claim as it was.
		if created := pcCreations(rec.Events()); len(created) > 0 {
			t.Errorf("pods created next to a claim of another PetSet: %v", created)
		}
		claim, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, pcClaimName(0), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if claim.UID != pre.UID || claim.Labels[appsv1alpha1.PetSetClaimSetLabel] != "other" {
			t.Errorf("claim %s changed: uid %s (was %s), labels %v", claim.Name, claim.UID, pre.UID, claim.Labels)
		}

		// Without it, web-0 comes, with a claim of its own.
		mark := rec.Len()
		if err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, pcClaimName(0), metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting claim %s: %v", pcClaimName(0), err)
		}
		rec.WaitWithin(t, pcSettle, "web-0 created once the claim is gone", func(evs []pcPodEvent) string {
			if len(pcCreations(pcSince(evs, mark))) == 0 {
				return "pods: " + pcPodStates(ns)
			}
			return ""
		})
		pets := pcWaitPets(t, ns, 1)
		own := pcCheckClaimLabels(t, ns, pcClaimName(0))
		if own.UID == pre.UID {
			t.Errorf("web-0 mounts the other PetSet's claim %s", own.Name)
		}
		if got := pcMountedClaim(pets["web-0"]); got != pcClaimName(0) {
			t.Errorf("web-0 mounts claim %q, want %s", got, pcClaimName(0))
		}
	})
}

// TestPetSetOrphaningDeleteKeepsEveryPetRunning deletes a PetSet with
// --cascade=orphan while one of its pets is not ready: every pet keeps
// running, with no deletionTimestamp and no reference to the PetSet, and
// stays so once the controller has moved on (another PetSet of the
// namespace runs).
func TestPetSetOrphaningDeleteKeepsEveryPetRunning(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateWeb(t, ns, 3, nil)
	pets := pcWaitPets(t, ns, 3)
	pcSetPetReady(t, ns, "web-2", false)
	pcWaitStatus(t, ns, 3, 2)
	set := pcGetSet(t, ns)
	setRec := pcRecordSet(t, ns)

	mark := rec.Len()
	pcDeletePetSet(t, ns, setRec, "--cascade=orphan")
	setRec.WaitGone(t, pcSettle)
	framework.WaitFor(t, pcSettle, "the pets released", func(ctx context.Context) (bool, string, error) {
		list, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: pcAppSelector})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, pod := range list.Items {
			for _, ref := range pod.OwnerReferences {
				if ref.UID == set.UID {
					return false, fmt.Sprintf("%s still refers to the PetSet", pod.Name), nil
				}
			}
		}
		return true, "", nil
	})

	// The controller runs another PetSet of the namespace: it has moved
	// on, and left the orphans alone.
	pcRunOtherSet(t, ns, "db", 1)
	list, err := cluster.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: pcAppSelector})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Errorf("%d pods left of web, want 3: %s", len(list.Items), pcPodStates(ns))
	}
	for _, pod := range list.Items {
		switch old, ok := pets[pod.Name]; {
		case !ok || old.UID != pod.UID:
			t.Errorf("%s (uid %s) is not one of the orphaned pets", pod.Name, pod.UID)
		case pod.DeletionTimestamp != nil:
			t.Errorf("%s is being deleted", pod.Name)
		case len(pod.OwnerReferences) != 0:
			t.Errorf("%s has ownerReferences %v", pod.Name, pod.OwnerReferences)
		case pod.Status.Phase != corev1.PodRunning:
			t.Errorf("%s is %s, want Running", pod.Name, pod.Status.Phase)
		}
	}
	for _, e := range pcSince(rec.Events(), mark) {
		if pcOrdinal(e.Name) >= 0 && (e.Type == watch.Added || e.Type == watch.Deleted || e.Terminating) {
			t.Errorf("after the orphaning delete: %s", e)
		}
	}
}
