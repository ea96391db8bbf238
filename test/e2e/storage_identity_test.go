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

// The storage identity guard on the local cluster: petset-apiserver
// restarted on an etcd prefix no server has used, with pets running. With
// the guard it stays unready and unavailable and the garbage collector
// deletes nothing; without it the collector deletes the pets, which shows
// that the test sees a deletion when there is one; with
// --adopt-storage-identity the server serves the new storage and records its
// identity. Every subtest puts the cluster's server back on its storage, with
// its usual flags, when it ends, failed or not.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/petsets/petset/test/e2e/framework"
	"github.com/petsets/petset/test/e2e/reliability"
)

const (
	// siHold is how long the pets must survive a server on empty storage:
	// the garbage collector deletes them within seconds when nothing stops
	// it (see the subtest without the guard).
	siHold = 60 * time.Second
	// siCollect bounds the garbage collector's deletion of the pets once
	// their PetSet reads 404.
	siCollect = 2 * time.Minute
	// siRecordNamespace and siRecordName name the cluster's record of the
	// storage identity (the default of --storage-identity-configmap).
	siRecordNamespace = "petset-system"
	siRecordName      = "petset-apiserver-storage-identity"
	// siAPIService is the APIService of the PetSet API.
	siAPIService = "v1alpha1.apps"
)

// siEmptyPrefix returns an etcd prefix that no server has used.
func siEmptyPrefix() string { return "/registry/petsets-empty-" + rand.String(8) }

// siServer restarts the cluster's petset-apiserver with other flags, and
// puts it back on its storage with its usual flags when the test ends.
type siServer struct {
	t testing.TB
	// restore are the extra flags of the first start when the test puts
	// the server back (--adopt-storage-identity after an adoption).
	restore []string
	// moved is set while the server runs with other flags, or does not
	// run.
	moved bool
}

func siManageServer(t testing.TB, restore ...string) *siServer {
	s := &siServer{t: t, restore: restore}
	t.Cleanup(func() {
		if !s.moved {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*pcTimeout)
		defer cancel()
		if err := s.start(ctx, s.restore...); err != nil {
			t.Errorf("putting petset-apiserver back on its storage: %v", err)
			return
		}
		if len(s.restore) > 0 {
			if err := s.start(ctx); err != nil {
				t.Errorf("starting petset-apiserver with its usual flags: %v", err)
			}
		}
	})
	return s
}

func (s *siServer) start(ctx context.Context, extra ...string) error {
	if err := cluster.StopPetSetServer(ctx); err != nil {
		return fmt.Errorf("stopping petset-apiserver: %w", err)
	}
	if err := cluster.StartPetSetServerWith(ctx, true, extra...); err != nil {
		return fmt.Errorf("starting petset-apiserver with %v: %w", extra, err)
	}
	return nil
}

// Restart stops the server and starts it with extra flags; with
// waitReady it returns once PetSets are served through the aggregator.
// Without extra flags the server is back to its usual ones.
func (s *siServer) Restart(waitReady bool, extra ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	start := time.Now()
	s.moved = true
	if err := cluster.StopPetSetServer(ctx); err != nil {
		s.t.Fatalf("stopping petset-apiserver: %v", err)
	}
	if err := cluster.StartPetSetServerWith(ctx, waitReady, extra...); err != nil {
		s.t.Fatalf("starting petset-apiserver with %v: %v", extra, err)
	}
	s.moved = len(extra) > 0
	s.t.Logf("petset-apiserver restarted with %v in %s", extra, time.Since(start).Round(time.Millisecond))
}

// siDirect returns a client of the cluster's petset-apiserver itself, not
// through the aggregator, as the admin.
func siDirect(t testing.TB) rest.Interface {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Host = cluster.Env["PETSET_APISERVER_URL"]
	cfg.TLSClientConfig.CAData, cfg.TLSClientConfig.CAFile, cfg.TLSClientConfig.ServerName = nil, cluster.Env["PETSET_SERVING_CA"], ""
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client.Discovery().RESTClient()
}

