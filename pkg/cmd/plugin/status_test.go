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

package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	onDelete = appsv1alpha1.OnDeletePetSetStrategyType
	recreate = appsv1alpha1.RecreatePetSetStrategyType
)

// TestRolloutStatus is the status decision for each strategy, partition
// and readiness of the pets.
func TestRolloutStatus(t *testing.T) {
	tests := []struct {
		name     string
		set      *appsv1alpha1.PetSet
		pods     []*corev1.Pod
		want     string
		wantDone bool
		wantErr  string
	}{
		// Before the pets: the controller must have seen the generation.
		{
			name: "generation not observed",
			set: newSet(3, rollingUpdate(0), func(s *appsv1alpha1.PetSet) {
				s.Generation = 3
			}),
			pods: []*corev1.Pod{pet(2, newRevision, ready), pet(1, newRevision, ready), pet(0, newRevision, ready)},
			want: "Waiting for petset spec update to be observed...\n",
		},
		{
			name: "never observed",
			set: newSet(1, func(s *appsv1alpha1.PetSet) {
				s.Status = appsv1alpha1.PetSetStatus{}
			}),
			want: "Waiting for petset spec update to be observed...\n",
		},
		{
			name: "no update revision recorded",
			set: newSet(1, func(s *appsv1alpha1.PetSet) {
				s.Status.UpdateRevision = ""
			}),
			pods: []*corev1.Pod{pet(0, "", ready)},
			want: "Waiting for the petset controller to record the revision of the template...\n",
		},
		{
			name: "progress deadline exceeded: an error, as for deployments",
			set: newSet(3, rollingUpdate(0), func(s *appsv1alpha1.PetSet) {
				s.Status.Conditions = []metav1.Condition{{Type: appsv1alpha1.PetSetProgressing, Status: metav1.ConditionFalse,
					Reason: "ProgressDeadlineExceeded", Message: "no pet became available or updated for more than 10s"}}
			}),
			pods:    []*corev1.Pod{pet(2, newRevision, pending), pet(1, oldRevision, ready), pet(0, oldRevision, ready)},
			wantErr: `petset "web" exceeded its progress deadline: no pet became available or updated for more than 10s`,
		},
		{
			name: "progressing: waits",
			set: newSet(3, rollingUpdate(0), func(s *appsv1alpha1.PetSet) {
				s.Status.Conditions = []metav1.Condition{{Type: appsv1alpha1.PetSetProgressing, Status: metav1.ConditionTrue, Reason: "RolloutInProgress"}}
			}),
			pods: []*corev1.Pod{pet(2, newRevision, pending), pet(1, oldRevision, ready), pet(0, oldRevision, ready)},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name:    "being deleted",
			set:     newSet(1, func(s *appsv1alpha1.PetSet) { s.DeletionTimestamp = &metav1.Time{} }),
			wantErr: `petset "web" is being deleted`,
		},

		// RollingUpdate without a partition: kubectl's statefulset words.
		{
			name:     "rolling update complete",
			set:      newSet(3, rollingUpdate(0)),
			pods:     []*corev1.Pod{pet(2, newRevision, ready), pet(1, newRevision, ready), pet(0, newRevision, ready)},
			want:     "petset rolling update complete 3 pets at revision web-new...\n",
			wantDone: true,
		},
		{
			name: "rolling update: the replaced pet is not ready yet",
			set:  newSet(3, rollingUpdate(0)),
			pods: []*corev1.Pod{pet(2, newRevision, pending), pet(1, oldRevision, ready), pet(0, oldRevision, ready)},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name: "rolling update: a pet is missing",
			set:  newSet(3, rollingUpdate(0)),
			pods: []*corev1.Pod{pet(1, oldRevision, ready), pet(0, oldRevision, ready)},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name: "rolling update: a pet is terminating",
			set:  newSet(3, rollingUpdate(0)),
			pods: []*corev1.Pod{pet(2, newRevision, ready), pet(1, oldRevision, terminating), pet(0, oldRevision, ready)},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name: "rolling update: ready, old pets left",
			set:  newSet(3, rollingUpdate(0)),
			pods: []*corev1.Pod{pet(2, newRevision, ready), pet(1, oldRevision, ready), pet(0, oldRevision, ready)},
			want: "waiting for petset rolling update to complete 1 pets at revision web-new...\n",
		},
		{
			name:     "rolling update without rollingUpdate parameters",
			set:      newSet(2, strategy(appsv1alpha1.RollingUpdatePetSetStrategyType)),
			pods:     []*corev1.Pod{pet(1, newRevision, ready), pet(0, newRevision, ready)},
			want:     "petset rolling update complete 2 pets at revision web-new...\n",
			wantDone: true,
		},

		// RollingUpdate with a partition: kubectl's partitioned words;
		// pets below the partition may keep the old revision but must be
		// ready.
		{
			name: "partitioned roll out complete",
			set:  newSet(5, rollingUpdate(2)),
			pods: []*corev1.Pod{
				pet(4, newRevision, ready), pet(3, newRevision, ready), pet(2, newRevision, ready),
				pet(1, oldRevision, ready), pet(0, oldRevision, ready),
			},
			want:     "partitioned roll out complete: 3 new pets have been updated...\n",
			wantDone: true,
		},
		{
			name: "partitioned roll out: the pet at the partition is old",
			set:  newSet(5, rollingUpdate(2)),
			pods: []*corev1.Pod{
				pet(4, newRevision, ready), pet(3, newRevision, ready), pet(2, oldRevision, ready),
				pet(1, oldRevision, ready), pet(0, oldRevision, ready),
			},
			want: "Waiting for partitioned roll out to finish: 2 out of 3 new pets have been updated...\n",
		},
		{
			name: "partitioned roll out: a pet below the partition is not ready",
			set:  newSet(5, rollingUpdate(2)),
			pods: []*corev1.Pod{
				pet(4, newRevision, ready), pet(3, newRevision, ready), pet(2, newRevision, ready),
				pet(1, oldRevision, ready), pet(0, oldRevision, notReady),
			},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name: "partitioned roll out: an updated pet is paused",
			set:  newSet(3, rollingUpdate(1)),
			pods: []*corev1.Pod{pet(2, newRevision, paused), pet(1, newRevision, ready), pet(0, oldRevision, ready)},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name:     "partition above the replicas: nothing to update",
			set:      newSet(3, rollingUpdate(5)),
			pods:     []*corev1.Pod{pet(2, oldRevision, ready), pet(1, oldRevision, ready), pet(0, oldRevision, ready)},
			want:     "partitioned roll out complete: 0 new pets have been updated...\n",
			wantDone: true,
		},

		// OnDelete: the old pets wait for someone to delete them.
		{
			name: "on delete: every pet old",
			set:  newSet(3, strategy(onDelete)),
			pods: []*corev1.Pod{pet(2, oldRevision, ready), pet(1, oldRevision, ready), pet(0, oldRevision, ready)},
			want: "waiting for 3 pets to be deleted (OnDelete: web-2, web-1, web-0 run an older revision than web-new)...\n",
		},
		{
			name: "on delete is the default",
			set:  newSet(2),
			pods: []*corev1.Pod{pet(1, newRevision, ready), pet(0, oldRevision, ready)},
			want: "waiting for 1 pets to be deleted (OnDelete: web-0 runs an older revision than web-new)...\n",
		},
		{
			name: "on delete: a deleted pet still counts until it is gone",
			set:  newSet(2, strategy(onDelete)),
			pods: []*corev1.Pod{pet(1, oldRevision, terminating), pet(0, newRevision, ready)},
			want: "waiting for 1 pets to be deleted (OnDelete: web-1 runs an older revision than web-new)...\n",
		},
		{
			name: "on delete: a pet without a revision label is old",
			set:  newSet(1, strategy(onDelete)),
			pods: []*corev1.Pod{pet(0, "", ready)},
			want: "waiting for 1 pets to be deleted (OnDelete: web-0 runs an older revision than web-new)...\n",
		},
		{
			name: "on delete: the last deleted pet comes back",
			set:  newSet(2, strategy(onDelete)),
			pods: []*corev1.Pod{pet(1, newRevision, ready), pet(0, newRevision, pending)},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name:     "on delete: complete",
			set:      newSet(2, strategy(onDelete)),
			pods:     []*corev1.Pod{pet(1, newRevision, ready), pet(0, newRevision, ready)},
			want:     "petset roll out complete: 2 pets at revision web-new...\n",
			wantDone: true,
		},
		{
			name: "on delete: many old pets are named up to five",
			set:  newSet(7, strategy(onDelete)),
			pods: []*corev1.Pod{
				pet(6, oldRevision, ready), pet(5, oldRevision, ready), pet(4, oldRevision, ready), pet(3, oldRevision, ready),
				pet(2, oldRevision, ready), pet(1, oldRevision, ready), pet(0, oldRevision, ready),
			},
			want: "waiting for 7 pets to be deleted (OnDelete: web-6, web-5, web-4, web-3, web-2 and 2 more run an older revision than web-new)...\n",
		},

		// Recreate: the old pets go first, all of them.
		{
			name: "recreate: old pets terminating",
			set:  newSet(3, strategy(recreate)),
			pods: []*corev1.Pod{pet(2, oldRevision, terminating), pet(1, oldRevision, terminating), pet(0, oldRevision, ready)},
			want: "waiting for 3 pets of an older revision to be deleted (Recreate: web-2, web-1, web-0)...\n",
		},
		{
			name: "recreate: every old pet gone",
			set:  newSet(3, strategy(recreate)),
			want: "Waiting for 3 pets to be ready...\n",
		},
		{
			name: "recreate: pets coming back",
			set:  newSet(3, strategy(recreate)),
			pods: []*corev1.Pod{pet(1, newRevision, pending), pet(0, newRevision, ready)},
			want: "Waiting for 2 pets to be ready...\n",
		},
		{
			name:     "recreate: complete",
			set:      newSet(2, strategy(recreate)),
			pods:     []*corev1.Pod{pet(1, newRevision, ready), pet(0, newRevision, ready)},
			want:     "petset roll out complete: 2 pets at revision web-new...\n",
			wantDone: true,
		},

		// Which pods are pets.
		{
			name:     "pets being scaled away are left out",
			set:      newSet(2, rollingUpdate(0)),
			pods:     []*corev1.Pod{pet(3, oldRevision, notReady), pet(2, oldRevision, terminating), pet(1, newRevision, ready), pet(0, newRevision, ready)},
			want:     "petset rolling update complete 2 pets at revision web-new...\n",
			wantDone: true,
		},
		{
			name: "a pod another owner controls is no pet",
			set:  newSet(2, rollingUpdate(0)),
			pods: []*corev1.Pod{
				func() *corev1.Pod {
					p := pet(1, newRevision, ready)
					p.OwnerReferences[0].UID = types.UID("another-web")
					return p
				}(),
				pet(0, newRevision, ready),
			},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name: "a pod whose name is not a pet name is no pet",
			set:  newSet(1, rollingUpdate(0)),
			pods: []*corev1.Pod{
				func() *corev1.Pod {
					p := pet(0, newRevision, ready)
					p.Name = "web-00"
					return p
				}(),
			},
			want: "Waiting for 1 pets to be ready...\n",
		},
		{
			name:     "no replicas",
			set:      newSet(0, rollingUpdate(0)),
			want:     "petset rolling update complete 0 pets at revision web-new...\n",
			wantDone: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, done, err := rolloutStatus(tc.set, tc.pods)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || done != tc.wantDone {
				t.Errorf("got %q done=%t, want %q done=%t", got, done, tc.want, tc.wantDone)
			}
		})
	}
}

