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
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
)

const (
	// testMargin is the terminating pet margin of the tests.
	testMargin    = 2 * time.Minute
	testNamespace = "default"
	imageOld      = "gcr.io/google_containers/nginx-slim:0.8"
	imageNew      = "gcr.io/google_containers/nginx-slim:0.7"
)

// newPetSet returns the PetSet of the guide's example: "web", governed by the
// service "nginx", with one claim template "www".
func newPetSet(replicas int) *appsv1alpha1.PetSet {
	r := int32(replicas)
	return &appsv1alpha1.PetSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1alpha1", Kind: "PetSet"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            "web",
			Namespace:       testNamespace,
			UID:             "web-uid",
			Generation:      1,
			ResourceVersion: "1",
			Labels:          map[string]string{"app": "nginx"},
		},
		Spec: appsv1alpha1.PetSetSpec{
			Replicas:    &r,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			ServiceName: "nginx",
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"app": "nginx"},
					Annotations: map[string]string{appsv1alpha1.PetSetInitAnnotation: "true"},
				},
				Spec: v1.PodSpec{
					Containers: []v1.Container{{
						Name:         "nginx",
						Image:        imageOld,
						Ports:        []v1.ContainerPort{{ContainerPort: 80, Name: "web"}},
						VolumeMounts: []v1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}},
					}},
				},
			},
			VolumeClaimTemplates: []v1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{
					Name:        "www",
					Annotations: map[string]string{"volume.alpha.kubernetes.io/storage-class": "anything"},
				},
				Spec: v1.PersistentVolumeClaimSpec{
					AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
					Resources: v1.VolumeResourceRequirements{
						Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
					},
				},
			}},
		},
	}
}

// requestTracker counts calls and fails chosen ones.
type requestTracker struct {
	mu     sync.Mutex
	calls  int
	failAt map[int]error
}

// failNext makes the n-th call from now (1 = the next one) return err.
func (rt *requestTracker) failNext(n int, err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.failAt == nil {
		rt.failAt = map[int]error{}
	}
	rt.failAt[rt.calls+n] = err
}

func (rt *requestTracker) next() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.calls++
	return rt.failAt[rt.calls]
}

func (rt *requestTracker) count() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.calls
}

// fakeObjectManager is an in-memory API server for pods and claims behind the
// petObjectManager seam. server holds the truth; podIndexer is what the pod
// informer shows, refreshed by deliver (after every write unless stale is
// set). It checks the ordering rules at the moment of every write and
// records violations.
type fakeObjectManager struct {
	// mu serializes the calls of the pet control, which Parallel pet
	// management makes concurrently.
	mu  sync.Mutex
	set func() *appsv1alpha1.PetSet
	// now and margin say which terminating pods are stuck, for the
	// ordering checks.
	now    func() time.Time
	margin time.Duration

	server       map[string]*v1.Pod
	podIndexer   cache.Indexer
	claimIndexer cache.Indexer
	claimLister  corelisters.PersistentVolumeClaimLister
	stale        bool

	createPod   requestTracker
	readPod     requestTracker
	deletePod   requestTracker
	patchPod    requestTracker
	createClaim requestTracker
	patchClaim  requestTracker

	created       []string
	deleted       []string
	patched       []string
	createdClaims []string
	patchedClaims []string
	// evicted lists the pods evicted (they are also in deleted).
	evicted []string
	// budget, when set, plays a PodDisruptionBudget: it returns the
	// message of a refusal of pod's eviction, or "" to allow it.
	budget func(pod *v1.Pod) string
	// hiddenClaims exist on the server but not in the cache yet.
	hiddenClaims []*v1.PersistentVolumeClaim
	violations   []string
	serial       int
}

func newFakeObjectManager(set func() *appsv1alpha1.PetSet, now func() time.Time, margin time.Duration) *fakeObjectManager {
	podIndexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	claimIndexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	return &fakeObjectManager{
		set:          set,
		now:          now,
		margin:       margin,
		server:       map[string]*v1.Pod{},
		podIndexer:   podIndexer,
		claimIndexer: claimIndexer,
		claimLister:  corelisters.NewPersistentVolumeClaimLister(claimIndexer),
	}
}

func podKey(namespace, name string) string { return namespace + "/" + name }

func (om *fakeObjectManager) nextVersion() string {
	om.serial++
	return strconv.Itoa(om.serial)
}

// deliver makes the informer view equal to the server.
func (om *fakeObjectManager) deliver() {
	objs := make([]any, 0, len(om.server))
	for _, pod := range om.server {
		objs = append(objs, pod.DeepCopy())
	}
	if err := om.podIndexer.Replace(objs, ""); err != nil {
		panic(err)
	}
}

func (om *fakeObjectManager) written() {
	if !om.stale {
		om.deliver()
	}
}

