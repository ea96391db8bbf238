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
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/petsets/petset/test/e2e/framework"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
)

// nsCreate creates a namespace that the test itself deletes (unlike
// cluster.CreateNamespace's, whose cleanup would find it gone); the
// cleanup only deletes it, and drops the finalizers the test put on it,
// when it is still there.
func nsCreate(t *testing.T, prefix string, finalizers ...string) string {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-" + rand.String(5), Finalizers: finalizers}}
	if _, err := cluster.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if len(finalizers) > 0 {
			patch := []byte(`{"metadata":{"finalizers":null}}`)
			if _, err := cluster.Kube.CoreV1().Namespaces().Patch(ctx, ns.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing the finalizers of namespace %s: %v", ns.Name, err)
			}
		}
		if err := cluster.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// nsDeletionState describes a namespace being deleted: its phase, the
// conditions of the namespace controller that report trouble and what is
// left in it.
func nsDeletionState(ctx context.Context, name string) string {
	var b strings.Builder
	ns, err := cluster.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	b.WriteString(fmt.Sprintf("phase %s, finalizers %v %v", ns.Status.Phase, ns.Spec.Finalizers, ns.Finalizers))
	for _, c := range ns.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			b.WriteString(fmt.Sprintf("; %s: %s", c.Type, c.Message))
		}
	}
	if list, err := cluster.PetSets.AppsV1alpha1().PetSets(name).List(ctx, metav1.ListOptions{}); err == nil {
		b.WriteString(fmt.Sprintf("; %d PetSets", len(list.Items)))
	}
	if list, err := cluster.Kube.CoreV1().Pods(name).List(ctx, metav1.ListOptions{}); err == nil {
		b.WriteString(fmt.Sprintf("; %d pods", len(list.Items)))
	}
	if list, err := cluster.Kube.CoreV1().PersistentVolumeClaims(name).List(ctx, metav1.ListOptions{}); err == nil {
		b.WriteString(fmt.Sprintf("; %d claims", len(list.Items)))
	}
	return b.String()
}

func TestNamespaceDeletionRemovesRunningPetSetsAndTheNamespace(t *testing.T) {
	ctx := context.Background()
	ns := nsCreate(t, "ns-deletion")
	apiCreateWeb(t, ns)

	if err := cluster.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting namespace %s: %v", ns, err)
	}
	// The namespace controller deletes the PetSets through the aggregated
	// API (deletecollection), the PetSet controller then their pets, and
	// the claims go with the namespace.
	var state string
	framework.WaitFor(t, 2*time.Minute, "namespace "+ns+" to be gone", func(ctx context.Context) (bool, string, error) {
		_, err := cluster.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		// Keep the last state read in full, not a poll cut by the deadline.
		if s := nsDeletionState(ctx, ns); ctx.Err() == nil {
			state = s
		}
		return false, state, nil
	})

	type left struct{ PetSets, Pods, Claims int }
	var got left
	petSets, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing PetSets in the deleted namespace: %v", err)
	}
	got.PetSets = len(petSets.Items)
	pods, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Pods = len(pods.Items)
	claims, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Claims = len(claims.Items)
	if diff := cmp.Diff(left{}, got); diff != "" {
		t.Errorf("left in the deleted namespace (-want +got):\n%s", diff)
	}
}

func TestNamespaceLifecycleAdmissionRefusesPetSetsOutsideActiveNamespaces(t *testing.T) {
	tests := []struct {
		name string
		// namespace returns the namespace to create the PetSet in.
		namespace func(t *testing.T) string
		check     func(error) bool
		want      string
		racy      bool
	}{
		{
			name:      "missing namespace",
			namespace: func(*testing.T) string { return "ns-missing-" + rand.String(5) },
			check:     apierrors.IsNotFound,
			want:      "NotFound",
		},
		{
			name: "terminating namespace",
			namespace: func(t *testing.T) string {
				// A finalizer of the test keeps the namespace Terminating.
				ns := nsCreate(t, "ns-terminating", "e2e.petsets.io/hold")
				if err := cluster.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				framework.WaitFor(t, 30*time.Second, "namespace "+ns+" Terminating", func(ctx context.Context) (bool, string, error) {
					got, err := cluster.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					if err != nil {
						return false, "", err
					}
					return got.Status.Phase == corev1.NamespaceTerminating, string(got.Status.Phase), nil
				})
				return ns
			},
			check: apierrors.IsForbidden,
			want:  "Forbidden",
			racy:  true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := tc.namespace(t)
			// petset-apiserver's admission reads namespaces from an
			// informer, so a create may slip through before it has seen a
			// namespace turn Terminating; that is retried under a new name.
			// A missing namespace is looked up live: there a create must
			// fail at once.
			framework.WaitFor(t, 30*time.Second, "PetSet creation in "+ns+" to be refused", func(ctx context.Context) (bool, string, error) {
				ps := apiWebPetSet(t)
				ps.Name, ps.GenerateName = "", "web-"
				got, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, ps, metav1.CreateOptions{})
				switch {
				case err == nil && tc.racy:
					t.Logf("created PetSet %s/%s before admission saw the namespace terminating", ns, got.Name)
					return false, "created " + got.Name, nil
				case err == nil:
					return false, "", fmt.Errorf("created PetSet %s/%s, want %s", ns, got.Name, tc.want)
				case !tc.check(err):
					return false, "", fmt.Errorf("got %v (reason %s), want %s", err, apierrors.ReasonForError(err), tc.want)
				case !strings.Contains(err.Error(), ns):
					return false, "", fmt.Errorf("the error %q does not name namespace %s", err, ns)
				}
				t.Logf("%s: %v", tc.want, err)
				return true, "", nil
			})
		})
	}
}
