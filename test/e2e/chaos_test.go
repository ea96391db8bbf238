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

// Faults on the local cluster while the controller scales and tears down
// PetSets: petset-apiserver killed (SIGKILL), etcd killed or stopped
// (SIGSTOP), kube-apiserver restarted, the leader of two server replicas
// killed. Only processes the cluster or the test started are signalled, by
// their recorded PID. After every fault the invariants are checked over the
// whole history of the pods, recorded by UID from a watch started before the
// PetSet was created: no pet ever had two live instances, the live pets were
// always web-0..web-(n-1) without a gap, each pet was created only while the
// lower ones ran, and the PetSet converged.
//
// PETSET_CHAOS_ITERATIONS (or -chaos.iterations) sets how often each
// scenario repeats; the default, 1, keeps make test short, make test-chaos
// runs 20. Each scenario appends a JSON line with its counts and outcome to
// PETSET_RELIABILITY_RESULTS (default <PETSET_E2E_DIR>/reliability.jsonl),
// from which test/e2e/reliabilitydoc writes docs/reliability.md.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/petsets/petset/test/e2e/framework"
	"github.com/petsets/petset/test/e2e/reliability"
)

var chaosIterationsFlag = flag.Int("chaos.iterations", 0, "how often each fault scenario repeats (default $PETSET_CHAOS_ITERATIONS, else 1)")

const (
	// chaosStop is how long etcd stays stopped (SIGSTOP) before SIGCONT.
	chaosStop = 20 * time.Second
	// chaosOutage bounds how long kube-apiserver takes to report etcd
	// unhealthy once etcd is killed or stopped.
	chaosOutage = time.Minute
)

// chaosLeaseFlags make a killed leader's Lease expire after 6s instead of
// 15s, so that each kill costs seconds; the controller's behaviour does not
// depend on the durations.
var chaosLeaseFlags = []string{
	"--leader-elect-lease-duration=6s",
	"--leader-elect-renew-deadline=4s",
	"--leader-elect-retry-period=1s",
}

// chaosIterations returns how often each scenario repeats.
func chaosIterations(t testing.TB) int {
	if *chaosIterationsFlag > 0 {
		return *chaosIterationsFlag
	}
	return envCount(t, "PETSET_CHAOS_ITERATIONS", 1)
}

// chaosRunStart is when the test binary started: the results of one run
// name it.
var chaosRunStart = time.Now().UTC()

var chaosResults struct {
	once sync.Once
	mu   sync.Mutex
	path string
	err  error
}

// chaosRecord records r to the results file when the test ends, with the
// test's outcome and duration. Call it first in a test so that it runs after
// the test's other cleanups.
func chaosRecord(t *testing.T, r *reliability.Result) {
	start := time.Now()
	r.Test = t.Name()
	t.Cleanup(func() {
		r.Outcome = reliability.Passed
		if t.Failed() {
			r.Outcome = reliability.Failed
		}
		r.Seconds = time.Since(start).Round(time.Second).Seconds()
		r.Time = start.UTC().Format(time.RFC3339)
		if err := chaosAppend(r); err != nil {
			t.Errorf("recording the result: %v", err)
		}
		t.Logf("result: %+v", *r)
	})
}

// chaosAppend appends r as one JSON line to the results file, which the
// first call of a test run truncates.
func chaosAppend(r *reliability.Result) error {
	c := &chaosResults
	c.once.Do(func() {
		c.path = os.Getenv("PETSET_RELIABILITY_RESULTS")
		if c.path == "" {
			c.path = filepath.Join(cluster.Dir, "reliability.jsonl")
		}
		c.err = os.WriteFile(c.path, nil, 0o644)
	})
	if c.err != nil {
		return fmt.Errorf("creating %s: %w", c.path, c.err)
	}
	if r.Run == "" {
		r.Run = chaosRunStart.Format(time.RFC3339)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := os.OpenFile(c.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", c.path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", c.path, err)
	}
	return f.Close()
}