// serverPets returns the pods on the server named after pets of the set,
// sorted by ordinal.
func (om *fakeObjectManager) serverPets() []*v1.Pod {
	set := om.set()
	var pets []*v1.Pod
	for _, pod := range om.server {
		if isMemberOf(set, pod) {
			pets = append(pets, pod)
		}
	}
	sortByOrdinal(pets)
	return pets
}

func (om *fakeObjectManager) serverPet(ordinal int) *v1.Pod {
	return om.server[podKey(testNamespace, getPetName(om.set(), ordinal))]
}

func (om *fakeObjectManager) violate(format string, args ...any) {
	om.violations = append(om.violations, fmt.Sprintf(format, args...))
}

func (om *fakeObjectManager) CreatePod(_ context.Context, pod *v1.Pod) (*v1.Pod, error) {
	om.mu.Lock()
	defer om.mu.Unlock()
	if err := om.createPod.next(); err != nil {
		return nil, err
	}
	key := podKey(pod.Namespace, pod.Name)
	if _, ok := om.server[key]; ok {
		return nil, apierrors.NewAlreadyExists(v1.Resource("pods"), pod.Name)
	}
	// The ordering rules, checked against the server's truth.
	set := om.set()
	ordinal := getOrdinal(pod)
	if set.DeletionTimestamp != nil {
		om.violate("pod %s created while the PetSet is being deleted", pod.Name)
	}
	for i := startOrdinalOf(set); i < ordinal && !isParallel(set); i++ {
		lower := om.serverPet(i)
		if lower == nil || !isHealthy(lower) {
			om.violate("pod %s created while pet %d is missing or unhealthy", pod.Name, i)
		} else if !isAvailable(lower, set.Spec.MinReadySeconds, om.now()) {
			om.violate("pod %s created while pet %d is Ready for less than minReadySeconds", pod.Name, i)
		}
	}
	for _, claim := range newPetClaims(set, ordinal) {
		if _, err := om.claimLister.PersistentVolumeClaims(claim.Namespace).Get(claim.Name); err != nil {
			om.violate("pod %s created before its claim %s", pod.Name, claim.Name)
		}
	}
	created := pod.DeepCopy()
	created.UID = types.UID(fmt.Sprintf("%s-uid-%d", pod.Name, len(om.created)))
	created.ResourceVersion = om.nextVersion()
	created.CreationTimestamp = metav1.Now()
	om.server[key] = created
	om.created = append(om.created, pod.Name)
	om.written()
	return created.DeepCopy(), nil
}

func (om *fakeObjectManager) ReadPod(_ context.Context, namespace, name string) (*v1.Pod, error) {
	om.mu.Lock()
	defer om.mu.Unlock()
	if err := om.readPod.next(); err != nil {
		return nil, err
	}
	pod, ok := om.server[podKey(namespace, name)]
	if !ok {
		return nil, apierrors.NewNotFound(v1.Resource("pods"), name)
	}
	return pod.DeepCopy(), nil
}

// blocksRemoval reports whether other, a pet above a pet being deleted,
// must be gone first: it exists and is not stuck terminating.
func (om *fakeObjectManager) blocksRemoval(other *v1.Pod) bool {
	return !isStuckTerminating(other, om.now(), om.margin)
}

// EvictPod is DeletePod behind the budget, which answers 429 as the
// Eviction API does when a PodDisruptionBudget refuses.
func (om *fakeObjectManager) EvictPod(ctx context.Context, pod *v1.Pod) error {
	if om.budget != nil {
		if msg := om.budget(pod); msg != "" {
			return &apierrors.StatusError{ErrStatus: metav1.Status{
				Status: metav1.StatusFailure, Code: http.StatusTooManyRequests, Reason: metav1.StatusReasonTooManyRequests,
				Message: "Cannot evict pod as it would violate the pod's disruption budget.",
				Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: policyv1.DisruptionBudgetCause, Message: msg}}},
			}}
		}
	}
	if err := om.DeletePod(ctx, pod); err != nil {
		return err
	}
	om.evicted = append(om.evicted, pod.Name)
	return nil
}

