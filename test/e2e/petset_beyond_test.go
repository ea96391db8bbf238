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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
			evs := pcWithoutKwokRace(t, rec.Events(), mark)
			if diff := cmp.Diff([]string{"web-2"}, roDeletedOrder(evs, mark)); diff != "" {
				t.Errorf("pets replaced after the fix (-want +got):\n%s", diff)
			}
			roCheckPets(t, ns, repeat(pcImage, replicas), repeat(good, replicas))
		})
	}
}