// siGet GETs path once (the guard's Retry-After would make the client
// retry) and returns the status code and body.
func siGet(ctx context.Context, client rest.Interface, path string, params ...string) (int, string, error) {
	req := client.Get().AbsPath(path).MaxRetries(0).Timeout(10 * time.Second)
	for i := 0; i+1 < len(params); i += 2 {
		req = req.Param(params[i], params[i+1])
	}
	res := req.Do(ctx)
	var code int
	res.StatusCode(&code)
	body, err := res.Raw()
	if code == 0 {
		return 0, "", fmt.Errorf("GET %s: %w", path, err)
	}
	return code, string(body), nil
}

// siAvailable returns the status and message of the APIService's Available
// condition.
func siAvailable(ctx context.Context) (string, string, error) {
	body, err := cluster.Kube.Discovery().RESTClient().Get().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices/" + siAPIService).DoRaw(ctx)
	if err != nil {
		return "", "", fmt.Errorf("getting APIService %s: %w", siAPIService, err)
	}
	var svc apiAPIService
	if err := json.Unmarshal(body, &svc); err != nil {
		return "", "", fmt.Errorf("decoding APIService %s: %w", siAPIService, err)
	}
	for _, c := range svc.Status.Conditions {
		if c.Type == "Available" {
			return c.Status, c.Reason + ": " + c.Message, nil
		}
	}
	return "", "no Available condition", nil
}

// siWaitAvailable waits until the APIService's Available condition is want.
func siWaitAvailable(t testing.TB, want string) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("APIService %s Available=%s", siAPIService, want), func(ctx context.Context) (bool, string, error) {
		status, msg, err := siAvailable(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return status == want, status + " " + msg, nil
	})
}

// siWaitRefused waits until the server on the wrong storage answers as the
// guard says: /readyz fails naming storage-identity, discovery of
// apps/v1alpha1 answers 503 with the mismatch from the server itself and 503
// through the aggregator, and the APIService is not Available.
func siWaitRefused(t testing.TB) {
	t.Helper()
	direct := siDirect(t)
	framework.WaitFor(t, pcTimeout, "/readyz to fail on storage-identity", func(ctx context.Context) (bool, string, error) {
		code, body, err := siGet(ctx, direct, "/readyz", "verbose", "true")
		if err != nil {
			return false, err.Error(), nil
		}
		return code != 200 && strings.Contains(body, "[-]storage-identity failed"), fmt.Sprintf("%d %s", code, body), nil
	})
	framework.WaitFor(t, pcTimeout, "the server to refuse discovery with the mismatch", func(ctx context.Context) (bool, string, error) {
		code, body, err := siGet(ctx, direct, "/apis/apps/v1alpha1")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == 503 && strings.Contains(body, "storage identity mismatch"), fmt.Sprintf("%d %s", code, body), nil
	})
	framework.WaitFor(t, pcTimeout, "discovery of apps/v1alpha1 through the aggregator to answer 503", func(ctx context.Context) (bool, string, error) {
		code, body, err := siGet(ctx, cluster.Kube.Discovery().RESTClient(), "/apis/apps/v1alpha1")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == 503, fmt.Sprintf("%d %s", code, body), nil
	})
	siWaitAvailable(t, "False")
}

// siRecord is the cluster's record of the storage identity.
type siRecord struct {
	Identity, Prefix string
}

func siGetRecord(t testing.TB) siRecord {
	t.Helper()
	cm, err := cluster.Kube.CoreV1().ConfigMaps(siRecordNamespace).Get(context.Background(), siRecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the storage identity record: %v", err)
	}
	r := siRecord{Identity: cm.Data["identity"], Prefix: cm.Data["etcdPrefix"]}
	if r.Identity == "" {
		t.Fatalf("ConfigMap %s/%s records no identity: %v", siRecordNamespace, siRecordName, cm.Data)
	}
	return r
}