func (om *fakeObjectManager) DeletePod(_ context.Context, pod *v1.Pod) error {
	om.mu.Lock()
	defer om.mu.Unlock()
	if err := om.deletePod.next(); err != nil {
		return err
	}
	key := podKey(pod.Namespace, pod.Name)
	current, ok := om.server[key]
	if !ok {
		return apierrors.NewNotFound(v1.Resource("pods"), pod.Name)
	}
	if current.UID != pod.UID || current.ResourceVersion != pod.ResourceVersion {
		return apierrors.NewConflict(v1.Resource("pods"), pod.Name, fmt.Errorf("precondition failed: UID or resourceVersion"))
	}
	if current.DeletionTimestamp != nil {
		om.violate("pod %s deleted twice", pod.Name)
	}
	set := om.set()
	if isControlledBy(current, set) == false {
		om.violate("pod %s deleted while not controlled by the PetSet", pod.Name)
	}
	ordinal := getOrdinal(current)
	switch {
	case isParallel(set):
		// Parallel: no order, only pets out of range or terminated.
		if set.DeletionTimestamp == nil && ordinalInRange(set, ordinal) && !isTerminated(current) && !runsOlderTemplate(current, set) {
			om.violate("pod %s deleted while within ordinals %d..%d", pod.Name, startOrdinalOf(set), startOrdinalOf(set)+replicasOf(set)-1)
		}
	case set.DeletionTimestamp != nil:
		// Teardown: highest first, each after the higher ones are gone,
		// whatever their health.
		for _, other := range om.serverPets() {
			if getOrdinal(other) > ordinal && om.blocksRemoval(other) {
				om.violate("pod %s deleted in teardown before the higher pet %s is gone", pod.Name, other.Name)
			}
		}
	case isTerminated(current) && ordinalInRange(set, ordinal):
		// A Failed or Succeeded pet in range is replaced.
	case runsOlderTemplate(current, set) && set.Spec.UpdateStrategy.Type == appsv1alpha1.RollingUpdatePetSetStrategyType:
		// A rolling update: at or above the partition only (the
		// budget is checked by the rollout matrix).
		if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && ordinal < startOrdinalOf(set)+int(*ru.Partition) {
			om.violate("pod %s below the partition %d deleted by the rolling update", pod.Name, *ru.Partition)
		}
	case runsOlderTemplate(current, set) && set.Spec.UpdateStrategy.Type == appsv1alpha1.RecreatePetSetStrategyType:
		// Recreate deletes every older pet at once, unless one is paused.
		for _, other := range om.serverPets() {
			if isPaused(other) && !isTerminating(other) {
				om.violate("pod %s deleted by Recreate while pet %s is paused", pod.Name, other.Name)
			}
		}
	default:
		// A scale down (or a move of the start ordinal): the condemned
		// pets highest first, each after the higher condemned ones are
		// gone; every pet in range healthy; no condemned pet paused.
		if ordinalInRange(set, ordinal) {
			om.violate("pod %s deleted while within ordinals %d..%d", pod.Name, startOrdinalOf(set), startOrdinalOf(set)+replicasOf(set)-1)
		}
		for _, other := range om.serverPets() {
			switch o := getOrdinal(other); {
			case o == ordinal:
			case o > ordinal && !ordinalInRange(set, o) && om.blocksRemoval(other):
				om.violate("pod %s deleted before the higher condemned pet %s is gone", pod.Name, other.Name)
			case ordinalInRange(set, o) && !isHealthy(other):
				om.violate("pod %s deleted while pet %s in range is unhealthy", pod.Name, other.Name)
			}
			if !ordinalInRange(set, getOrdinal(other)) && isPaused(other) && !isTerminating(other) {
				om.violate("pod %s deleted while the condemned pet %s is paused", pod.Name, other.Name)
			}
		}
	}
	if set.DeletionTimestamp == nil && !ordinalInRange(set, ordinal) &&
		retentionPolicyOf(set).WhenScaled == appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType {
		for _, want := range newPetClaims(set, ordinal) {
			claim, err := om.claimLister.PersistentVolumeClaims(want.Namespace).Get(want.Name)
			if err == nil && !slices.ContainsFunc(claim.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == current.UID }) {
				om.violate("condemned pod %s deleted before its claim %s is owned by it: %v", pod.Name, claim.Name, claim.OwnerReferences)
			}
		}
	}
	terminating := current.DeepCopy()
	now := metav1.NewTime(om.now())
	terminating.DeletionTimestamp = &now
	terminating.ResourceVersion = om.nextVersion()
	om.server[key] = terminating
	om.deleted = append(om.deleted, pod.Name)
	om.written()
	return nil
}

func (om *fakeObjectManager) PatchPod(_ context.Context, namespace, name string, patch []byte) error {
	om.mu.Lock()
	defer om.mu.Unlock()
	if err := om.patchPod.next(); err != nil {
		return err
	}
	key := podKey(namespace, name)
	current, ok := om.server[key]
	if !ok {
		return apierrors.NewNotFound(v1.Resource("pods"), name)
	}
	original, err := json.Marshal(current)
	if err != nil {
		return err
	}
	patchedJSON, err := strategicpatch.StrategicMergePatch(original, patch, &v1.Pod{})
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	patched := &v1.Pod{}
	if err := json.Unmarshal(patchedJSON, patched); err != nil {
		return err
	}
	if patched.UID != current.UID {
		return apierrors.NewInvalid(v1.SchemeGroupVersion.WithKind("Pod").GroupKind(), name, nil)
	}
	patched.ResourceVersion = om.nextVersion()
	om.server[key] = patched
	om.patched = append(om.patched, name)
	om.written()
	return nil
}

func (om *fakeObjectManager) GetClaim(namespace, name string) (*v1.PersistentVolumeClaim, error) {
	om.mu.Lock()
	defer om.mu.Unlock()
	return om.claimLister.PersistentVolumeClaims(namespace).Get(name)
}

