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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetfake "github.com/petsets/client-go/clientset/versioned/fake"
	petsetinformers "github.com/petsets/client-go/informers/externalversions"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	core "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
)

type testController struct {
	*Controller
	kube       *fake.Clientset
	petSets    *petsetfake.Clientset
	podStore   cache.Indexer
	setStore   cache.Indexer
	recorder   *record.FakeRecorder
	kubeInf    informers.SharedInformerFactory
	petSetInf  petsetinformers.SharedInformerFactory
	testCtx    context.Context
	cancelTest context.CancelFunc
}

// newTestController builds a controller over fake clientsets. The objects
// go to the fake API servers; the informer caches are filled by hand (the
// informers are not started) unless the test starts them.
func newTestController(t *testing.T, objects ...runtime.Object) *testController {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	var kubeObjects, petSetObjects []runtime.Object
	for _, obj := range objects {
		if _, ok := obj.(*appsv1alpha1.PetSet); ok {
			petSetObjects = append(petSetObjects, obj)
		} else {
			kubeObjects = append(kubeObjects, obj)
		}
	}
	kube := fake.NewClientset(kubeObjects...)
	petSets := petsetfake.NewClientset(petSetObjects...)
	// As the API server's /status subresource, and unlike the fake's
	// default, a status update changes the status only: a status written
	// from a stale copy must not take a finalizer away.
	petSets.PrependReactor("update", "petsets", func(a core.Action) (bool, runtime.Object, error) {
		update := a.(core.UpdateAction)
		if update.GetSubresource() != "status" {
			return false, nil, nil
		}
		written := update.GetObject().(*appsv1alpha1.PetSet)
		stored, err := petSets.Tracker().Get(update.GetResource(), update.GetNamespace(), written.Name)
		if err != nil {
			return true, nil, err
		}
		set := stored.(*appsv1alpha1.PetSet).DeepCopy()
		set.Status = *written.Status.DeepCopy()
		if err := petSets.Tracker().Update(update.GetResource(), set, update.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, set, nil
	})
	// The informers trim objects as the controller manager's do.
	kubeInf := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTransform(CacheTransform))
	petSetInf := petsetinformers.NewSharedInformerFactoryWithOptions(petSets, 0, petsetinformers.WithTransform(CacheTransform))
	recorder := record.NewFakeRecorder(1000)
	c, err := NewController(ctx, kube, petSets,
		kubeInf.Core().V1().Pods(), kubeInf.Core().V1().PersistentVolumeClaims(),
		kubeInf.Apps().V1().ControllerRevisions(),
		petSetInf.Apps().V1alpha1().PetSets(), recorder, Options{})
	if err != nil {
		t.Fatalf("NewController: %v", err)
	}
	tc := &testController{
		Controller: c, kube: kube, petSets: petSets, recorder: recorder,
		podStore:  kubeInf.Core().V1().Pods().Informer().GetIndexer(),
		setStore:  petSetInf.Apps().V1alpha1().PetSets().Informer().GetIndexer(),
		kubeInf:   kubeInf,
		petSetInf: petSetInf,
		testCtx:   ctx, cancelTest: cancel,
	}
	return tc
}

