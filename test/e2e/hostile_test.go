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

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/petsets/petset/test/e2e/framework"
	"github.com/petsets/petset/test/hostile"
)

// hostileLogTail returns what petset-apiserver has logged since offset, and
// the log's size.
func hostileLogTail(t testing.TB, offset int64) ([]byte, int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cluster.Env["LOG_DIR"], "petset-apiserver.log"))
	if err != nil {
		t.Fatalf("reading the log of petset-apiserver: %v", err)
	}
	if offset > int64(len(b)) {
		// The server was started again since, with a new log.
		offset = 0
	}
	return b[offset:], int64(len(b))
}

// TestHostileRequestsThroughTheAggregatorAreRefusedWithClientErrors sends
// the table of test/hostile through kube-apiserver's aggregator: each
// request gets exactly the code expected there (never a 5xx),
// petset-apiserver stays ready and logs no panic, the APIService stays
// Available, and the PetSets written before are unchanged.
func TestHostileRequestsThroughTheAggregatorAreRefusedWithClientErrors(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	ctx := context.Background()
	var before []*appsv1alpha1.PetSet
	for _, name := range []string{"web", "db"} {
		ps := hostile.GuidePetSet(name)
		ps.Spec.Replicas = ptr.To[int32](0)
		created, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, ps, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating PetSet %s: %v", name, err)
		}
		before = append(before, created)
	}
	// The controller writes the status of a new PetSet; the barrage starts
	// after it did.
	pcWaitObserved(t, ns)
	_, logOffset := hostileLogTail(t, 0)

	client, err := rest.HTTPClientFor(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = time.Minute
	cases := hostile.Cases(t)
	start := time.Now()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			hostile.Send(t, client, cluster.Config.Host, ns, tc, tc.Want(true))
		})
	}
	t.Logf("%d hostile requests through the aggregator in %v", len(cases), time.Since(start).Round(time.Millisecond))

	t.Run("a watch from an expired resourceVersion gets an ERROR event with 410", func(t *testing.T) {
		resp := hostile.Do(t, client, cluster.Config.Host, http.MethodGet, hostile.CollectionPath(ns)+"?watch=true&timeoutSeconds=5&resourceVersion=1", "", "", nil)
		hostile.CheckExpiredWatch(t, resp)
	})
	t.Run("petset-apiserver stays ready", func(t *testing.T) {
		code, body, err := siGet(ctx, siDirect(t), "/readyz")
		if err != nil || code != http.StatusOK {
			t.Errorf("/readyz of petset-apiserver answered %d %q: %v", code, body, err)
		}
		status, msg, err := siAvailable(ctx)
		if err != nil || status != "True" {
			t.Errorf("APIService %s Available=%s (%s): %v", siAPIService, status, msg, err)
		}
	})
	t.Run("the PetSets written before are unchanged", func(t *testing.T) {
		type state struct {
			UID         string
			Generation  int64
			Labels      map[string]string
			Annotations map[string]string
			Spec        appsv1alpha1.PetSetSpec
		}
		for _, want := range before {
			got, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("getting %s: %v", want.Name, err)
			}
			if diff := cmp.Diff(state{string(want.UID), want.Generation, want.Labels, want.Annotations, want.Spec},
				state{string(got.UID), got.Generation, got.Labels, got.Annotations, got.Spec}); diff != "" {
				t.Errorf("PetSet %s after the hostile requests (-before +after):\n%s", want.Name, diff)
			}
		}
		list, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ps := range list.Items {
			names = append(names, ps.Name)
		}
		if diff := cmp.Diff([]string{"db", "web"}, names); diff != "" {
			t.Errorf("PetSets after the hostile requests (-want +got):\n%s", diff)
		}
	})
	t.Run("petset-apiserver logged no panic", func(t *testing.T) {
		logged, _ := hostileLogTail(t, logOffset)
		for _, line := range bytes.Split(logged, []byte("\n")) {
			if bytes.Contains(bytes.ToLower(line), []byte("panic")) {
				t.Errorf("petset-apiserver logged: %s", strings.TrimSpace(string(line)))
			}
		}
	})
	framework.WaitFor(t, time.Minute, "kube-apiserver /readyz", func(ctx context.Context) (bool, string, error) {
		code, body, err := siGet(ctx, cluster.Kube.Discovery().RESTClient(), "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, body, nil
	})
}
