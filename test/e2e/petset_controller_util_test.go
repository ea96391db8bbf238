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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

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
	// pcSettle bounds what the controller does on its own in a few
	// seconds when it works (a teardown, a scale down, a retry), so that a
	// stalled controller fails a test within a minute.
	pcSettle = time.Minute
	// pcTerminatingPetMargin is the e2e cluster's --terminating-pet-margin:
	// how long past its grace period a pet stuck terminating holds up the
	// teardown of its PetSet.
	pcTerminatingPetMargin = 10 * time.Second

	// pcMarkAnnotation is the pod annotation a recorder writes to catch up
	// with the API (pcRecorder.CatchUp).
	pcMarkAnnotation = "e2e.petsets.io/mark"
	// pcSyncEnv is the environment variable of the template's container
	// that pcResync changes to make the controller sync a new generation.
	pcSyncEnv = "E2E_SYNC"
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
	// Revision is the pet's controller-revision-hash label.
	Revision string
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
		select {
		case <-rw.Done():
		case <-time.After(30 * time.Second):
			t.Errorf("the pod watch of %s did not stop within 30s", ns)
		}
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
	e.Revision = pod.Labels[appsv1alpha1.ControllerRevisionHashLabel]
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
	r.WaitWithin(t, pcTimeout, what, cond)
}

// WaitWithin is WaitFor with another timeout.
func (r *pcRecorder) WaitWithin(t testing.TB, timeout time.Duration, what string, cond func(evs []pcPodEvent) string) {
	t.Helper()
	framework.WaitFor(t, timeout, what+" (watch)", func(context.Context) (bool, string, error) {
		msg := cond(r.Events())
		return msg == "", msg, nil
	})
}

// CatchUp waits until the recorder has seen every pod event of its
// namespace up to resourceVersion rv. A watch delivers events in
// resourceVersion order, so it writes an annotation on one of the pods (one
// that exists, the lowest by name) and waits for that write's event.
func (r *pcRecorder) CatchUp(t testing.TB, rv uint64) {
	t.Helper()
	if last := r.lastRV(); last >= rv {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	pods := cluster.Kube.CoreV1().Pods(r.ns)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the pods of %s: %v", r.ns, err)
	}
	if len(list.Items) == 0 {
		t.Fatalf("no pod in %s to write a mark on; the watch cannot be caught up to resourceVersion %d", r.ns, rv)
	}
	names := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, pcMarkAnnotation, strconv.FormatUint(rv, 10))
	marked, err := pods.Patch(ctx, names[0], types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("writing a mark on pod %s/%s: %v", r.ns, names[0], err)
	}
	want, err := strconv.ParseUint(marked.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("pod %s resourceVersion %q: %v", marked.Name, marked.ResourceVersion, err)
	}
	r.WaitFor(t, fmt.Sprintf("the mark on %s (resourceVersion %d)", marked.Name, want), func([]pcPodEvent) string {
		if last := r.lastRV(); last < want {
			return fmt.Sprintf("last event seen at resourceVersion %d", last)
		}
		return ""
	})
}

// lastRV returns the resourceVersion of the last recorded event.
func (r *pcRecorder) lastRV() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last uint64
	for _, e := range r.events {
		if rv, err := strconv.ParseUint(e.RV, 10, 64); err == nil && rv > last {
			last = rv
		}
	}
	return last
}