// cache adds objects to the informer caches, trimmed as the informers trim
// what they receive.
func (tc *testController) cache(t *testing.T, objects ...runtime.Object) {
	t.Helper()
	for _, original := range objects {
		obj, err := CacheTransform(original.DeepCopyObject())
		if err != nil {
			t.Fatal(err)
		}
		switch obj.(type) {
		case *appsv1alpha1.PetSet:
			err = tc.setStore.Add(obj)
		case *v1.Pod:
			err = tc.podStore.Add(obj)
		case *appsv1.ControllerRevision:
			err = tc.kubeInf.Apps().V1().ControllerRevisions().Informer().GetIndexer().Add(obj)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (tc *testController) queued() []string {
	var keys []string
	for tc.queue.Len() > 0 {
		key, _ := tc.queue.Get()
		keys = append(keys, key)
		tc.queue.Done(key)
		tc.queue.Forget(key)
	}
	slices.Sort(keys)
	return keys
}

// podWithOwner returns pet <ordinal> of set with uid and owners.
func podWithOwner(set *appsv1alpha1.PetSet, ordinal int, owners ...metav1.OwnerReference) *v1.Pod {
	pod := newPet(set, ordinal)
	pod.UID = types.UID("pod-uid-" + pod.Name)
	pod.ResourceVersion = "1"
	pod.OwnerReferences = owners
	setRunningReady(pod)
	return pod
}

func TestClaimPods(t *testing.T) {
	set := newPetSet(5)
	ours := *newControllerRef(set)
	replicaSet := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid",
		Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}

	owned := podWithOwner(set, 0, ours)
	orphan := podWithOwner(set, 1)
	relabelled := podWithOwner(set, 2, ours)
	relabelled.Labels = map[string]string{"app": "debug"}
	foreign := podWithOwner(set, 3, replicaSet)
	badName := podWithOwner(set, 4)
	badName.Name = "web-04"
	otherName := podWithOwner(set, 4)
	otherName.Name = "db-4"
	terminatingOrphan := podWithOwner(set, 4)
	terminating(terminatingOrphan)
	otherNamespace := podWithOwner(set, 1)
	otherNamespace.Namespace = "other"
	pods := []*v1.Pod{owned, orphan, relabelled, foreign, badName, otherName, terminatingOrphan, otherNamespace}

	tests := []struct {
		name        string
		cached      func(*appsv1alpha1.PetSet)
		onServer    func(*appsv1alpha1.PetSet)
		wantClaimed []string
		wantWrites  []string
		wantErr     bool
	}{
		{
			name:        "adopt matching orphans, release owned pods that no longer match",
			wantClaimed: []string{"web-0", "web-1"},
			wantWrites:  []string{"patch pods web-2", "patch pods web-1"},
		},
		{
			name:        "no adoption when the live PetSet is being deleted",
			onServer:    func(s *appsv1alpha1.PetSet) { s.DeletionTimestamp = ptrTo(metav1.Now()) },
			wantClaimed: []string{"web-0"},
			wantWrites:  []string{"patch pods web-2"},
			wantErr:     true,
		},
		{
			name:        "no adoption when the live PetSet was replaced",
			onServer:    func(s *appsv1alpha1.PetSet) { s.UID = "another-web" },
			wantClaimed: []string{"web-0"},
			wantWrites:  []string{"patch pods web-2"},
			wantErr:     true,
		},
		{
			name:        "a PetSet being deleted adopts and releases nothing",
			cached:      func(s *appsv1alpha1.PetSet) { s.DeletionTimestamp = ptrTo(metav1.Now()) },
			wantClaimed: []string{"web-0", "web-2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cached := set.DeepCopy()
			if tc.cached != nil {
				tc.cached(cached)
			}
			onServer := cached.DeepCopy()
			if tc.onServer != nil {
				tc.onServer(onServer)
			}
			objects := []runtime.Object{onServer}
			for _, pod := range pods {
				objects = append(objects, pod.DeepCopy())
			}
			c := newTestController(t, objects...)
			for _, pod := range pods {
				c.cache(t, pod.DeepCopy())
			}
			claimed, err := c.getPodsForPetSet(c.testCtx, cached)
			if (err != nil) != tc.wantErr {
				t.Fatalf("getPodsForPetSet error = %v, want error %v", err, tc.wantErr)
			}
			got := names(claimed)
			slices.Sort(got)
			if diff := cmp.Diff(tc.wantClaimed, got); diff != "" {
				t.Errorf("claimed pods (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWrites, writes(c.kube)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			// Check the patches' effect on the fake API server.
			for _, name := range []string{"web-1", "web-2", "web-3"} {
				pod, err := c.kube.CoreV1().Pods(testNamespace).Get(c.testCtx, name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ref := metav1.GetControllerOf(pod)
				switch {
				case name == "web-3" && (ref == nil || ref.UID != replicaSet.UID):
					t.Errorf("pod of another controller changed: %v", pod.OwnerReferences)
				case name == "web-1" && slices.Contains(tc.wantWrites, "patch pods web-1") && (ref == nil || ref.UID != set.UID):
					t.Errorf("orphan not adopted: %v", pod.OwnerReferences)
				case name == "web-2" && slices.Contains(tc.wantWrites, "patch pods web-2") && ref != nil:
					t.Errorf("pod not released: %v", pod.OwnerReferences)
				}
			}
		})
	}
}

func TestEventHandlers(t *testing.T) {
	set := newPetSet(3)
	other := newPetSet(3)
	other.Name, other.UID = "db", "db-uid"
	ours := *newControllerRef(set)
	foreignRef := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "web-uid", Controller: ptrTo(true)}

	relabel := func(pod *v1.Pod) *v1.Pod {
		pod = pod.DeepCopy()
		pod.Labels = map[string]string{"app": "nginx", "tier": "x"}
		pod.ResourceVersion = "2"
		return pod
	}
	owned := podWithOwner(set, 0, ours)
	orphan := podWithOwner(set, 1)
	tests := []struct {
		name  string
		event func(c *testController)
		want  []string
	}{
		{name: "add of a pet", want: []string{"default/web"},
			event: func(c *testController) { c.addPod(klogr(c), owned) }},
		{name: "add of an orphan goes to the PetSets that may adopt it", want: []string{"default/web"},
			event: func(c *testController) { c.addPod(klogr(c), orphan) }},
		{name: "add of a pod of another kind of controller", want: nil,
			event: func(c *testController) { c.addPod(klogr(c), podWithOwner(set, 1, foreignRef)) }},
		{name: "update with the same version is ignored", want: nil,
			event: func(c *testController) { c.updatePod(klogr(c), owned, owned.DeepCopy()) }},
		{name: "update of a pet", want: []string{"default/web"},
			event: func(c *testController) { c.updatePod(klogr(c), owned, relabel(owned)) }},
		{name: "update of an orphan's labels", want: []string{"default/web"},
			event: func(c *testController) { c.updatePod(klogr(c), orphan, relabel(orphan)) }},
		{name: "release enqueues the old controller", want: []string{"default/web"},
			event: func(c *testController) {
				released := owned.DeepCopy()
				released.OwnerReferences = nil
				released.Labels = map[string]string{"app": "debug"}
				released.ResourceVersion = "2"
				c.updatePod(klogr(c), owned, released)
			}},
		{name: "delete of a pet", want: []string{"default/web"},
			event: func(c *testController) { c.deletePod(klogr(c), owned) }},
		{name: "delete tombstone", want: []string{"default/web"},
			event: func(c *testController) {
				c.deletePod(klogr(c), cache.DeletedFinalStateUnknown{Key: "default/web-0", Obj: owned})
			}},
		{name: "delete of an orphan holding a pet name requeues the PetSet waiting for the name", want: []string{"default/web"},
			event: func(c *testController) { c.deletePod(klogr(c), orphan) }},
		{name: "delete of another controller's pod holding a pet name requeues the PetSet", want: []string{"default/web"},
			event: func(c *testController) { c.deletePod(klogr(c), podWithOwner(set, 2, foreignRef)) }},
		{name: "delete of a pod named like no PetSet's pet", want: nil,
			event: func(c *testController) {
				pod := podWithOwner(set, 2)
				pod.Name = "cache-2"
				c.deletePod(klogr(c), pod)
			}},
		{name: "delete of a claim with a pet's claim name", want: []string{"default/web"},
			event: func(c *testController) { c.deleteClaim(klogr(c), newPetClaims(set, 1)["www"]) }},
		{name: "delete tombstone of a claim", want: []string{"default/db"},
			event: func(c *testController) {
				c.deleteClaim(klogr(c), cache.DeletedFinalStateUnknown{Key: "default/www-db-4", Obj: newPetClaims(other, 4)["www"]})
			}},
		{name: "delete of an unrelated claim", want: nil,
			event: func(c *testController) {
				claim := newPetClaims(set, 1)["www"]
				claim.Name = "logs-web-1"
				c.deleteClaim(klogr(c), claim)
			}},
		{name: "relabelled claim", want: []string{"default/web"},
			event: func(c *testController) {
				claim := newPetClaims(set, 0)["www"]
				relabelled := claim.DeepCopy()
				relabelled.Labels = nil
				c.updateClaim(klogr(c), claim, relabelled)
			}},
		{name: "claim status change is ignored", want: nil,
			event: func(c *testController) {
				claim := newPetClaims(set, 0)["www"]
				bound := claim.DeepCopy()
				bound.Status.Phase = v1.ClaimBound
				c.updateClaim(klogr(c), claim, bound)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestController(t)
			c.cache(t, set, other)
			tc.event(c)
			if diff := cmp.Diff(tc.want, c.queued()); diff != "" {
				t.Errorf("queued keys (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventHandlersFindPetSetsWithDashesInTheirNames checks that a claim or
// pod event reaches every PetSet its name fits when the names of PetSets and
// claim templates hold dashes: claim www-web-db-0 is pet 0's claim of
// template "www" of PetSet web-db, and of template "www-web" of PetSet db.
func TestEventHandlersFindPetSetsWithDashesInTheirNames(t *testing.T) {
	named := func(name, uid string, templates ...string) *appsv1alpha1.PetSet {
		set := newPetSet(1)
		set.Name, set.UID = name, types.UID(uid)
		claim := set.Spec.VolumeClaimTemplates[0]
		set.Spec.VolumeClaimTemplates = nil
		for _, tmpl := range templates {
			c := *claim.DeepCopy()
			c.Name = tmpl
			set.Spec.VolumeClaimTemplates = append(set.Spec.VolumeClaimTemplates, c)
		}
		return set
	}
	webDB := named("web-db", "web-db-uid", "www")
	db := named("db", "db-uid", "www-web")
	dbOtherTemplate := named("db", "db-uid", "data")
	claimNamed := func(name string) *v1.PersistentVolumeClaim {
		claim := newPetClaims(webDB, 0)["www"]
		claim.Name = name
		return claim
	}
	orphanPod := func(name string) *v1.Pod {
		pod := podWithOwner(webDB, 0)
		pod.Name = name
		return pod
	}
	tests := []struct {
		name  string
		sets  []runtime.Object
		event func(c *testController)
		want  []string
	}{
		{name: "a claim whose name fits two PetSets goes to both", sets: []runtime.Object{webDB, db},
			event: func(c *testController) { c.deleteClaim(klogr(c), claimNamed("www-web-db-0")) },
			want:  []string{"default/db", "default/web-db"}},
		{name: "a PetSet without the template the name needs is left out", sets: []runtime.Object{webDB, dbOtherTemplate},
			event: func(c *testController) { c.deleteClaim(klogr(c), claimNamed("www-web-db-0")) },
			want:  []string{"default/web-db"}},
		{name: "a claim name with no dash before the ordinal fits no PetSet", sets: []runtime.Object{webDB, db},
			event: func(c *testController) { c.deleteClaim(klogr(c), claimNamed("webdb-0")) },
			want:  nil},
		{name: "an orphan pod goes to the PetSet of its whole parent name", sets: []runtime.Object{webDB, db},
			event: func(c *testController) { c.addPod(klogr(c), orphanPod("web-db-0")) },
			want:  []string{"default/web-db"}},
		{name: "an orphan pod whose parent name is no PetSet goes nowhere", sets: []runtime.Object{db},
			event: func(c *testController) { c.addPod(klogr(c), orphanPod("web-db-0")) },
			want:  nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestController(t)
			c.cache(t, tc.sets...)
			tc.event(c)
			if diff := cmp.Diff(tc.want, c.queued()); diff != "" {
				t.Errorf("queued keys (-want +got):\n%s", diff)
			}
		})
	}
}

func klogr(c *testController) klog.Logger { return klog.FromContext(c.testCtx) }

func TestSyncRejectedCreateIsRequeuedWithBackoff(t *testing.T) {
	set := newPetSet(1)
	set.Finalizers = []string{PetSetFinalizer}
	c := newTestController(t, set)
	c.cache(t, set)
	rejected := apierrors.NewInvalid(v1.SchemeGroupVersion.WithKind("Pod").GroupKind(), "web-0",
		field.ErrorList{field.Required(field.NewPath("spec", "containers").Index(0).Child("image"), "")})
	c.kube.PrependReactor("create", "pods", func(core.Action) (bool, runtime.Object, error) {
		return true, nil, rejected
	})

	key := "default/web"
	c.queue.Add(key)
	for attempt := 1; attempt <= 3; attempt++ {
		if !c.processNextWorkItem(c.testCtx) {
			t.Fatalf("queue shut down")
		}
		if got := c.queue.NumRequeues(key); got != attempt {
			t.Fatalf("attempt %d: NumRequeues = %d, want %d (rate-limited requeue)", attempt, got, attempt)
		}
		// Wait for the backoff to hand the key back.
		if err := wait.PollUntilContextTimeout(c.testCtx, time.Millisecond, 5*time.Second, true,
			func(context.Context) (bool, error) { return c.queue.Len() == 1, nil }); err != nil {
			t.Fatalf("key not requeued: %v", err)
		}
	}
	events := drain(c.recorder)
	failed := 0
	for _, e := range events {
		if strings.HasPrefix(e, "Warning FailedCreate create Pod web-0 in PetSet web failed error:") {
			failed++
		}
	}
	if failed != 3 {
		t.Errorf("%d FailedCreate events for 3 attempts: %v", failed, events)
	}

	// Once the template is fixed the key is forgotten.
	c.kube.ReactionChain = c.kube.ReactionChain[1:]
	c.processNextWorkItem(c.testCtx)
	if got := c.queue.NumRequeues(key); got != 0 {
		t.Errorf("NumRequeues = %d after a successful sync, want 0", got)
	}
}

func TestSyncEdgeCases(t *testing.T) {
	t.Run("a PetSet that is gone", func(t *testing.T) {
		c := newTestController(t)
		if err := c.sync(c.testCtx, "default/web"); err != nil {
			t.Errorf("sync: %v", err)
		}
	})
	t.Run("an empty selector is not synced", func(t *testing.T) {
		set := newPetSet(1)
		set.Spec.Selector = &metav1.LabelSelector{}
		c := newTestController(t, set)
		c.cache(t, set)
		if err := c.sync(c.testCtx, "default/web"); err != nil {
			t.Errorf("sync: %v", err)
		}
		if got := writes(c.kube); len(got) != 0 {
			t.Errorf("writes %v for a PetSet with an empty selector", got)
		}
		if events := drain(c.recorder); len(events) != 1 || !strings.Contains(events[0], reasonInvalidSelector) {
			t.Errorf("events %v, want one %s", events, reasonInvalidSelector)
		}
	})
}

// TestControllerEndToEnd runs the controller with started informers over fake
// clientsets: scale up, scale down, then a cascading delete.
func TestControllerEndToEnd(t *testing.T) {
	set := newPetSet(2)
	c := newTestController(t, set)
	ctx := c.testCtx
	c.kubeInf.Start(ctx.Done())
	c.petSetInf.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx, 2) })
	t.Cleanup(func() {
		c.cancelTest()
		wg.Wait()
		c.kubeInf.Shutdown()
		c.petSetInf.Shutdown()
	})

	pods := c.kube.CoreV1().Pods(testNamespace)
	petSets := c.petSets.AppsV1alpha1().PetSets(testNamespace)
	eventually := func(what string, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true,
			func(context.Context) (bool, error) { return cond(), nil }); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	podExists := func(name string) func() bool {
		return func() bool {
			_, err := pods.Get(ctx, name, metav1.GetOptions{})
			return err == nil
		}
	}
	markReady := func(name string) {
		t.Helper()
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		setRunningReady(pod)
		// The fake API server does not bump resource versions.
		pod.ResourceVersion = pod.ResourceVersion + "1"
		if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	getSet := func() *appsv1alpha1.PetSet {
		s, err := petSets.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	statusIs := func(want appsv1alpha1.PetSetStatus) func() bool {
		return func() bool {
			set := getSet()
			got := set.Status
			// Every pet runs the one revision of the template, and
			// every Ready pet is available.
			want := want
			want.CurrentRevision, want.UpdateRevision = got.UpdateRevision, got.UpdateRevision
			want.CurrentReplicas, want.UpdatedReplicas = want.Replicas, want.Replicas
			want.CollisionCount = ptrTo(int32(0))
			want.AvailableReplicas = want.ReadyReplicas
			want.Conditions = settledConditions(set, &want)
			return got.UpdateRevision != "" && cmp.Equal(want, got, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime"))
		}
	}

	// Scale up in order.
	eventually("web-0", podExists("web-0"))
	if !hasFinalizer(getSet(), PetSetFinalizer) {
		t.Errorf("finalizer not added: %v", getSet().Finalizers)
	}
	time.Sleep(50 * time.Millisecond)
	if podExists("web-1")() {
		t.Fatalf("web-1 created before web-0 is ready")
	}
	markReady("web-0")
	eventually("web-1", podExists("web-1"))
	markReady("web-1")
	eventually("status 2/2", statusIs(appsv1alpha1.PetSetStatus{ObservedGeneration: ptrTo(int64(1)), Replicas: 2, ReadyReplicas: 2}))

	// Scale down.
	s := getSet()
	s.Spec.Replicas = ptrTo(int32(1))
	s.Generation = 2
	if _, err := petSets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("status 1/1", statusIs(appsv1alpha1.PetSetStatus{ObservedGeneration: ptrTo(int64(2)), Replicas: 1, ReadyReplicas: 1}))
	if podExists("web-1")() || !podExists("web-0")() {
		t.Fatalf("scale down removed the wrong pet")
	}

	// Cascading delete. The fake API server ignores finalizers, so mark the
	// PetSet deleted the way the real one does while finalizers remain.
	s = getSet()
	s.DeletionTimestamp = ptrTo(metav1.Now())
	if _, err := petSets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("web-0 deleted", func() bool { return !podExists("web-0")() })
	eventually("finalizer removed", func() bool { return !hasFinalizer(getSet(), PetSetFinalizer) })

	claims, err := c.kube.CoreV1().PersistentVolumeClaims(testNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(claimNames(0, 1), names2(claims.Items)); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	for _, w := range writes(c.kube) {
		if strings.HasPrefix(w, "delete persistentvolumeclaims") {
			t.Errorf("claim deleted: %s", w)
		}
	}
	wantPodWrites := []string{"create pods web-0", "create pods web-1", "delete pods web-1", "delete pods web-0"}
	var podWrites []string
	for _, w := range writes(c.kube) {
		if strings.HasPrefix(w, "create pods") || strings.HasPrefix(w, "delete pods") {
			podWrites = append(podWrites, w)
		}
	}
	if diff := cmp.Diff(wantPodWrites, podWrites); diff != "" {
		t.Errorf("pod writes (-want +got):\n%s", diff)
	}
}

func names2(claims []v1.PersistentVolumeClaim) []string {
	out := make([]string, 0, len(claims))
	for _, c := range claims {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

func TestAdoptRevisions(t *testing.T) {
	set := newPetSet(1)
	revision := func(name string, labels map[string]string, owners ...metav1.OwnerReference) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: testNamespace, UID: types.UID("uid-" + name), ResourceVersion: "1",
			Labels: labels, OwnerReferences: owners,
		}, Revision: 1}
	}
	nginx := map[string]string{"app": "nginx"}
	other := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: "sts-uid", Controller: ptrTo(true)}
	revisions := []*appsv1.ControllerRevision{
		revision("web-6b8f9c7d4", nginx),                             // left by a PetSet web deleted with --cascade=orphan
		revision("web-5f7c6d9b8", nginx, *newControllerRef(set)),     // already ours
		revision("web-7d9f8b6c5", nginx, other),                      // another controller's
		revision("web-db-6b8f9c7d4", nginx),                          // the PetSet web-db's
		revision("db-6b8f9c7d4", nginx),                              // named after another PetSet
		revision("web-8c7b6d5f4", map[string]string{"app": "other"}), // not matching the selector
	}

	tests := []struct {
		name       string
		onServer   func(*appsv1alpha1.PetSet)
		wantWrites []string
		wantErr    bool
	}{
		{name: "adopt the orphans named after the PetSet that match its selector", wantWrites: []string{"patch controllerrevisions web-6b8f9c7d4"}},
		{name: "no adoption when the live PetSet is being deleted", onServer: func(s *appsv1alpha1.PetSet) { s.DeletionTimestamp = ptrTo(metav1.Now()) }, wantErr: true},
		{name: "no adoption when the live PetSet was replaced", onServer: func(s *appsv1alpha1.PetSet) { s.UID = "another-web" }, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			onServer := set.DeepCopy()
			if tc.onServer != nil {
				tc.onServer(onServer)
			}
			objects := []runtime.Object{onServer}
			for _, rev := range revisions {
				objects = append(objects, rev.DeepCopy())
			}
			c := newTestController(t, objects...)
			for _, rev := range revisions {
				c.cache(t, rev.DeepCopy())
			}
			err := c.adoptRevisions(c.testCtx, set)
			if (err != nil) != tc.wantErr {
				t.Fatalf("adoptRevisions error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantWrites, writes(c.kube)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			for _, rev := range revisions {
				got, err := c.kube.AppsV1().ControllerRevisions(testNamespace).Get(c.testCtx, rev.Name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				want := rev.OwnerReferences
				if slices.Contains(tc.wantWrites, "patch controllerrevisions "+rev.Name) {
					ref := *newControllerRef(set)
					ref.BlockOwnerDeletion = ptrTo(true)
					want = []metav1.OwnerReference{ref}
				}
				if diff := cmp.Diff(want, got.OwnerReferences, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("owners of revision %s (-want +got):\n%s", rev.Name, diff)
				}
			}
		})
	}
}
