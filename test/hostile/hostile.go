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

// Package hostile holds a table of malformed and hostile requests to the
// PetSet API and the client error each must get, shared by the integration
// test against the standalone server and the e2e test that sends them
// through kube-apiserver's aggregator, and the helpers that send and check
// them.
package hostile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Case is one malformed or hostile request and the answer it must get.
type Case struct {
	Name   string
	Method string
	// Path is the URL path and query under the PetSets of the test's
	// namespace ("" is the collection, "/web" the PetSet web), or an
	// absolute path when it starts with "/apis" or "/api".
	Path        string
	ContentType string
	// Accept is the Accept header; application/json unless set.
	Accept     string
	Body       []byte
	WantCode   int
	WantReason metav1.StatusReason
	// WantMessage is a part of the Status message, when set.
	WantMessage string
	// WantBodyPrefix, when set, is the start of a body that is not JSON;
	// the Status is not decoded.
	WantBodyPrefix string
	// Aggregated, when set, is the answer through kube-apiserver's
	// aggregator, where it differs from the server's own.
	Aggregated *Want
}

// Want is the answer a request must get.
type Want struct {
	Code       int
	Reason     metav1.StatusReason
	Message    string
	BodyPrefix string
}

// Want returns the answer tc must get from the server itself, or through
// the aggregator.
func (tc Case) Want(aggregated bool) Want {
	if aggregated && tc.Aggregated != nil {
		return *tc.Aggregated
	}
	return Want{Code: tc.WantCode, Reason: tc.WantReason, Message: tc.WantMessage, BodyPrefix: tc.WantBodyPrefix}
}

// URL returns the path and query of tc's request for namespace ns.
func (tc Case) URL(ns string) string {
	if strings.HasPrefix(tc.Path, "/api") {
		return tc.Path
	}
	return CollectionPath(ns) + tc.Path
}

// CollectionPath is the path of the PetSets of namespace ns.
func CollectionPath(ns string) string {
	return "/apis/apps/v1alpha1/namespaces/" + ns + "/petsets"
}

const (
	jsonType     = "application/json"
	yamlType     = "application/yaml"
	protobufType = "application/vnd.kubernetes.protobuf"
	jsonPatch    = string(types.JSONPatchType)
	mergePat     = string(types.MergePatchType)
	smPatch      = string(types.StrategicMergePatchType)
	applyType    = string(types.ApplyYAMLPatchType)
)

// Nested returns depth levels of JSON objects around a number.
func Nested(depth int) string {
	return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
}

// GuidePetSet returns the PetSet "web" of the PetSet guide's example
// (artifacts/examples/petset.yaml), named name: two replicas governed by
// the Service "nginx", a template labelled app=nginx, a claim template www,
// and no selector (the server defaults it, and the PetSet's labels, from the
// template labels).
func GuidePetSet(name string) *appsv1alpha1.PetSet {
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

// GuidePetSetJSON returns GuidePetSet(name) as the JSON a client sends,
// passed through mutate (on a generic map) first.
func GuidePetSetJSON(t testing.TB, name string, mutate func(obj map[string]any)) []byte {
	t.Helper()
	ps := GuidePetSet(name)
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

// SetPath sets obj[path...] = value in a decoded JSON object, creating the
// maps on the way.
func SetPath(obj map[string]any, value any, path ...string) {
	for _, p := range path[:len(path)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = value
}

// TemplateSpec returns spec.template.spec of a decoded PetSet.
func TemplateSpec(obj map[string]any) map[string]any {
	return obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
}

// Response is an HTTP response, read whole.
type Response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// Status decodes the body as a metav1.Status; ok is false when it is not
// one.
func (r Response) Status() (status metav1.Status, ok bool) {
	if err := json.Unmarshal(r.Body, &status); err != nil || status.Kind != "Status" {
		return metav1.Status{}, false
	}
	return status, true
}

// Warnings returns the texts of the Warning headers of the response.
func (r Response) Warnings() []string {
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

// Do sends a request to host+path with the given Content-Type (none when
// empty) and Accept (application/json when empty) and returns the response.
func Do(t testing.TB, client *http.Client, host, method, path, contentType, accept string, body []byte) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, strings.TrimSuffix(host, "/")+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %.200s: %v", method, path, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %.200s: reading the response: %v", method, path, err)
	}
	return Response{Code: resp.StatusCode, Header: resp.Header, Body: respBody}
}

// Send sends tc to the PetSets of ns on host and checks the answer against
// want: never a 5xx, exactly the code, and for an error a Status with that
// code, the reason and the message part.
func Send(t testing.TB, client *http.Client, host, ns string, tc Case, want Want) {
	t.Helper()
	resp := Do(t, client, host, tc.Method, tc.URL(ns), tc.ContentType, tc.Accept, tc.Body)
	if resp.Code >= 500 {
		t.Fatalf("server error %d: %.2000s", resp.Code, resp.Body)
	}
	if resp.Code != want.Code {
		t.Fatalf("code %d, want %d: %.2000s", resp.Code, want.Code, resp.Body)
	}
	if want.BodyPrefix != "" {
		if !bytes.HasPrefix(resp.Body, []byte(want.BodyPrefix)) {
			t.Errorf("the body does not start with %q: %q", want.BodyPrefix, resp.Body)
		}
		return
	}
	if resp.Code < 300 {
		return
	}
	status, ok := resp.Status()
	if !ok {
		t.Fatalf("the body of the %d is not a Status: %.2000s", resp.Code, resp.Body)
	}
	got := []any{status.Code, status.Status, status.Reason, strings.Contains(status.Message, want.Message)}
	wantStatus := []any{int32(want.Code), metav1.StatusFailure, status.Reason, true}
	if want.Reason != "" {
		wantStatus[2] = want.Reason
	}
	if diff := cmp.Diff(wantStatus, got); diff != "" {
		t.Errorf("Status code, status, reason and whether the message contains %q (-want +got):\n%s\nmessage: %.2000s", want.Message, diff, status.Message)
	}
}

// CheckExpiredWatch checks the answer to a watch from an expired
// resourceVersion: 200 and a stream whose only event is an ERROR carrying a
// 410 Expired Status.
func CheckExpiredWatch(t testing.TB, resp Response) {
	t.Helper()
	if resp.Code != http.StatusOK {
		t.Fatalf("code %d, want 200 and a stream: %s", resp.Code, resp.Body)
	}
	var events []metav1.WatchEvent
	scanner := bufio.NewScanner(bytes.NewReader(resp.Body))
	for scanner.Scan() {
		var event metav1.WatchEvent
		if err := json.Unmarshal(scanner.Bytes(), &event); err != nil {
			t.Fatalf("an event that does not decode: %v: %s", err, scanner.Bytes())
		}
		events = append(events, event)
	}
	if len(events) != 1 || events[0].Type != "ERROR" {
		t.Fatalf("events %s, want one ERROR event", resp.Body)
	}
	var status metav1.Status
	if err := json.Unmarshal(events[0].Object.Raw, &status); err != nil {
		t.Fatalf("the ERROR event does not carry a Status: %v: %s", err, events[0].Object.Raw)
	}
	got := fmt.Sprintf("%d %s", status.Code, status.Reason)
	if diff := cmp.Diff(fmt.Sprintf("%d %s", http.StatusGone, metav1.StatusReasonExpired), got); diff != "" {
		t.Errorf("the Status of the ERROR event (-want +got):\n%s\n%s", diff, events[0].Object.Raw)
	}
}
