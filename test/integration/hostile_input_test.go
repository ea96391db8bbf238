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

package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/petsets/petset/test/hostile"
)

// TestHostileRequestsAreRefusedWithClientErrors sends malformed and hostile
// requests straight to the server and checks that each gets exactly the
// client error it calls for (never a 5xx), that the server stays ready and
// logs no panic, and that the PetSets written before are unchanged.
func TestHostileRequestsAreRefusedWithClientErrors(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	before := []*appsv1alpha1.PetSet{createPetSet(t, s, ns, guidePetSet("web")), createPetSet(t, s, ns, guidePetSet("db"))}
	client := hostileClient(t, s.Config)

	cases := hostile.Cases(t)
	if len(cases) < 100 {
		t.Fatalf("the table has %d cases, want at least 100", len(cases))
	}
	start := time.Now()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			hostile.Send(t, client, s.Config.Host, ns, tc, tc.Want(false))
		})
	}
	t.Logf("%d hostile requests in %v", len(cases), time.Since(start).Round(time.Millisecond))

	t.Run("the server stays ready", func(t *testing.T) {
		resp := hostileDo(t, client, s.Config, http.MethodGet, "/readyz", "", "text/plain", nil)
		if resp.Code != http.StatusOK {
			t.Errorf("/readyz answered %d: %s", resp.Code, resp.Body)
		}
	})
	t.Run("the PetSets written before are unchanged", func(t *testing.T) {
		for _, want := range before {
			got, err := petSets(s, ns).Get(t.Context(), want.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("getting %s: %v", want.Name, err)
			}
			type state struct {
				ResourceVersion string
				Spec            appsv1alpha1.PetSetSpec
			}
			if diff := cmp.Diff(state{want.ResourceVersion, want.Spec}, state{got.ResourceVersion, got.Spec}); diff != "" {
				t.Errorf("PetSet %s after the hostile requests (-before +after):\n%s", want.Name, diff)
			}
		}
		list, err := petSets(s, ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"db", "web"}, names(list.Items)); diff != "" {
			t.Errorf("PetSets after the hostile requests (-want +got):\n%s", diff)
		}
	})
	t.Run("the server logged no panic", func(t *testing.T) {
		if lines := s.panicLines(); len(lines) > 0 {
			t.Errorf("the server log mentions a panic:\n%s", strings.Join(lines, "\n"))
		}
	})
}

// hostileClient returns one HTTP client with the admin credential for all
// the requests of a test.
func hostileClient(t *testing.T, cfg *rest.Config) *http.Client {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = ioTimeout
	return client
}

// hostileDo sends a request to the server of cfg; see hostile.Do.
func hostileDo(t *testing.T, client *http.Client, cfg *rest.Config, method, path, contentType, accept string, body []byte) hostile.Response {
	t.Helper()
	return hostile.Do(t, client, cfg.Host, method, path, contentType, accept, body)
}

// TestWatchFromAnExpiredResourceVersionGetsAnExpiredEvent watches from a
// resourceVersion older than the server's watch cache, which a server
// restarted on existing data has: the server answers 200 and a stream whose
// only event is an ERROR carrying a 410 Expired Status, which is how
// clients learn to list again.
func TestWatchFromAnExpiredResourceVersionGetsAnExpiredEvent(t *testing.T) {
	t.Parallel()
	dataDir := testDir(t)
	const ns = "expired"

	first := startTestServer(t, dataDir)
	createPetSet(t, first, ns, guidePetSet("web"))
	createPetSet(t, first, ns, guidePetSet("db"))
	if err := first.Stop(); err != nil {
		t.Fatalf("stopping the first server: %v", err)
	}
	second := startTestServer(t, dataDir)

	client := hostileClient(t, second.Config)
	resp := hostileDo(t, client, second.Config, http.MethodGet, collectionPath(ns)+"?watch=true&timeoutSeconds=5&resourceVersion=1", "", "", nil)
	hostile.CheckExpiredWatch(t, resp)
}