// chaosRecordPods is pcRecordPods for a scenario that restarts
// kube-apiserver: its new watch cache starts at the current revision, so a
// watch cannot resume from the last event seen before the restart (410
// Gone). The recorder then lists the pods again and records the difference
// as events: a pod instance (UID) it had not seen as ADDED, one that is gone
// as DELETED. A pet deleted and created again meanwhile thus shows as its
// old UID deleted and a new one added, which the checks catch.
func chaosRecordPods(t testing.TB, ns string) *pcRecorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pods := cluster.Kube.CoreV1().Pods(ns)
	r := &pcRecorder{ns: ns, start: time.Now()}
	live := map[types.UID]*corev1.Pod{}
	relist := func() (string, error) {
		list, err := pods.List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", err
		}
		seen := map[types.UID]bool{}
		for i := range list.Items {
			pod := &list.Items[i]
			seen[pod.UID] = true
			if _, ok := live[pod.UID]; !ok {
				r.add(watch.Added, pod)
			}
			live[pod.UID] = pod
		}
		for uid, pod := range live {
			if !seen[uid] {
				r.add(watch.Deleted, pod)
				delete(live, uid)
			}
		}
		return list.ResourceVersion, nil
	}
	rv, err := relist()
	if err != nil {
		cancel()
		t.Fatalf("listing the pods of %s: %v", ns, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				if status, ok := ev.Object.(*metav1.Status); ok {
					if status.Code == 410 {
						t.Logf("pod watch of %s: %s; listing again", ns, status.Message)
						if newRV, err := relist(); err == nil {
							rv = newRV
						}
					}
					break
				}
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				rv = pod.ResourceVersion
				if ev.Type == watch.Bookmark {
					continue
				}
				r.add(ev.Type, pod)
				if ev.Type == watch.Deleted {
					delete(live, pod.UID)
				} else {
					live[pod.UID] = pod
				}
			}
			w.Stop()
			// Watches end on errors, on kube-apiserver's restart and on
			// their timeout; do not spin on a server that is down.
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("the pod watch of %s did not stop within 30s", ns)
		}
		t.Logf("pod events of %s:\n%s", ns, r.timeline())
	})
	return r
}

// chaosCheckPets checks the history of PetSet web's pods: every pod is a
// pet of web, no pet ever had two live instances, after every event the live
// pets (terminating ones included) are web-0..web-(n-1) without a gap, and
// each pet was created only while the lower ones were Running and Ready.
func chaosCheckPets(t testing.TB, evs []pcPodEvent) {
	t.Helper()
	live := map[types.UID]pcPodEvent{}
	for _, e := range evs {
		if pcOrdinal(e.Name) < 0 {
			t.Errorf("pod %s is no pet of %s: %s", e.Name, pcSetName, e)
			continue
		}
		if e.Type != watch.Deleted {
			for uid, l := range live {
				if l.Name == e.Name && uid != e.UID {
					t.Errorf("two live instances of %s: uid %s and %s (event #%d)", e.Name, pcShortUID(uid), pcShortUID(e.UID), e.Seq)
				}
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
	pcCheckOrderedCreation(t, evs)
}

// chaosLogPets logs the pets the watch has seen live, so that the log shows
// where in an operation a fault hit.
func chaosLogPets(t testing.TB, rec *pcRecorder, fault string) {
	t.Helper()
	var pets []string
	for _, e := range pcLive(rec.Events()) {
		state := string(e.Phase)
		if e.Terminating {
			state = "terminating"
		}
		pets = append(pets, e.Name+":"+state)
	}
	slices.Sort(pets)
	t.Logf("%s with the pets %v", fault, pets)
}

// chaosWaitEvent waits until the watch shows an event at or after seq from
// that matches pred, and returns it.
func chaosWaitEvent(t testing.TB, rec *pcRecorder, from int, what string, pred func(pcPodEvent) bool) pcPodEvent {
	t.Helper()
	var found pcPodEvent
	rec.WaitFor(t, what, func(evs []pcPodEvent) string {
		for _, e := range evs {
			if e.Seq >= from && pred(e) {
				found = e
				return ""
			}
		}
		return "not yet"
	})
	return found
}

// chaosCreated matches the creation of the pet with the given ordinal.
func chaosCreated(ordinal int) func(pcPodEvent) bool {
	return func(e pcPodEvent) bool { return e.Type == watch.Added && e.Name == pcPetName(ordinal) }
}

// chaosDeleting matches the start of the deletion of the pet with the given
// ordinal.
func chaosDeleting(ordinal int) func(pcPodEvent) bool {
	return func(e pcPodEvent) bool {
		return e.Name == pcPetName(ordinal) && (e.Terminating || e.Type == watch.Deleted)
	}
}

// chaosWaitSetGone waits until PetSet web of ns is gone.
func chaosWaitSetGone(t testing.TB, ns string) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, "PetSet "+pcSetName+" gone", func(ctx context.Context) (bool, string, error) {
		set, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, pcSetName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, err.Error(), nil
		}
		return false, fmt.Sprintf("deletionTimestamp=%v finalizers=%v replicas=%d; pods: %s", set.DeletionTimestamp, set.Finalizers, set.Status.Replicas, pcPodStates(ns)), nil
	})
}

