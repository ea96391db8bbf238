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
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	core "k8s.io/client-go/testing"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
)

// withPodUIDs makes the fake API server give created pods a UID, as the
// real one does.
func withPodUIDs(c *testController) {
	n := 0
	c.kube.PrependReactor("create", "pods", func(a core.Action) (bool, runtime.Object, error) {
		n++
		a.(core.CreateAction).GetObject().(*v1.Pod).UID = types.UID(fmt.Sprintf("pod-uid-%d", n))
		return false, nil, nil
	})
}

func podCreates(c *testController, name string) int {
	n := 0
	for _, w := range writes(c.kube) {
		if w == "create pods "+name {
			n++
		}
	}
	return n
}

// TestPetDeletedBeforeItIsSeenIsCreatedAgain: a pet deleted right after the
// controller created it, before the sync that follows the informer's events,
// is never in the cache at a sync. The informer did report its deletion; the
// controller must create the pet again, not wait for the expectation to
// expire.
func TestPetDeletedBeforeItIsSeenIsCreatedAgain(t *testing.T) {
	set := newPetSet(1)
	set.Finalizers = []string{PetSetFinalizer}
	c := newTestController(t, set)
	withPodUIDs(c)
	c.cache(t, set)
	ctx, logger := c.testCtx, klogr(c)
	pods := c.kube.CoreV1().Pods(testNamespace)

	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	created, err := pods.Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("web-0 was not created: %v", err)
	}
	// Someone deletes it at once; the informer reports both events before
	// the next sync, whose cache holds no web-0.
	if err := pods.Delete(ctx, "web-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.addPod(logger, created)
	c.deletePod(logger, created)
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := podCreates(c, "web-0"); got != 2 {
		t.Errorf("web-0 created %d times, want 2 (created again after its deletion); writes %v", got, writes(c.kube))
	}
}

// TestPetAddedAfterTheSnapshotIsNotCreatedAgain: the informer reports the
// created pet after a sync took its view of the pods (so the view lacks it).
// That sync must wait, not create the pet again.
func TestPetAddedAfterTheSnapshotIsNotCreatedAgain(t *testing.T) {
	set := newPetSet(1)
	set.Finalizers = []string{PetSetFinalizer}
	c := newTestController(t, set)
	withPodUIDs(c)
	c.cache(t, set)
	ctx, logger := c.testCtx, klogr(c)

	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	created, err := c.kube.CoreV1().Pods(testNamespace).Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("web-0 was not created: %v", err)
	}
	// The handler runs, the sync's view (the cache here) does not have
	// the pod yet.
	c.addPod(logger, created)
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := podCreates(c, "web-0"); got != 1 {
		t.Errorf("web-0 created %d times with a view that lacks it, want 1; writes %v", got, writes(c.kube))
	}
}