// siPetUIDs returns the UIDs of the pets of ns by name, and fails the test
// if one is terminating.
func siPetUIDs(t testing.TB, ns string) map[string]types.UID {
	t.Helper()
	list, err := cluster.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the pods of %s: %v", ns, err)
	}
	uids := map[string]types.UID{}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			t.Errorf("pod %s (uid %s) is being deleted since %s", p.Name, pcShortUID(p.UID), p.DeletionTimestamp)
		}
		uids[p.Name] = p.UID
	}
	return uids
}

// siCatchUp waits until rec has seen every pod event of ns so far.
func siCatchUp(t testing.TB, ns string, rec *pcRecorder) []pcPodEvent {
	t.Helper()
	list, err := cluster.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the pods of %s: %v", ns, err)
	}
	rv, err := strconv.ParseUint(list.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("pod list resourceVersion %q: %v", list.ResourceVersion, err)
	}
	return rec.Upto(t, rv)
}

// siRunPets creates the guide's PetSet with 3 pets in a new namespace and
// waits until they run; it returns the namespace, the recorder and the
// pets' UIDs.
func siRunPets(t *testing.T) (string, *pcRecorder, map[string]types.UID) {
	t.Helper()
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 3, true)
	pets := pcWaitPets(t, ns, 3)
	rec.WaitForSteady(t, pcPetNames(0, 3))
	uids := map[string]types.UID{}
	for name, pod := range pets {
		uids[name] = pod.UID
	}
	return ns, rec, uids
}