// chaosDeleteSet starts the deletion of PetSet web without waiting for it.
func chaosDeleteSet(t testing.TB, ns string) {
	t.Helper()
	pcExpectOutput(t, pcKubectl(t, ns, "", "delete", "petset", pcSetName, "--wait=false"), `petset.apps "web" deleted`)
}

// chaosConverge waits until PetSet web runs n Running and Ready pets and
// reports them, and the watch has seen them.
func chaosConverge(t testing.TB, ns string, rec *pcRecorder, n int) {
	t.Helper()
	pcWaitPets(t, ns, n)
	rec.WaitForSteady(t, pcPetNames(0, n))
	pcWaitStatus(t, ns, int32(n), int32(n))
}

// KillAndStart kills the server (SIGKILL, by its recorded PID) and starts it
// again with extra flags, waiting until PetSets are served.
func (s *siServer) KillAndStart(t testing.TB, extra ...string) {
	t.Helper()
	start := time.Now()
	s.moved = true
	if err := cluster.Kill(framework.PetSetAPIServer, 30*time.Second); err != nil {
		t.Fatalf("killing petset-apiserver: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	if err := cluster.StartPetSetServerWith(ctx, true, extra...); err != nil {
		t.Fatalf("starting petset-apiserver with %v after SIGKILL: %v", extra, err)
	}
	s.moved = len(extra) > 0
	t.Logf("petset-apiserver killed and serving again in %s", time.Since(start).Round(time.Millisecond))
}

// TestChaosPetSetServerKilledDuringScaleUpScaleDownAndTeardown kills
// petset-apiserver (SIGKILL) in the middle of a scale from 0 to 5, a scale
// from 5 to 1 and the teardown of 3 pets, at a point that moves with each
// iteration, and starts it again each time: the PetSet converges every time
// and the pets' history holds the invariants.
func TestChaosPetSetServerKilledDuringScaleUpScaleDownAndTeardown(t *testing.T) {
	n := chaosIterations(t)
	result := &reliability.Result{
		Scenario: "petset-apiserver SIGKILL",
		Fault:    "SIGKILL of petset-apiserver, then a start with the same flags",
		During:   []string{"scale 0→5", "scale 5→1", "teardown of 3 pets"},
		Checks: []string{"no pet with two live instances", "no gap in the live ordinals", "each pet created only while the lower ones ran",
			"the PetSet converged (5 pets, 1 pet, PetSet and pets gone)", "teardown in reverse order"},
	}
	chaosRecord(t, result)
	srv := siManageServer(t)
	srv.Restart(true, chaosLeaseFlags...)

	for i := range n {
		t.Run(fmt.Sprintf("iteration-%d", i+1), func(t *testing.T) {
			ns := cluster.CreateNamespace(t)
			rec := pcCreateGuide(t, ns, 0, true)
			pcWaitObserved(t, ns)

			// Scale up: killed once web-k was created, k in 0..3.
			k := i % 4
			mark := rec.Len()
			pcScaleWithPatch(t, ns, 5)
			chaosWaitEvent(t, rec, mark, fmt.Sprintf("%s created", pcPetName(k)), chaosCreated(k))
			chaosLogPets(t, rec, "killing petset-apiserver")
			srv.KillAndStart(t, chaosLeaseFlags...)
			result.Faults++
			chaosConverge(t, ns, rec, 5)

			// Scale down: killed once the deletion of web-(4-k)
			// started.
			mark = rec.Len()
			pcScaleWithPatch(t, ns, 1)
			chaosWaitEvent(t, rec, mark, fmt.Sprintf("the deletion of %s", pcPetName(4-k)), chaosDeleting(4-k))
			chaosLogPets(t, rec, "killing petset-apiserver")
			srv.KillAndStart(t, chaosLeaseFlags...)
			result.Faults++
			chaosConverge(t, ns, rec, 1)
			rec.WaitForGone(t, pcPetNames(1, 5)...)
			pcCheckDeletedInOrder(t, rec.Events(), mark, "web-4", "web-3", "web-2", "web-1")

			// Teardown of 3 pets: killed once the deletion of web-2
			// or web-1 started.
			pcScaleWithPatch(t, ns, 3)
			chaosConverge(t, ns, rec, 3)
			mark = rec.Len()
			chaosDeleteSet(t, ns)
			victim := 2 - i%2
			chaosWaitEvent(t, rec, mark, fmt.Sprintf("the deletion of %s", pcPetName(victim)), chaosDeleting(victim))
			chaosLogPets(t, rec, "killing petset-apiserver")
			srv.KillAndStart(t, chaosLeaseFlags...)
			result.Faults++
			chaosWaitSetGone(t, ns)
			rec.WaitForGone(t, pcPetNames(0, 3)...)
			evs := rec.Events()
			pcCheckDeletedInOrder(t, evs, mark, "web-2", "web-1", "web-0")
			chaosCheckPets(t, evs)
			result.Iterations++
		})
		if t.Failed() {
			break
		}
	}
}

// chaosAcked creates ConfigMaps in kube-apiserver's storage and PetSets in
// petset-apiserver's, each acknowledged with 2xx, and returns a check that
// they are all still there, the same objects.
func chaosAcked(t *testing.T, ns, tag string) func(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	uids := map[string]types.UID{}
	for i := range 3 {
		name := fmt.Sprintf("acked-%s-%d", tag, i)
		cm, err := cluster.Kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": strconv.Itoa(i)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating ConfigMap %s: %v", name, err)
		}
		uids["configmap/"+name] = cm.UID
	}
	for i := range 2 {
		set := apiWebPetSet(t)
		set.Name = fmt.Sprintf("acked-%s-%d", tag, i)
		set.Spec.Replicas = new(int32)
		labels := map[string]string{"app": set.Name}
		set.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		set.Spec.Template.Labels = labels
		created, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, set, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating PetSet %s: %v", set.Name, err)
		}
		uids["petset/"+set.Name] = created.UID
	}
	return func(t *testing.T) {
		t.Helper()
		for key, uid := range uids {
			kind, name, _ := strings.Cut(key, "/")
			var got types.UID
			var err error
			switch kind {
			case "configmap":
				var cm *corev1.ConfigMap
				if cm, err = cluster.Kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
					got = cm.UID
				}
			case "petset":
				var set *appsv1alpha1.PetSet
				if set, err = cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
					got = set.UID
				}
			}
			switch {
			case err != nil:
				t.Errorf("%s, acknowledged before the fault, after it: %v", key, err)
			case got != uid:
				t.Errorf("%s is uid %s after the fault, want the acknowledged uid %s", key, got, uid)
			}
		}
	}
}

