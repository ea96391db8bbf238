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

// Helpers of the PetSet controller tests (petset_controller_*_test.go): the
// guide's manifest, a recorder of every pod event of a namespace (kwok makes
// pods Running and Ready at once, so ordering can only be judged from the
// complete, resourceVersion-ordered event stream), waits on pets, claims,
// status and events, and DNS lookups against the cluster's CoreDNS.

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/petsets/petset/test/e2e/framework"
)

const (
	// pcSetName, pcServiceName and pcClaimTemplate are the names of the
	// guide's example: PetSet web, headless Service nginx, claim template www.
	pcSetName       = "web"
	pcServiceName   = "nginx"
	pcClaimTemplate = "www"
	// pcAppSelector selects the example's pods and claims (kubectl -l).
	pcAppSelector = "app=nginx"

	// pcImage is the example's image; pcNewImage the guide's upgrade.
	pcImage    = "gcr.io/google_containers/nginx-slim:0.8"
	pcNewImage = "gcr.io/google_containers/nginx-slim:0.7"

	// pcTimeout bounds every wait for the controller.
	pcTimeout = 3 * time.Minute
	// pcQuiet is how long a test watches for something that must not
	// happen (a pet created while the PetSet is paused, say). kwok acts in
	// milliseconds, so a few seconds are plenty.
	pcQuiet = 4 * time.Second
)

// pcServiceManifest is the guide's headless governing Service.
const pcServiceManifest = `# A headless service to create DNS records
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  # *.nginx.<namespace>.svc.cluster.local
  clusterIP: None
  selector:
    app: nginx
`

// pcGuideManifest returns the guide's petset.yaml: the Service nginx and the
// PetSet web of pkg/apis/apps/v1alpha1/testdata/petset-web.yaml, with the
// given replicas and value of the pod.alpha.kubernetes.io/initialized
// template annotation.
func pcGuideManifest(t testing.TB, replicas int, initialized bool) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cluster.Root, "pkg", "apis", "apps", "v1alpha1", "testdata", "petset-web.yaml"))
	if err != nil {
		t.Fatalf("reading the example PetSet: %v", err)
	}
	set := string(b)
	set = pcReplaceOnce(t, set, "replicas: 2", fmt.Sprintf("replicas: %d", replicas))
	if !initialized {
		set = pcReplaceOnce(t, set, appsv1alpha1.PetSetInitAnnotation+`: "true"`, appsv1alpha1.PetSetInitAnnotation+`: "false"`)
	}
	return pcServiceManifest + "---\n" + set
}

func pcReplaceOnce(t testing.TB, s, old, replacement string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the example PetSet holds %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, replacement, 1)
}

