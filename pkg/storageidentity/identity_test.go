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

package storageidentity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
)

// memorySide is a Side in memory, with failure injection.
type memorySide struct {
	name    string
	mu      sync.Mutex
	id      Identity
	has     bool
	failGet error
	// raced makes CreateIfAbsent find this identity recorded meanwhile.
	raced Identity
}

func (m *memorySide) Describe() string { return m.name }

func (m *memorySide) Get(context.Context) (Identity, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failGet != nil {
		return "", false, m.failGet
	}
	return m.id, m.has, nil
}

func (m *memorySide) CreateIfAbsent(_ context.Context, id Identity) (Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.raced != "" {
		m.id, m.has = m.raced, true
	}
	if !m.has {
		m.id, m.has = id, true
	}
	return m.id, nil
}

func (m *memorySide) Replace(_ context.Context, id Identity) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.id, m.has = id, true
	return nil
}

func side(name string, id Identity) *memorySide {
	return &memorySide{name: name, id: id, has: id != ""}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name          string
		storage       Identity
		cluster       Identity
		adopt         bool
		clusterRaced  Identity
		wantOK        bool
		wantErr       bool
		wantStorage   Identity
		wantCluster   Identity
		wantMismatch  string
		wantIdentity  Identity
		wantActionHas string
	}{
		{name: "first start records a new identity on both sides", wantOK: true,
			wantStorage: "new", wantCluster: "new", wantIdentity: "new", wantActionHas: "new storage identity"},
		{name: "matching identities are served", storage: "a", cluster: "a", wantOK: true,
			wantStorage: "a", wantCluster: "a", wantIdentity: "a", wantActionHas: "match"},
		{name: "a lost cluster record is recorded again", storage: "a", wantOK: true,
			wantStorage: "a", wantCluster: "a", wantIdentity: "a", wantActionHas: "again"},
		{name: "empty storage where the cluster knew one is refused", cluster: "a",
			wantStorage: "", wantCluster: "a", wantMismatch: "has no identity"},
		{name: "another storage is refused", storage: "b", cluster: "a",
			wantStorage: "b", wantCluster: "a", wantMismatch: "has identity b"},
		{name: "adopt gives empty storage a new identity and records it", cluster: "a", adopt: true, wantOK: true,
			wantStorage: "new", wantCluster: "new", wantIdentity: "new", wantActionHas: "adopted"},
		{name: "adopt records another storage's identity", storage: "b", cluster: "a", adopt: true, wantOK: true,
			wantStorage: "b", wantCluster: "b", wantIdentity: "b", wantActionHas: "adopted"},
		{name: "adopt changes nothing when identities match", storage: "a", cluster: "a", adopt: true, wantOK: true,
			wantStorage: "a", wantCluster: "a", wantIdentity: "a", wantActionHas: "match"},
		{name: "a cluster record made meanwhile by a server on other storage is an error", clusterRaced: "x", wantErr: true,
			wantStorage: "new", wantCluster: "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storage, cluster := side("storage", tc.storage), side("cluster", tc.cluster)
			cluster.raced = tc.clusterRaced
			out, err := Check(context.Background(), storage, cluster, tc.adopt, func() Identity { return "new" })
			if (err != nil) != tc.wantErr {
				t.Fatalf("Check error = %v, want error %v", err, tc.wantErr)
			}
			type sides struct{ Storage, Cluster Identity }
			if diff := cmp.Diff(sides{tc.wantStorage, tc.wantCluster}, sides{storage.id, cluster.id}); diff != "" {
				t.Errorf("recorded identities (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if out.OK() != tc.wantOK {
				t.Errorf("OK = %v, want %v (mismatch %q)", out.OK(), tc.wantOK, out.Mismatch)
			}
			if !strings.Contains(out.Mismatch, tc.wantMismatch) {
				t.Errorf("mismatch %q does not say %q", out.Mismatch, tc.wantMismatch)
			}
			if !tc.wantOK && !strings.Contains(out.Mismatch, "--adopt-storage-identity") {
				t.Errorf("mismatch %q does not say how to proceed", out.Mismatch)
			}
			if out.Identity != tc.wantIdentity || !strings.Contains(out.Action, tc.wantActionHas) {
				t.Errorf("outcome %+v, want identity %q and an action saying %q", out, tc.wantIdentity, tc.wantActionHas)
			}
		})
	}
}

func TestCheckReportsUnreadableSides(t *testing.T) {
	for _, broken := range []string{"storage", "cluster"} {
		t.Run(broken, func(t *testing.T) {
			storage, cluster := side("storage", "a"), side("cluster", "a")
			boom := errors.New("connection refused")
			if broken == "storage" {
				storage.failGet = boom
			} else {
				cluster.failGet = boom
			}
			_, err := Check(context.Background(), storage, cluster, false, func() Identity { return "new" })
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), broken) {
				t.Errorf("Check error = %v, want it to name the %s and wrap the cause", err, broken)
			}
		})
	}
}