// TestStorageIdentityGuard restarts the cluster's petset-apiserver on empty
// storage with pets running, with and without the guard, and adopts another
// storage and back.
func TestStorageIdentityGuard(t *testing.T) {
	t.Run("ServerOnEmptyStorageStaysUnavailableAndNoPetIsDeleted", func(t *testing.T) {
		result := &reliability.Result{
			Scenario: "petset-apiserver on empty storage, guard on",
			Fault:    "petset-apiserver restarted on an etcd prefix no server has used, 3 pets running",
			During:   []string{fmt.Sprintf("%s with the server on empty storage", siHold)},
			Checks: []string{"/readyz fails naming storage-identity", "discovery answers 503 through the aggregator",
				"APIService not Available", "no pet deleted (watch by UID)", "back on its storage: Available, the same 3 pets"},
		}
		chaosRecord(t, result)
		srv := siManageServer(t)
		ns, rec, uids := siRunPets(t)
		mark := rec.Len()

		srv.Restart(false, "--etcd-prefix="+siEmptyPrefix())
		siWaitRefused(t)

		// The garbage collector deletes within seconds when the
		// PetSet reads 404; for siHold the API stays unavailable and
		// no pet is touched.
		held := time.Now()
		direct := siDirect(t)
		for time.Since(held) < siHold {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			status, msg, err := siAvailable(ctx)
			if err == nil && status == "True" {
				t.Errorf("APIService %s became Available on empty storage after %s: %s", siAPIService, time.Since(held).Round(time.Second), msg)
			}
			if code, body, err := siGet(ctx, direct, "/apis/apps/v1alpha1/petsets"); err == nil && code != 503 {
				t.Errorf("the server on empty storage answered a list of PetSets with %d: %s", code, body)
			}
			cancel()
			if t.Failed() {
				break
			}
			for _, e := range pcDeletionStarts(pcSince(rec.Events(), mark)) {
				t.Fatalf("a pet was deleted while the server ran on empty storage: %s", e)
			}
			time.Sleep(2 * time.Second)
		}
		evs := siCatchUp(t, ns, rec)
		pcCheckNoDeletions(t, evs, mark)
		if got := siPetUIDs(t, ns); !maps.Equal(got, uids) {
			t.Errorf("after %s on empty storage the pets are %v, want %v", siHold, got, uids)
		}

		srv.Restart(true)
		siWaitAvailable(t, "True")
		pets := pcWaitPets(t, ns, 3)
		for name, pod := range pets {
			if pod.UID != uids[name] {
				t.Errorf("%s is uid %s after the server came back, want the same pet, uid %s", name, pcShortUID(pod.UID), pcShortUID(uids[name]))
			}
		}
		pcWaitStatus(t, ns, 3, 3)
		evs = siCatchUp(t, ns, rec)
		pcCheckNoDeletions(t, evs, mark)
		pcCheckNoCreations(t, evs, mark)
		result.Faults, result.Iterations = 1, 1
	})

	t.Run("WithoutTheGuardTheGarbageCollectorDeletesThePets", func(t *testing.T) {
		result := &reliability.Result{
			Scenario: "petset-apiserver on empty storage, guard off (control)",
			Fault:    "petset-apiserver restarted on an etcd prefix no server has used with --storage-identity-guard=false, 3 pets running",
			During:   []string{"until the pets are deleted"},
			Checks:   []string{"the garbage collector deletes every pet (the watch sees it)", "back on its storage the controller creates the pets again"},
		}
		chaosRecord(t, result)
		srv := siManageServer(t)
		ns, rec, uids := siRunPets(t)
		mark := rec.Len()

		start := time.Now()
		srv.Restart(true, "--etcd-prefix="+siEmptyPrefix(), "--storage-identity-guard=false")
		rec.WaitWithin(t, siCollect, "the garbage collector to delete every pet", func(evs []pcPodEvent) string {
			var left []string
			for name, uid := range uids {
				if _, ok := pcFindUID(evs, mark, uid, pcIsDeleted); !ok {
					left = append(left, name)
				}
			}
			slices.Sort(left)
			if len(left) > 0 {
				return fmt.Sprintf("not deleted yet: %v", left)
			}
			return ""
		})
		t.Logf("the garbage collector deleted the 3 pets within %s of the restart on empty storage", time.Since(start).Round(time.Second))

		// Back on its storage the controller creates the pets again.
		srv.Restart(true)
		siWaitAvailable(t, "True")
		pets := pcWaitPets(t, ns, 3)
		rec.WaitForSteady(t, pcPetNames(0, 3))
		for name, pod := range pets {
			if pod.UID == uids[name] {
				t.Errorf("%s is still uid %s: the garbage collector did not delete it", name, pcShortUID(pod.UID))
			}
		}
		pcWaitStatus(t, ns, 3, 3)
		result.Faults, result.Iterations = 1, 1
	})

	t.Run("AdoptRecordsTheNewStorageIdentityAndAdoptingBackRestoresIt", func(t *testing.T) {
		result := &reliability.Result{
			Scenario: "--adopt-storage-identity on empty storage and back",
			Fault:    "petset-apiserver restarted on an etcd prefix no server has used with --adopt-storage-identity, then on its own",
			During:   []string{"no pets"},
			Checks:   []string{"ready on the new storage, which the ConfigMap records", "adopting the original storage back restores the record"},
		}
		chaosRecord(t, result)
		before := siGetRecord(t)
		srv := siManageServer(t, "--adopt-storage-identity")

		prefix := siEmptyPrefix()
		srv.Restart(true, "--etcd-prefix="+prefix, "--adopt-storage-identity")
		siWaitAvailable(t, "True")
		adopted := siGetRecord(t)
		if adopted.Identity == before.Identity || adopted.Prefix != prefix {
			t.Errorf("after adopting %s the cluster records %+v, want a new identity for that prefix (it recorded %+v before)", prefix, adopted, before)
		}
		code, body, err := siGet(context.Background(), siDirect(t), "/readyz")
		if err != nil || code != 200 {
			t.Errorf("/readyz of the server that adopted %s: %d %s %v", prefix, code, body, err)
		}

		// Back: the original storage is adopted again, then the
		// server runs with its usual flags and passes the check.
		srv.Restart(true, "--adopt-storage-identity")
		if got := siGetRecord(t); got.Identity != before.Identity || got.Prefix != before.Prefix {
			t.Errorf("after adopting the original storage again the cluster records %+v, want %+v", got, before)
		}
		srv.Restart(true)
		siWaitAvailable(t, "True")
		if got := siGetRecord(t); got.Identity != before.Identity {
			t.Errorf("the cluster records %+v, want %+v", got, before)
		}
		result.Faults, result.Iterations = 2, 1
	})
}
