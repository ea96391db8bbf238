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

// The PetSet controller across restarts and leader changes: the cluster's
// petset-apiserver is stopped and started again (hack/local-cluster.sh
// stop-petset / start-petset), and a second petset-apiserver started here
// competes for the controller's Lease.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/petsets/client-go/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/petsets/petset/test/e2e/framework"
)

const (
	// pcLeaseNamespace and pcLeaseName name the controller's Lease (the
	// defaults of --leader-elect-resource-namespace and -name).
	pcLeaseNamespace = "petset-system"
	pcLeaseName      = "petset-controller"

	// pcHandOverMax bounds a hand-over when the leader releases the Lease
	// as it stops: the follower retries every 2s (the default
	// --leader-elect-retry-period), whereas a Lease left to expire would
	// take the default 15s lease duration.
	pcHandOverMax = 10 * time.Second
)

// pcFirstServer stops and starts the cluster's petset-apiserver, and starts
// it again when the test ends if the test left it stopped: every test must
// leave the cluster with it running.
type pcFirstServer struct {
	t       testing.TB
	stopped bool
}

func pcManageFirstServer(t testing.TB) *pcFirstServer {
	s := &pcFirstServer{t: t}
	t.Cleanup(func() {
		if s.stopped {
			ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
			defer cancel()
			if err := cluster.StartPetSetServer(ctx); err != nil {
				t.Errorf("starting petset-apiserver again: %v", err)
			}
		}
	})
	return s
}

// Stop stops the server; its controller gives up the Lease on the way.
func (s *pcFirstServer) Stop() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	start := time.Now()
	if err := cluster.StopPetSetServer(ctx); err != nil {
		s.t.Fatalf("stopping petset-apiserver: %v", err)
	}
	s.stopped = true
	s.t.Logf("petset-apiserver stopped in %s", time.Since(start).Round(time.Millisecond))
}

// StopWhile stops the server while during runs: the script sends TERM and
// waits for the process to exit (which can take long: the generic API
// server's shutdown waits for proxied watches), while during watches what
// happens meanwhile.
func (s *pcFirstServer) StopWhile(during func()) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cluster.StopPetSetServer(ctx) }()
	during()
	// StopPetSetServer is bounded by ctx, and the script by the minute it
	// is given after ctx ends.
	if err := pcRecv(s.t, done, pcTimeout+2*time.Minute, "petset-apiserver to stop"); err != nil {
		s.t.Fatalf("stopping petset-apiserver: %v", err)
	}
	s.stopped = true
	s.t.Logf("petset-apiserver stopped in %s", time.Since(start).Round(time.Millisecond))
}

// Start starts the server and waits until PetSets are served again.
func (s *pcFirstServer) Start() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pcTimeout)
	defer cancel()
	start := time.Now()
	if err := cluster.StartPetSetServer(ctx); err != nil {
		s.t.Fatalf("starting petset-apiserver: %v", err)
	}
	s.stopped = false
	s.t.Logf("petset-apiserver started in %s", time.Since(start).Round(time.Millisecond))
}

// Log returns the path of the running server's log (start-petset moves the
// previous one aside).
func (s *pcFirstServer) Log() string {
	return filepath.Join(cluster.Env["LOG_DIR"], "petset-apiserver.log")
}