// runStatus runs `rollout status` against clients in the background and
// returns its output and a channel with its result.
func runStatus(t *testing.T, clients fakeClients, o StatusOptions) (*syncBuffer, <-chan error) {
	t.Helper()
	out := &syncBuffer{}
	o.Name, o.Namespace, o.PetSets, o.Kube, o.Out = testName, testNamespace, clients.petsets, clients.kube, out
	done := make(chan error, 1)
	go func() { done <- o.Run(context.Background()) }()
	return out, done
}

// waitOutput waits until out holds want.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q in the output, got %q", want, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("rollout status did not return")
		return nil
	}
}

// TestStatusFollowsPodsAndPetSet: the status is decided again on each
// change of a pet and of the PetSet, a line printed for each new status,
// until the rollout is done.
func TestStatusFollowsPodsAndPetSet(t *testing.T) {
	ctx := context.Background()
	set := newSet(2, rollingUpdate(0))
	set.Generation = 3 // not observed yet
	clients := newFakeClients(set, objects(pet(1, newRevision, ready), pet(0, oldRevision, ready))...)
	out, done := runStatus(t, clients, StatusOptions{Watch: true})
	waitOutput(t, out, "Waiting for petset spec update to be observed...\n")

	set.Status.ObservedGeneration = new(int64(3))
	_, err := clients.petsets.AppsV1alpha1().PetSets(testNamespace).UpdateStatus(ctx, set, metav1.UpdateOptions{})
	mustNot(t, err)
	waitOutput(t, out, "waiting for petset rolling update to complete 1 pets at revision web-new...\n")

	// The controller deletes web-0 and creates it again at the update
	// revision: a pod change only.
	pods := clients.kube.CoreV1().Pods(testNamespace)
	mustNot(t, pods.Delete(ctx, "web-0", metav1.DeleteOptions{}))
	waitOutput(t, out, "Waiting for 1 pets to be ready...\n")
	_, err = pods.Create(ctx, pet(0, newRevision, pending), metav1.CreateOptions{})
	mustNot(t, err)
	_, err = pods.UpdateStatus(ctx, pet(0, newRevision, ready), metav1.UpdateOptions{})
	mustNot(t, err)

	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	want := "Waiting for petset spec update to be observed...\n" +
		"waiting for petset rolling update to complete 1 pets at revision web-new...\n" +
		"Waiting for 1 pets to be ready...\n" +
		"petset rolling update complete 2 pets at revision web-new...\n"
	if got := out.String(); got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
}