// pcKubectl runs kubectl in namespace ns (none if empty) and fails the test
// on error.
func pcKubectl(t testing.TB, ns, stdin string, args ...string) string {
	t.Helper()
	if ns != "" {
		args = append([]string{"--namespace", ns}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	out, err := cluster.Kubectl(ctx, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pcExpectOutput fails the test unless out contains every line of want.
func pcExpectOutput(t testing.TB, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("kubectl printed %q, want a line with %q", out, w)
		}
	}
}

// pcCreateGuide starts recording the pods of ns, then runs the guide's
// `kubectl create -f petset.yaml`.
func pcCreateGuide(t testing.TB, ns string, replicas int, initialized bool) *pcRecorder {
	t.Helper()
	rec := pcRecordPods(t, ns)
	out := pcKubectl(t, ns, pcGuideManifest(t, replicas, initialized), "create", "-f", "-")
	pcExpectOutput(t, out, "service/nginx created", "petset.apps/web created")
	return rec
}

// pcPetName returns the name of the example's pet with the given ordinal.
func pcPetName(ordinal int) string { return fmt.Sprintf("%s-%d", pcSetName, ordinal) }

// pcPetNames returns the names of pets from..to-1.
func pcPetNames(from, to int) []string {
	var names []string
	for i := from; i < to; i++ {
		names = append(names, pcPetName(i))
	}
	return names
}

// pcClaimName returns the claim of the example's pet with the given ordinal.
func pcClaimName(ordinal int) string { return pcClaimTemplate + "-" + pcPetName(ordinal) }

// pcClaimNames returns the claims of pets from..to-1.
func pcClaimNames(from, to int) []string {
	var names []string
	for i := from; i < to; i++ {
		names = append(names, pcClaimName(i))
	}
	return names
}

// pcOrdinal returns the ordinal of a pet of web, or -1.
func pcOrdinal(name string) int {
	suffix, ok := strings.CutPrefix(name, pcSetName+"-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(suffix)
	if err != nil || strconv.Itoa(n) != suffix {
		return -1
	}
	return n
}

// ---------------------------------------------------------------------------
// Pod event recorder
// ---------------------------------------------------------------------------

// pcPodEvent is one pod event as seen by a watch, reduced to what ordering
// assertions need.
type pcPodEvent struct {
	// Seq is the position in the watch stream.
	Seq int
	// At is when the event arrived, since the recording started.
	At          time.Duration
	Type        watch.EventType
	Name        string
	UID         types.UID
	RV          string
	Phase       corev1.PodPhase
	Ready       bool
	Paused      bool
	Terminating bool
	Image       string
}

// healthy reports whether the pet lets the PetSet make progress: Running,
// Ready, not paused by the initialized annotation and not terminating.
func (e pcPodEvent) healthy() bool {
	return e.Type != watch.Deleted && e.Phase == corev1.PodRunning && e.Ready && !e.Paused && !e.Terminating
}

func (e pcPodEvent) String() string {
	var flags []string
	if e.Ready {
		flags = append(flags, "ready")
	}
	if e.Paused {
		flags = append(flags, "paused")
	}
	if e.Terminating {
		flags = append(flags, "terminating")
	}
	return fmt.Sprintf("#%d +%s %s %s uid=%s rv=%s %s [%s]", e.Seq, e.At.Round(time.Millisecond), e.Type, e.Name, pcShortUID(e.UID), e.RV, e.Phase, strings.Join(flags, ","))
}

func pcShortUID(uid types.UID) string {
	if len(uid) > 8 {
		return string(uid[:8])
	}
	return string(uid)
}

// pcRecorder records every pod event of one namespace, from a list taken
// before the test acts, through a watch that resumes on errors. A watch of
// one resource delivers events in resourceVersion order, which is the order
// the controller's informer sees them in.
type pcRecorder struct {
	ns    string
	start time.Time

	mu     sync.Mutex
	events []pcPodEvent
}

// pcRecordPods starts recording the pods of ns until the test ends.
func pcRecordPods(t testing.TB, ns string) *pcRecorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pods := cluster.Kube.CoreV1().Pods(ns)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("listing the pods of %s: %v", ns, err)
	}
	r := &pcRecorder{ns: ns, start: time.Now()}
	for i := range list.Items {
		r.add(watch.Added, &list.Items[i])
	}
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return pods.Watch(ctx, opts)
		},
	})
	if err != nil {
		cancel()
		t.Fatalf("watching the pods of %s: %v", ns, err)
	}
	go func() {
		for ev := range rw.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				// The RetryWatcher only passes on errors it cannot
				// recover from (the resourceVersion is too old).
				t.Errorf("pod watch of %s: unexpected %s event %#v", ns, ev.Type, ev.Object)
				continue
			}
			r.add(ev.Type, pod)
		}
	}()
	t.Cleanup(func() {
		cancel()
		rw.Stop()
		<-rw.Done()
		t.Logf("pod events of %s:\n%s", ns, r.timeline())
	})
	return r
}

func (r *pcRecorder) add(typ watch.EventType, pod *corev1.Pod) {
	e := pcPodEvent{
		At:          time.Since(r.start),
		Type:        typ,
		Name:        pod.Name,
		UID:         pod.UID,
		RV:          pod.ResourceVersion,
		Phase:       pod.Status.Phase,
		Terminating: pod.DeletionTimestamp != nil,
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			e.Ready = c.Status == corev1.ConditionTrue
		}
	}
	if v, ok := pod.Annotations[appsv1alpha1.PetSetInitAnnotation]; ok {
		b, err := strconv.ParseBool(v)
		e.Paused = err == nil && !b
	}
	if len(pod.Spec.Containers) > 0 {
		e.Image = pod.Spec.Containers[0].Image
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Seq = len(r.events)
	r.events = append(r.events, e)
}