// TestPetSetControllerRestartDuringScaleUp restarts the controller in the
// middle of a scale up to 5, twice: once with the newest pet web-2 let
// through while no controller runs, once right after web-3 was created and
// before it is initialized. The template's initialized annotation "false"
// holds every new pet until the test sets it to "true", which makes the
// points of the restarts exact although kwok runs pods at once. Every pod
// instance (UID) is recorded from a watch started before the PetSet was
// created: no pet was created twice, no two instances of a pet lived at
// once, and the pets never had a gap.
func TestPetSetControllerRestartDuringScaleUp(t *testing.T) {
	first := pcManageFirstServer(t)
	ns := cluster.CreateNamespace(t)
	rec := pcCreateGuide(t, ns, 5, false)

	for _, name := range []string{"web-0", "web-1"} {
		pcWaitPetPaused(t, ns, rec, name)
		pcAnnotate(t, ns, name, true)
	}
	pcWaitPetPaused(t, ns, rec, "web-2")

	// Restart 1: the controller goes away with web-2 just created, and
	// web-2 is released while no controller runs.
	first.Stop()
	pcAnnotate(t, ns, "web-2", true)
	first.Start()
	pcWaitPetPaused(t, ns, rec, "web-3")

	// Restart 2: right after web-3 was created, before it is initialized.
	// The new controller must neither create web-3 again nor go on: once
	// it has synced a new generation, web-0..web-3 exist, one instance
	// each.
	first.Stop()
	first.Start()
	evs := pcResync(t, ns, rec)
	if got := pcNames(pcCreations(evs)); !slices.Equal(got, pcPetNames(0, 4)) {
		t.Errorf("pets created by the second restart's first sync: %v, want web-0..web-3 once each", got)
	}
	pcCheckPetSequence(t, evs)

	pcAnnotate(t, ns, "web-3", true)
	pcWaitPetPaused(t, ns, rec, "web-4")
	pcAnnotate(t, ns, "web-4", true)

	pets := pcWaitPets(t, ns, 5)
	rec.WaitForSteady(t, pcPetNames(0, 5))
	pcWaitStatus(t, ns, 5, 5)
	evs = rec.Events()
	if got := pcNames(pcCreations(evs)); !slices.Equal(got, pcPetNames(0, 5)) {
		t.Errorf("pets created: %v, want web-0..web-4 once each, in order", got)
	}
	pcCheckNoDeletions(t, evs, 0)
	pcCheckOrderedCreation(t, evs)
	pcCheckPetSequence(t, evs)
	// The watch saw the instances that exist.
	live := pcReplay(evs)
	for name, pod := range pets {
		if e, ok := live[name]; !ok || e.UID != pod.UID {
			t.Errorf("%s is uid %s, the watch last saw %v", name, pod.UID, e)
		}
	}
	pcWaitClaimsBound(t, ns, pcClaimNames(0, 5)...)
	if got := pcClaimUIDs(t, ns); len(got) != 5 {
		t.Errorf("claims %v, want the 5 of web-0..web-4", slices.Sorted(maps.Keys(got)))
	}
}