func (om *fakeObjectManager) ReadClaim(_ context.Context, namespace, name string) (*v1.PersistentVolumeClaim, error) {
	om.mu.Lock()
	defer om.mu.Unlock()
	return om.claimLister.PersistentVolumeClaims(namespace).Get(name)
}

// revealHiddenClaim puts a hidden claim of that name in the cache.
func (om *fakeObjectManager) revealHiddenClaim(name string) bool {
	for i, claim := range om.hiddenClaims {
		if claim.Name == name {
			om.hiddenClaims = slices.Delete(om.hiddenClaims, i, i+1)
			if err := om.claimIndexer.Add(claim.DeepCopy()); err != nil {
				panic(err)
			}
			return true
		}
	}
	return false
}

func (om *fakeObjectManager) PatchClaim(_ context.Context, namespace, name string, patch []byte) error {
	om.mu.Lock()
	defer om.mu.Unlock()
	if err := om.patchClaim.next(); err != nil {
		return err
	}
	current, err := om.claimLister.PersistentVolumeClaims(namespace).Get(name)
	if err != nil {
		return err
	}
	original, err := json.Marshal(current)
	if err != nil {
		return err
	}
	patchedJSON, err := strategicpatch.StrategicMergePatch(original, patch, &v1.PersistentVolumeClaim{})
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	patched := &v1.PersistentVolumeClaim{}
	if err := json.Unmarshal(patchedJSON, patched); err != nil {
		return err
	}
	if patched.UID != current.UID {
		return apierrors.NewInvalid(v1.SchemeGroupVersion.WithKind("PersistentVolumeClaim").GroupKind(), name, nil)
	}
	patched.ResourceVersion = om.nextVersion()
	om.patchedClaims = append(om.patchedClaims, name)
	return om.claimIndexer.Update(patched)
}

func (om *fakeObjectManager) CreateClaim(_ context.Context, claim *v1.PersistentVolumeClaim) error {
	om.mu.Lock()
	defer om.mu.Unlock()
	if err := om.createClaim.next(); err != nil {
		return err
	}
	if _, err := om.claimLister.PersistentVolumeClaims(claim.Namespace).Get(claim.Name); err == nil {
		return apierrors.NewAlreadyExists(v1.Resource("persistentvolumeclaims"), claim.Name)
	}
	if om.revealHiddenClaim(claim.Name) {
		// Created by someone else, not in the cache until now.
		return apierrors.NewAlreadyExists(v1.Resource("persistentvolumeclaims"), claim.Name)
	}
	created := claim.DeepCopy()
	created.UID = types.UID(claim.Name + "-uid")
	created.ResourceVersion = om.nextVersion()
	if err := om.claimIndexer.Add(created); err != nil {
		return err
	}
	om.createdClaims = append(om.createdClaims, claim.Name)
	return nil
}

var _ petObjectManager = &fakeObjectManager{}

// fakeStatusUpdater writes status into the fixture's PetSet.
type fakeStatusUpdater struct {
	f       *fixture
	tracker requestTracker
	writes  int
}

func (u *fakeStatusUpdater) UpdatePetSetStatus(_ context.Context, set *appsv1alpha1.PetSet, status *appsv1alpha1.PetSetStatus) error {
	if err := u.tracker.next(); err != nil {
		return err
	}
	if u.f.gone || u.f.set.UID != set.UID {
		return apierrors.NewNotFound(appsv1alpha1.Resource("petsets"), set.Name)
	}
	u.f.set.Status = *status.DeepCopy()
	u.f.set.ResourceVersion = u.f.om.nextVersion()
	u.writes++
	return nil
}

// fakeFinalizerControl edits the finalizers of the fixture's PetSet. A
// deleted PetSet whose last finalizer is removed is gone.
type fakeFinalizerControl struct {
	f *fixture
	// deletedOnServer makes AddFinalizer find the PetSet being deleted,
	// as after a conflict with a deletion the cache has not shown yet.
	deletedOnServer bool
	add             requestTracker
	remove          requestTracker
	removed         bool
}

func (fc *fakeFinalizerControl) AddFinalizer(_ context.Context, set *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
	if err := fc.add.next(); err != nil {
		return nil, err
	}
	s := fc.f.set
	if fc.deletedOnServer {
		fresh := s.DeepCopy()
		fresh.DeletionTimestamp = ptrTo(metav1.Now())
		return fresh, nil
	}
	if s.DeletionTimestamp != nil {
		fc.f.om.violate("finalizer added to a PetSet being deleted")
		return set, nil
	}
	if !hasFinalizer(s, PetSetFinalizer) {
		s.Finalizers = append(s.Finalizers, PetSetFinalizer)
		s.ResourceVersion = fc.f.om.nextVersion()
	}
	return s.DeepCopy(), nil
}