// Events returns the events recorded so far.
func (r *pcRecorder) Events() []pcPodEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Len returns the number of events recorded so far.
func (r *pcRecorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *pcRecorder) timeline() string {
	var b strings.Builder
	for _, e := range r.Events() {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	return b.String()
}

// WaitFor waits until the recorded events satisfy cond, which returns a
// description of what is missing, or "" once satisfied.
func (r *pcRecorder) WaitFor(t testing.TB, what string, cond func(evs []pcPodEvent) string) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, what+" (watch)", func(context.Context) (bool, string, error) {
		msg := cond(r.Events())
		return msg == "", msg, nil
	})
}

// WaitForSteady waits until the watch has shown the pets names (and no other
// pod) Running and Ready, which the API reported already: the assertions
// that follow judge the complete history.
func (r *pcRecorder) WaitForSteady(t testing.TB, names []string) {
	t.Helper()
	r.WaitFor(t, fmt.Sprintf("pets %v healthy", names), func(evs []pcPodEvent) string {
		state := pcReplay(evs)
		var missing []string
		for _, n := range names {
			if e, ok := state[n]; !ok || !e.Ready || e.Phase != corev1.PodRunning || e.Terminating {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 || len(state) != len(names) {
			return fmt.Sprintf("not yet healthy: %v; pods seen: %v", missing, slices.Sorted(maps.Keys(state)))
		}
		return ""
	})
}

// WaitForGone waits until the watch has shown the deletion of names.
func (r *pcRecorder) WaitForGone(t testing.TB, names ...string) {
	t.Helper()
	r.WaitFor(t, fmt.Sprintf("pods %v deleted", names), func(evs []pcPodEvent) string {
		state := pcReplay(evs)
		var left []string
		for _, n := range names {
			if _, ok := state[n]; ok {
				left = append(left, n)
			}
		}
		if len(left) > 0 {
			return fmt.Sprintf("still there: %v", left)
		}
		return ""
	})
}

// pcReplay returns the latest event of every pod that exists after evs.
func pcReplay(evs []pcPodEvent) map[string]pcPodEvent {
	state := map[string]pcPodEvent{}
	for _, e := range evs {
		if e.Type == watch.Deleted {
			delete(state, e.Name)
		} else {
			state[e.Name] = e
		}
	}
	return state
}

// pcCreations returns the creation (first ADDED) events, in order.
func pcCreations(evs []pcPodEvent) []pcPodEvent {
	var out []pcPodEvent
	for _, e := range evs {
		if e.Type == watch.Added {
			out = append(out, e)
		}
	}
	return out
}

// pcDeletionStarts returns, per pod UID, the event where its deletion
// started: the first that shows a deletionTimestamp, or the DELETED event of
// a pod removed without a grace period. In order.
func pcDeletionStarts(evs []pcPodEvent) []pcPodEvent {
	seen := map[types.UID]bool{}
	var out []pcPodEvent
	for _, e := range evs {
		if (e.Terminating || e.Type == watch.Deleted) && !seen[e.UID] {
			seen[e.UID] = true
			out = append(out, e)
		}
	}
	return out
}

// pcFind returns the first event of name matching pred after seq from.
func pcFind(evs []pcPodEvent, from int, name string, pred func(pcPodEvent) bool) (pcPodEvent, bool) {
	for _, e := range evs {
		if e.Seq >= from && e.Name == name && pred(e) {
			return e, true
		}
	}
	return pcPodEvent{}, false
}

func pcIsAdded(e pcPodEvent) bool   { return e.Type == watch.Added }
func pcIsDeleted(e pcPodEvent) bool { return e.Type == watch.Deleted }
func pcIsHealthy(e pcPodEvent) bool { return e.healthy() }

// pcNames returns the pod names of evs.
func pcNames(evs []pcPodEvent) []string {
	names := make([]string, 0, len(evs))
	for _, e := range evs {
		names = append(names, e.Name)
	}
	return names
}

// pcCheckOrderedCreation checks the PetSet's creation rule over a whole
// history: every pet web-i was created only while web-0..web-(i-1) all
// existed Running, Ready, not paused and not terminating.
func pcCheckOrderedCreation(t testing.TB, evs []pcPodEvent) {
	t.Helper()
	state := map[string]pcPodEvent{}
	for _, e := range evs {
		if e.Type == watch.Added {
			for j := 0; j < pcOrdinal(e.Name); j++ {
				lower, ok := state[pcPetName(j)]
				switch {
				case !ok:
					t.Errorf("%s was created (event #%d) while %s did not exist", e.Name, e.Seq, pcPetName(j))
				case !lower.healthy():
					t.Errorf("%s was created (event #%d) while %s was not Running and Ready: %s", e.Name, e.Seq, pcPetName(j), lower)
				}
			}
		}
		if e.Type == watch.Deleted {
			delete(state, e.Name)
		} else {
			state[e.Name] = e
		}
	}
}

// pcCheckCreatedInOrder checks that names were created, once each, in this
// order, each after the previous one was Running and Ready.
func pcCheckCreatedInOrder(t testing.TB, evs []pcPodEvent, from int, names ...string) {
	t.Helper()
	var created []string
	for _, e := range pcCreations(evs) {
		if e.Seq >= from && slices.Contains(names, e.Name) {
			created = append(created, e.Name)
		}
	}
	if !slices.Equal(created, names) {
		t.Errorf("pets created in the order %v, want %v", created, names)
		return
	}
	for i := 1; i < len(names); i++ {
		add, _ := pcFind(evs, from, names[i], pcIsAdded)
		prevReady, ok := pcFind(evs, from, names[i-1], pcIsHealthy)
		if !ok || prevReady.Seq > add.Seq {
			t.Errorf("%s was created (event #%d) before %s was Running and Ready (%v)", names[i], add.Seq, names[i-1], prevReady)
		}
	}
}

// pcCheckDeletedInOrder checks that names were deleted in this order, one
// at a time: the deletion of each started only once the previous one was
// completely gone, and while no pet with a higher ordinal existed.
func pcCheckDeletedInOrder(t testing.TB, evs []pcPodEvent, from int, names ...string) {
	t.Helper()
	var starts []pcPodEvent
	for _, e := range pcDeletionStarts(evs) {
		if e.Seq >= from && slices.Contains(names, e.Name) {
			starts = append(starts, e)
		}
	}
	if got := pcNames(starts); !slices.Equal(got, names) {
		t.Errorf("pets deleted in the order %v, want %v", got, names)
		return
	}
	for i := 1; i < len(starts); i++ {
		gone, ok := pcFind(evs, from, names[i-1], pcIsDeleted)
		if !ok || gone.Seq >= starts[i].Seq {
			t.Errorf("the deletion of %s started (event #%d) before %s was gone (%v)", names[i], starts[i].Seq, names[i-1], gone)
		}
	}
	for _, s := range starts {
		var before []pcPodEvent
		for _, e := range evs {
			if e.Seq < s.Seq {
				before = append(before, e)
			}
		}
		for name := range pcReplay(before) {
			if pcOrdinal(name) > pcOrdinal(s.Name) {
				t.Errorf("the deletion of %s started (event #%d) while %s still existed", s.Name, s.Seq, name)
			}
		}
	}
}

// pcWithoutKwokRace returns evs without the pet instances (by UID) created
// at or after seq from that were deleted before they were ever Running and
// Ready, and logs them. It is for tests that delete pets themselves (the
// guide's kubectl delete pod) and never scale down: there the controller
// deletes no pet that has not been Running and Ready (it deletes Failed and
// Succeeded pets, and condemned ones), so such a deletion comes from outside.
// It is kwok's: kwok (v0.8.0, pod_controller.go deleteResource) finishes
// every terminating pod with a DELETE by name without a UID precondition;
// with the example's terminationGracePeriodSeconds: 0 the API server has
// already removed the pod, and that DELETE can hit the pet the controller
// has just created in its place. (A kubelet deletes with the pod's UID as
// precondition.) The controller must then create the pet once more, which
// the callers check.
func pcWithoutKwokRace(t testing.TB, evs []pcPodEvent, from int) []pcPodEvent {
	t.Helper()
	created := map[types.UID]bool{}
	everReady := map[types.UID]bool{}
	hit := map[types.UID]bool{}
	for _, e := range evs {
		if e.Seq < from {
			continue
		}
		switch {
		case e.Type == watch.Added:
			created[e.UID] = true
		case e.Terminating || e.Type == watch.Deleted:
			if created[e.UID] && !everReady[e.UID] && !hit[e.UID] {
				hit[e.UID] = true
				t.Logf("kwok's DELETE by name hit %s (uid %s) right after its creation: %s", e.Name, e.UID, e)
			}
		case e.Ready && e.Phase == corev1.PodRunning:
			everReady[e.UID] = true
		}
	}
	var out []pcPodEvent
	for _, e := range evs {
		if !hit[e.UID] {
			out = append(out, e)
		}
	}
	return out
}

// pcCheckNoDeletions fails if a pod deletion started in evs after seq from.
func pcCheckNoDeletions(t testing.TB, evs []pcPodEvent, from int) {
	t.Helper()
	for _, e := range pcDeletionStarts(evs) {
		if e.Seq >= from {
			t.Errorf("unexpected pod deletion: %s", e)
		}
	}
}

// pcCheckNoCreations fails if a pod was created in evs after seq from.
func pcCheckNoCreations(t testing.TB, evs []pcPodEvent, from int) {
	t.Helper()
	for _, e := range pcCreations(evs) {
		if e.Seq >= from {
			t.Errorf("unexpected pod creation: %s", e)
		}
	}
}

// ---------------------------------------------------------------------------
// Waits on the API
// ---------------------------------------------------------------------------

// pcWaitPets waits until the namespace holds exactly the pets
// web-0..web-(n-1), each Running and Ready and not terminating, and returns
// them by name.
func pcWaitPets(t testing.TB, ns string, n int) map[string]*corev1.Pod {
	t.Helper()
	want := pcPetNames(0, n)
	var pets map[string]*corev1.Pod
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("pets %v Running and Ready", want), func(ctx context.Context) (bool, string, error) {
		list, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		pets = map[string]*corev1.Pod{}
		var states []string
		ok := len(list.Items) == n
		for i := range list.Items {
			pod := &list.Items[i]
			pets[pod.Name] = pod
			ready := pcPodReady(pod)
			states = append(states, fmt.Sprintf("%s:%s/ready=%t/terminating=%t", pod.Name, pod.Status.Phase, ready, pod.DeletionTimestamp != nil))
			if !slices.Contains(want, pod.Name) || pod.Status.Phase != corev1.PodRunning || !ready || pod.DeletionTimestamp != nil {
				ok = false
			}
		}
		sort.Strings(states)
		return ok, strings.Join(states, " "), nil
	})
	return pets
}

func pcPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pcWaitClaimsBound waits until the claims exist and are Bound, and returns
// their UIDs by name.
func pcWaitClaimsBound(t testing.TB, ns string, names ...string) map[string]types.UID {
	t.Helper()
	uids := map[string]types.UID{}
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("claims %v Bound", names), func(ctx context.Context) (bool, string, error) {
		var states []string
		ok := true
		for _, name := range names {
			claim, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				states = append(states, fmt.Sprintf("%s: %v", name, err))
				ok = false
				continue
			}
			uids[name] = claim.UID
			states = append(states, fmt.Sprintf("%s:%s", name, claim.Status.Phase))
			if claim.Status.Phase != corev1.ClaimBound || claim.DeletionTimestamp != nil {
				ok = false
			}
		}
		return ok, strings.Join(states, " "), nil
	})
	return uids
}