// Upto returns the recorded events up to resourceVersion rv, once the
// recorder has caught up to it.
func (r *pcRecorder) Upto(t testing.TB, rv uint64) []pcPodEvent {
	t.Helper()
	r.CatchUp(t, rv)
	var out []pcPodEvent
	for _, e := range r.Events() {
		if n, err := strconv.ParseUint(e.RV, 10, 64); err == nil && n <= rv {
			out = append(out, e)
		}
	}
	return out
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

// pcReplay returns the latest event of every pod that exists after evs, by
// name.
func pcReplay(evs []pcPodEvent) map[string]pcPodEvent {
	state := map[string]pcPodEvent{}
	for _, e := range pcLive(evs) {
		state[e.Name] = e
	}
	return state
}

// pcLive returns the latest event of every pod instance that exists after
// evs, by UID.
func pcLive(evs []pcPodEvent) map[types.UID]pcPodEvent {
	live := map[types.UID]pcPodEvent{}
	for _, e := range evs {
		if e.Type == watch.Deleted {
			delete(live, e.UID)
		} else {
			live[e.UID] = e
		}
	}
	return live
}

// pcBefore returns the events of evs that came before seq.
func pcBefore(evs []pcPodEvent, seq int) []pcPodEvent {
	var out []pcPodEvent
	for _, e := range evs {
		if e.Seq < seq {
			out = append(out, e)
		}
	}
	return out
}

// pcSince returns the events of evs from seq from on.
func pcSince(evs []pcPodEvent, from int) []pcPodEvent {
	var out []pcPodEvent
	for _, e := range evs {
		if e.Seq >= from {
			out = append(out, e)
		}
	}
	return out
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

// pcFindUID returns the first event of the pod instance uid matching pred
// at or after seq from.
func pcFindUID(evs []pcPodEvent, from int, uid types.UID, pred func(pcPodEvent) bool) (pcPodEvent, bool) {
	for _, e := range evs {
		if e.Seq >= from && e.UID == uid && pred(e) {
			return e, true
		}
	}
	return pcPodEvent{}, false
}

// pcFind returns the first event of a pod named name matching pred at or
// after seq from.
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
// history: every pet web-i was created only while instances of
// web-0..web-(i-1) all existed Running, Ready, not paused and not
// terminating.
func pcCheckOrderedCreation(t testing.TB, evs []pcPodEvent) {
	t.Helper()
	live := map[types.UID]pcPodEvent{}
	for _, e := range evs {
		if e.Type == watch.Added {
			byName := map[string]pcPodEvent{}
			for _, l := range live {
				byName[l.Name] = l
			}
			for j := 0; j < pcOrdinal(e.Name); j++ {
				lower, ok := byName[pcPetName(j)]
				switch {
				case !ok:
					t.Errorf("%s was created (event #%d) while %s did not exist", e.Name, e.Seq, pcPetName(j))
				case !lower.healthy():
					t.Errorf("%s was created (event #%d) while %s was not Running and Ready: %s", e.Name, e.Seq, pcPetName(j), lower)
				}
			}
		}
		if e.Type == watch.Deleted {
			delete(live, e.UID)
		} else {
			live[e.UID] = e
		}
	}
}

// pcCheckCreatedInOrder checks that names were created (as new instances)
// after seq from, once each, in this order, each while the instance of the
// previous name created just before it existed Running and Ready.
func pcCheckCreatedInOrder(t testing.TB, evs []pcPodEvent, from int, names ...string) {
	t.Helper()
	var created []pcPodEvent
	for _, e := range pcCreations(evs) {
		if e.Seq >= from && slices.Contains(names, e.Name) {
			created = append(created, e)
		}
	}
	if got := pcNames(created); !slices.Equal(got, names) {
		t.Errorf("pets created in the order %v, want %v", got, names)
		return
	}
	for i := 1; i < len(created); i++ {
		prev, ok := pcLive(pcBefore(evs, created[i].Seq))[created[i-1].UID]
		switch {
		case !ok:
			t.Errorf("%s was created (event #%d) after %s (uid %s) was gone", names[i], created[i].Seq, names[i-1], pcShortUID(created[i-1].UID))
		case !prev.healthy():
			t.Errorf("%s was created (event #%d) before %s was Running and Ready: %s", names[i], created[i].Seq, names[i-1], prev)
		}
	}
}

// pcCheckDeletedInOrder checks that names were deleted in this order, one
// at a time: the deletion of each started only once the previous instance
// was completely gone, and while no pet with a higher ordinal existed.
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
		gone, ok := pcFindUID(evs, from, starts[i-1].UID, pcIsDeleted)
		if !ok || gone.Seq >= starts[i].Seq {
			t.Errorf("the deletion of %s started (event #%d) before %s (uid %s) was gone (%v)", names[i], starts[i].Seq, names[i-1], pcShortUID(starts[i-1].UID), gone)
		}
	}
	for _, s := range starts {
		for _, e := range pcLive(pcBefore(evs, s.Seq)) {
			if pcOrdinal(e.Name) > pcOrdinal(s.Name) {
				t.Errorf("the deletion of %s started (event #%d) while %s still existed", s.Name, s.Seq, e.Name)
			}
		}
	}
}

