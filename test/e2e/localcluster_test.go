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

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/petsets/petset/test/e2e/framework"
)

// lcWaitPodReady waits until pod name of ns reports Ready=want.
func lcWaitPodReady(t testing.TB, ns, name string, want bool, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	framework.WaitFor(t, timeout, fmt.Sprintf("pod %s Ready=%t", name, want), func(ctx context.Context) (bool, string, error) {
		var err error
		pod, err = cluster.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return pod.Status.Phase == corev1.PodRunning && pcPodReady(pod) == want, fmt.Sprintf("phase %s, conditions %v", pod.Status.Phase, pod.Status.Conditions), nil
	})
	return pod
}

// TestKwokMakesPodsReadyAgainThatTheNodeLifecycleControllerMarkedNotReady
// does to a running pod what kube-controller-manager's node lifecycle
// controller does to the pods of a node whose lease lapsed (MarkPodsNotReady:
// the Ready condition alone turns False): the local cluster's kwok stage
// pod-ready-node-back makes it ready again, as a kubelet would. A pod taken
// out of readiness on purpose (label local-cluster.petsets.io/ready=false)
// stays not ready.
func TestKwokMakesPodsReadyAgainThatTheNodeLifecycleControllerMarkedNotReady(t *testing.T) {
	ctx := context.Background()
	ns := cluster.CreateNamespace(t)
	pods := cluster.Kube.CoreV1().Pods(ns)
	for _, tc := range []struct {
		name   string
		labels map[string]string
	}{
		{name: "marked-by-the-node-controller"},
		{name: "unready-on-purpose", labels: map[string]string{pcReadyLabel: "false"}},
	} {
		if _, err := pods.Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: tc.name, Labels: tc.labels},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](0),
				Containers:                    []corev1.Container{{Name: "main", Image: pcImage}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", tc.name, err)
		}
	}
	pod := lcWaitPodReady(t, ns, "marked-by-the-node-controller", true, time.Minute)
	lcWaitPodReady(t, ns, "unready-on-purpose", false, time.Minute)

	// As MarkPodsNotReady does: only the Ready condition turns False.
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			pod.Status.Conditions[i].Status = corev1.ConditionFalse
			pod.Status.Conditions[i].LastTransitionTime = metav1.Now()
		}
	}
	if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("marking pod %s not ready: %v", pod.Name, err)
	}
	start := time.Now()
	lcWaitPodReady(t, ns, pod.Name, true, 30*time.Second)
	t.Logf("pod %s ready again %s after it was marked not ready", pod.Name, time.Since(start).Round(time.Millisecond))

	got, err := pods.Get(ctx, "unready-on-purpose", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pcPodReady(got) {
		t.Errorf("pod unready-on-purpose, labelled %s=false, turned ready: %v", pcReadyLabel, got.Status.Conditions)
	}
}