func TestEtcdSideAgreesOnOneIdentityUnderConcurrentStarts(t *testing.T) {
	server, _ := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	t.Cleanup(func() { server.Terminate(t) })
	ctx := context.Background()
	s := EtcdSide{Client: server.V3Client.Client, Prefix: "/registry/petsets.io"}

	if _, found, err := s.Get(ctx); err != nil || found {
		t.Fatalf("Get on empty storage = found %v, err %v", found, err)
	}
	var wg sync.WaitGroup
	results := make([]Identity, 8)
	for i := range results {
		wg.Go(func() {
			id, err := s.CreateIfAbsent(ctx, Identity(fmt.Sprintf("id-%d", i)))
			if err != nil {
				t.Errorf("CreateIfAbsent: %v", err)
			}
			results[i] = id
		})
	}
	wg.Wait()
	for _, id := range results {
		if id != results[0] {
			t.Fatalf("concurrent starts disagree: %v", results)
		}
	}
	got, found, err := s.Get(ctx)
	if err != nil || !found || got != results[0] {
		t.Errorf("Get = %q, %v, %v, want %q", got, found, err, results[0])
	}
	if err := s.Replace(ctx, "adopted"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx); got != "adopted" {
		t.Errorf("after Replace: %q", got)
	}
	resp, err := server.V3Client.Client.Get(ctx, "/registry/petsets.io/storage-identity")
	if err != nil || len(resp.Kvs) != 1 {
		t.Errorf("identity not under the prefix: %v %v", resp, err)
	}
	other := EtcdSide{Client: server.V3Client.Client, Prefix: "/registry/other"}
	if _, found, _ := other.Get(ctx); found {
		t.Errorf("another prefix sees the identity")
	}
}

func TestConfigMapSide(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := ConfigMapSide{Client: client, Namespace: "petset-system", Name: "petset-apiserver-storage-identity",
		Prefix: "/registry/petsets.io", Now: func() time.Time { return now }}

	if _, found, err := s.Get(ctx); err != nil || found {
		t.Fatalf("Get without a ConfigMap = found %v, err %v", found, err)
	}
	if id, err := s.CreateIfAbsent(ctx, "a"); err != nil || id != "a" {
		t.Fatalf("CreateIfAbsent = %q, %v", id, err)
	}
	if id, err := s.CreateIfAbsent(ctx, "b"); err != nil || id != "a" {
		t.Errorf("second CreateIfAbsent = %q, %v, want the recorded a", id, err)
	}
	if err := s.Replace(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	cm, err := client.CoreV1().ConfigMaps("petset-system").Get(ctx, "petset-apiserver-storage-identity", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"identity": "c", "etcdPrefix": "/registry/petsets.io", "recordedAt": "2026-12-01T00:00:00Z"}
	if diff := cmp.Diff(want, cm.Data); diff != "" {
		t.Errorf("ConfigMap data (-want +got):\n%s", diff)
	}
}

func TestGuardServesOnlyHealthUntilTheCheckPasses(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	get := func(h http.Handler, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	statusMessage := func(body string) string {
		var status metav1.Status
		if err := json.Unmarshal([]byte(body), &status); err != nil {
			t.Fatalf("503 body is not a Status: %v: %s", err, body)
		}
		if status.Kind != "Status" || status.Reason != metav1.StatusReasonServiceUnavailable {
			t.Errorf("Status %+v", status)
		}
		return status.Message
	}

	t.Run("mismatch", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		g := NewGuard()
		h := g.Wrap(api)
		if code, body := get(h, "/apis/apps/v1alpha1"); code != http.StatusServiceUnavailable || !strings.Contains(statusMessage(body), "not checked yet") {
			t.Errorf("before the check: %d %s", code, body)
		}
		g.Run(ctx, side("storage", ""), side("cluster", "a"), false, func() Identity { return "new" })
		for _, path := range []string{"/apis", "/apis/apps/v1alpha1", "/apis/apps/v1alpha1/namespaces/default/petsets/web", "/openapi/v3"} {
			code, body := get(h, path)
			if code != http.StatusServiceUnavailable || !strings.Contains(statusMessage(body), "storage identity mismatch") {
				t.Errorf("%s: %d %s", path, code, body)
			}
		}
		for _, path := range []string{"/readyz", "/livez", "/healthz", "/readyz/storage-identity", "/metrics", "/version"} {
			if code, _ := get(h, path); code != http.StatusOK {
				t.Errorf("%s: %d, want it served", path, code)
			}
		}
		if err := g.ReadyzCheck().Check(nil); err == nil || !strings.Contains(err.Error(), "--adopt-storage-identity") {
			t.Errorf("readyz check = %v, want the mismatch and how to proceed", err)
		}
		select {
		case <-g.Passed():
			t.Errorf("a mismatch counts as passed")
		default:
		}
	})
	t.Run("match", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		g := NewGuard()
		g.Run(ctx, side("storage", "a"), side("cluster", "a"), false, func() Identity { return "new" })
		if code, body := get(g.Wrap(api), "/apis/apps/v1alpha1"); code != http.StatusOK {
			t.Errorf("after the check: %d %s", code, body)
		}
		if err := g.ReadyzCheck().Check(nil); err != nil {
			t.Errorf("readyz check = %v", err)
		}
		select {
		case <-g.Passed():
		case <-time.After(time.Second):
			t.Errorf("Passed not closed")
		}
	})
	t.Run("unreadable sides are retried until they answer", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		g := NewGuard()
		cluster := side("cluster", "a")
		cluster.failGet = errors.New("connection refused")
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.Run(ctx, side("storage", "a"), cluster, false, func() Identity { return "new" })
		}()
		deadline := time.After(10 * time.Second)
		for g.ReadyzCheck().Check(nil) == nil || !strings.Contains(g.ReadyzCheck().Check(nil).Error(), "connection refused") {
			select {
			case <-deadline:
				t.Fatalf("the failing check was not reported: %v", g.ReadyzCheck().Check(nil))
			case <-time.After(10 * time.Millisecond):
			}
		}
		cluster.mu.Lock()
		cluster.failGet = nil
		cluster.mu.Unlock()
		select {
		case <-g.Passed():
		case <-ctx.Done():
			t.Fatalf("check did not pass once the cluster answered")
		}
		<-done
	})
}