func (fc *fakeFinalizerControl) RemoveFinalizer(_ context.Context, set *appsv1alpha1.PetSet) error {
	if err := fc.remove.next(); err != nil {
		return err
	}
	s := fc.f.set
	if !hasFinalizer(s, metav1.FinalizerOrphanDependents) {
		for _, pod := range fc.f.om.serverPets() {
			if !isStuckTerminating(pod, fc.f.clock.Now(), testMargin) {
				fc.f.om.violate("finalizer removed while pet %s remains", pod.Name)
			}
		}
	}
	s.Finalizers = slices.DeleteFunc(s.Finalizers, func(f string) bool { return f == PetSetFinalizer })
	s.ResourceVersion = fc.f.om.nextVersion()
	fc.removed = true
	if s.DeletionTimestamp != nil && !slices.ContainsFunc(s.Finalizers, func(f string) bool { return f != metav1.FinalizerOrphanDependents }) {
		// Only the garbage collector's orphan finalizer (if any) is left.
		fc.f.gone = true
	}
	return nil
}

// fixture drives the control loop against the fakes, and plays the kubelet
// and the user.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	set      *appsv1alpha1.PetSet
	gone     bool
	om       *fakeObjectManager
	su       *fakeStatusUpdater
	fc       *fakeFinalizerControl
	revs     *fakeRevisionControl
	recorder *record.FakeRecorder
	clock    *testingclock.FakeClock
	exp      *petExpectations
	control  *defaultPetSetControl
	events   []string
	// requeueAfter is what the last sync asked for.
	requeueAfter time.Duration
	// unready names the pods the kubelet runs but never makes Ready.
	unready map[string]bool
	// stuck names the pods whose termination the kubelet never confirms.
	stuck map[string]bool
	// brokenImages names the images the kubelet never starts (as with
	// ImagePullBackOff): their pods stay Pending.
	brokenImages map[string]bool
}

func newFixture(t *testing.T, set *appsv1alpha1.PetSet) *fixture {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	f := &fixture{t: t, ctx: ctx, set: set, unready: map[string]bool{}, stuck: map[string]bool{}, brokenImages: map[string]bool{}}
	f.clock = testingclock.NewFakeClock(time.Date(2016, 6, 1, 0, 0, 0, 0, time.UTC))
	f.om = newFakeObjectManager(func() *appsv1alpha1.PetSet { return f.set }, f.clock.Now, testMargin)
	f.su = &fakeStatusUpdater{f: f}
	f.fc = &fakeFinalizerControl{f: f}
	f.recorder = record.NewFakeRecorder(1000)
	f.exp = newPetExpectations(f.clock)
	f.revs = newFakeRevisionControl()
	f.control = newDefaultPetSetControl(newRealPetControl(f.om, f.recorder, f.exp), f.revs, f.su, f.fc, f.exp,
		f.recorder, f.clock, testMargin)
	return f
}

// viewPods returns the pods the set controls, as the informer shows them.
func (f *fixture) viewPods() []*v1.Pod {
	var pods []*v1.Pod
	for _, obj := range f.om.podIndexer.List() {
		pod := obj.(*v1.Pod)
		if isControlledBy(pod, f.set) {
			pods = append(pods, pod)
		}
	}
	sortByOrdinal(pods)
	return pods
}

// sync runs one pass of the control loop on the cached PetSet.
func (f *fixture) sync() error {
	f.t.Helper()
	if f.gone {
		f.t.Fatalf("sync of a PetSet that is gone")
	}
	requeueAfter, err := f.control.SyncPetSet(f.ctx, f.set.DeepCopy(), f.viewPods())
	f.requeueAfter = requeueAfter
	f.drainEvents()
	return err
}

func (f *fixture) mustSync() {
	f.t.Helper()
	if err := f.sync(); err != nil {
		f.t.Fatalf("sync: %v", err)
	}
}

func (f *fixture) drainEvents() {
	for {
		select {
		case e := <-f.recorder.Events:
			f.events = append(f.events, e)
		default:
			return
		}
	}
}

// eventsWith returns the recorded events that contain s.
func (f *fixture) eventsWith(s string) []string {
	var out []string
	for _, e := range f.events {
		if strings.Contains(e, s) {
			out = append(out, e)
		}
	}
	return out
}

// setReplicas changes spec.replicas like kubectl scale.
func (f *fixture) setReplicas(replicas int) {
	r := int32(replicas)
	f.set.Spec.Replicas = &r
	f.set.Generation++
}

// setImage changes the template's image like kubectl edit.
func (f *fixture) setImage(image string) {
	f.set.Spec.Template.Spec.Containers[0].Image = image
	f.set.Generation++
}

// markDeleted marks the PetSet as deleted like kubectl delete, with the
// given finalizers.
func (f *fixture) markDeleted(finalizers ...string) {
	now := metav1.Now()
	f.set.DeletionTimestamp = &now
	f.set.Finalizers = finalizers
}

