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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned"
	typedv1alpha1 "github.com/petsets/client-go/clientset/versioned/typed/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
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

// guidePetSet returns the PetSet "web" of the PetSet guide's example
// (artifacts/examples/petset.yaml), named name: two replicas governed by
// the Service "nginx", a template labelled app=nginx, a claim template www,
// and no selector (the server defaults it, and the PetSet's labels, from the
// template labels).
func guidePetSet(name string) *appsv1alpha1.PetSet {
	return &appsv1alpha1.PetSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1alpha1.PetSetSpec{
			ServiceName: "nginx",
			Replicas:    ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"app": "nginx"},
					Annotations: map[string]string{appsv1alpha1.PetSetInitAnnotation: "true"},
				},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers: []corev1.Container{{
						Name:         "nginx",
						Image:        "gcr.io/google_containers/nginx-slim:0.8",
						Ports:        []corev1.ContainerPort{{ContainerPort: 80, Name: "web"}},
						VolumeMounts: []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}},
					}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{
					Name:        "www",
					Annotations: map[string]string{"volume.alpha.kubernetes.io/storage-class": "anything"},
				},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					},
				},
			}},
		},
	}
}

// guidePetSetJSON returns guidePetSet(name) as the JSON a client sends,
// passed through mutate (on a generic map) first.
func guidePetSetJSON(t *testing.T, name string, mutate func(obj map[string]any)) []byte {
	t.Helper()
	ps := guidePetSet(name)
	ps.APIVersion, ps.Kind = appsv1alpha1.SchemeGroupVersion.String(), "PetSet"
	raw, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(obj)
	}
	if raw, err = json.Marshal(obj); err != nil {
		t.Fatal(err)
	}
	return raw
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
type rawResponse struct {
	Code   int
	Header http.Header
	Body   []byte
}

// Status decodes the body as a metav1.Status; ok is false when it is not
// one.
func (r rawResponse) Status() (status metav1.Status, ok bool) {
	if err := json.Unmarshal(r.Body, &status); err != nil || status.Kind != "Status" {
		return metav1.Status{}, false
	}
	return status, true
}

// Warnings returns the texts of the Warning headers of the response.
func (r rawResponse) Warnings() []string {
	var out []string
	for _, h := range r.Header.Values("Warning") {
		// 299 - "text"
		if _, text, ok := strings.Cut(h, ` - "`); ok {
			h = strings.TrimSuffix(text, `"`)
			h = strings.ReplaceAll(h, `\"`, `"`)
		}
		out = append(out, h)
	}
	return out
}

// doRaw sends a request to path (with its query) on the server with the
// given config's credentials, and returns the response.
func doRaw(t *testing.T, cfg *rest.Config, method, path, contentType string, body []byte) rawResponse {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = ioTimeout
	req, err := http.NewRequestWithContext(t.Context(), method, strings.TrimSuffix(cfg.Host, "/")+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", method, path, err)
	}
	return rawResponse{Code: resp.StatusCode, Header: resp.Header, Body: respBody}
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