// TestPetSetControllerLeaderHandOver runs a second petset-apiserver next to
// the cluster's: it waits while the first holds the Lease, takes it over when
// the first stops, and reconciles a scale change made on it; then the first
// comes back, and takes the Lease over again when the second stops.
func TestPetSetControllerLeaderHandOver(t *testing.T) {
	first := pcManageFirstServer(t)
	ns := cluster.CreateNamespace(t)

	// The cluster's server leads.
	h1 := pcWaitLeaseHolder(t, "the first server", func(h string) bool {
		return h != "" && slices.Contains(pcStartedLeading(first.Log()), h)
	})
	rec := pcCreateGuide(t, ns, 1, true)
	pcWaitPets(t, ns, 1)

	// A second server follows: it has found the Lease held, and the first
	// server has renewed it since.
	second := pcStartSecondServer(t)
	pcWaitLog(t, second.log, regexp.MustCompile(`"Another replica leads".*leader="`+regexp.QuoteMeta(h1)+`"`))
	pcWaitLeaseRenewed(t, h1, time.Now())
	if ids := pcStartedLeading(second.log); len(ids) > 0 {
		t.Fatalf("the second server leads as %v while the first holds the Lease", ids)
	}
	if h := pcLeaseHolder(t); h != h1 {
		t.Fatalf("the Lease is held by %q, want the first server's %q", h, h1)
	}

	// The first stops and gives the Lease up; the second takes it, well
	// before the Lease would have expired (15s after the last renewal).
	var h2 string
	first.StopWhile(func() {
		stopping := time.Now()
		h2 = pcWaitLeaseHolder(t, "the second server", func(h string) bool {
			return h != "" && h != h1 && slices.Contains(pcStartedLeading(second.log), h)
		})
		took := time.Since(stopping)
		t.Logf("the second server leads as %s, %s after the first was told to stop", h2, took.Round(time.Millisecond))
		if took > pcHandOverMax {
			t.Errorf("the second server took the Lease over only after %s: the first did not release it on shutdown", took)
		}
	})

	// A scale change made on the second server, which alone serves
	// PetSets now, is reconciled by its controller.
	sets := second.client.AppsV1alpha1().PetSets(ns)
	mark := rec.Len()
	if _, err := sets.Patch(context.Background(), pcSetName, types.MergePatchType, []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("scaling through the second server: %v", err)
	}
	pcWaitPets(t, ns, 3)
	rec.WaitForSteady(t, pcPetNames(0, 3))
	pcCheckCreatedInOrder(t, rec.Events(), mark, "web-1", "web-2")
	framework.WaitFor(t, pcTimeout, "status 3/3 on the second server", func(ctx context.Context) (bool, string, error) {
		set, err := sets.Get(ctx, pcSetName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		s := set.Status
		return s.ObservedGeneration != nil && *s.ObservedGeneration == set.Generation && s.Replicas == 3 && s.ReadyReplicas == 3,
			fmt.Sprintf("generation %d status %+v", set.Generation, s), nil
	})
	pcWaitEvents(t, ns, "SuccessfulCreate", "create Pod web-2 in PetSet web successful")

	// The first comes back and follows.
	first.Start()
	pcWaitLog(t, first.Log(), regexp.MustCompile(`"Another replica leads".*leader="`+regexp.QuoteMeta(h2)+`"`))
	if h := pcLeaseHolder(t); h != h2 {
		t.Fatalf("the Lease is held by %q after the first server came back, want the second's %q", h, h2)
	}

	// The second stops; the first takes over again.
	stopping := time.Now()
	second.Stop(t)
	h3 := pcWaitLeaseHolder(t, "the first server again", func(h string) bool {
		return h != "" && h != h2 && slices.Contains(pcStartedLeading(first.Log()), h)
	})
	took := time.Since(stopping)
	t.Logf("the first server leads again as %s, %s after the second was told to stop", h3, took.Round(time.Millisecond))
	if took > pcHandOverMax {
		t.Errorf("the first server took the Lease over only after %s: the second did not release it on shutdown", took)
	}

	// And reconciles: kubectl scale through the aggregator.
	mark = rec.Len()
	pcExpectOutput(t, pcKubectl(t, ns, "", "scale", "petset", pcSetName, "--replicas=4"), "petset.apps/web scaled")
	pcWaitPets(t, ns, 4)
	rec.WaitForSteady(t, pcPetNames(0, 4))
	pcWaitStatus(t, ns, 4, 4)
	evs := rec.Events()
	pcCheckCreatedInOrder(t, evs, mark, "web-3")
	if got := pcNames(pcCreations(evs)); !slices.Equal(got, pcPetNames(0, 4)) {
		t.Errorf("pets created: %v, want web-0..web-3 once each, in order", got)
	}
	pcCheckNoDeletions(t, evs, 0)
	pcCheckOrderedCreation(t, evs)
}

// pcLeaseHolder returns the holder of the controller's Lease.
func pcLeaseHolder(t testing.TB) string {
	t.Helper()
	lease, err := cluster.Kube.CoordinationV1().Leases(pcLeaseNamespace).Get(context.Background(), pcLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting Lease %s/%s: %v", pcLeaseNamespace, pcLeaseName, err)
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// pcWaitLeaseRenewed waits until holder has renewed the Lease after the
// time after.
func pcWaitLeaseRenewed(t testing.TB, holder string, after time.Time) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("%s to renew the Lease", holder), func(ctx context.Context) (bool, string, error) {
		lease, err := cluster.Kube.CoordinationV1().Leases(pcLeaseNamespace).Get(ctx, pcLeaseName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		h, renewed := "", time.Time{}
		if lease.Spec.HolderIdentity != nil {
			h = *lease.Spec.HolderIdentity
		}
		if lease.Spec.RenewTime != nil {
			renewed = lease.Spec.RenewTime.Time
		}
		if h != holder {
			return false, "", fmt.Errorf("the Lease is held by %q, want %q", h, holder)
		}
		return renewed.After(after), fmt.Sprintf("renewed at %s", renewed.Format(time.RFC3339Nano)), nil
	})
}

// pcWaitLeaseHolder waits until the Lease's holder satisfies cond and returns
// it.
func pcWaitLeaseHolder(t testing.TB, who string, cond func(holder string) bool) string {
	t.Helper()
	var holder string
	framework.WaitFor(t, pcTimeout, "the Lease held by "+who, func(ctx context.Context) (bool, string, error) {
		lease, err := cluster.Kube.CoordinationV1().Leases(pcLeaseNamespace).Get(ctx, pcLeaseName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		holder = ""
		if lease.Spec.HolderIdentity != nil {
			holder = *lease.Spec.HolderIdentity
		}
		return cond(holder), fmt.Sprintf("held by %q", holder), nil
	})
	return holder
}

var pcStartedLeadingRE = regexp.MustCompile(`"Started leading".*identity="([^"]+)"`)

// pcStartedLeading returns the identities a server's log says it started
// leading as.
func pcStartedLeading(logPath string) []string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil
	}
	var ids []string
	for _, m := range pcStartedLeadingRE.FindAllSubmatch(b, -1) {
		ids = append(ids, string(m[1]))
	}
	return ids
}

// pcWaitLog waits until the log matches re.
func pcWaitLog(t testing.TB, logPath string, re *regexp.Regexp) {
	t.Helper()
	framework.WaitFor(t, pcTimeout, fmt.Sprintf("%s to match %s", filepath.Base(logPath), re), func(context.Context) (bool, string, error) {
		b, err := os.ReadFile(logPath)
		if err != nil {
			return false, err.Error(), nil
		}
		return re.Match(b), "", nil
	})
}

// pcServer is a petset-apiserver process started by a test.
type pcServer struct {
	cmd    *exec.Cmd
	log    string
	done   chan struct{}
	client versioned.Interface

	stopOnce sync.Once
}

// pcStartSecondServer starts another petset-apiserver on the cluster's etcd
// and with the cluster server's identity, on a free loopback port with a
// self-signed certificate, and waits until it is ready. It is not registered
// with the aggregator: the test talks to it directly. It is stopped when the
// test ends.
func pcStartSecondServer(t testing.TB) *pcServer {
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
	s.cmd = exec.Command(cluster.Binary,
		"--secure-port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--etcd-servers="+cluster.Env["ETCD_URL"],
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
	)
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
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			if b, err := os.ReadFile(s.log); err == nil {
				t.Logf("second petset-apiserver log:\n%s", b)
			}
		}
	})
	t.Logf("second petset-apiserver: pid %d, https://127.0.0.1:%d", s.cmd.Process.Pid, port)

	// The admin's client certificate (the cluster's client CA is trusted
	// through delegated authentication); the serving certificate is
	// self-signed, and this is a loopback test client.
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Host = fmt.Sprintf("https://127.0.0.1:%d", port)
	cfg.TLSClientConfig.Insecure = true
	cfg.TLSClientConfig.CAData, cfg.TLSClientConfig.CAFile, cfg.TLSClientConfig.ServerName = nil, "", ""
	if s.client, err = versioned.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, pcTimeout, "the second petset-apiserver ready", func(ctx context.Context) (bool, string, error) {
		select {
		case <-s.done:
			return false, "", errors.New("the second petset-apiserver exited")
		default:
		}
		body, err := s.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return string(body) == "ok", string(body), nil
	})
	return s
}

// Stop terminates the server (TERM, then KILL after a minute) and waits for
// it to exit.
func (s *pcServer) Stop(t testing.TB) {
	s.stopOnce.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		start := time.Now()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
			t.Logf("second petset-apiserver exited %s after TERM", time.Since(start).Round(time.Millisecond))
		case <-time.After(time.Minute):
			t.Errorf("the second petset-apiserver did not exit within a minute of TERM; killing it")
			_ = s.cmd.Process.Kill()
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				t.Errorf("the second petset-apiserver (pid %d) did not exit within 30s of KILL", s.cmd.Process.Pid)
			}
		}
	})
}