func TestStatusTimesOutWithTheLastStatus(t *testing.T) {
	clients := newFakeClients(newSet(2, rollingUpdate(0)), objects(pet(1, newRevision, pending), pet(0, oldRevision, ready))...)
	start := time.Now()
	out, done := runStatus(t, clients, StatusOptions{Watch: true, Timeout: 300 * time.Millisecond})
	err := result(t, done)
	want := `timed out after 300ms waiting for the rollout of petset "web": Waiting for 1 pets to be ready`
	if err == nil || err.Error() != want {
		t.Fatalf("got error %v, want %q", err, want)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("gave up after %s, before the timeout", elapsed)
	}
	if got := out.String(); got != "Waiting for 1 pets to be ready...\n" {
		t.Errorf("printed %q", got)
	}
}

func TestStatusWithoutWatchPrintsOnce(t *testing.T) {
	clients := newFakeClients(newSet(2, strategy(onDelete)), objects(pet(1, oldRevision, ready), pet(0, oldRevision, ready))...)
	out, done := runStatus(t, clients, StatusOptions{Watch: false})
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	want := "waiting for 2 pets to be deleted (OnDelete: web-1, web-0 run an older revision than web-new)...\n"
	if got := out.String(); got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}

func TestStatusFailsWhenThePetSetGoes(t *testing.T) {
	clients := newFakeClients(newSet(1, strategy(onDelete)), objects(pet(0, oldRevision, ready))...)
	out, done := runStatus(t, clients, StatusOptions{Watch: true})
	waitOutput(t, out, "waiting for 1 pets to be deleted")
	mustNot(t, clients.petsets.AppsV1alpha1().PetSets(testNamespace).Delete(context.Background(), testName, metav1.DeleteOptions{}))
	if err := result(t, done); err == nil || err.Error() != `petset "web" has been deleted` {
		t.Fatalf("got error %v, want the PetSet deleted", err)
	}
}

func TestStatusOfAMissingPetSet(t *testing.T) {
	_, done := runStatus(t, newFakeClients(nil), StatusOptions{Watch: true})
	if err := result(t, done); err == nil || err.Error() != `petsets.apps "web" not found in namespace "shop"` {
		t.Fatalf("got error %v", err)
	}
}

// TestStatusPinnedRevision: --revision=N fails unless the update revision
// is number N.
func TestStatusPinnedRevision(t *testing.T) {
	revs := objects(revision(oldRevision, 1, oldImage, ""), revision(newRevision, 2, newImage, ""))
	pets := objects(pet(1, newRevision, ready), pet(0, newRevision, ready))
	for _, tc := range []struct {
		pin     int64
		wantErr string
	}{
		{pin: 2},
		{pin: 1, wantErr: "desired revision (1) is different from the running revision (2)"},
	} {
		clients := newFakeClients(newSet(2, rollingUpdate(0)), append(revs, pets...)...)
		_, done := runStatus(t, clients, StatusOptions{Watch: true, Revision: tc.pin})
		err := result(t, done)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
			t.Errorf("--revision=%d: got error %v, want %q", tc.pin, err, tc.wantErr)
		}
	}
}
