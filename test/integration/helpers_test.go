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
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned"
	typedv1alpha1 "github.com/petsets/client-go/clientset/versioned/typed/apps/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"

	"github.com/petsets/petset/test/hostile"
)

// ioTimeout bounds a single wait on the server (a watch event, ...).
const ioTimeout = 30 * time.Second

// testNamespace returns a namespace name of the test's own. The standalone
// server has no namespace lifecycle: any namespace name can be written to
// without creating it first, and tests isolated in their namespaces can run
// in parallel on the shared server.
func testNamespace(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, t.Name())
	if len(name) > 50 {
		name = name[:50]
	}
	return strings.Trim(name, "-") + "-" + rand.String(5)
}

// petSets returns the typed client of the PetSets in namespace ns.
func petSets(s *server, ns string) typedv1alpha1.PetSetInterface {
	return s.Client.AppsV1alpha1().PetSets(ns)
}

// guidePetSet returns the PetSet "web" of the PetSet guide's example,
// named name; see hostile.GuidePetSet.
func guidePetSet(name string) *appsv1alpha1.PetSet { return hostile.GuidePetSet(name) }

// guidePetSetJSON returns guidePetSet(name) as the JSON a client sends,
// passed through mutate (on a generic map) first.
func guidePetSetJSON(t *testing.T, name string, mutate func(obj map[string]any)) []byte {
	t.Helper()
	return hostile.GuidePetSetJSON(t, name, mutate)
}

// createPetSet creates ps in ns and fails the test on error.
func createPetSet(t *testing.T, s *server, ns string, ps *appsv1alpha1.PetSet) *appsv1alpha1.PetSet {
	t.Helper()
	created, err := petSets(s, ns).Create(t.Context(), ps, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating PetSet %s/%s: %v", ns, ps.Name, err)
	}
	return created
}

// statusCode returns the HTTP status code of an API error, 0 for nil and
// -1 for an error that is not an API status.
func statusCode(err error) int32 {
	if err == nil {
		return 0
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return -1
	}
	return status.Status().Code
}

// causeFields returns the sorted, distinct field paths of the causes of an
// API error.
func causeFields(err error) []string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	return statusCauseFields(status.Status())
}

func statusCauseFields(status metav1.Status) []string {
	if status.Details == nil {
		return nil
	}
	var fields []string
	for _, c := range status.Details.Causes {
		fields = append(fields, c.Field)
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

// rawResponse is the outcome of a request made without the typed client.
type rawResponse = hostile.Response

// doRaw sends a request to path (with its query) on the server with the
// given config's credentials, and returns the response.
func doRaw(t *testing.T, cfg *rest.Config, method, path, contentType string, body []byte) rawResponse {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = ioTimeout
	return hostile.Do(t, client, cfg.Host, method, path, contentType, "", body)
}

// collectionPath is the URL path of the PetSets of namespace ns.
func collectionPath(ns string) string {
	return "/apis/apps/v1alpha1/namespaces/" + ns + "/petsets"
}

// mustClientset returns a typed clientset on cfg.
func mustClientset(t *testing.T, cfg *rest.Config) versioned.Interface {
	t.Helper()
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// warningRecorder records the warnings a client receives.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (r *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, code int, _, text string) {
	if code != 299 || text == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnings = append(r.warnings, text)
}

func (r *warningRecorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.warnings)
}