// pcCheckPetSequence checks a history of pets that were never deleted (by
// anyone): every pod instance (UID) is a pet web-<ordinal>, no pet ever had
// two instances, and after every event the pets that exist are
// web-0..web-(n-1) without a gap.
func pcCheckPetSequence(t testing.TB, evs []pcPodEvent) {
	t.Helper()
	instances := map[string][]types.UID{}
	live := map[types.UID]pcPodEvent{}
	for _, e := range evs {
		ordinal := pcOrdinal(e.Name)
		if ordinal < 0 {
			t.Errorf("pod %s is no pet of %s: %s", e.Name, pcSetName, e)
			continue
		}
		if !slices.Contains(instances[e.Name], e.UID) {
			instances[e.Name] = append(instances[e.Name], e.UID)
			if n := len(instances[e.Name]); n > 1 {
				t.Errorf("%s has instance #%d (uid %s, event #%d) after %v: a pet was created again", e.Name, n, pcShortUID(e.UID), e.Seq, instances[e.Name][:n-1])
			}
		}
		for uid, l := range live {
			if l.Name == e.Name && uid != e.UID && e.Type != watch.Deleted {
				t.Errorf("two live instances of %s: uid %s and %s (event #%d)", e.Name, pcShortUID(uid), pcShortUID(e.UID), e.Seq)
			}
		}
		if e.Type == watch.Deleted {
			delete(live, e.UID)
		} else {
			live[e.UID] = e
		}
		var ordinals []int
		for _, l := range live {
			ordinals = append(ordinals, pcOrdinal(l.Name))
		}
		slices.Sort(ordinals)
		for i, o := range ordinals {
			if o != i {
				t.Errorf("after event #%d the pets are %v: web-%d is missing", e.Seq, ordinals, i)
				break
			}
		}
	}
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

// pcRecv receives from ch; it fails the test, naming what it waited for,
// when nothing comes within timeout.
func pcRecv[T any](t testing.TB, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
		panic("unreachable")
	}
}

// pcWaitObserved waits until the controller has reported PetSet web's
// current generation in status.observedGeneration, and returns the PetSet.
func pcWaitObserved(t testing.TB, ns string) *appsv1alpha1.PetSet {
	t.Helper()
	var set *appsv1alpha1.PetSet
	framework.WaitFor(t, pcTimeout, "the controller to observe PetSet "+pcSetName+"'s generation", func(ctx context.Context) (bool, string, error) {
		var err error
		set, err = cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, pcSetName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		observed := int64(-1)
		if set.Status.ObservedGeneration != nil {
			observed = *set.Status.ObservedGeneration
		}
		return observed >= set.Generation, fmt.Sprintf("generation=%d observedGeneration=%d", set.Generation, observed), nil
	})
	return set
}

// pcSynced waits until the controller has observed PetSet web's current
// generation and returns the recorded pod events up to the PetSet's
// resourceVersion at that point. The controller writes a sync's status after
// that sync's pod writes, and pods and PetSets are kept in the same etcd, so
// their resourceVersions (etcd revisions) compare: the events returned hold
// every pod write the controller made up to its first sync of the
// generation. What it decided there is judged from them (a positive signal)
// rather than from a quiet period.
func pcSynced(t testing.TB, ns string, rec *pcRecorder) []pcPodEvent {
	t.Helper()
	set := pcWaitObserved(t, ns)
	rv, err := strconv.ParseUint(set.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("PetSet resourceVersion %q: %v", set.ResourceVersion, err)
	}
	return rec.Upto(t, rv)
}

// pcResync makes the controller sync PetSet web once more with the pets as
// they are, and returns what pcSynced returns. It sets the environment
// variable E2E_SYNC of the template's first container to a new value: a
// change of the generation that alters no existing pet (the controller
// never rewrites a pod; pets created later get the variable).
func pcResync(t testing.TB, ns string, rec *pcRecorder) []pcPodEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	sets := cluster.PetSets.AppsV1alpha1().PetSets(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		set, err := sets.Get(ctx, pcSetName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		c := &set.Spec.Template.Spec.Containers[0]
		value := strconv.FormatInt(set.Generation+1, 10)
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == pcSyncEnv })
		c.Env = append(c.Env, corev1.EnvVar{Name: pcSyncEnv, Value: value})
		_, err = sets.Update(ctx, set, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("changing %s in the template of PetSet %s: %v", pcSyncEnv, pcSetName, err)
	}
	return pcSynced(t, ns, rec)
}