// chaosWaitEtcdDown waits until kube-apiserver reports etcd unhealthy.
func chaosWaitEtcdDown(t testing.TB) {
	t.Helper()
	framework.WaitFor(t, chaosOutage, "kube-apiserver to report etcd unhealthy", func(ctx context.Context) (bool, string, error) {
		code, body, err := siGet(ctx, cluster.Kube.Discovery().RESTClient(), "/readyz", "verbose", "true")
		if err != nil {
			return false, err.Error(), nil
		}
		return code != 200 && strings.Contains(body, "[-]etcd "), fmt.Sprintf("%d", code), nil
	})
}

// chaosEtcdFault is a fault of etcd: it returns once etcd serves again.
type chaosEtcdFault struct {
	name  string
	fault string
	// onlyDuring is the operation a single iteration (make test) hits:
	// "scale" or "teardown". Longer runs hit both every iteration.
	onlyDuring string
	apply      func(t *testing.T)
}

var chaosEtcdFaults = []chaosEtcdFault{
	{
		name:       "Killed",
		fault:      "SIGKILL of etcd, then a start on the same data directory",
		onlyDuring: "scale",
		apply: func(t *testing.T) {
			if err := cluster.Kill(framework.Etcd, 30*time.Second); err != nil {
				t.Fatalf("killing etcd: %v", err)
			}
			chaosWaitEtcdDown(t)
			ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
			defer cancel()
			if err := cluster.RestartEtcd(ctx); err != nil {
				t.Fatalf("starting etcd again: %v", err)
			}
		},
	},
	{
		name:       "Stopped",
		fault:      fmt.Sprintf("SIGSTOP of etcd for %s, then SIGCONT", chaosStop),
		onlyDuring: "teardown",
		apply: func(t *testing.T) {
			stopped := time.Now()
			if _, err := cluster.Signal(framework.Etcd, syscall.SIGSTOP); err != nil {
				t.Fatalf("stopping etcd: %v", err)
			}
			resumed := false
			t.Cleanup(func() {
				if !resumed {
					if _, err := cluster.Signal(framework.Etcd, syscall.SIGCONT); err != nil {
						t.Errorf("resuming etcd: %v", err)
					}
				}
			})
			chaosWaitEtcdDown(t)
			time.Sleep(time.Until(stopped.Add(chaosStop)))
			if _, err := cluster.Signal(framework.Etcd, syscall.SIGCONT); err != nil {
				t.Fatalf("resuming etcd: %v", err)
			}
			resumed = true
		},
	},
}

