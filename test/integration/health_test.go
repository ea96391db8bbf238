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
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
)

func TestHealthEndpointsPassWithTheAdminCredential(t *testing.T) {
	t.Parallel()
	s := shared(t)

	tests := []struct {
		path      string
		wantLines []string // lines the body must hold
	}{
		{"/healthz", []string{"ok"}},
		{"/livez", []string{"ok"}},
		{"/readyz", []string{"ok"}},
		{"/healthz?verbose", []string{"[+]ping ok", "[+]etcd ok", "healthz check passed"}},
		{"/livez?verbose", []string{"[+]ping ok", "[+]etcd ok", "livez check passed"}},
		{"/readyz?verbose", []string{"[+]ping ok", "[+]etcd ok", "[+]etcd-readiness ok", "[+]shutdown ok", "readyz check passed"}},
		{"/readyz/etcd", []string{"ok"}},
		{"/livez/etcd", []string{"ok"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp := doRaw(t, s.Config, http.MethodGet, tc.path, "", nil)
			if resp.Code != http.StatusOK {
				t.Fatalf("code %d, want 200: %s", resp.Code, resp.Body)
			}
			lines := strings.Split(strings.TrimSpace(string(resp.Body)), "\n")
			for _, want := range tc.wantLines {
				if !slices.Contains(lines, want) {
					t.Errorf("no line %q in:\n%s", want, resp.Body)
				}
			}
		})
	}
}

func TestMetricsAreServedToTheAdmin(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	createPetSet(t, s, ns, guidePetSet("web"))

	resp := doRaw(t, s.Config, http.MethodGet, "/metrics", "", nil)
	if resp.Code != http.StatusOK {
		t.Fatalf("code %d, want 200: %s", resp.Code, resp.Body)
	}
	for _, want := range []string{
		"# TYPE apiserver_request_total counter",
		`apiserver_request_total{code="201",component="apiserver",dry_run="",group="apps",resource="petsets",scope="resource",subresource="",verb="POST",version="v1alpha1"}`,
		"etcd_request_duration_seconds",
	} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

func TestRequestsWithoutTheAdminCredentialAreUnauthorized(t *testing.T) {
	t.Parallel()
	s := shared(t)

	wrongToken := rest.AnonymousClientConfig(s.Config)
	wrongToken.BearerToken = "not-the-admin-token"
	credentials := []struct {
		name string
		cfg  *rest.Config
	}{
		{"no credential", rest.AnonymousClientConfig(s.Config)},
		{"a wrong token", wrongToken},
	}
	paths := []string{
		"/healthz", "/livez", "/readyz", "/metrics", "/version", "/openapi/v2",
		"/apis", "/apis/apps/v1alpha1", collectionPath("default"), collectionPath("default") + "/web/scale",
	}
	for _, cred := range credentials {
		for _, path := range paths {
			t.Run(cred.name+" "+path, func(t *testing.T) {
				resp := doRaw(t, cred.cfg, http.MethodGet, path, "", nil)
				if resp.Code != http.StatusUnauthorized {
					t.Fatalf("code %d, want 401: %s", resp.Code, resp.Body)
				}
				if status, ok := resp.Status(); !ok || status.Code != http.StatusUnauthorized {
					t.Errorf("the body is not a 401 Status: %s", resp.Body)
				}
			})
		}
	}
	t.Run("no credential may create", func(t *testing.T) {
		resp := doRaw(t, rest.AnonymousClientConfig(s.Config), http.MethodPost, collectionPath("default"), "application/json", guidePetSetJSON(t, "anonymous", nil))
		if resp.Code != http.StatusUnauthorized {
			t.Fatalf("code %d, want 401: %s", resp.Code, resp.Body)
		}
	})
}

func TestDiscoveryListsPetSetsWithStatusAndScale(t *testing.T) {
	t.Parallel()
	s := shared(t)

	t.Run("the apps group prefers v1alpha1", func(t *testing.T) {
		groups, err := s.Client.Discovery().ServerGroups()
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		preferred := ""
		for _, g := range groups.Groups {
			if g.Name == "apps" {
				for _, v := range g.Versions {
					versions = append(versions, v.GroupVersion)
				}
				preferred = g.PreferredVersion.GroupVersion
			}
		}
		if diff := cmp.Diff([]string{"apps/v1alpha1"}, versions); diff != "" {
			t.Errorf("versions of apps (-want +got):\n%s", diff)
		}
		if preferred != "apps/v1alpha1" {
			t.Errorf("preferred version of apps = %q, want apps/v1alpha1", preferred)
		}
	})

	t.Run("apps/v1alpha1 serves petsets, petsets/status and petsets/scale", func(t *testing.T) {
		list, err := s.Client.Discovery().ServerResourcesForGroupVersion("apps/v1alpha1")
		if err != nil {
			t.Fatal(err)
		}
		type resource struct {
			Name       string
			Namespaced bool
			Kind       string
			Group      string
			Version    string
			Verbs      []string
			Categories []string
		}
		var got []resource
		for _, r := range list.APIResources {
			verbs := slices.Clone([]string(r.Verbs))
			slices.Sort(verbs)
			got = append(got, resource{r.Name, r.Namespaced, r.Kind, r.Group, r.Version, verbs, r.Categories})
		}
		slices.SortFunc(got, func(a, b resource) int { return strings.Compare(a.Name, b.Name) })
		want := []resource{
			{Name: "petsets", Namespaced: true, Kind: "PetSet", Categories: []string{"all"},
				Verbs: []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}},
			{Name: "petsets/scale", Namespaced: true, Kind: "Scale", Group: "autoscaling", Version: "v1",
				Verbs: []string{"get", "patch", "update"}},
			{Name: "petsets/status", Namespaced: true, Kind: "PetSet",
				Verbs: []string{"get", "patch", "update"}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("resources of apps/v1alpha1 (-want +got):\n%s", diff)
		}
	})
}