// pcKubectlErr runs kubectl in namespace ns, bounded by timeout, and returns
// its output and error.
func pcKubectlErr(ns string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return cluster.Kubectl(ctx, "", append([]string{"--namespace", ns}, args...)...)
}

// pcDeletePetSet runs kubectl delete petset web with args, which waits until
// the PetSet is gone, for at most pcSettle; it fails the test with the
// PetSet's and the pods' state when the PetSet is still there.
func pcDeletePetSet(t testing.TB, ns string, setRec *pcSetRecorder, args ...string) {
	t.Helper()
	args = append([]string{"delete", "petset", pcSetName, "--timeout=" + pcSettle.String()}, args...)
	out, err := pcKubectlErr(ns, pcSettle+30*time.Second, args...)
	if err != nil {
		evs := setRec.Events()
		t.Fatalf("kubectl %s did not finish: %v\nPetSet last seen: %s\npods: %s", strings.Join(args, " "), err, evs[len(evs)-1], pcPodStates(ns))
	}
	pcExpectOutput(t, out, `petset.apps "web" deleted`)
}

// pcPodStates describes the pods of ns for failure messages.
func pcPodStates(ns string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var states []string
	for _, pod := range list.Items {
		paused := pod.Annotations[appsv1alpha1.PetSetInitAnnotation] == "false"
		states = append(states, fmt.Sprintf("%s(uid %s %s ready=%t paused=%t terminating=%t finalizers=%v)",
			pod.Name, pcShortUID(pod.UID), pod.Status.Phase, pcPodReady(&pod), paused, pod.DeletionTimestamp != nil, pod.Finalizers))
	}
	sort.Strings(states)
	if len(states) == 0 {
		return "no pods"
	}
	return strings.Join(states, " ")
}

// pcWaitSetEvent waits up to timeout for an event of PetSet web with the
// type and reason whose message contains each of parts, and returns it.
func pcWaitSetEvent(t testing.TB, ns, typ, reason string, timeout time.Duration, parts ...string) corev1.Event {
	t.Helper()
	var found corev1.Event
	framework.WaitFor(t, timeout, fmt.Sprintf("a %s event %s on PetSet %s with %q", typ, reason, pcSetName, parts), func(ctx context.Context) (bool, string, error) {
		list, err := cluster.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		var seen []string
		for _, ev := range list.Items {
			o := ev.InvolvedObject
			if o.Kind != "PetSet" || o.Name != pcSetName || o.APIVersion != appsv1alpha1.SchemeGroupVersion.String() {
				continue
			}
			seen = append(seen, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Message))
			if ev.Type != typ || ev.Reason != reason {
				continue
			}
			matches := true
			for _, p := range parts {
				matches = matches && strings.Contains(ev.Message, p)
			}
			if matches {
				found = ev
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("events of the PetSet: %q", seen), nil
	})
	return found
}

// pcCheckDeletedBefore checks that every pod deletion of evs completed
// before the PetSet's own DELETED event: pods and PetSets are kept in the
// same etcd, so their resourceVersions (etcd revisions) compare.
func pcCheckDeletedBefore(t testing.TB, evs []pcPodEvent, deleted pcSetEvent) {
	t.Helper()
	setRV, err := strconv.ParseUint(deleted.RV, 10, 64)
	if err != nil {
		t.Fatalf("PetSet resourceVersion %q: %v", deleted.RV, err)
	}
	for _, e := range evs {
		if e.Type != watch.Deleted {
			continue
		}
		if rv, err := strconv.ParseUint(e.RV, 10, 64); err != nil || rv >= setRV {
			t.Errorf("%s was deleted at resourceVersion %s, not before the PetSet (%s)", e.Name, e.RV, deleted.RV)
		}
	}
}

// pcRunOtherSet creates (or scales) in ns a PetSet name of its own: label
// app=<name>, no claims, the given replicas; and waits until the controller
// reports them all ready for its latest generation. Its pets being created
// is a positive sign that the controller has handled what happened before.
func pcRunOtherSet(t testing.TB, ns, name string, replicas int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	sets := cluster.PetSets.AppsV1alpha1().PetSets(ns)
	labels := map[string]string{"app": name}
	set, err := sets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		set = &appsv1alpha1.PetSet{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1alpha1.PetSetSpec{
				Replicas:    &replicas,
				ServiceName: name,
				Selector:    &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						TerminationGracePeriodSeconds: ptr.To[int64](0),
						Containers:                    []corev1.Container{{Name: "main", Image: pcImage}},
					},
				},
			},
		}
		if _, err := sets.Create(ctx, set, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating PetSet %s/%s: %v", ns, name, err)
		}
	case err != nil:
		t.Fatalf("getting PetSet %s/%s: %v", ns, name, err)
	default:
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
		if _, err := sets.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("scaling PetSet %s/%s: %v", ns, name, err)
		}
	}
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("PetSet %s/%s with %d ready pets", ns, name, replicas), func(ctx context.Context) (bool, string, error) {
		set, err := sets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		s := set.Status
		observed := s.ObservedGeneration != nil && *s.ObservedGeneration == set.Generation
		return observed && s.Replicas == replicas && s.ReadyReplicas == replicas,
			fmt.Sprintf("generation %d status %+v", set.Generation, s), nil
	})
}