// chaosEnsureEtcd starts etcd again when the test ends if it left it
// killed.
func chaosEnsureEtcd(t *testing.T) {
	t.Cleanup(func() {
		if _, err := cluster.PID(framework.Etcd); err == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
		defer cancel()
		if err := cluster.RestartEtcd(ctx); err != nil {
			t.Errorf("starting etcd again: %v", err)
		}
	})
}

// TestChaosEtcdKilledOrStoppedDuringScaleUpAndTeardown kills etcd
// (SIGKILL, then starts it on the same data directory) or stops it for 20s
// (SIGSTOP, SIGCONT) while the controller scales a PetSet from 0 to 5 and
// while it tears down 3 pets: the operation completes once etcd is back, the
// pets' history holds the invariants, and the ConfigMaps and PetSets
// acknowledged before the fault are still there. A single iteration (make
// test) kills etcd during the scale and stops it during the teardown; more
// iterations do both to both.
func TestChaosEtcdKilledOrStoppedDuringScaleUpAndTeardown(t *testing.T) {
	n := chaosIterations(t)
	for _, f := range chaosEtcdFaults {
		t.Run(f.name, func(t *testing.T) {
			scale, teardown := n > 1 || f.onlyDuring == "scale", n > 1 || f.onlyDuring == "teardown"
			result := &reliability.Result{
				Scenario: "etcd " + strings.ToLower(f.name),
				Fault:    f.fault,
				Checks: []string{"the operation completed after etcd was back", "no pet with two live instances", "no gap in the live ordinals",
					"teardown in reverse order", "ConfigMaps and PetSets acknowledged before the fault still there"},
			}
			if scale {
				result.During = append(result.During, "scale 0→5")
			}
			if teardown {
				result.During = append(result.During, "teardown of 3 pets")
			}
			chaosRecord(t, result)
			chaosEnsureEtcd(t)
			for i := range n {
				t.Run(fmt.Sprintf("iteration-%d", i+1), func(t *testing.T) {
					ns := cluster.CreateNamespace(t)
					rec := pcCreateGuide(t, ns, 0, true)
					pcWaitObserved(t, ns)

					k := i % 4
					mark := rec.Len()
					if scale {
						// The acknowledged writes come first, so that the
						// fault follows the pet's creation closely.
						checkAcked := chaosAcked(t, ns, "up")
						pcScaleWithPatch(t, ns, 5)
						chaosWaitEvent(t, rec, mark, fmt.Sprintf("%s created", pcPetName(k)), chaosCreated(k))
						chaosLogPets(t, rec, "etcd "+strings.ToLower(f.name))
						f.apply(t)
						result.Faults++
						chaosConverge(t, ns, rec, 5)
						checkAcked(t)
					}

					pcScaleWithPatch(t, ns, 3)
					chaosConverge(t, ns, rec, 3)
					mark = rec.Len()
					checkAcked := func(*testing.T) {}
					if teardown {
						checkAcked = chaosAcked(t, ns, "down")
					}
					chaosDeleteSet(t, ns)
					if teardown {
						victim := 2 - i%2
						chaosWaitEvent(t, rec, mark, fmt.Sprintf("the deletion of %s", pcPetName(victim)), chaosDeleting(victim))
						chaosLogPets(t, rec, "etcd "+strings.ToLower(f.name))
						f.apply(t)
						result.Faults++
						checkAcked(t)
					}
					chaosWaitSetGone(t, ns)
					rec.WaitForGone(t, pcPetNames(0, 3)...)
					evs := rec.Events()
					pcCheckDeletedInOrder(t, evs, mark, "web-2", "web-1", "web-0")
					chaosCheckPets(t, evs)
					result.Iterations++
				})
				if t.Failed() {
					break
				}
			}
		})
	}
}