// pcClaimUIDs returns the UIDs of every claim of ns by name.
func pcClaimUIDs(t testing.TB, ns string) map[string]types.UID {
	t.Helper()
	list, err := cluster.Kube.CoreV1().PersistentVolumeClaims(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing claims: %v", err)
	}
	uids := map[string]types.UID{}
	for _, c := range list.Items {
		uids[c.Name] = c.UID
	}
	return uids
}

// pcGetSet returns the PetSet web of ns.
func pcGetSet(t testing.TB, ns string) *appsv1alpha1.PetSet {
	t.Helper()
	set, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(context.Background(), pcSetName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting PetSet %s/%s: %v", ns, pcSetName, err)
	}
	return set
}

// pcWaitStatus waits until the PetSet's status reports replicas and
// readyReplicas for its current generation, and returns the PetSet.
func pcWaitStatus(t testing.TB, ns string, replicas, ready int32) *appsv1alpha1.PetSet {
	t.Helper()
	var set *appsv1alpha1.PetSet
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("PetSet status replicas=%d readyReplicas=%d", replicas, ready), func(ctx context.Context) (bool, string, error) {
		var err error
		set, err = cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, pcSetName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		s := set.Status
		observed := int64(-1)
		if s.ObservedGeneration != nil {
			observed = *s.ObservedGeneration
		}
		msg := fmt.Sprintf("generation=%d observedGeneration=%d replicas=%d readyReplicas=%d", set.Generation, observed, s.Replicas, s.ReadyReplicas)
		return observed == set.Generation && s.Replicas == replicas && s.ReadyReplicas == ready, msg, nil
	})
	return set
}