func TestPetExpectationsCreate(t *testing.T) {
	const key = "default/web"
	pod := func(uid types.UID) *v1.Pod { return testPod("web-0", uid) }
	tests := []struct {
		name string
		// steps act on the expectations of key.
		steps func(e *petExpectations)
		// cache is what the informer holds at the next sync.
		cache []*v1.Pod
		want  bool
	}{{
		name:  "created pod not in the cache yet",
		steps: func(e *petExpectations) { e.expectCreate(key, "web-0"); e.createdAs(key, "web-0", "u1") },
		want:  false,
	}, {
		name:  "created pod in the cache",
		steps: func(e *petExpectations) { e.expectCreate(key, "web-0"); e.createdAs(key, "web-0", "u1") },
		cache: []*v1.Pod{pod("u1")},
		want:  true,
	}, {
		name: "created pod reported deleted",
		steps: func(e *petExpectations) {
			e.expectCreate(key, "web-0")
			e.createdAs(key, "web-0", "u1")
			e.observeDeletion(key, pod("u1"))
		},
		want: true,
	}, {
		name: "created pod reported deleted before the create returned",
		steps: func(e *petExpectations) {
			e.expectCreate(key, "web-0")
			e.observeDeletion(key, pod("u1"))
			e.createdAs(key, "web-0", "u1")
		},
		want: true,
	}, {
		name: "late report of the replaced pod's deletion",
		steps: func(e *petExpectations) {
			e.expectCreate(key, "web-0")
			e.observeDeletion(key, pod("u0"))
			e.createdAs(key, "web-0", "u1")
			e.observeDeletion(key, pod("u0"))
		},
		want: false,
	}, {
		name: "deletion reported for another PetSet",
		steps: func(e *petExpectations) {
			e.expectCreate(key, "web-0")
			e.createdAs(key, "web-0", "u1")
			e.observeDeletion("default/db", pod("u1"))
		},
		want: false,
	}, {
		name:  "failed create",
		steps: func(e *petExpectations) { e.expectCreate(key, "web-0"); e.createFailed(key, "web-0") },
		want:  true,
	}, {
		name:  "deleted pod still shown running",
		steps: func(e *petExpectations) { e.expectDelete(key, "web-0", "u1") },
		cache: []*v1.Pod{pod("u1")},
		want:  false,
	}, {
		name:  "deleted pod gone",
		steps: func(e *petExpectations) { e.expectDelete(key, "web-0", "u1") },
		want:  true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			e := newPetExpectations(testingclock.NewFakeClock(time.Now()))
			tc.steps(e)
			if got := e.satisfied(klog.FromContext(ctx), key, tc.cache); got != tc.want {
				t.Errorf("satisfied = %t, want %t", got, tc.want)
			}
			if _, pending := e.pendingFor(key); pending == tc.want {
				t.Errorf("pendingFor reports pending=%t after satisfied=%t", pending, tc.want)
			}
		})
	}
}

func TestPetExpectationsPendingFor(t *testing.T) {
	const key = "default/web"
	clk := testingclock.NewFakeClock(time.Now())
	e := newPetExpectations(clk)
	if _, pending := e.pendingFor(key); pending {
		t.Fatalf("pending with no expectation")
	}
	e.expectCreate(key, "web-0")
	clk.Step(time.Minute)
	e.expectDelete(key, "web-1", "u1")
	if got, pending := e.pendingFor(key); !pending || got != expectationsTimeout-time.Minute {
		t.Errorf("pendingFor = %s, %t; want %s for the oldest expectation", got, pending, expectationsTimeout-time.Minute)
	}
	clk.Step(expectationsTimeout)
	if got, pending := e.pendingFor(key); !pending || got != 0 {
		t.Errorf("pendingFor = %s, %t once expired; want 0, true", got, pending)
	}
}

// TestSyncRequeuedWhenExpectationsExpire: a create the informer never
// reports (lost between a list and a watch, say) holds the PetSet only until
// the expectation expires; the PetSet is synced again then, with no event.
func TestSyncRequeuedWhenExpectationsExpire(t *testing.T) {
	set := newPetSet(1)
	set.Finalizers = []string{PetSetFinalizer}
	c := newTestController(t, set)
	c.cache(t, set)
	clk := testingclock.NewFakeClock(time.Now())
	c.expectations.clock = clk
	c.queue.ShutDown()
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Clock: clk})
	t.Cleanup(c.queue.ShutDown)

	key := "default/web"
	c.queue.Add(key)
	if !c.processNextWorkItem(c.testCtx) {
		t.Fatal("queue shut down")
	}
	if !slices.Contains(writes(c.kube), "create pods web-0") {
		t.Fatalf("web-0 not created: %v", writes(c.kube))
	}
	if got := c.queue.Len(); got != 0 {
		t.Fatalf("%d keys queued right after the sync, want none", got)
	}
	clk.Step(expectationsTimeout - time.Second)
	time.Sleep(50 * time.Millisecond)
	if got := c.queue.Len(); got != 0 {
		t.Fatalf("%d keys queued before the expectation expired, want none", got)
	}
	clk.Step(3 * time.Second)
	if err := wait.PollUntilContextTimeout(c.testCtx, time.Millisecond, 5*time.Second, true,
		func(context.Context) (bool, error) { return c.queue.Len() == 1, nil }); err != nil {
		t.Fatalf("the PetSet was not synced again once the expectation expired: %v", err)
	}
}

// testPod returns a pet pod with a UID.
func testPod(name string, uid types.UID) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name, UID: uid}}
}
