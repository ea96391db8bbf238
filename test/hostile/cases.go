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

package hostile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cases returns the table: requests to the PetSets of a namespace in which
// the PetSet web (GuidePetSet) exists, for a server that is the API server
// or kube-apiserver in front of it (each case says what changes there).
func Cases(t testing.TB) []Case {
	t.Helper()
	guide := func(name string, mutate func(map[string]any)) []byte { return GuidePetSetJSON(t, name, mutate) }
	wrongType := func(value any, path ...string) []byte {
		return guide("wrongtype", func(obj map[string]any) { SetPath(obj, value, path...) })
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
		return guide("web", func(obj map[string]any) { SetPath(obj, rv, "metadata", "resourceVersion") })
	}
	const guideYAML = "apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  Name: from-yaml\nspec:\n  serviceName: nginx\n" +
		"  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - Name: nginx\n        image: nginx\n"
	const aliasBomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	huge := strings.Repeat("x", 3<<20)
	longName := strings.Repeat("a", 254)
	bad := metav1.StatusReasonBadRequest
	invalid := metav1.StatusReasonInvalid
	unsupported := metav1.StatusReasonUnsupportedMediaType

	return []Case{
		// Malformed bodies.
		{Name: "truncated JSON", Method: "POST", ContentType: jsonType, Body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":`), WantCode: 400, WantReason: bad},
		{Name: "JSON followed by garbage", Method: "POST", ContentType: jsonType, Body: append(guide("trailing", nil), []byte("}garbage")...), WantCode: 400, WantReason: bad},
		{Name: "a bare JSON string", Method: "POST", ContentType: jsonType, Body: []byte(`"web"`), WantCode: 400, WantReason: bad},
		{Name: "a bare JSON number", Method: "POST", ContentType: jsonType, Body: []byte(`42`), WantCode: 400, WantReason: bad},
		{Name: "JSON null is an empty PetSet", Method: "POST", ContentType: jsonType, Body: []byte(`null`), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "a JSON list", Method: "POST", ContentType: jsonType, Body: []byte(`[]`), WantCode: 400, WantReason: bad},
		{Name: "an empty body", Method: "POST", ContentType: jsonType, Body: nil, WantCode: 400, WantReason: bad},
		{Name: "binary garbage", Method: "POST", ContentType: jsonType, Body: []byte("\x00\xff\xfe\x01\x02"), WantCode: 400, WantReason: bad},
		{Name: "invalid UTF-8 between the tokens", Method: "POST", ContentType: jsonType, Body: append([]byte("{\xff"), guide("utf8", nil)[1:]...), WantCode: 400, WantReason: bad},
		{Name: "invalid UTF-8 in the name", Method: "POST", ContentType: jsonType, Body: bytes.Replace(guide("xx-utf8", nil), []byte("xx-utf8"), []byte("\xff\xfe"), 1), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "invalid UTF-8 in an annotation is replaced, not refused", Method: "POST", Path: "?dryRun=All", ContentType: jsonType,
			Body: bytes.Replace(guide("utf8-annotation", func(obj map[string]any) { SetPath(obj, "XX", "metadata", "annotations", "note") }), []byte(`"XX"`), []byte("\"\xff\xfe\""), 1), WantCode: 201},
		{Name: "JSON nested 10,000 levels deep", Method: "POST", ContentType: jsonType,
			Body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"deep"},"spec":` + Nested(10000) + `}`), WantCode: 400, WantReason: bad},
		{Name: "JSON lists nested 10,000 levels deep", Method: "POST", ContentType: jsonType, Body: []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), WantCode: 400, WantReason: bad},
		{Name: "malformed YAML", Method: "POST", ContentType: yamlType, Body: []byte("apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  Name: [web\n"), WantCode: 400, WantReason: bad},
		{Name: "YAML indented with tabs", Method: "POST", ContentType: yamlType, Body: []byte("apiVersion: apps/v1alpha1\nkind: PetSet\nspec:\n\treplicas: 1\n"), WantCode: 400, WantReason: bad},
		{Name: "a YAML alias bomb", Method: "POST", ContentType: yamlType, Body: []byte(aliasBomb), WantCode: 400, WantReason: bad},
		{Name: "a YAML list", Method: "POST", ContentType: yamlType, Body: []byte("- a\n- b\n"), WantCode: 400, WantReason: bad},
		{Name: "YAML flow lists nested 10,000 levels deep", Method: "POST", ContentType: yamlType, Body: []byte("spec: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n"), WantCode: 400, WantReason: bad},
		{Name: "a body over 3 MiB", Method: "POST", ContentType: jsonType,
			Body: guide("huge", func(obj map[string]any) { SetPath(obj, huge, "metadata", "annotations", "huge") }), WantCode: 413, WantReason: metav1.StatusReasonRequestEntityTooLarge},
		{Name: "a YAML body over 3 MiB", Method: "POST", ContentType: yamlType, Body: []byte(guideYAML + "  x: " + huge + "\n"), WantCode: 413, WantReason: metav1.StatusReasonRequestEntityTooLarge},
		{Name: "a patch over 3 MiB", Method: "PATCH", Path: "/web", ContentType: mergePat,
			Body: []byte(`{"metadata":{"annotations":{"huge":"` + huge + `"}}}`), WantCode: 413, WantReason: metav1.StatusReasonRequestEntityTooLarge},
		{Name: "an apply patch over 3 MiB", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","annotations":{"huge":"` + huge + `"}}}`), WantCode: 413, WantReason: metav1.StatusReasonRequestEntityTooLarge},
		{Name: "a number too large for JSON", Method: "POST", ContentType: jsonType, Body: bytes.Replace(guide("big", nil), []byte(`"replicas":2`), []byte(`"replicas":1e400`), 1), WantCode: 400, WantReason: bad},

		// Wrong types for every field of the spec, and for the metadata.
		{Name: "replicas as a string", Method: "POST", ContentType: jsonType, Body: wrongType("2", "spec", "replicas"), WantCode: 400, WantReason: bad, WantMessage: "spec.replicas"},
		{Name: "replicas as a fraction", Method: "POST", ContentType: jsonType, Body: wrongType(2.5, "spec", "replicas"), WantCode: 400, WantReason: bad, WantMessage: "spec.replicas"},
		{Name: "replicas as a boolean", Method: "POST", ContentType: jsonType, Body: wrongType(true, "spec", "replicas"), WantCode: 400, WantReason: bad, WantMessage: "spec.replicas"},
		{Name: "replicas over the int32 range", Method: "POST", ContentType: jsonType, Body: wrongType(int64(1)<<31, "spec", "replicas"), WantCode: 400, WantReason: bad, WantMessage: "spec.replicas"},
		{Name: "replicas as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{2}, "spec", "replicas"), WantCode: 400, WantReason: bad, WantMessage: "spec.replicas"},
		{Name: "selector as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{map[string]any{"app": "nginx"}}, "spec", "selector"), WantCode: 400, WantReason: bad, WantMessage: "spec.selector"},
		{Name: "selector as a string", Method: "POST", ContentType: jsonType, Body: wrongType("app=nginx", "spec", "selector"), WantCode: 400, WantReason: bad, WantMessage: "spec.selector"},
		{Name: "matchLabels as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{"app"}, "spec", "selector", "matchLabels"), WantCode: 400, WantReason: bad},
		{Name: "a matchLabels value as a number", Method: "POST", ContentType: jsonType, Body: wrongType(5, "spec", "selector", "matchLabels", "app"), WantCode: 400, WantReason: bad},
		{Name: "matchExpressions as an object", Method: "POST", ContentType: jsonType, Body: wrongType(map[string]any{"key": "app"}, "spec", "selector", "matchExpressions"), WantCode: 400, WantReason: bad},
		{Name: "template as a number", Method: "POST", ContentType: jsonType, Body: wrongType(5, "spec", "template"), WantCode: 400, WantReason: bad, WantMessage: "spec.template"},
		{Name: "template as a string", Method: "POST", ContentType: jsonType, Body: wrongType("nginx", "spec", "template"), WantCode: 400, WantReason: bad, WantMessage: "spec.template"},
		{Name: "template as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{}, "spec", "template"), WantCode: 400, WantReason: bad, WantMessage: "spec.template"},
		{Name: "the pod spec as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{}, "spec", "template", "spec"), WantCode: 400, WantReason: bad},
		{Name: "containers as a map", Method: "POST", ContentType: jsonType, Body: wrongType(map[string]any{"nginx": map[string]any{}}, "spec", "template", "spec", "containers"), WantCode: 400, WantReason: bad},
		{Name: "containers as a string", Method: "POST", ContentType: jsonType, Body: wrongType("nginx", "spec", "template", "spec", "containers"), WantCode: 400, WantReason: bad},
		{Name: "a container as a string", Method: "POST", ContentType: jsonType, Body: wrongType([]any{"nginx"}, "spec", "template", "spec", "containers"), WantCode: 400, WantReason: bad},
		{Name: "template labels as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{"app"}, "spec", "template", "metadata", "labels"), WantCode: 400, WantReason: bad},
		{Name: "serviceName as an object", Method: "POST", ContentType: jsonType, Body: wrongType(map[string]any{"name": "nginx"}, "spec", "serviceName"), WantCode: 400, WantReason: bad, WantMessage: "spec.serviceName"},
		{Name: "serviceName as a number", Method: "POST", ContentType: jsonType, Body: wrongType(80, "spec", "serviceName"), WantCode: 400, WantReason: bad, WantMessage: "spec.serviceName"},
		{Name: "serviceName as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{"nginx"}, "spec", "serviceName"), WantCode: 400, WantReason: bad, WantMessage: "spec.serviceName"},
		{Name: "volumeClaimTemplates as a map", Method: "POST", ContentType: jsonType, Body: wrongType(map[string]any{"www": map[string]any{}}, "spec", "volumeClaimTemplates"), WantCode: 400, WantReason: bad, WantMessage: "spec.volumeClaimTemplates"},
		{Name: "volumeClaimTemplates as a string", Method: "POST", ContentType: jsonType, Body: wrongType("www", "spec", "volumeClaimTemplates"), WantCode: 400, WantReason: bad, WantMessage: "spec.volumeClaimTemplates"},
		{Name: "a claim template as a number", Method: "POST", ContentType: jsonType, Body: wrongType([]any{1}, "spec", "volumeClaimTemplates"), WantCode: 400, WantReason: bad},
		{Name: "a storage request that is not a quantity", Method: "POST", ContentType: jsonType, Body: guide("quantity", func(obj map[string]any) {
			claim := obj["spec"].(map[string]any)["volumeClaimTemplates"].([]any)[0].(map[string]any)
			SetPath(claim, "lots", "spec", "resources", "requests", "storage")
		}), WantCode: 400, WantReason: bad, WantMessage: "quantities must match"},
		{Name: "spec as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{}, "spec"), WantCode: 400, WantReason: bad},
		{Name: "spec as a string", Method: "POST", ContentType: jsonType, Body: wrongType("spec", "spec"), WantCode: 400, WantReason: bad},
		{Name: "status as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{}, "status"), WantCode: 400, WantReason: bad},
		{Name: "status replicas as a string", Method: "POST", ContentType: jsonType, Body: wrongType("2", "status", "replicas"), WantCode: 400, WantReason: bad},
		{Name: "metadata as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{}, "metadata"), WantCode: 400, WantReason: bad},
		{Name: "the name as a number", Method: "POST", ContentType: jsonType, Body: wrongType(5, "metadata", "name"), WantCode: 400, WantReason: bad},
		{Name: "labels as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{"app"}, "metadata", "labels"), WantCode: 400, WantReason: bad},
		{Name: "an annotation value as a list", Method: "POST", ContentType: jsonType, Body: wrongType([]any{"x"}, "metadata", "annotations", "note"), WantCode: 400, WantReason: bad},
		{Name: "a creationTimestamp that is not a time", Method: "POST", ContentType: jsonType, Body: wrongType("yesterday", "metadata", "creationTimestamp"), WantCode: 400, WantReason: bad, WantMessage: "parsing time"},
		{Name: "apiVersion as a number", Method: "POST", ContentType: jsonType, Body: wrongType(1, "apiVersion"), WantCode: 400, WantReason: bad},

		// Unknown and duplicate fields under fieldValidation=Strict.
		{Name: "an unknown top-level field with fieldValidation=Strict", Method: "POST", Path: "?fieldValidation=Strict", ContentType: jsonType,
			Body: wrongType(1, "bogus"), WantCode: 400, WantReason: bad, WantMessage: `unknown field "bogus"`},
		{Name: "an unknown metadata field with fieldValidation=Strict", Method: "POST", Path: "?fieldValidation=Strict", ContentType: jsonType,
			Body: wrongType(1, "metadata", "bogus"), WantCode: 400, WantReason: bad, WantMessage: `unknown field "metadata.bogus"`},
		{Name: "an unknown spec field with fieldValidation=Strict", Method: "POST", Path: "?fieldValidation=Strict", ContentType: jsonType,
			Body: wrongType(1, "spec", "bogus"), WantCode: 400, WantReason: bad, WantMessage: `unknown field "spec.bogus"`},
		{Name: "an unknown container field with fieldValidation=Strict", Method: "POST", Path: "?fieldValidation=Strict", ContentType: jsonType,
			Body:     guide("strict", func(obj map[string]any) { TemplateSpec(obj)["containers"].([]any)[0].(map[string]any)["bogus"] = 1 }),
			WantCode: 400, WantReason: bad, WantMessage: `unknown field "spec.template.spec.containers[0].bogus"`},
		{Name: "an unknown status field with fieldValidation=Strict", Method: "POST", Path: "?fieldValidation=Strict", ContentType: jsonType,
			Body: wrongType(1, "status", "bogus"), WantCode: 400, WantReason: bad, WantMessage: `unknown field "status.bogus"`},
		{Name: "an unknown YAML field with fieldValidation=Strict", Method: "POST", Path: "?fieldValidation=Strict", ContentType: yamlType,
			Body: []byte(guideYAML + "  bogus: 1\n"), WantCode: 400, WantReason: bad, WantMessage: `unknown field "spec.bogus"`},
		{Name: "an unknown field in an update with fieldValidation=Strict", Method: "PUT", Path: "/web?fieldValidation=Strict", ContentType: jsonType,
			Body: guide("web", func(obj map[string]any) { SetPath(obj, 1, "spec", "bogus") }), WantCode: 400, WantReason: bad, WantMessage: `unknown field "spec.bogus"`},
		{Name: "an unknown field in a merge patch with fieldValidation=Strict", Method: "PATCH", Path: "/web?fieldValidation=Strict", ContentType: mergePat,
			Body: []byte(`{"spec":{"bogus":1}}`), WantCode: 422, WantReason: invalid, WantMessage: `unknown field "spec.bogus"`},
		{Name: "a duplicate field with fieldValidation=Strict", Method: "POST", Path: "?fieldValidation=Strict", ContentType: jsonType,
			Body: bytes.Replace(guide("dup", nil), []byte(`"replicas":2`), []byte(`"replicas":2,"replicas":3`), 1), WantCode: 400, WantReason: bad, WantMessage: `duplicate field "spec.replicas"`},
		{Name: "an unsupported fieldValidation", Method: "POST", Path: "?fieldValidation=Loose", ContentType: jsonType, Body: guide("loose", nil), WantCode: 422, WantReason: invalid},
		{Name: "an unsupported dryRun", Method: "POST", Path: "?dryRun=Some", ContentType: jsonType, Body: guide("dry", nil), WantCode: 422, WantReason: invalid},
		{Name: "a fieldManager over 128 bytes", Method: "POST", Path: "?fieldManager=" + strings.Repeat("m", 129), ContentType: jsonType, Body: guide("manager", nil), WantCode: 422, WantReason: invalid},

		// Names and namespaces.
		{Name: "a name over 253 characters", Method: "POST", ContentType: jsonType, Body: guide(longName, nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "a name over the 52 characters of a PetSet", Method: "POST", ContentType: jsonType, Body: guide(strings.Repeat("w", 53), nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "a name with capitals", Method: "POST", ContentType: jsonType, Body: guide("Web", nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "a name with an underscore", Method: "POST", ContentType: jsonType, Body: guide("web_1", nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "a name with a dot", Method: "POST", ContentType: jsonType, Body: guide("web.1", nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "a name starting with a dash", Method: "POST", ContentType: jsonType, Body: guide("-web", nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "no name", Method: "POST", ContentType: jsonType, Body: guide("", nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.name"},
		{Name: "a generateName that is not a DNS label", Method: "POST", ContentType: jsonType,
			Body: guide("", func(obj map[string]any) { SetPath(obj, "Web_", "metadata", "generateName") }), WantCode: 422, WantReason: invalid, WantMessage: "metadata.generateName"},
		{Name: "a namespace in the body other than the URL's", Method: "POST", ContentType: jsonType,
			Body: guide("elsewhere", func(obj map[string]any) { SetPath(obj, "elsewhere", "metadata", "namespace") }), WantCode: 400, WantReason: bad, WantMessage: "does not match the namespace"},
		{Name: "a namespace in the body other than the URL's on update", Method: "PUT", Path: "/web", ContentType: jsonType,
			Body: guide("web", func(obj map[string]any) { SetPath(obj, "elsewhere", "metadata", "namespace") }), WantCode: 400, WantReason: bad, WantMessage: "does not match the namespace"},
		{Name: "a namespace in the URL that is not a DNS label", Method: "POST", Path: "/apis/apps/v1alpha1/namespaces/Bad_NS/petsets", ContentType: jsonType,
			Body: guide("web", nil), WantCode: 422, WantReason: invalid, WantMessage: "metadata.namespace",
			// In a cluster petset-apiserver runs the NamespaceLifecycle
			// admission plugin, which finds no namespace Bad_NS before
			// validation runs; the standalone server runs no admission.
			Aggregated: &Want{Code: 404, Reason: metav1.StatusReasonNotFound, Message: `namespaces "Bad_NS" not found`}},
		{Name: "a name other than the URL's on update", Method: "PUT", Path: "/web", ContentType: jsonType, Body: guide("not-web", nil), WantCode: 400, WantReason: bad, WantMessage: "does not match the name"},
		{Name: "a get of a name that is not a DNS label", Method: "GET", Path: "/Bad_Name", WantCode: 404, WantReason: metav1.StatusReasonNotFound},
		{Name: "a get of a name over 253 characters", Method: "GET", Path: "/" + longName, WantCode: 404, WantReason: metav1.StatusReasonNotFound},

		// Media types.
		{Name: "a create in text/plain", Method: "POST", ContentType: "text/plain", Body: guide("plain", nil), WantCode: 415, WantReason: unsupported},
		{Name: "a JSON body sent as protobuf", Method: "POST", ContentType: protobufType, Body: guide("proto", nil), WantCode: 400, WantReason: bad},
		{Name: "protobuf garbage after the magic number", Method: "POST", ContentType: protobufType, Body: []byte("k8s\x00\xff\xff\xff\xff"), WantCode: 400, WantReason: bad},
		{Name: "a create as a merge patch", Method: "POST", ContentType: mergePat, Body: guide("merge", nil), WantCode: 415, WantReason: unsupported},
		{Name: "an update as a strategic merge patch", Method: "PUT", Path: "/web", ContentType: smPatch, Body: guide("web", nil), WantCode: 415, WantReason: unsupported},
		{Name: "a patch in plain JSON", Method: "PATCH", Path: "/web", ContentType: jsonType, Body: []byte(`{"spec":{"replicas":3}}`), WantCode: 415, WantReason: unsupported},
		{Name: "a patch in text/plain", Method: "PATCH", Path: "/web", ContentType: "text/plain", Body: []byte(`{"spec":{"replicas":3}}`), WantCode: 415, WantReason: unsupported},
		{Name: "a patch without a Content-Type", Method: "PATCH", Path: "/web", Body: []byte(`{"spec":{"replicas":3}}`), WantCode: 415, WantReason: unsupported},
		{Name: "a patch in XML", Method: "PATCH", Path: "/web", ContentType: "application/xml", Body: []byte(`<spec><replicas>3</replicas></spec>`), WantCode: 415, WantReason: unsupported},
		{Name: "a get that accepts only protobuf gets protobuf", Method: "GET", Path: "/web", Accept: protobufType, WantCode: 200, WantBodyPrefix: "k8s\x00"},
		{Name: "a get that accepts only HTML", Method: "GET", Path: "/web", Accept: "text/html", WantCode: 406, WantReason: metav1.StatusReasonNotAcceptable},

		// JSON patches.
		{Name: "a JSON patch whose test fails", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":5}]`), WantCode: 422, WantReason: invalid},
		{Name: "a JSON patch removing a path that does not exist", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"remove","path":"/spec/nonexistent"}]`), WantCode: 422, WantReason: invalid},
		{Name: "a JSON patch replacing past the end of the containers", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"replace","path":"/spec/template/spec/containers/5/image","value":"x"}]`), WantCode: 422, WantReason: invalid},
		{Name: "a JSON patch moving from a path that does not exist", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"move","from":"/spec/nothing","path":"/spec/replicas"}]`), WantCode: 422, WantReason: invalid},
		{Name: "a JSON patch with an unknown operation", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"frobnicate","path":"/spec/replicas","value":3}]`), WantCode: 422, WantReason: invalid},
		{Name: "a JSON patch that is an object", Method: "PATCH", Path: "/web", ContentType: jsonPatch, Body: []byte(`{"op":"replace"}`), WantCode: 400, WantReason: bad},
		{Name: "a JSON patch that does not parse", Method: "PATCH", Path: "/web", ContentType: jsonPatch, Body: []byte(`[{"op":`), WantCode: 400, WantReason: bad},
		{Name: "a JSON patch setting replicas to a string", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"replace","path":"/spec/replicas","value":"two"}]`), WantCode: 422, WantReason: invalid},
		{Name: "a JSON patch setting the resourceVersion to a word", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"replace","path":"/metadata/resourceVersion","value":"abc"}]`), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "a JSON patch copying the name to the resourceVersion", Method: "PATCH", Path: "/web", ContentType: jsonPatch,
			Body: []byte(`[{"op":"copy","from":"/metadata/name","path":"/metadata/resourceVersion"}]`), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},

		// JSON merge patches.
		{Name: "a merge patch that does not parse", Method: "PATCH", Path: "/web", ContentType: mergePat, Body: []byte(`{"spec":`), WantCode: 400, WantReason: bad},
		{Name: "a merge patch setting replicas to a string", Method: "PATCH", Path: "/web", ContentType: mergePat, Body: []byte(`{"spec":{"replicas":"two"}}`), WantCode: 422, WantReason: invalid},
		{Name: "a merge patch setting the template to a number", Method: "PATCH", Path: "/web", ContentType: mergePat, Body: []byte(`{"spec":{"template":5}}`), WantCode: 422, WantReason: invalid},
		{Name: "a merge patch setting the resourceVersion to a word", Method: "PATCH", Path: "/web", ContentType: mergePat,
			Body: []byte(`{"metadata":{"resourceVersion":"abc"}}`), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "a merge patch moving the PetSet to another namespace", Method: "PATCH", Path: "/web", ContentType: mergePat,
			Body: []byte(`{"metadata":{"namespace":"elsewhere"}}`), WantCode: 400, WantReason: bad, WantMessage: "does not match the namespace"},
		{Name: "a merge patch changing serviceName", Method: "PATCH", Path: "/web", ContentType: mergePat, Body: []byte(`{"spec":{"serviceName":"other"}}`), WantCode: 422, WantReason: invalid, WantMessage: "spec.serviceName"},

		// Strategic merge patches.
		{Name: "a strategic merge patch deleting a container without its name", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"template":{"spec":{"containers":[{"$patch":"delete"}]}}}}`), WantCode: 400, WantReason: bad, WantMessage: "does not contain declared merge key: name"},
		{Name: "a strategic merge patch of a container without its name", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"template":{"spec":{"containers":[{"image":"nginx:2"}]}}}}`), WantCode: 400, WantReason: bad, WantMessage: "does not contain declared merge key: name"},
		{Name: "a strategic merge patch deleting a port without its number", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","ports":[{"$patch":"delete"}]}]}}}}`), WantCode: 400, WantReason: bad, WantMessage: "containerPort"},
		{Name: "a strategic merge patch of containers that are numbers", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"template":{"spec":{"containers":[1,2]}}}}`), WantCode: 400, WantReason: bad, WantMessage: "list element types are not identical"},
		{Name: "a strategic merge patch with an unknown $patch directive", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"$patch":"bogus"}}`), WantCode: 400, WantReason: bad, WantMessage: "unknown patch type"},
		{Name: "a strategic merge patch with a $setElementOrder list of objects for the claim templates", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"$setElementOrder/volumeClaimTemplates":[{"a":1}]}}`), WantCode: 400, WantReason: bad},
		{Name: "a strategic merge patch with a $setElementOrder string", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"template":{"spec":{"$setElementOrder/containers":"nginx"}}}}`), WantCode: 400, WantReason: bad},
		{Name: "a strategic merge patch with a $retainKeys string", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"spec":{"template":{"spec":{"$retainKeys":"x"}}}}`), WantCode: 400, WantReason: bad},
		{Name: "a strategic merge patch that does not parse", Method: "PATCH", Path: "/web", ContentType: smPatch, Body: []byte(`{"spec":`), WantCode: 400, WantReason: bad},
		{Name: "a strategic merge patch setting replicas to a string", Method: "PATCH", Path: "/web", ContentType: smPatch, Body: []byte(`{"spec":{"replicas":"two"}}`), WantCode: 422, WantReason: invalid},
		{Name: "a strategic merge patch setting the resourceVersion to a word", Method: "PATCH", Path: "/web", ContentType: smPatch,
			Body: []byte(`{"metadata":{"resourceVersion":"abc"}}`), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "a strategic merge patch of the status deleting a container without its name", Method: "PATCH", Path: "/web/status", ContentType: smPatch,
			Body: []byte(`{"spec":{"template":{"spec":{"containers":[{"$patch":"delete"}]}}}}`), WantCode: 400, WantReason: bad},

		// Server-side apply patches.
		{Name: "an apply patch without a fieldManager", Method: "PATCH", Path: "/web", ContentType: applyType, Body: applyBody(`{"replicas":3}`), WantCode: 422, WantReason: invalid, WantMessage: "fieldManager"},
		{Name: "an apply patch with an unknown field", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType, Body: applyBody(`{"bogus":1}`), WantCode: 400, WantReason: bad, WantMessage: ".spec.bogus"},
		{Name: "an apply patch setting replicas to a string", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType, Body: applyBody(`{"replicas":"two"}`), WantCode: 400, WantReason: bad, WantMessage: ".spec.replicas"},
		{Name: "an apply patch with a storage request that is not a quantity", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: applyBody(`{"volumeClaimTemplates":[{"metadata":{"name":"www"},"spec":{"resources":{"requests":{"storage":"lots"}}}}]}`), WantCode: 400, WantReason: bad, WantMessage: "quantities must match"},
		{Name: "an apply patch with a probe port that is an object", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: applyBody(`{"template":{"spec":{"containers":[{"name":"nginx","readinessProbe":{"httpGet":{"port":{"a":1}}}}]}}}`), WantCode: 400, WantReason: bad},
		{Name: "an apply patch with a creationTimestamp that is not a time", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","creationTimestamp":"yesterday"}}`), WantCode: 400, WantReason: bad, WantMessage: "parsing time"},
		{Name: "an apply patch setting the resourceVersion to a word", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","resourceVersion":"abc"}}`), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "an apply patch with managed fields", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","managedFields":[{"manager":"x"}]}}`), WantCode: 400, WantReason: bad, WantMessage: "managedFields"},
		{Name: "an apply patch of another name", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"other"}}`), WantCode: 400, WantReason: bad, WantMessage: "does not match the name"},
		{Name: "an apply patch of another kind", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType,
			Body: []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web"}}`), WantCode: 400, WantReason: bad},
		{Name: "an apply patch that is a YAML list", Method: "PATCH", Path: "/web?fieldManager=hostile", ContentType: applyType, Body: []byte("- a\n- b\n"), WantCode: 400, WantReason: bad},
		{Name: "an apply patch with a fieldManager that is not printable", Method: "PATCH", Path: "/web?fieldManager=a%0Ab", ContentType: applyType, Body: applyBody(`{"replicas":3}`), WantCode: 422, WantReason: invalid, WantMessage: "fieldManager"},

		// Updates with a resourceVersion that is not a number.
		{Name: "an update whose resourceVersion is a word", Method: "PUT", Path: "/web", ContentType: jsonType, Body: withResourceVersion("abc"), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "an update whose resourceVersion is negative", Method: "PUT", Path: "/web", ContentType: jsonType, Body: withResourceVersion("-1"), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "an update whose resourceVersion is a fraction", Method: "PUT", Path: "/web", ContentType: jsonType, Body: withResourceVersion("1.5"), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "an update whose resourceVersion is out of range", Method: "PUT", Path: "/web", ContentType: jsonType, Body: withResourceVersion("99999999999999999999999"), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "a YAML update whose resourceVersion is a word", Method: "PUT", Path: "/web", ContentType: yamlType,
			Body: []byte("apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  Name: web\n  resourceVersion: abc\n"), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "an update of the status whose resourceVersion is a word", Method: "PUT", Path: "/web/status", ContentType: jsonType, Body: withResourceVersion("abc"), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "an update at a stale resourceVersion", Method: "PUT", Path: "/web", ContentType: jsonType, Body: withResourceVersion("1"), WantCode: 409, WantReason: metav1.StatusReasonConflict},

		// The scale subresource.
		{Name: "a scale to negative replicas", Method: "PUT", Path: "/web/scale", ContentType: jsonType, Body: scale(-1, nil), WantCode: 422, WantReason: invalid, WantMessage: "spec.replicas"},
		{Name: "a scale to the lowest int32", Method: "PUT", Path: "/web/scale", ContentType: jsonType, Body: scale(-2147483648, nil), WantCode: 422, WantReason: invalid, WantMessage: "spec.replicas"},
		{Name: "a scale over the int32 range", Method: "PUT", Path: "/web/scale", ContentType: jsonType, Body: scale(int64(1)<<31, nil), WantCode: 400, WantReason: bad},
		{Name: "a scale to a huge number", Method: "PUT", Path: "/web/scale", ContentType: jsonType, Body: scale(1e300, nil), WantCode: 400, WantReason: bad},
		{Name: "a scale to a string", Method: "PUT", Path: "/web/scale", ContentType: jsonType, Body: scale("3", nil), WantCode: 400, WantReason: bad},
		{Name: "a scale whose resourceVersion is a word", Method: "PUT", Path: "/web/scale", ContentType: jsonType,
			Body: scale(3, map[string]any{"name": "web", "resourceVersion": "abc"}), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},
		{Name: "a scale of another name", Method: "PUT", Path: "/web/scale", ContentType: jsonType, Body: scale(3, map[string]any{"name": "other"}), WantCode: 400, WantReason: bad},
		{Name: "a scale of another uid", Method: "PUT", Path: "/web/scale", ContentType: jsonType,
			Body: scale(3, map[string]any{"name": "web", "uid": "not-the-uid"}), WantCode: 409, WantReason: metav1.StatusReasonConflict},
		{Name: "a PetSet sent as a scale", Method: "PUT", Path: "/web/scale", ContentType: jsonType, Body: guide("web", nil), WantCode: 400, WantReason: bad},
		{Name: "a merge patch scaling to negative replicas", Method: "PATCH", Path: "/web/scale", ContentType: mergePat, Body: []byte(`{"spec":{"replicas":-5}}`), WantCode: 422, WantReason: invalid, WantMessage: "spec.replicas"},
		{Name: "a merge patch scaling over the int32 range", Method: "PATCH", Path: "/web/scale", ContentType: mergePat, Body: []byte(`{"spec":{"replicas":10000000000}}`), WantCode: 422, WantReason: invalid},
		{Name: "a JSON patch scaling to negative replicas", Method: "PATCH", Path: "/web/scale", ContentType: jsonPatch,
			Body: []byte(`[{"op":"replace","path":"/spec/replicas","value":-1}]`), WantCode: 422, WantReason: invalid, WantMessage: "spec.replicas"},
		{Name: "a strategic merge patch scaling to a string", Method: "PATCH", Path: "/web/scale", ContentType: smPatch, Body: []byte(`{"spec":{"replicas":"x"}}`), WantCode: 422, WantReason: invalid},
		{Name: "a strategic merge patch of the scale with an unknown $patch directive", Method: "PATCH", Path: "/web/scale", ContentType: smPatch,
			Body: []byte(`{"spec":{"$patch":"bogus"}}`), WantCode: 400, WantReason: bad, WantMessage: "unknown patch type"},
		{Name: "an apply scaling to negative replicas", Method: "PATCH", Path: "/web/scale?fieldManager=hostile&force=true", ContentType: applyType,
			Body: scale(-3, nil), WantCode: 422, WantReason: invalid, WantMessage: "spec.replicas"},
		{Name: "a merge patch of the scale setting the resourceVersion to a word", Method: "PATCH", Path: "/web/scale", ContentType: mergePat,
			Body: []byte(`{"metadata":{"resourceVersion":"abc"}}`), WantCode: 422, WantReason: invalid, WantMessage: "metadata.resourceVersion"},

		// Reads, lists and watches.
		{Name: "a get at a resourceVersion that is a word", Method: "GET", Path: "/web?resourceVersion=abc", WantCode: 400, WantReason: bad, WantMessage: "invalid resource version"},
		{Name: "a get at a negative resourceVersion", Method: "GET", Path: "/web?resourceVersion=-1", WantCode: 400, WantReason: bad, WantMessage: "invalid resource version"},
		{Name: "a get of the scale at a resourceVersion that is a word", Method: "GET", Path: "/web/scale?resourceVersion=abc", WantCode: 400, WantReason: bad, WantMessage: "invalid resource version"},
		{Name: "a get of the status at a resourceVersion out of range", Method: "GET", Path: "/web/status?resourceVersion=99999999999999999999999", WantCode: 400, WantReason: bad, WantMessage: "invalid resource version"},
		{Name: "a list at a resourceVersion that is a word", Method: "GET", Path: "?resourceVersion=abc", WantCode: 400, WantReason: bad, WantMessage: "invalid resource version"},
		{Name: "a list with resourceVersionMatch and no resourceVersion", Method: "GET", Path: "?resourceVersionMatch=Exact", WantCode: 422, WantReason: invalid},
		{Name: "a list with an unknown resourceVersionMatch", Method: "GET", Path: "?resourceVersion=1&resourceVersionMatch=Newest", WantCode: 422, WantReason: invalid},
		{Name: "a list with a limit that is a word", Method: "GET", Path: "?limit=ten", WantCode: 400, WantReason: bad},
		{Name: "a list with a continue token that is garbage", Method: "GET", Path: "?limit=1&continue=garbage", WantCode: 400, WantReason: bad, WantMessage: "continue"},
		{Name: "a list with timeoutSeconds that is a word", Method: "GET", Path: "?timeoutSeconds=soon", WantCode: 400, WantReason: bad},
		{Name: "a labelSelector with an unclosed set", Method: "GET", Path: "?labelSelector=app%20in%20(nginx", WantCode: 400, WantReason: bad},
		{Name: "a labelSelector of punctuation", Method: "GET", Path: "?labelSelector=!!", WantCode: 400, WantReason: bad},
		{Name: "a labelSelector key over 63 characters", Method: "GET", Path: "?labelSelector=" + strings.Repeat("k", 64) + "=v", WantCode: 400, WantReason: bad},
		{Name: "a labelSelector value with a space", Method: "GET", Path: "?labelSelector=app%3Dng%20inx", WantCode: 400, WantReason: bad},
		{Name: "a fieldSelector on an unsupported field", Method: "GET", Path: "?fieldSelector=spec.replicas%3D2", WantCode: 400, WantReason: bad, WantMessage: "not a known field selector"},
		{Name: "a fieldSelector without an operator", Method: "GET", Path: "?fieldSelector=metadata.name", WantCode: 400, WantReason: bad},
		{Name: "a fieldSelector with an unescaped operator in the value", Method: "GET", Path: "?fieldSelector=metadata.name%3D%3D%3Dweb", WantCode: 400, WantReason: bad},
		{Name: "a watch from a resourceVersion that is a word", Method: "GET", Path: "?watch=true&timeoutSeconds=1&resourceVersion=abc", WantCode: 400, WantReason: bad, WantMessage: "invalid resource version"},
		{Name: "a watch from a negative resourceVersion", Method: "GET", Path: "?watch=true&timeoutSeconds=1&resourceVersion=-5", WantCode: 400, WantReason: bad, WantMessage: "invalid resource version"},
		{Name: "a watch of one PetSet from a resourceVersion that is a word", Method: "GET", Path: "?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dweb&resourceVersion=abc", WantCode: 400, WantReason: bad},
		{Name: "a watch with initial events and no resourceVersionMatch", Method: "GET", Path: "?watch=true&timeoutSeconds=1&sendInitialEvents=true", WantCode: 422, WantReason: invalid},
		{Name: "a watch with a labelSelector that does not parse", Method: "GET", Path: "?watch=true&timeoutSeconds=1&labelSelector=!!", WantCode: 400, WantReason: bad},
		{Name: "a get of an unknown subresource", Method: "GET", Path: "/web/bogus", WantCode: 404, WantReason: metav1.StatusReasonNotFound},

		// Deletes (dry run: a refused delete must change nothing anyway).
		{Name: "a delete with an unknown propagationPolicy", Method: "DELETE", Path: "/web?dryRun=All&propagationPolicy=Sideways", WantCode: 422, WantReason: invalid},
		{Name: "a delete with gracePeriodSeconds as a string", Method: "DELETE", Path: "/web?dryRun=All", ContentType: jsonType, Body: []byte(`{"gracePeriodSeconds":"soon"}`), WantCode: 400, WantReason: bad},
		{Name: "a delete whose resourceVersion precondition is a word", Method: "DELETE", Path: "/web?dryRun=All", ContentType: jsonType,
			Body: []byte(`{"preconditions":{"resourceVersion":"abc"}}`), WantCode: 409, WantReason: metav1.StatusReasonConflict},
		{Name: "a delete with both orphanDependents and a propagationPolicy", Method: "DELETE", Path: "/web?dryRun=All", ContentType: jsonType,
			Body: []byte(`{"orphanDependents":true,"propagationPolicy":"Foreground"}`), WantCode: 422, WantReason: invalid},
		{Name: "a delete with a body that does not parse", Method: "DELETE", Path: "/web?dryRun=All", ContentType: jsonType, Body: []byte(`{"preconditions":`), WantCode: 400, WantReason: bad},
		{Name: "a collection delete with a labelSelector that does not parse", Method: "DELETE", Path: "?dryRun=All&labelSelector=!!", WantCode: 400, WantReason: bad},
		{Name: "a collection delete at a resourceVersion that is a word", Method: "DELETE", Path: "?dryRun=All&resourceVersion=abc", WantCode: 400, WantReason: bad},
	}
}