// TestChaosKubeAPIServerRestartKeepsThePetsAndTheControllerResumes
// restarts kube-apiserver with 2 pets running: the APIService becomes
// Available again, no pet was touched, and a scale made afterwards converges.
func TestChaosKubeAPIServerRestartKeepsThePetsAndTheControllerResumes(t *testing.T) {
	n := chaosIterations(t)
	result := &reliability.Result{
		Scenario: "kube-apiserver restart",
		Fault:    "kube-apiserver stopped (TERM) and started again with the same flags; kube-scheduler restarted after it",
		During:   []string{"2 or 4 pets running"},
		Checks:   []string{"APIService Available again", "no pet deleted or created by the restart", "a scale after the restart converged"},
	}
	chaosRecord(t, result)
	ns := cluster.CreateNamespace(t)
	rec := chaosRecordPods(t, ns)
	pcExpectOutput(t, pcKubectl(t, ns, pcGuideManifest(t, 2, true), "create", "-f", "-"), "service/nginx created", "petset.apps/web created")
	chaosConverge(t, ns, rec, 2)
	pets, schedulerExits := 2, 0
	defer func() {
		if schedulerExits > 0 {
			result.Notes = append(result.Notes, fmt.Sprintf("kube-scheduler (v1.37.2) had already exited when the test restarted it "+
				"after %d of the %d restarts (its cache found a pod on another node than it had recorded after the relist)", schedulerExits, result.Faults))
		}
	}()
	defer func() {
		// The node lifecycle controller marks the pods of the node not
		// ready, with a NodeNotReady event each, when kwok's node lease
		// lapsed while kube-apiserver was down.
		events, err := cluster.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=NodeNotReady"})
		if err != nil {
			t.Errorf("listing the NodeNotReady events of %s: %v", ns, err)
			return
		}
		marked := 0
		for _, e := range events.Items {
			marked += max(int(e.Count), 1)
		}
		if marked > 0 {
			result.Notes = append(result.Notes, fmt.Sprintf("the node lifecycle controller marked pets not ready %d times (kwok's node lease had lapsed "+
				"while kube-apiserver was down); kwok's stage pod-ready-node-back made them ready again", marked))
		}
		t.Logf("NodeNotReady events of the pets: %d", marked)
	}()
	for i := range n {
		t.Run(fmt.Sprintf("iteration-%d", i+1), func(t *testing.T) {
			uids := siPetUIDs(t, ns)
			mark := rec.Len()
			ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
			defer cancel()
			start := time.Now()
			if err := cluster.RestartKubeAPIServer(ctx); err != nil {
				t.Fatalf("restarting kube-apiserver: %v", err)
			}
			result.Faults++
			// kube-scheduler (v1.37.2) exits when, after the relist
			// that follows kube-apiserver's restart, its cache finds a
			// pod on another node than it had recorded; where a
			// supervisor would start it again, the local cluster has
			// none, so the test restarts it with kube-apiserver.
			if _, err := cluster.PID(framework.KubeScheduler); err != nil {
				schedulerExits++
			}
			if err := cluster.RestartKubeScheduler(ctx); err != nil {
				t.Fatalf("restarting kube-scheduler: %v", err)
			}
			siWaitAvailable(t, "True")
			t.Logf("kube-apiserver restarted and APIService %s Available in %s", siAPIService, time.Since(start).Round(time.Millisecond))
			evs := siCatchUp(t, ns, rec)
			pcCheckNoDeletions(t, evs, mark)
			pcCheckNoCreations(t, evs, mark)
			if got := siPetUIDs(t, ns); len(got) != len(uids) {
				t.Errorf("pets %v after the restart, want %v", got, uids)
			}

			pets = 6 - pets // 2 -> 4 -> 2 ...
			pcScaleWithPatch(t, ns, pets)
			chaosConverge(t, ns, rec, pets)
			result.Iterations++
		})
		if t.Failed() {
			break
		}
	}
	chaosCheckPets(t, rec.Events())
}