// updatePod changes a pod on the server.
func (f *fixture) updatePod(name string, mutate func(*v1.Pod)) {
	f.t.Helper()
	key := podKey(testNamespace, name)
	pod, ok := f.om.server[key]
	if !ok {
		f.t.Fatalf("pod %s does not exist", name)
	}
	pod = pod.DeepCopy()
	mutate(pod)
	pod.ResourceVersion = f.om.nextVersion()
	f.om.server[key] = pod
	f.om.written()
}

func setRunningReady(pod *v1.Pod) {
	pod.Status.Phase = v1.PodRunning
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}
}

func setPending(pod *v1.Pod) {
	pod.Status.Phase = v1.PodPending
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionFalse}}
}

func setInitialized(value string) func(*v1.Pod) {
	return func(pod *v1.Pod) {
		pod.Annotations = maps.Clone(pod.Annotations)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		if value == "" {
			delete(pod.Annotations, appsv1alpha1.PetSetInitAnnotation)
			return
		}
		pod.Annotations[appsv1alpha1.PetSetInitAnnotation] = value
	}
}

// userDelete starts a graceful deletion, like kubectl delete pod.
func (f *fixture) userDelete(name string) {
	f.updatePod(name, func(pod *v1.Pod) {
		now := metav1.NewTime(f.clock.Now())
		pod.DeletionTimestamp = &now
	})
}

// kubelet plays one step of the node: terminating pods go away, new pods
// become Pending, Pending pods become Running and Ready.
func (f *fixture) kubelet() {
	for key, pod := range f.om.server {
		switch {
		case pod.DeletionTimestamp != nil && f.stuck[pod.Name]:
			// The node never confirms the termination.
		case pod.DeletionTimestamp != nil:
			delete(f.om.server, key)
		case f.unready[pod.Name] && pod.Status.Phase == v1.PodPending:
			pod = pod.DeepCopy()
			pod.Status.Phase = v1.PodRunning
			pod.ResourceVersion = f.om.nextVersion()
			f.om.server[key] = pod
		case pod.Status.Phase == "":
			pod = pod.DeepCopy()
			setPending(pod)
			pod.ResourceVersion = f.om.nextVersion()
			f.om.server[key] = pod
		case pod.Status.Phase == v1.PodPending && f.brokenImages[pod.Spec.Containers[0].Image]:
			// The image never starts.
		case pod.Status.Phase == v1.PodPending:
			pod = pod.DeepCopy()
			setRunningReady(pod)
			pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(f.clock.Now())
			pod.ResourceVersion = f.om.nextVersion()
			f.om.server[key] = pod
		}
	}
	f.om.written()
}

// converged reports whether the pets and the status match spec.replicas.
func (f *fixture) converged() bool {
	want := replicasOf(f.set)
	if f.set.DeletionTimestamp != nil {
		return f.gone
	}
	pets := f.om.serverPets()
	if len(pets) != want {
		return false
	}
	start := startOrdinalOf(f.set)
	for i, pod := range pets {
		if getOrdinal(pod) != start+i || !isHealthy(pod) {
			return false
		}
	}
	s := f.set.Status
	return int(s.Replicas) == want && int(s.ReadyReplicas) == want &&
		s.ObservedGeneration != nil && *s.ObservedGeneration == f.set.Generation
}

// run alternates syncs (tolerating injected errors), invariant checks and
// kubelet steps until the PetSet converges.
func (f *fixture) run(maxSteps int, opts invariantOpts) {
	f.t.Helper()
	for step := 0; step < maxSteps; step++ {
		err := f.sync()
		if err != nil {
			f.t.Logf("step %d: sync error (retried): %v", step, err)
		}
		f.checkInvariants(opts)
		if err == nil && f.converged() {
			return
		}
		f.kubelet()
	}
	f.t.Fatalf("PetSet did not converge in %d steps: pets %v, status %+v", maxSteps, names(f.om.serverPets()), f.set.Status)
}

type invariantOpts struct {
	// allowGaps tolerates missing pets and out-of-order readiness, for
	// tests where pets are deleted behind the controller's back.
	allowGaps bool
}

