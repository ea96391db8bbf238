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

// The apps/v1 StatefulSet fields on the local cluster: ordinals.start and
// the pod-index label, Parallel pet management, minReadySeconds with
// availableReplicas and the Available condition.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/petsets/petset/test/e2e/framework"
)

// parityWaitPods waits until the pods of ns with the example's labels are
// exactly names (in any state) and returns them by name.
func parityWaitPods(t *testing.T, ns string, names ...string) map[string]*corev1.Pod {
	t.Helper()
	want := slices.Sorted(slices.Values(names))
	var pods map[string]*corev1.Pod
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("pods %v", want), func(ctx context.Context) (bool, string, error) {
		list, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: pcAppSelector})
		if err != nil {
			return false, err.Error(), nil
		}
		pods = map[string]*corev1.Pod{}
		var got []string
		for i := range list.Items {
			pod := &list.Items[i]
			pods[pod.Name] = pod
			got = append(got, pod.Name)
		}
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprintf("pods %v", got), nil
	})
	return pods
}

func TestPetSetParityStartOrdinalAndPodIndex(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	rec := pcCreateWeb(t, ns, 2, func(set *appsv1alpha1.PetSet) {
		set.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: 5}
	})
	rec.WaitForSteady(t, []string{"web-5", "web-6"})
	pcWaitClaimsBound(t, ns, "www-web-5", "www-web-6")
	pods := parityWaitPods(t, ns, "web-5", "web-6")
	for name, pod := range pods {
		ordinal := strings.TrimPrefix(name, "web-")
		if got := pod.Labels[appsv1alpha1.PodIndexLabel]; got != ordinal {
			t.Errorf("pod %s has %s=%q, want %q", name, appsv1alpha1.PodIndexLabel, got, ordinal)
		}
		if pod.Spec.Hostname != name {
			t.Errorf("pod %s has hostname %q", name, pod.Spec.Hostname)
		}
	}
	out := pcKubectl(t, ns, "", "get", "pods", "-l", appsv1alpha1.PodIndexLabel+"=6", "-o", "name")
	if strings.TrimSpace(out) != "pod/web-6" {
		t.Errorf("kubectl get pods -l %s=6 printed %q, want pod/web-6", appsv1alpha1.PodIndexLabel, out)
	}

	// Moving the start to 3 creates web-3 and web-4 in order, then removes
	// web-6 and web-5; their claims stay.
	pcKubectl(t, ns, "", "patch", "petset", pcSetName, "--type=merge", "-p", `{"spec":{"ordinals":{"start":3}}}`)
	rec.WaitForGone(t, "web-5", "web-6")
	rec.WaitForSteady(t, []string{"web-3", "web-4"})
	evs := rec.Events()
	pcCheckCreatedInOrder(t, evs, 0, "web-5", "web-6", "web-3", "web-4")
	pcCheckDeletedInOrder(t, evs, 0, "web-6", "web-5")
	pcWaitStatus(t, ns, 2, 2)
	pcWaitClaimsBound(t, ns, "www-web-3", "www-web-4", "www-web-5", "www-web-6")
}

func TestPetSetParityParallel(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	// The pets select a node that does not exist: they stay Pending, and
	// none is ever Ready.
	rec := pcCreateWeb(t, ns, 0, func(set *appsv1alpha1.PetSet) {
		set.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement
		set.Spec.Template.Spec.NodeSelector = map[string]string{pcNoNodeLabel: "true"}
	})
	pcKubectl(t, ns, "", "scale", "petset", pcSetName, "--replicas=10")
	names := pcPetNames(0, 10)
	parityWaitPods(t, ns, names...)
	set := pcWaitStatus(t, ns, 10, 0)
	if set.Status.AvailableReplicas != 0 {
		t.Errorf("availableReplicas %d with no pet Ready", set.Status.AvailableReplicas)
	}
	for _, e := range rec.Events() {
		if e.Ready {
			t.Errorf("a pet is Ready: %s", e)
		}
	}

	// Immutable once created: 422 naming the field.
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	out, err := cluster.Kubectl(ctx, "", "--namespace", ns, "patch", "petset", pcSetName, "--type=merge",
		"-p", `{"spec":{"podManagementPolicy":"OrderedReady"}}`)
	if err == nil || !strings.Contains(out+err.Error(), "spec.podManagementPolicy: Forbidden") {
		t.Errorf("changing podManagementPolicy: %v %s, want spec.podManagementPolicy: Forbidden", err, out)
	}

	// Deleting the PetSet deletes every pet, none waiting for another.
	start := rec.Len()
	pcKubectl(t, ns, "", "delete", "petset", pcSetName, "--wait=false")
	rec.WaitForGone(t, names...)
	if got := len(pcDeletionStarts(pcSince(rec.Events(), start))); got == 0 {
		t.Errorf("no deletions seen")
	}
	framework.WaitFor(t, pcSettle, "PetSet gone", func(ctx context.Context) (bool, string, error) {
		_, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, pcSetName, metav1.GetOptions{})
		return err != nil, fmt.Sprint(err), nil
	})
}

func TestPetSetParityMinReadySecondsAndAvailable(t *testing.T) {
	const minReady = 5
	ns := cluster.CreateNamespace(t)
	rec := pcCreateWeb(t, ns, 2, func(set *appsv1alpha1.PetSet) {
		set.Spec.MinReadySeconds = minReady
	})
	// availableReplicas lags readyReplicas while web-0 is Ready for less
	// than minReadySeconds.
	framework.WaitFor(t, pcTimeout, "web-0 Ready but not available", func(ctx context.Context) (bool, string, error) {
		set, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, pcSetName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		s := set.Status
		return s.ReadyReplicas == 1 && s.AvailableReplicas == 0, fmt.Sprintf("%+v", s), nil
	})
	pcKubectl(t, ns, "", "wait", "petset/"+pcSetName, "--for=condition=Available", "--timeout=2m")
	rec.WaitForSteady(t, pcPetNames(0, 2))
	set := pcWaitStatus(t, ns, 2, 2)
	if set.Status.AvailableReplicas != 2 {
		t.Errorf("availableReplicas %d once Available, want 2", set.Status.AvailableReplicas)
	}

	// web-1 was created at least minReadySeconds after web-0 became Ready
	// (both server timestamps, in whole seconds).
	pods := parityWaitPods(t, ns, "web-0", "web-1")
	var readyAt time.Time
	for _, c := range pods["web-0"].Status.Conditions {
		if c.Type == corev1.PodReady {
			readyAt = c.LastTransitionTime.Time
		}
	}
	if gap := pods["web-1"].CreationTimestamp.Sub(readyAt); readyAt.IsZero() || gap < minReady*time.Second {
		t.Errorf("web-1 created %v after web-0 became Ready (at %v), want at least %ds", gap, readyAt, minReady)
	}

	// The condition is in kubectl get -o yaml.
	out := pcKubectl(t, ns, "", "get", "petset", pcSetName, "-o", "yaml")
	pcExpectOutput(t, out, "type: Available", `status: "True"`, "reason: MinimumPetsAvailable", "availableReplicas: 2")

	// A pet out of readiness makes the PetSet unavailable.
	pcKubectl(t, ns, "", "label", "pod", "web-1", pcReadyLabel+"=false")
	pcKubectl(t, ns, "", "wait", "petset/"+pcSetName, "--for=condition=Available=false", "--timeout=2m")
	set = pcGetSet(t, ns)
	if got := set.Status.AvailableReplicas; got != 1 {
		t.Errorf("availableReplicas %d with web-1 unready, want 1", got)
	}
}