// chaosReplica is a second petset-apiserver process started by the test,
// like pcStartSecondServer's, with extra flags.
type chaosReplica struct {
	*pcServer
}

// chaosStartReplica starts another petset-apiserver on the cluster's etcd,
// with the cluster server's identity and extra flags, on a free loopback
// port, and waits until it is ready. It is stopped when the test ends.
func chaosStartReplica(t testing.TB, extra ...string) *chaosReplica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	dir := t.TempDir()
	s := &pcServer{log: filepath.Join(dir, "petset-apiserver.log"), done: make(chan struct{})}
	logFile, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := cluster.Env["PETSET_APISERVER_KUBECONFIG"]
	args := append([]string{
		"--secure-port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--etcd-servers=" + cluster.Env["ETCD_URL"],
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
	}, extra...)
	s.cmd = exec.Command(cluster.Binary, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting a second petset-apiserver: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	t.Cleanup(func() { s.Stop(t) })
	t.Logf("second petset-apiserver: pid %d, https://127.0.0.1:%d", s.cmd.Process.Pid, port)

	cfg := rest.CopyConfig(cluster.Config)
	cfg.Host = fmt.Sprintf("https://127.0.0.1:%d", port)
	cfg.TLSClientConfig.Insecure = true
	cfg.TLSClientConfig.CAData, cfg.TLSClientConfig.CAFile, cfg.TLSClientConfig.ServerName = nil, "", ""
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	direct := client.Discovery().RESTClient()
	framework.WaitFor(t, pcTimeout, "the second petset-apiserver ready", func(ctx context.Context) (bool, string, error) {
		select {
		case <-s.done:
			return false, "", errors.New("the second petset-apiserver exited")
		default:
		}
		code, body, err := siGet(ctx, direct, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == 200, body, nil
	})
	return &chaosReplica{pcServer: s}
}

// Kill kills the replica (SIGKILL) and waits until it has exited.
func (r *chaosReplica) Kill(t testing.TB) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing the second petset-apiserver: %v", err)
	}
	pcRecv(t, r.done, 30*time.Second, "the second petset-apiserver to exit after SIGKILL")
}

// chaosLeaders samples the Lease holder until stop is closed and returns
// the holders in the order they held it.
func chaosLeaders(t testing.TB, stop <-chan struct{}) func() []string {
	var mu sync.Mutex
	var holders []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			lease, err := cluster.Kube.CoordinationV1().Leases(pcLeaseNamespace).Get(ctx, pcLeaseName, metav1.GetOptions{})
			cancel()
			if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
				mu.Lock()
				if len(holders) == 0 || holders[len(holders)-1] != *lease.Spec.HolderIdentity {
					holders = append(holders, *lease.Spec.HolderIdentity)
				}
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() []string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(holders)
	}
}