// checkInvariants checks the server state against the PetSet rules.
func (f *fixture) checkInvariants(opts invariantOpts) {
	f.t.Helper()
	for _, v := range f.om.violations {
		f.t.Errorf("ordering rule violated: %s", v)
	}
	f.om.violations = nil

	set := f.set
	pets := f.om.serverPets()
	seen := map[string]string{}
	for i, pod := range pets {
		ordinal := getOrdinal(pod)
		label := pod.Labels[appsv1alpha1.PetSetPodOrdinalLabel]
		if other, dup := seen[label]; dup {
			f.t.Errorf("pods %s and %s share ordinal %s", other, pod.Name, label)
		}
		seen[label] = pod.Name
		if !opts.allowGaps {
			if ordinal != startOrdinalOf(set)+i {
				f.t.Errorf("gap in ordinals: pet %s at position %d (pets %v)", pod.Name, i, names(pets))
			}
			if i > 0 && isRunningAndReady(pod) && !isRunningAndReady(pets[i-1]) {
				f.t.Errorf("pet %s is Ready while %s is not", pod.Name, pets[i-1].Name)
			}
		}
		if set.DeletionTimestamp == nil || isControlledBy(pod, set) {
			if !fullIdentityMatches(set, pod) {
				f.t.Errorf("pet %s does not match the PetSet's identity: hostname %q subdomain %q labels %v owners %v",
					pod.Name, pod.Spec.Hostname, pod.Spec.Subdomain, pod.Labels, pod.OwnerReferences)
			}
		}
		if !storageMatches(set, pod) {
			f.t.Errorf("pet %s does not match the PetSet's storage: volumes %v", pod.Name, pod.Spec.Volumes)
		}
		for _, want := range newPetClaims(set, ordinal) {
			claim, err := f.om.claimLister.PersistentVolumeClaims(testNamespace).Get(want.Name)
			if err != nil {
				f.t.Errorf("claim %s of pet %s: %v", want.Name, pod.Name, err)
				continue
			}
			// Under the default policy (Retain) claims outlive pets
			// and the PetSet: neither owns them.
			if policy := retentionPolicyOf(set); policy.WhenDeleted == appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType &&
				policy.WhenScaled == appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType &&
				slices.ContainsFunc(claim.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.Kind == "PetSet" || ref.Kind == "Pod" }) {
				f.t.Errorf("claim %s has owners %v", claim.Name, claim.OwnerReferences)
			}
			for k, v := range claimLabels(set, claimTemplateOf(set, claim.Name, ordinal)) {
				if claim.Labels[k] != v {
					f.t.Errorf("claim %s lacks claim label %s=%s: %v", claim.Name, k, v, claim.Labels)
				}
			}
			for k, v := range set.Spec.Selector.MatchLabels {
				if claim.Labels[k] != v {
					f.t.Errorf("claim %s lacks selector label %s=%s: %v", claim.Name, k, v, claim.Labels)
				}
			}
		}
	}
	// No claim is ever deleted.
	for _, name := range f.om.createdClaims {
		if _, err := f.om.claimLister.PersistentVolumeClaims(testNamespace).Get(name); err != nil {
			f.t.Errorf("claim %s was deleted: %v", name, err)
		}
	}
}

// fullIdentityMatches reports whether the pod carries the network identity
// of the pet it is named after: member name, hostname, subdomain, pet name
// and ordinal labels, and the PetSet as controller.
func fullIdentityMatches(set *appsv1alpha1.PetSet, pod *v1.Pod) bool {
	return isMemberOf(set, pod) &&
		pod.Namespace == set.Namespace &&
		pod.Spec.Hostname == pod.Name &&
		pod.Spec.Subdomain == set.Spec.ServiceName &&
		identityMatches(set, pod) &&
		isControlledBy(pod, set)
}

// storageMatches reports whether every claim template of set is mounted in
// the pod as a volume of the same name pointing at the pet's claim.
func storageMatches(set *appsv1alpha1.PetSet, pod *v1.Pod) bool {
	ordinal := getOrdinal(pod)
	if ordinal < 0 {
		return false
	}
	volumes := make(map[string]v1.Volume, len(pod.Spec.Volumes))
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	for i := range set.Spec.VolumeClaimTemplates {
		name := set.Spec.VolumeClaimTemplates[i].Name
		v, ok := volumes[name]
		if !ok || v.PersistentVolumeClaim == nil ||
			v.PersistentVolumeClaim.ClaimName != getClaimName(set, name, ordinal) {
			return false
		}
	}
	return true
}

func names(pods []*v1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, pod := range pods {
		out = append(out, pod.Name)
	}
	return out
}

// petNames returns web-<from>..web-<to> (descending when from > to).
func petNames(from, to int) []string {
	var out []string
	if from <= to {
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("web-%d", i))
		}
		return out
	}
	for i := from; i >= to; i-- {
		out = append(out, fmt.Sprintf("web-%d", i))
	}
	return out
}

// claimTemplateOf returns the name of the claim template the claim of the
// pet with the given ordinal is made from.
func claimTemplateOf(set *appsv1alpha1.PetSet, claimName string, ordinal int) string {
	for i := range set.Spec.VolumeClaimTemplates {
		if getClaimName(set, set.Spec.VolumeClaimTemplates[i].Name, ordinal) == claimName {
			return set.Spec.VolumeClaimTemplates[i].Name
		}
	}
	return ""
}

func claimNames(from, to int) []string {
	out := petNames(from, to)
	for i := range out {
		out[i] = "www-" + out[i]
	}
	return out
}

// fakeRevisionControl is an in-memory store of ControllerRevisions; the
// cache it lists from is always current.
type fakeRevisionControl struct {
	revisions map[string]*appsv1.ControllerRevision
	version   int
	deleted   []string
	// failCreate fails every creation of a revision with this error.
	failCreate error
}

func newFakeRevisionControl() *fakeRevisionControl {
	return &fakeRevisionControl{revisions: map[string]*appsv1.ControllerRevision{}}
}