// pcWaitEvents waits until the PetSet web has Normal events with reason and
// each of the messages.
func pcWaitEvents(t testing.TB, ns, reason string, messages ...string) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("%s events on PetSet %s", reason, pcSetName), func(ctx context.Context) (bool, string, error) {
		list, err := cluster.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		seen := map[string]bool{}
		for _, ev := range list.Items {
			o := ev.InvolvedObject
			if o.Kind == "PetSet" && o.Name == pcSetName && o.APIVersion == appsv1alpha1.SchemeGroupVersion.String() &&
				ev.Type == corev1.EventTypeNormal && ev.Reason == reason {
				seen[ev.Message] = true
			}
		}
		var missing []string
		for _, m := range messages {
			if !seen[m] {
				missing = append(missing, m)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %q; seen %q", missing, slices.Sorted(maps.Keys(seen))), nil
	})
}

// pcScaleWithPatch scales PetSet web the guide's first way:
// kubectl patch petset web -p '{"spec":{"replicas":N}}'.
func pcScaleWithPatch(t testing.TB, ns string, replicas int) {
	t.Helper()
	out := pcKubectl(t, ns, "", "patch", "petset", pcSetName, "-p", fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
	pcExpectOutput(t, out, "petset.apps/web patched")
}

// pcAnnotate sets the initialized annotation of a pet as the guide says
// (kubectl annotate --overwrite).
func pcAnnotate(t testing.TB, ns, pod string, initialized bool) {
	t.Helper()
	out := pcKubectl(t, ns, "", "annotate", "--overwrite", "pod", pod, fmt.Sprintf("%s=%t", appsv1alpha1.PetSetInitAnnotation, initialized))
	pcExpectOutput(t, out, "pod/"+pod+" annotated")
}

// pcConsistently checks cond every poll interval for d; it fails the test
// with cond's message the first time cond reports a problem.
func pcConsistently(t testing.TB, d time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if msg := cond(); msg != "" {
			t.Fatalf("%s: %s", what, msg)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(framework.Poll)
	}
}

// ---------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------

// pcResolver resolves through the cluster's CoreDNS only, whatever the
// machine's resolv.conf says.
func pcResolver() *net.Resolver {
	server := cluster.Env["DNS_SERVER"]
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}

// pcDomain returns the cluster domain.
func pcDomain() string {
	if d := cluster.Env["CLUSTER_DOMAIN"]; d != "" {
		return d
	}
	return "cluster.local"
}

// pcWaitHost waits until host resolves to exactly the address want.
func pcWaitHost(t testing.TB, host, want string) {
	t.Helper()
	r := pcResolver()
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("%s to resolve to %s", host, want), func(ctx context.Context) (bool, string, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err := r.LookupHost(ctx, host)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(addrs) == 1 && addrs[0] == want, fmt.Sprintf("%s resolves to %v", host, addrs), nil
	})
}

// pcWaitSRV waits until the SRV records of service/proto/name (name alone
// when service and proto are empty) are exactly the targets, with port.
func pcWaitSRV(t testing.TB, service, proto, name string, port uint16, targets []string) {
	t.Helper()
	r := pcResolver()
	want := slices.Sorted(slices.Values(targets))
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("SRV records of %s/%s/%s", service, proto, name), func(ctx context.Context) (bool, string, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, srvs, err := r.LookupSRV(ctx, service, proto, name)
		if err != nil {
			return false, err.Error(), nil
		}
		var got []string
		ok := true
		for _, s := range srvs {
			got = append(got, s.Target)
			if s.Port != port {
				ok = false
			}
		}
		slices.Sort(got)
		var recs []string
		for _, s := range srvs {
			recs = append(recs, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target))
		}
		return ok && slices.Equal(got, want), fmt.Sprintf("SRV %q (want targets %v, port %d)", recs, want, port), nil
	})
}