// TestChaosLeaderOfTwoReplicasKilledMidScale runs two petset-apiserver
// replicas with leader election and kills the one holding the Lease
// (SIGKILL) in the middle of a scale, several times, starting a replica
// again after each kill: the other replica takes the Lease over, the Lease
// names one holder at a time and every holder was the live replica that
// logged it started leading, the PetSet converges after each kill and no pet
// ever has two live instances.
func TestChaosLeaderOfTwoReplicasKilledMidScale(t *testing.T) {
	kills := 2 * chaosIterations(t)
	result := &reliability.Result{
		Scenario: "leader SIGKILL with two replicas",
		Fault:    "SIGKILL of the replica holding the controller's Lease, then a new replica",
		During:   []string{"scale 0→5", "scale 5→1", "…alternating"},
		Checks: []string{"the other replica took the Lease over", "one Lease holder at a time, each a replica that logged it started leading",
			"no pet with two live instances", "no gap in the live ordinals", "the PetSet converged after each kill"},
	}
	chaosRecord(t, result)
	srv := siManageServer(t)
	srv.Restart(true, chaosLeaseFlags...)
	top := t
	second := chaosStartReplica(top, chaosLeaseFlags...)
	first := &pcFirstServer{t: t}

	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 0, true)
	pcWaitObserved(t, ns)
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopSampling := func() { stopOnce.Do(func() { close(stop) }) }
	t.Cleanup(stopSampling)
	holders := chaosLeaders(t, stop)
	// The identities that logged Started leading, in the logs of every
	// replica so far (the cluster's server keeps its earlier logs as
	// petset-apiserver.log.<n>).
	var started []string
	logs := []string{second.log}
	collect := func() {
		all, _ := filepath.Glob(filepath.Join(cluster.Env["LOG_DIR"], "petset-apiserver.log*"))
		for _, l := range append(all, logs...) {
			for _, id := range pcStartedLeading(l) {
				if !slices.Contains(started, id) {
					started = append(started, id)
				}
			}
		}
	}

	var killed []string
	replicas := 0
	for i := range kills {
		t.Run(fmt.Sprintf("kill-%d", i+1), func(t *testing.T) {
			leader := pcWaitLeaseHolder(t, "a replica", func(h string) bool { return h != "" })
			mark := rec.Len()
			var target int
			if replicas == 0 || replicas == 1 {
				replicas, target = 5, 1+i%3
				pcScaleWithPatch(t, ns, replicas)
				chaosWaitEvent(t, rec, mark, fmt.Sprintf("%s created", pcPetName(target)), chaosCreated(target))
			} else {
				replicas, target = 1, 4-i%3
				pcScaleWithPatch(t, ns, replicas)
				chaosWaitEvent(t, rec, mark, fmt.Sprintf("the deletion of %s", pcPetName(target)), chaosDeleting(target))
			}
			collect()
			switch {
			case slices.Contains(pcStartedLeading(second.log), leader):
				chaosLogPets(t, rec, "killing the second replica")
				second.Kill(t)
				t.Logf("killed the second replica, which led as %s", leader)
				result.Faults++
				second = chaosStartReplica(top, chaosLeaseFlags...)
				logs = append(logs, second.log)
			case slices.Contains(pcStartedLeading(first.Log()), leader):
				chaosLogPets(t, rec, "killing the cluster's server")
				srv.KillAndStart(t, chaosLeaseFlags...)
				t.Logf("killed the cluster's server, which led as %s", leader)
				result.Faults++
			default:
				t.Fatalf("the Lease holder %q is no live replica", leader)
			}
			killed = append(killed, leader)
			next := pcWaitLeaseHolder(t, "another replica", func(h string) bool { return h != "" && h != leader })
			t.Logf("the Lease passed from %s to %s", leader, next)
			chaosConverge(t, ns, rec, replicas)
			result.Iterations++
		})
		if t.Failed() {
			break
		}
	}
	stopSampling()
	collect()
	seen := holders()
	t.Logf("Lease holders in order: %v", seen)
	for i, h := range seen {
		if !slices.Contains(started, h) {
			t.Errorf("the Lease was held by %s, which no replica logged it started leading as", h)
		}
		// A killed replica's identity (each process has its own) holds
		// the Lease until another takes it over, and never again.
		if slices.Contains(killed, h) && slices.Contains(seen[:i], h) {
			t.Errorf("%s, killed, held the Lease again after another replica had taken it over: %v", h, seen)
		}
	}
	chaosCheckPets(t, rec.Events())
}