func (rc *fakeRevisionControl) ListRevisions(set *appsv1alpha1.PetSet) ([]*appsv1.ControllerRevision, error) {
	var out []*appsv1.ControllerRevision
	for _, rev := range rc.revisions {
		if ref := metav1.GetControllerOfNoCopy(rev); ref != nil && ref.UID == set.UID {
			out = append(out, rev)
		}
	}
	return out, nil
}

func (rc *fakeRevisionControl) GetRevision(_ context.Context, namespace, name string) (*appsv1.ControllerRevision, error) {
	rev, ok := rc.revisions[podKey(namespace, name)]
	if !ok {
		return nil, apierrors.NewNotFound(appsv1.Resource("controllerrevisions"), name)
	}
	return rev.DeepCopy(), nil
}

func (rc *fakeRevisionControl) CreateRevision(_ context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	if rc.failCreate != nil {
		return nil, rc.failCreate
	}
	key := podKey(rev.Namespace, rev.Name)
	if _, ok := rc.revisions[key]; ok {
		return nil, apierrors.NewAlreadyExists(appsv1.Resource("controllerrevisions"), rev.Name)
	}
	rev = rev.DeepCopy()
	rc.version++
	rev.ResourceVersion = strconv.Itoa(rc.version)
	rev.UID = types.UID("rev-" + rev.Name)
	rc.revisions[key] = rev
	return rev.DeepCopy(), nil
}

func (rc *fakeRevisionControl) UpdateRevision(_ context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	key := podKey(rev.Namespace, rev.Name)
	old, ok := rc.revisions[key]
	if !ok {
		return nil, apierrors.NewNotFound(appsv1.Resource("controllerrevisions"), rev.Name)
	}
	if old.ResourceVersion != rev.ResourceVersion {
		return nil, apierrors.NewConflict(appsv1.Resource("controllerrevisions"), rev.Name, fmt.Errorf("resourceVersion %s, not %s", old.ResourceVersion, rev.ResourceVersion))
	}
	rev = rev.DeepCopy()
	rc.version++
	rev.ResourceVersion = strconv.Itoa(rc.version)
	rc.revisions[key] = rev
	return rev.DeepCopy(), nil
}

func (rc *fakeRevisionControl) DeleteRevision(_ context.Context, rev *appsv1.ControllerRevision) error {
	key := podKey(rev.Namespace, rev.Name)
	if _, ok := rc.revisions[key]; !ok {
		return apierrors.NewNotFound(appsv1.Resource("controllerrevisions"), rev.Name)
	}
	delete(rc.revisions, key)
	rc.deleted = append(rc.deleted, rev.Name)
	return nil
}

// settled returns status with the revision fields of a PetSet whose pets
// all run its one revision: the revision the fake store holds last.
func (f *fixture) settled(status appsv1alpha1.PetSetStatus) appsv1alpha1.PetSetStatus {
	status.CurrentRevision = f.latestRevision()
	status.UpdateRevision = status.CurrentRevision
	status.CurrentReplicas, status.UpdatedReplicas = status.Replicas, status.Replicas
	status.CollisionCount = ptrTo(int32(0))
	return f.withAvailability(status)
}

// withAvailability completes a status expected of a PetSet without
// minReadySeconds: every Ready pet is available, and the Available
// condition says so (its transition time is the one the PetSet has).
func (f *fixture) withAvailability(status appsv1alpha1.PetSetStatus) appsv1alpha1.PetSetStatus {
	status.AvailableReplicas = status.ReadyReplicas
	status.Conditions = settledConditions(f.set, &status)
	for i, want := range status.Conditions {
		if c := meta.FindStatusCondition(f.set.Status.Conditions, want.Type); c != nil {
			status.Conditions[i].LastTransitionTime = c.LastTransitionTime
		}
	}
	return status
}

// settledConditions returns the conditions of a PetSet whose status is
// status and whose pets are all healthy: Available, and Progressing as the
// controller computes it.
func settledConditions(set *appsv1alpha1.PetSet, status *appsv1alpha1.PetSetStatus) []metav1.Condition {
	progress, _ := progressing(set, &appsv1alpha1.PetSetStatus{}, status, nil, time.Time{})
	return []metav1.Condition{availableCondition(set, status.AvailableReplicas, time.Time{}), progress}
}

// latestRevision returns the name of the revision with the highest number.
func (f *fixture) latestRevision() string {
	var latest *appsv1.ControllerRevision
	for _, rev := range f.revs.revisions {
		if latest == nil || rev.Revision > latest.Revision {
			latest = rev
		}
	}
	if latest == nil {
		return ""
	}
	return latest.Name
}

// runsOlderTemplate reports whether the pod's first container runs another
// image than the PetSet's template: the tests change templates by image.
func runsOlderTemplate(pod *v1.Pod, set *appsv1alpha1.PetSet) bool {
	return pod.Spec.Containers[0].Image != set.Spec.Template.Spec.Containers[0].Image
}
