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
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// hostileCase is one malformed or hostile request and the answer it must
// get.
type hostileCase struct {
	name   string
	method string
	// path is the URL path and query under the PetSets of the test's
	// namespace ("" is the collection, "/web" the PetSet web), or an
	// absolute path when it starts with "/apis" or "/api".
	path        string
	contentType string
	// accept is the Accept header; application/json unless set.
	accept     string
	body       []byte
	wantCode   int
	wantReason metav1.StatusReason
	// wantMessage is a part of the Status message, when set.
	wantMessage string
	// wantBodyPrefix, when set, is the start of a body that is not JSON;
	// the Status is not decoded.
	wantBodyPrefix string
}

const (
	jsonType  = "application/json"
	yamlType  = "application/yaml"
	jsonPatch = string(types.JSONPatchType)
	mergePat  = string(types.MergePatchType)
	smPatch   = string(types.StrategicMergePatchType)
	applyType = string(types.ApplyYAMLPatchType)
)

// nested returns depth levels of JSON objects around a number.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
}

// hostileCases returns the table of TestHostileRequestsAreRefusedWithClientErrors.
// ns is the test's namespace; the PetSet web exists in it.
func hostileCases(t *testing.T, ns string) []hostileCase {
	guide := func(name string, mutate func(map[string]any)) []byte { return guidePetSetJSON(t, name, mutate) }
	wrongType := func(value any, path ...string) []byte {
		return guide("wrongtype", func(obj map[string]any) { setPath(obj, value, path...) })
	}
	scale := func(replicas any, meta map[string]any) []byte {
		if meta == nil {
			meta = map[string]any{"name": "web"}
		}
		b, err := json.Marshal(map[string]any{"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": meta, "spec": map[string]any{"replicas": replicas}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	applyBody := func(spec string) []byte {
		return []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":` + spec + `}`)
	}
	withResourceVersion := func(rv string) []byte {
		return guide("web", func(obj map[string]any) { setPath(obj, rv, "metadata", "resourceVersion") })
	}
	const guideYAML = "apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  name: from-yaml\nspec:\n  serviceName: nginx\n" +
		"  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n"
	const aliasBomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	huge := strings.Repeat("x", 3<<20)
	longName := strings.Repeat("a", 254)
	bad := metav1.StatusReasonBadRequest
	invalid := metav1.StatusReasonInvalid
	unsupported := metav1.StatusReasonUnsupportedMediaType

	return []hostileCase{
		// Malformed bodies.
		{name: "truncated JSON", method: "POST", contentType: jsonType, body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":`), wantCode: 400, wantReason: bad},
		{name: "JSON followed by garbage", method: "POST", contentType: jsonType, body: append(guide("trailing", nil), []byte("}garbage")...), wantCode: 400, wantReason: bad},
		{name: "a bare JSON string", method: "POST", contentType: jsonType, body: []byte(`"web"`), wantCode: 400, wantReason: bad},
		{name: "a bare JSON number", method: "POST", contentType: jsonType, body: []byte(`42`), wantCode: 400, wantReason: bad},
		{name: "JSON null is an empty PetSet", method: "POST", contentType: jsonType, body: []byte(`null`), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "a JSON list", method: "POST", contentType: jsonType, body: []byte(`[]`), wantCode: 400, wantReason: bad},
		{name: "an empty body", method: "POST", contentType: jsonType, body: nil, wantCode: 400, wantReason: bad},
		{name: "binary garbage", method: "POST", contentType: jsonType, body: []byte("\x00\xff\xfe\x01\x02"), wantCode: 400, wantReason: bad},
		{name: "invalid UTF-8 between the tokens", method: "POST", contentType: jsonType, body: append([]byte("{\xff"), guide("utf8", nil)[1:]...), wantCode: 400, wantReason: bad},
		{name: "invalid UTF-8 in the name", method: "POST", contentType: jsonType, body: bytes.Replace(guide("xx-utf8", nil), []byte("xx-utf8"), []byte("\xff\xfe"), 1), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "invalid UTF-8 in an annotation is replaced, not refused", method: "POST", path: "?dryRun=All", contentType: jsonType,
			body: bytes.Replace(guide("utf8-annotation", func(obj map[string]any) { setPath(obj, "XX", "metadata", "annotations", "note") }), []byte(`"XX"`), []byte("\"\xff\xfe\""), 1), wantCode: 201},
		{name: "JSON nested 10,000 levels deep", method: "POST", contentType: jsonType,
			body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"deep"},"spec":` + nested(10000) + `}`), wantCode: 400, wantReason: bad},
		{name: "JSON lists nested 10,000 levels deep", method: "POST", contentType: jsonType, body: []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), wantCode: 400, wantReason: bad},
		{name: "malformed YAML", method: "POST", contentType: yamlType, body: []byte("apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  name: [web\n"), wantCode: 400, wantReason: bad},
		{name: "YAML indented with tabs", method: "POST", contentType: yamlType, body: []byte("apiVersion: apps/v1alpha1\nkind: PetSet\nspec:\n\treplicas: 1\n"), wantCode: 400, wantReason: bad},
		{name: "a YAML alias bomb", method: "POST", contentType: yamlType, body: []byte(aliasBomb), wantCode: 400, wantReason: bad},
		{name: "a YAML list", method: "POST", contentType: yamlType, body: []byte("- a\n- b\n"), wantCode: 400, wantReason: bad},
		{name: "YAML flow lists nested 10,000 levels deep", method: "POST", contentType: yamlType, body: []byte("spec: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n"), wantCode: 400, wantReason: bad},
		{name: "a body over 3 MiB", method: "POST", contentType: jsonType,
			body: guide("huge", func(obj map[string]any) { setPath(obj, huge, "metadata", "annotations", "huge") }), wantCode: 413, wantReason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "a YAML body over 3 MiB", method: "POST", contentType: yamlType, body: []byte(guideYAML + "  x: " + huge + "\n"), wantCode: 413, wantReason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "a patch over 3 MiB", method: "PATCH", path: "/web", contentType: mergePat,
			body: []byte(`{"metadata":{"annotations":{"huge":"` + huge + `"}}}`), wantCode: 413, wantReason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "an apply patch over 3 MiB", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","annotations":{"huge":"` + huge + `"}}}`), wantCode: 413, wantReason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "a number too large for JSON", method: "POST", contentType: jsonType, body: bytes.Replace(guide("big", nil), []byte(`"replicas":2`), []byte(`"replicas":1e400`), 1), wantCode: 400, wantReason: bad},

		// Wrong types for every field of the spec, and for the metadata.
		{name: "replicas as a string", method: "POST", contentType: jsonType, body: wrongType("2", "spec", "replicas"), wantCode: 400, wantReason: bad, wantMessage: "spec.replicas"},
		{name: "replicas as a fraction", method: "POST", contentType: jsonType, body: wrongType(2.5, "spec", "replicas"), wantCode: 400, wantReason: bad, wantMessage: "spec.replicas"},
		{name: "replicas as a boolean", method: "POST", contentType: jsonType, body: wrongType(true, "spec", "replicas"), wantCode: 400, wantReason: bad, wantMessage: "spec.replicas"},
		{name: "replicas over the int32 range", method: "POST", contentType: jsonType, body: wrongType(int64(1)<<31, "spec", "replicas"), wantCode: 400, wantReason: bad, wantMessage: "spec.replicas"},
		{name: "replicas as a list", method: "POST", contentType: jsonType, body: wrongType([]any{2}, "spec", "replicas"), wantCode: 400, wantReason: bad, wantMessage: "spec.replicas"},
		{name: "selector as a list", method: "POST", contentType: jsonType, body: wrongType([]any{map[string]any{"app": "nginx"}}, "spec", "selector"), wantCode: 400, wantReason: bad, wantMessage: "spec.selector"},
		{name: "selector as a string", method: "POST", contentType: jsonType, body: wrongType("app=nginx", "spec", "selector"), wantCode: 400, wantReason: bad, wantMessage: "spec.selector"},
		{name: "matchLabels as a list", method: "POST", contentType: jsonType, body: wrongType([]any{"app"}, "spec", "selector", "matchLabels"), wantCode: 400, wantReason: bad},
		{name: "a matchLabels value as a number", method: "POST", contentType: jsonType, body: wrongType(5, "spec", "selector", "matchLabels", "app"), wantCode: 400, wantReason: bad},
		{name: "matchExpressions as an object", method: "POST", contentType: jsonType, body: wrongType(map[string]any{"key": "app"}, "spec", "selector", "matchExpressions"), wantCode: 400, wantReason: bad},
		{name: "template as a number", method: "POST", contentType: jsonType, body: wrongType(5, "spec", "template"), wantCode: 400, wantReason: bad, wantMessage: "spec.template"},
		{name: "template as a string", method: "POST", contentType: jsonType, body: wrongType("nginx", "spec", "template"), wantCode: 400, wantReason: bad, wantMessage: "spec.template"},
		{name: "template as a list", method: "POST", contentType: jsonType, body: wrongType([]any{}, "spec", "template"), wantCode: 400, wantReason: bad, wantMessage: "spec.template"},
		{name: "the pod spec as a list", method: "POST", contentType: jsonType, body: wrongType([]any{}, "spec", "template", "spec"), wantCode: 400, wantReason: bad},
		{name: "containers as a map", method: "POST", contentType: jsonType, body: wrongType(map[string]any{"nginx": map[string]any{}}, "spec", "template", "spec", "containers"), wantCode: 400, wantReason: bad},
		{name: "containers as a string", method: "POST", contentType: jsonType, body: wrongType("nginx", "spec", "template", "spec", "containers"), wantCode: 400, wantReason: bad},
		{name: "a container as a string", method: "POST", contentType: jsonType, body: wrongType([]any{"nginx"}, "spec", "template", "spec", "containers"), wantCode: 400, wantReason: bad},
		{name: "template labels as a list", method: "POST", contentType: jsonType, body: wrongType([]any{"app"}, "spec", "template", "metadata", "labels"), wantCode: 400, wantReason: bad},
		{name: "serviceName as an object", method: "POST", contentType: jsonType, body: wrongType(map[string]any{"name": "nginx"}, "spec", "serviceName"), wantCode: 400, wantReason: bad, wantMessage: "spec.serviceName"},
		{name: "serviceName as a number", method: "POST", contentType: jsonType, body: wrongType(80, "spec", "serviceName"), wantCode: 400, wantReason: bad, wantMessage: "spec.serviceName"},
		{name: "serviceName as a list", method: "POST", contentType: jsonType, body: wrongType([]any{"nginx"}, "spec", "serviceName"), wantCode: 400, wantReason: bad, wantMessage: "spec.serviceName"},
		{name: "volumeClaimTemplates as a map", method: "POST", contentType: jsonType, body: wrongType(map[string]any{"www": map[string]any{}}, "spec", "volumeClaimTemplates"), wantCode: 400, wantReason: bad, wantMessage: "spec.volumeClaimTemplates"},
		{name: "volumeClaimTemplates as a string", method: "POST", contentType: jsonType, body: wrongType("www", "spec", "volumeClaimTemplates"), wantCode: 400, wantReason: bad, wantMessage: "spec.volumeClaimTemplates"},
		{name: "a claim template as a number", method: "POST", contentType: jsonType, body: wrongType([]any{1}, "spec", "volumeClaimTemplates"), wantCode: 400, wantReason: bad},
		{name: "a storage request that is not a quantity", method: "POST", contentType: jsonType, body: guide("quantity", func(obj map[string]any) {
			claim := obj["spec"].(map[string]any)["volumeClaimTemplates"].([]any)[0].(map[string]any)
			setPath(claim, "lots", "spec", "resources", "requests", "storage")
		}), wantCode: 400, wantReason: bad, wantMessage: "quantities must match"},
		{name: "spec as a list", method: "POST", contentType: jsonType, body: wrongType([]any{}, "spec"), wantCode: 400, wantReason: bad},
		{name: "spec as a string", method: "POST", contentType: jsonType, body: wrongType("spec", "spec"), wantCode: 400, wantReason: bad},
		{name: "status as a list", method: "POST", contentType: jsonType, body: wrongType([]any{}, "status"), wantCode: 400, wantReason: bad},
		{name: "status replicas as a string", method: "POST", contentType: jsonType, body: wrongType("2", "status", "replicas"), wantCode: 400, wantReason: bad},
		{name: "metadata as a list", method: "POST", contentType: jsonType, body: wrongType([]any{}, "metadata"), wantCode: 400, wantReason: bad},
		{name: "the name as a number", method: "POST", contentType: jsonType, body: wrongType(5, "metadata", "name"), wantCode: 400, wantReason: bad},
		{name: "labels as a list", method: "POST", contentType: jsonType, body: wrongType([]any{"app"}, "metadata", "labels"), wantCode: 400, wantReason: bad},
		{name: "an annotation value as a list", method: "POST", contentType: jsonType, body: wrongType([]any{"x"}, "metadata", "annotations", "note"), wantCode: 400, wantReason: bad},
		{name: "a creationTimestamp that is not a time", method: "POST", contentType: jsonType, body: wrongType("yesterday", "metadata", "creationTimestamp"), wantCode: 400, wantReason: bad, wantMessage: "parsing time"},
		{name: "apiVersion as a number", method: "POST", contentType: jsonType, body: wrongType(1, "apiVersion"), wantCode: 400, wantReason: bad},

		// Unknown and duplicate fields under fieldValidation=Strict.
		{name: "an unknown top-level field with fieldValidation=Strict", method: "POST", path: "?fieldValidation=Strict", contentType: jsonType,
			body: wrongType(1, "bogus"), wantCode: 400, wantReason: bad, wantMessage: `unknown field "bogus"`},
		{name: "an unknown metadata field with fieldValidation=Strict", method: "POST", path: "?fieldValidation=Strict", contentType: jsonType,
			body: wrongType(1, "metadata", "bogus"), wantCode: 400, wantReason: bad, wantMessage: `unknown field "metadata.bogus"`},
		{name: "an unknown spec field with fieldValidation=Strict", method: "POST", path: "?fieldValidation=Strict", contentType: jsonType,
			body: wrongType(1, "spec", "bogus"), wantCode: 400, wantReason: bad, wantMessage: `unknown field "spec.bogus"`},
		{name: "an unknown container field with fieldValidation=Strict", method: "POST", path: "?fieldValidation=Strict", contentType: jsonType,
			body:     guide("strict", func(obj map[string]any) { templateSpec(obj)["containers"].([]any)[0].(map[string]any)["bogus"] = 1 }),
			wantCode: 400, wantReason: bad, wantMessage: `unknown field "spec.template.spec.containers[0].bogus"`},
		{name: "an unknown status field with fieldValidation=Strict", method: "POST", path: "?fieldValidation=Strict", contentType: jsonType,
			body: wrongType(1, "status", "bogus"), wantCode: 400, wantReason: bad, wantMessage: `unknown field "status.bogus"`},
		{name: "an unknown YAML field with fieldValidation=Strict", method: "POST", path: "?fieldValidation=Strict", contentType: yamlType,
			body: []byte(guideYAML + "  bogus: 1\n"), wantCode: 400, wantReason: bad, wantMessage: `unknown field "spec.bogus"`},
		{name: "an unknown field in an update with fieldValidation=Strict", method: "PUT", path: "/web?fieldValidation=Strict", contentType: jsonType,
			body: guide("web", func(obj map[string]any) { setPath(obj, 1, "spec", "bogus") }), wantCode: 400, wantReason: bad, wantMessage: `unknown field "spec.bogus"`},
		{name: "an unknown field in a merge patch with fieldValidation=Strict", method: "PATCH", path: "/web?fieldValidation=Strict", contentType: mergePat,
			body: []byte(`{"spec":{"bogus":1}}`), wantCode: 422, wantReason: invalid, wantMessage: `unknown field "spec.bogus"`},
		{name: "a duplicate field with fieldValidation=Strict", method: "POST", path: "?fieldValidation=Strict", contentType: jsonType,
			body: bytes.Replace(guide("dup", nil), []byte(`"replicas":2`), []byte(`"replicas":2,"replicas":3`), 1), wantCode: 400, wantReason: bad, wantMessage: `duplicate field "spec.replicas"`},
		{name: "an unsupported fieldValidation", method: "POST", path: "?fieldValidation=Loose", contentType: jsonType, body: guide("loose", nil), wantCode: 422, wantReason: invalid},
		{name: "an unsupported dryRun", method: "POST", path: "?dryRun=Some", contentType: jsonType, body: guide("dry", nil), wantCode: 422, wantReason: invalid},
		{name: "a fieldManager over 128 bytes", method: "POST", path: "?fieldManager=" + strings.Repeat("m", 129), contentType: jsonType, body: guide("manager", nil), wantCode: 422, wantReason: invalid},

		// Names and namespaces.
		{name: "a name over 253 characters", method: "POST", contentType: jsonType, body: guide(longName, nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "a name over the 52 characters of a PetSet", method: "POST", contentType: jsonType, body: guide(strings.Repeat("w", 53), nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "a name with capitals", method: "POST", contentType: jsonType, body: guide("Web", nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "a name with an underscore", method: "POST", contentType: jsonType, body: guide("web_1", nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "a name with a dot", method: "POST", contentType: jsonType, body: guide("web.1", nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "a name starting with a dash", method: "POST", contentType: jsonType, body: guide("-web", nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "no name", method: "POST", contentType: jsonType, body: guide("", nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.name"},
		{name: "a generateName that is not a DNS label", method: "POST", contentType: jsonType,
			body: guide("", func(obj map[string]any) { setPath(obj, "Web_", "metadata", "generateName") }), wantCode: 422, wantReason: invalid, wantMessage: "metadata.generateName"},
		{name: "a namespace in the body other than the URL's", method: "POST", contentType: jsonType,
			body: guide("elsewhere", func(obj map[string]any) { setPath(obj, "elsewhere", "metadata", "namespace") }), wantCode: 400, wantReason: bad, wantMessage: "does not match the namespace"},
		{name: "a namespace in the body other than the URL's on update", method: "PUT", path: "/web", contentType: jsonType,
			body: guide("web", func(obj map[string]any) { setPath(obj, "elsewhere", "metadata", "namespace") }), wantCode: 400, wantReason: bad, wantMessage: "does not match the namespace"},
		{name: "a namespace in the URL that is not a DNS label", method: "POST", path: "/apis/apps/v1alpha1/namespaces/Bad_NS/petsets", contentType: jsonType,
			body: guide("web", nil), wantCode: 422, wantReason: invalid, wantMessage: "metadata.namespace"},
		{name: "a name other than the URL's on update", method: "PUT", path: "/web", contentType: jsonType, body: guide("not-web", nil), wantCode: 400, wantReason: bad, wantMessage: "does not match the name"},
		{name: "a get of a name that is not a DNS label", method: "GET", path: "/Bad_Name", wantCode: 404, wantReason: metav1.StatusReasonNotFound},
		{name: "a get of a name over 253 characters", method: "GET", path: "/" + longName, wantCode: 404, wantReason: metav1.StatusReasonNotFound},

		// Media types.
		{name: "a create in text/plain", method: "POST", contentType: "text/plain", body: guide("plain", nil), wantCode: 415, wantReason: unsupported},
		{name: "a create in protobuf, which PetSets do not offer", method: "POST", contentType: "application/vnd.kubernetes.protobuf", body: guide("proto", nil), wantCode: 415, wantReason: unsupported},
		{name: "a create as a merge patch", method: "POST", contentType: mergePat, body: guide("merge", nil), wantCode: 415, wantReason: unsupported},
		{name: "an update as a strategic merge patch", method: "PUT", path: "/web", contentType: smPatch, body: guide("web", nil), wantCode: 415, wantReason: unsupported},
		{name: "a patch in plain JSON", method: "PATCH", path: "/web", contentType: jsonType, body: []byte(`{"spec":{"replicas":3}}`), wantCode: 415, wantReason: unsupported},
		{name: "a patch in text/plain", method: "PATCH", path: "/web", contentType: "text/plain", body: []byte(`{"spec":{"replicas":3}}`), wantCode: 415, wantReason: unsupported},
		{name: "a patch without a Content-Type", method: "PATCH", path: "/web", body: []byte(`{"spec":{"replicas":3}}`), wantCode: 415, wantReason: unsupported},
		{name: "a patch in XML", method: "PATCH", path: "/web", contentType: "application/xml", body: []byte(`<spec><replicas>3</replicas></spec>`), wantCode: 415, wantReason: unsupported},
		{name: "a get that accepts only protobuf gets a protobuf Status", method: "GET", path: "/web", accept: "application/vnd.kubernetes.protobuf", wantCode: 406, wantBodyPrefix: "k8s\x00"},
		{name: "a get that accepts only HTML", method: "GET", path: "/web", accept: "text/html", wantCode: 406, wantReason: metav1.StatusReasonNotAcceptable},

		// JSON patches.
		{name: "a JSON patch whose test fails", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":5}]`), wantCode: 422, wantReason: invalid},
		{name: "a JSON patch removing a path that does not exist", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"remove","path":"/spec/nonexistent"}]`), wantCode: 422, wantReason: invalid},
		{name: "a JSON patch replacing past the end of the containers", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"replace","path":"/spec/template/spec/containers/5/image","value":"x"}]`), wantCode: 422, wantReason: invalid},
		{name: "a JSON patch moving from a path that does not exist", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"move","from":"/spec/nothing","path":"/spec/replicas"}]`), wantCode: 422, wantReason: invalid},
		{name: "a JSON patch with an unknown operation", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"frobnicate","path":"/spec/replicas","value":3}]`), wantCode: 422, wantReason: invalid},
		{name: "a JSON patch that is an object", method: "PATCH", path: "/web", contentType: jsonPatch, body: []byte(`{"op":"replace"}`), wantCode: 400, wantReason: bad},
		{name: "a JSON patch that does not parse", method: "PATCH", path: "/web", contentType: jsonPatch, body: []byte(`[{"op":`), wantCode: 400, wantReason: bad},
		{name: "a JSON patch setting replicas to a string", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"replace","path":"/spec/replicas","value":"two"}]`), wantCode: 422, wantReason: invalid},
		{name: "a JSON patch setting the resourceVersion to a word", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"replace","path":"/metadata/resourceVersion","value":"abc"}]`), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "a JSON patch copying the name to the resourceVersion", method: "PATCH", path: "/web", contentType: jsonPatch,
			body: []byte(`[{"op":"copy","from":"/metadata/name","path":"/metadata/resourceVersion"}]`), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},

		// JSON merge patches.
		{name: "a merge patch that does not parse", method: "PATCH", path: "/web", contentType: mergePat, body: []byte(`{"spec":`), wantCode: 400, wantReason: bad},
		{name: "a merge patch setting replicas to a string", method: "PATCH", path: "/web", contentType: mergePat, body: []byte(`{"spec":{"replicas":"two"}}`), wantCode: 422, wantReason: invalid},
		{name: "a merge patch setting the template to a number", method: "PATCH", path: "/web", contentType: mergePat, body: []byte(`{"spec":{"template":5}}`), wantCode: 422, wantReason: invalid},
		{name: "a merge patch setting the resourceVersion to a word", method: "PATCH", path: "/web", contentType: mergePat,
			body: []byte(`{"metadata":{"resourceVersion":"abc"}}`), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "a merge patch moving the PetSet to another namespace", method: "PATCH", path: "/web", contentType: mergePat,
			body: []byte(`{"metadata":{"namespace":"elsewhere"}}`), wantCode: 400, wantReason: bad, wantMessage: "does not match the namespace"},
		{name: "a merge patch changing serviceName", method: "PATCH", path: "/web", contentType: mergePat, body: []byte(`{"spec":{"serviceName":"other"}}`), wantCode: 422, wantReason: invalid, wantMessage: "spec.serviceName"},

		// Strategic merge patches.
		{name: "a strategic merge patch deleting a container without its name", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"template":{"spec":{"containers":[{"$patch":"delete"}]}}}}`), wantCode: 400, wantReason: bad, wantMessage: "does not contain declared merge key: name"},
		{name: "a strategic merge patch of a container without its name", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"template":{"spec":{"containers":[{"image":"nginx:2"}]}}}}`), wantCode: 400, wantReason: bad, wantMessage: "does not contain declared merge key: name"},
		{name: "a strategic merge patch deleting a port without its number", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","ports":[{"$patch":"delete"}]}]}}}}`), wantCode: 400, wantReason: bad, wantMessage: "containerPort"},
		{name: "a strategic merge patch of containers that are numbers", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"template":{"spec":{"containers":[1,2]}}}}`), wantCode: 400, wantReason: bad, wantMessage: "list element types are not identical"},
		{name: "a strategic merge patch with an unknown $patch directive", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"$patch":"bogus"}}`), wantCode: 400, wantReason: bad, wantMessage: "unknown patch type"},
		{name: "a strategic merge patch with a $setElementOrder list of objects for the claim templates", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"$setElementOrder/volumeClaimTemplates":[{"a":1}]}}`), wantCode: 400, wantReason: bad},
		{name: "a strategic merge patch with a $setElementOrder string", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"template":{"spec":{"$setElementOrder/containers":"nginx"}}}}`), wantCode: 400, wantReason: bad},
		{name: "a strategic merge patch with a $retainKeys string", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"spec":{"template":{"spec":{"$retainKeys":"x"}}}}`), wantCode: 400, wantReason: bad},
		{name: "a strategic merge patch that does not parse", method: "PATCH", path: "/web", contentType: smPatch, body: []byte(`{"spec":`), wantCode: 400, wantReason: bad},
		{name: "a strategic merge patch setting replicas to a string", method: "PATCH", path: "/web", contentType: smPatch, body: []byte(`{"spec":{"replicas":"two"}}`), wantCode: 422, wantReason: invalid},
		{name: "a strategic merge patch setting the resourceVersion to a word", method: "PATCH", path: "/web", contentType: smPatch,
			body: []byte(`{"metadata":{"resourceVersion":"abc"}}`), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "a strategic merge patch of the status deleting a container without its name", method: "PATCH", path: "/web/status", contentType: smPatch,
			body: []byte(`{"spec":{"template":{"spec":{"containers":[{"$patch":"delete"}]}}}}`), wantCode: 400, wantReason: bad},

		// Server-side apply patches.
		{name: "an apply patch without a fieldManager", method: "PATCH", path: "/web", contentType: applyType, body: applyBody(`{"replicas":3}`), wantCode: 422, wantReason: invalid, wantMessage: "fieldManager"},
		{name: "an apply patch with an unknown field", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType, body: applyBody(`{"bogus":1}`), wantCode: 400, wantReason: bad, wantMessage: ".spec.bogus"},
		{name: "an apply patch setting replicas to a string", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType, body: applyBody(`{"replicas":"two"}`), wantCode: 400, wantReason: bad, wantMessage: ".spec.replicas"},
		{name: "an apply patch with a storage request that is not a quantity", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: applyBody(`{"volumeClaimTemplates":[{"metadata":{"name":"www"},"spec":{"resources":{"requests":{"storage":"lots"}}}}]}`), wantCode: 400, wantReason: bad, wantMessage: "quantities must match"},
		{name: "an apply patch with a probe port that is an object", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: applyBody(`{"template":{"spec":{"containers":[{"name":"nginx","readinessProbe":{"httpGet":{"port":{"a":1}}}}]}}}`), wantCode: 400, wantReason: bad},
		{name: "an apply patch with a creationTimestamp that is not a time", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","creationTimestamp":"yesterday"}}`), wantCode: 400, wantReason: bad, wantMessage: "parsing time"},
		{name: "an apply patch setting the resourceVersion to a word", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","resourceVersion":"abc"}}`), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "an apply patch with managed fields", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","managedFields":[{"manager":"x"}]}}`), wantCode: 400, wantReason: bad, wantMessage: "managedFields"},
		{name: "an apply patch of another name", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"other"}}`), wantCode: 400, wantReason: bad, wantMessage: "does not match the name"},
		{name: "an apply patch of another kind", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType,
			body: []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web"}}`), wantCode: 400, wantReason: bad},
		{name: "an apply patch that is a YAML list", method: "PATCH", path: "/web?fieldManager=hostile", contentType: applyType, body: []byte("- a\n- b\n"), wantCode: 400, wantReason: bad},
		{name: "an apply patch with a fieldManager that is not printable", method: "PATCH", path: "/web?fieldManager=a%0Ab", contentType: applyType, body: applyBody(`{"replicas":3}`), wantCode: 422, wantReason: invalid, wantMessage: "fieldManager"},

		// Updates with a resourceVersion that is not a number.
		{name: "an update whose resourceVersion is a word", method: "PUT", path: "/web", contentType: jsonType, body: withResourceVersion("abc"), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "an update whose resourceVersion is negative", method: "PUT", path: "/web", contentType: jsonType, body: withResourceVersion("-1"), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "an update whose resourceVersion is a fraction", method: "PUT", path: "/web", contentType: jsonType, body: withResourceVersion("1.5"), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "an update whose resourceVersion is out of range", method: "PUT", path: "/web", contentType: jsonType, body: withResourceVersion("99999999999999999999999"), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "a YAML update whose resourceVersion is a word", method: "PUT", path: "/web", contentType: yamlType,
			body: []byte("apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  name: web\n  resourceVersion: abc\n"), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "an update of the status whose resourceVersion is a word", method: "PUT", path: "/web/status", contentType: jsonType, body: withResourceVersion("abc"), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "an update at a stale resourceVersion", method: "PUT", path: "/web", contentType: jsonType, body: withResourceVersion("1"), wantCode: 409, wantReason: metav1.StatusReasonConflict},

		// The scale subresource.
		{name: "a scale to negative replicas", method: "PUT", path: "/web/scale", contentType: jsonType, body: scale(-1, nil), wantCode: 422, wantReason: invalid, wantMessage: "spec.replicas"},
		{name: "a scale to the lowest int32", method: "PUT", path: "/web/scale", contentType: jsonType, body: scale(-2147483648, nil), wantCode: 422, wantReason: invalid, wantMessage: "spec.replicas"},
		{name: "a scale over the int32 range", method: "PUT", path: "/web/scale", contentType: jsonType, body: scale(int64(1)<<31, nil), wantCode: 400, wantReason: bad},
		{name: "a scale to a huge number", method: "PUT", path: "/web/scale", contentType: jsonType, body: scale(1e300, nil), wantCode: 400, wantReason: bad},
		{name: "a scale to a string", method: "PUT", path: "/web/scale", contentType: jsonType, body: scale("3", nil), wantCode: 400, wantReason: bad},
		{name: "a scale whose resourceVersion is a word", method: "PUT", path: "/web/scale", contentType: jsonType,
			body: scale(3, map[string]any{"name": "web", "resourceVersion": "abc"}), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},
		{name: "a scale of another name", method: "PUT", path: "/web/scale", contentType: jsonType, body: scale(3, map[string]any{"name": "other"}), wantCode: 400, wantReason: bad},
		{name: "a scale of another uid", method: "PUT", path: "/web/scale", contentType: jsonType,
			body: scale(3, map[string]any{"name": "web", "uid": "not-the-uid"}), wantCode: 409, wantReason: metav1.StatusReasonConflict},
		{name: "a PetSet sent as a scale", method: "PUT", path: "/web/scale", contentType: jsonType, body: guide("web", nil), wantCode: 400, wantReason: bad},
		{name: "a merge patch scaling to negative replicas", method: "PATCH", path: "/web/scale", contentType: mergePat, body: []byte(`{"spec":{"replicas":-5}}`), wantCode: 422, wantReason: invalid, wantMessage: "spec.replicas"},
		{name: "a merge patch scaling over the int32 range", method: "PATCH", path: "/web/scale", contentType: mergePat, body: []byte(`{"spec":{"replicas":10000000000}}`), wantCode: 422, wantReason: invalid},
		{name: "a JSON patch scaling to negative replicas", method: "PATCH", path: "/web/scale", contentType: jsonPatch,
			body: []byte(`[{"op":"replace","path":"/spec/replicas","value":-1}]`), wantCode: 422, wantReason: invalid, wantMessage: "spec.replicas"},
		{name: "a strategic merge patch scaling to a string", method: "PATCH", path: "/web/scale", contentType: smPatch, body: []byte(`{"spec":{"replicas":"x"}}`), wantCode: 422, wantReason: invalid},
		{name: "a strategic merge patch of the scale with an unknown $patch directive", method: "PATCH", path: "/web/scale", contentType: smPatch,
			body: []byte(`{"spec":{"$patch":"bogus"}}`), wantCode: 400, wantReason: bad, wantMessage: "unknown patch type"},
		{name: "an apply scaling to negative replicas", method: "PATCH", path: "/web/scale?fieldManager=hostile&force=true", contentType: applyType,
			body: scale(-3, nil), wantCode: 422, wantReason: invalid, wantMessage: "spec.replicas"},
		{name: "a merge patch of the scale setting the resourceVersion to a word", method: "PATCH", path: "/web/scale", contentType: mergePat,
			body: []byte(`{"metadata":{"resourceVersion":"abc"}}`), wantCode: 422, wantReason: invalid, wantMessage: "metadata.resourceVersion"},

		// Reads, lists and watches.
		{name: "a get at a resourceVersion that is a word", method: "GET", path: "/web?resourceVersion=abc", wantCode: 400, wantReason: bad, wantMessage: "invalid resource version"},
		{name: "a get at a negative resourceVersion", method: "GET", path: "/web?resourceVersion=-1", wantCode: 400, wantReason: bad, wantMessage: "invalid resource version"},
		{name: "a get of the scale at a resourceVersion that is a word", method: "GET", path: "/web/scale?resourceVersion=abc", wantCode: 400, wantReason: bad, wantMessage: "invalid resource version"},
		{name: "a get of the status at a resourceVersion out of range", method: "GET", path: "/web/status?resourceVersion=99999999999999999999999", wantCode: 400, wantReason: bad, wantMessage: "invalid resource version"},
		{name: "a list at a resourceVersion that is a word", method: "GET", path: "?resourceVersion=abc", wantCode: 400, wantReason: bad, wantMessage: "invalid resource version"},
		{name: "a list with resourceVersionMatch and no resourceVersion", method: "GET", path: "?resourceVersionMatch=Exact", wantCode: 422, wantReason: invalid},
		{name: "a list with an unknown resourceVersionMatch", method: "GET", path: "?resourceVersion=1&resourceVersionMatch=Newest", wantCode: 422, wantReason: invalid},
		{name: "a list with a limit that is a word", method: "GET", path: "?limit=ten", wantCode: 400, wantReason: bad},
		{name: "a list with a continue token that is garbage", method: "GET", path: "?limit=1&continue=garbage", wantCode: 400, wantReason: bad, wantMessage: "continue"},
		{name: "a list with timeoutSeconds that is a word", method: "GET", path: "?timeoutSeconds=soon", wantCode: 400, wantReason: bad},
		{name: "a labelSelector with an unclosed set", method: "GET", path: "?labelSelector=app%20in%20(nginx", wantCode: 400, wantReason: bad},
		{name: "a labelSelector of punctuation", method: "GET", path: "?labelSelector=!!", wantCode: 400, wantReason: bad},
		{name: "a labelSelector key over 63 characters", method: "GET", path: "?labelSelector=" + strings.Repeat("k", 64) + "=v", wantCode: 400, wantReason: bad},
		{name: "a labelSelector value with a space", method: "GET", path: "?labelSelector=app%3Dng%20inx", wantCode: 400, wantReason: bad},
		{name: "a fieldSelector on an unsupported field", method: "GET", path: "?fieldSelector=spec.replicas%3D2", wantCode: 400, wantReason: bad, wantMessage: "not a known field selector"},
		{name: "a fieldSelector without an operator", method: "GET", path: "?fieldSelector=metadata.name", wantCode: 400, wantReason: bad},
		{name: "a fieldSelector with an unescaped operator in the value", method: "GET", path: "?fieldSelector=metadata.name%3D%3D%3Dweb", wantCode: 400, wantReason: bad},
		{name: "a watch from a resourceVersion that is a word", method: "GET", path: "?watch=true&timeoutSeconds=1&resourceVersion=abc", wantCode: 400, wantReason: bad, wantMessage: "invalid resource version"},
		{name: "a watch from a negative resourceVersion", method: "GET", path: "?watch=true&timeoutSeconds=1&resourceVersion=-5", wantCode: 400, wantReason: bad, wantMessage: "invalid resource version"},
		{name: "a watch of one PetSet from a resourceVersion that is a word", method: "GET", path: "?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dweb&resourceVersion=abc", wantCode: 400, wantReason: bad},
		{name: "a watch with initial events and no resourceVersionMatch", method: "GET", path: "?watch=true&timeoutSeconds=1&sendInitialEvents=true", wantCode: 422, wantReason: invalid},
		{name: "a watch with a labelSelector that does not parse", method: "GET", path: "?watch=true&timeoutSeconds=1&labelSelector=!!", wantCode: 400, wantReason: bad},
		{name: "a get of an unknown subresource", method: "GET", path: "/web/bogus", wantCode: 404, wantReason: metav1.StatusReasonNotFound},

		// Deletes (dry run: a refused delete must change nothing anyway).
		{name: "a delete with an unknown propagationPolicy", method: "DELETE", path: "/web?dryRun=All&propagationPolicy=Sideways", wantCode: 422, wantReason: invalid},
		{name: "a delete with gracePeriodSeconds as a string", method: "DELETE", path: "/web?dryRun=All", contentType: jsonType, body: []byte(`{"gracePeriodSeconds":"soon"}`), wantCode: 400, wantReason: bad},
		{name: "a delete whose resourceVersion precondition is a word", method: "DELETE", path: "/web?dryRun=All", contentType: jsonType,
			body: []byte(`{"preconditions":{"resourceVersion":"abc"}}`), wantCode: 409, wantReason: metav1.StatusReasonConflict},
		{name: "a delete with both orphanDependents and a propagationPolicy", method: "DELETE", path: "/web?dryRun=All", contentType: jsonType,
			body: []byte(`{"orphanDependents":true,"propagationPolicy":"Foreground"}`), wantCode: 422, wantReason: invalid},
		{name: "a delete with a body that does not parse", method: "DELETE", path: "/web?dryRun=All", contentType: jsonType, body: []byte(`{"preconditions":`), wantCode: 400, wantReason: bad},
		{name: "a collection delete with a labelSelector that does not parse", method: "DELETE", path: "?dryRun=All&labelSelector=!!", wantCode: 400, wantReason: bad},
		{name: "a collection delete at a resourceVersion that is a word", method: "DELETE", path: "?dryRun=All&resourceVersion=abc", wantCode: 400, wantReason: bad},
	}
}

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

	cases := hostileCases(t, ns)
	if len(cases) < 100 {
		t.Fatalf("the table has %d cases, want at least 100", len(cases))
	}
	start := time.Now()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if !strings.HasPrefix(path, "/api") {
				path = collectionPath(ns) + path
			}
			resp := hostileDo(t, client, s.Config, tc.method, path, tc.contentType, tc.accept, tc.body)
			if resp.Code >= 500 {
				t.Fatalf("server error %d: %.2000s", resp.Code, resp.Body)
			}
			if resp.Code != tc.wantCode {
				t.Fatalf("code %d, want %d: %.2000s", resp.Code, tc.wantCode, resp.Body)
			}
			if tc.wantBodyPrefix != "" {
				if !bytes.HasPrefix(resp.Body, []byte(tc.wantBodyPrefix)) {
					t.Errorf("the body does not start with %q: %q", tc.wantBodyPrefix, resp.Body)
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
			got := []any{status.Code, status.Status, status.Reason, strings.Contains(status.Message, tc.wantMessage)}
			want := []any{int32(tc.wantCode), metav1.StatusFailure, status.Reason, true}
			if tc.wantReason != "" {
				want[2] = tc.wantReason
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Status code, status, reason and whether the message contains %q (-want +got):\n%s\nmessage: %.2000s", tc.wantMessage, diff, status.Message)
			}
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

// hostileDo sends a request with the given Content-Type (none when empty)
// and Accept (application/json when empty) and returns the response.
func hostileDo(t *testing.T, client *http.Client, cfg *rest.Config, method, path, contentType, accept string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, strings.TrimSuffix(cfg.Host, "/")+path, bytes.NewReader(body))
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
	return rawResponse{Code: resp.StatusCode, Header: resp.Header, Body: respBody}
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