// ---------------------------------------------------------------------------
// PetSet event recorder
// ---------------------------------------------------------------------------

// pcSetEvent is one event of the PetSet web as seen by a watch.
type pcSetEvent struct {
	At          time.Duration
	Type        watch.EventType
	RV          string
	Terminating bool
	Finalizers  []string
	// Conditions are the PetSet's status conditions.
	Conditions []metav1.Condition
}

func (e pcSetEvent) String() string {
	return fmt.Sprintf("+%s %s rv=%s terminating=%t finalizers=%v", e.At.Round(time.Millisecond), e.Type, e.RV, e.Terminating, e.Finalizers)
}

// pcSetRecorder records the events of the PetSet web of one namespace from
// its current state on, through a watch that resumes on errors.
type pcSetRecorder struct {
	ns    string
	start time.Time

	mu     sync.Mutex
	events []pcSetEvent
}

// pcRecordSet starts recording the PetSet web of ns until the test ends.
func pcRecordSet(t testing.TB, ns string) *pcSetRecorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sets := cluster.PetSets.AppsV1alpha1().PetSets(ns)
	set, err := sets.Get(ctx, pcSetName, metav1.GetOptions{})
	if err != nil {
		cancel()
		t.Fatalf("getting PetSet %s/%s: %v", ns, pcSetName, err)
	}
	r := &pcSetRecorder{ns: ns, start: time.Now()}
	r.add(watch.Added, set)
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, set.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = "metadata.name=" + pcSetName
			return sets.Watch(ctx, opts)
		},
	})
	if err != nil {
		cancel()
		t.Fatalf("watching PetSet %s/%s: %v", ns, pcSetName, err)
	}
	go func() {
		for ev := range rw.ResultChan() {
			set, ok := ev.Object.(*appsv1alpha1.PetSet)
			if !ok {
				t.Errorf("PetSet watch of %s: unexpected %s event %#v", ns, ev.Type, ev.Object)
				continue
			}
			r.add(ev.Type, set)
		}
	}()
	t.Cleanup(func() {
		cancel()
		rw.Stop()
		select {
		case <-rw.Done():
		case <-time.After(30 * time.Second):
			t.Errorf("the PetSet watch of %s did not stop within 30s", ns)
		}
	})
	return r
}

func (r *pcSetRecorder) add(typ watch.EventType, set *appsv1alpha1.PetSet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, pcSetEvent{
		At:          time.Since(r.start),
		Type:        typ,
		RV:          set.ResourceVersion,
		Terminating: set.DeletionTimestamp != nil,
		Finalizers:  slices.Clone(set.Finalizers),
		Conditions:  slices.Clone(set.Status.Conditions),
	})
}

// Events returns the events recorded so far.
func (r *pcSetRecorder) Events() []pcSetEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// WaitGone waits up to timeout for the PetSet's DELETED event and returns
// it; on timeout the test fails with the PetSet's last state and the pods
// that are left.
func (r *pcSetRecorder) WaitGone(t testing.TB, timeout time.Duration) pcSetEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := r.Events()
		for _, e := range evs {
			if e.Type == watch.Deleted {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("PetSet %s/%s is still there %s after its deletion: last seen %s; pods: %s",
				r.ns, pcSetName, timeout, evs[len(evs)-1], pcPodStates(r.ns))
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
