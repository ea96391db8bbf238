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

package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/generated/openapi"
	petsetregistry "github.com/petsets/petset/pkg/registry/apps/petset"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/endpoints/request"
	genericapiserver "k8s.io/apiserver/pkg/server"
	openapibuilder3 "k8s.io/kube-openapi/pkg/builder3"
	openapiutil "k8s.io/kube-openapi/pkg/util"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/yaml"
)

// guidePetSetJSON is the PetSet "web" of the PetSet guide's example, as a
// client writes it.
const guidePetSetJSON = `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","namespace":"default"},
"spec":{"serviceName":"nginx","replicas":2,
"template":{"metadata":{"labels":{"app":"nginx"},"annotations":{"pod.alpha.kubernetes.io/initialized":"true"}},
"spec":{"terminationGracePeriodSeconds":0,"containers":[{"name":"nginx","image":"gcr.io/google_containers/nginx-slim:0.8",
"ports":[{"containerPort":80,"name":"web"}],"volumeMounts":[{"name":"www","mountPath":"/usr/share/nginx/html"}]}]}},
"volumeClaimTemplates":[{"metadata":{"name":"www","annotations":{"volume.alpha.kubernetes.io/storage-class":"anything"}},
"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}}`

// richPetSetJSON is the guide's PetSet with most of the lists a PetSet can
// have filled in, for the strategic merge code to merge into.
const richPetSetJSON = `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","namespace":"default",
"labels":{"app":"nginx"},"annotations":{"note":"rich"},"finalizers":["apps.petsets.io/pets"],
"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":"0b1a7c2e-0000-4000-8000-000000000001"}]},
"spec":{"serviceName":"nginx","replicas":2,"selector":{"matchLabels":{"app":"nginx"},"matchExpressions":[{"key":"tier","operator":"In","values":["web"]}]},
"template":{"metadata":{"labels":{"app":"nginx","tier":"web"}},
"spec":{"initContainers":[{"name":"init","image":"busybox","command":["true"]}],
"containers":[{"name":"nginx","image":"nginx","args":["-g","daemon off;"],
"ports":[{"containerPort":80,"name":"web"},{"containerPort":443,"name":"tls"}],
"env":[{"name":"A","value":"1"},{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],
"envFrom":[{"configMapRef":{"name":"cm"}}],
"resources":{"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":"100m"}},
"volumeMounts":[{"name":"www","mountPath":"/usr/share/nginx/html"},{"name":"cache","mountPath":"/cache"}],
"readinessProbe":{"httpGet":{"path":"/","port":"web"}}},
{"name":"sidecar","image":"busybox","ports":[{"containerPort":9000}]}],
"volumes":[{"name":"cache","emptyDir":{}}],
"imagePullSecrets":[{"name":"registry"}],
"tolerations":[{"key":"dedicated","operator":"Equal","value":"web","effect":"NoSchedule"}],
"hostAliases":[{"ip":"10.0.0.1","hostnames":["db"]}],
"topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"nginx"}}}]}},
"volumeClaimTemplates":[{"metadata":{"name":"www"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}}`

// guardFixture holds what every guard test needs, built once: the type
// converter the server builds from the group's OpenAPI, and the stored
// objects and field managers of PetSets, their status and their scale.
var guardFixture struct {
	once sync.Once
	err  error

	converter managedfields.TypeConverter
	// By subresource: "", "status", "scale".
	fieldManagers map[string]*managedfields.FieldManager
	// liveObjects are stored objects, as the handlers see them: internal
	// PetSets, or the Scale.
	liveObjects map[string]runtime.Object
	// smpOriginals are versioned objects, as the strategic merge patch
	// handler merges into them.
	smpOriginals map[string][]runtime.Object
}

// subresources are the writable parts of a PetSet, in the order fuzz inputs
// choose them.
var subresources = []string{"", "status", "scale"}

func loadGuardFixture(tb testing.TB) {
	tb.Helper()
	f := &guardFixture
	f.once.Do(func() { f.err = buildGuardFixture() })
	if f.err != nil {
		tb.Fatalf("building the guard's fixture: %v", f.err)
	}
}

func buildGuardFixture() error {
	f := &guardFixture
	// The schema the server builds in InstallAPIGroup, from the OpenAPI
	// definitions of the kinds of the group's resources.
	config := genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(Scheme))
	spec, err := openapibuilder3.BuildOpenAPIDefinitionsForResources(config,
		openapiutil.GetCanonicalTypeName(&appsv1alpha1.PetSet{}), openapiutil.GetCanonicalTypeName(&autoscalingv1.Scale{}))
	if err != nil {
		return fmt.Errorf("building the OpenAPI definitions: %w", err)
	}
	if f.converter, err = managedfields.NewTypeConverter(spec, false); err != nil {
		return fmt.Errorf("building the type converter: %w", err)
	}

	strategy := petsetregistry.NewStrategy(Scheme, petsetregistry.Options{})
	petSetKind := appsv1alpha1.SchemeGroupVersion.WithKind("PetSet")
	scaleKind := autoscalingv1.SchemeGroupVersion.WithKind("Scale")
	resetFields := map[string]map[fieldpath.APIVersion]fieldpath.Filter{
		"":       fieldpath.NewExcludeFilterSetMap(strategy.GetResetFields()),
		"status": fieldpath.NewExcludeFilterSetMap(petsetregistry.NewStatusStrategy(strategy).GetResetFields()),
	}
	f.fieldManagers = map[string]*managedfields.FieldManager{}
	for _, sub := range subresources {
		kind := petSetKind
		if sub == "scale" {
			kind = scaleKind
		}
		hub := schema.GroupVersion{Group: kind.Group, Version: runtime.APIVersionInternal}
		if f.fieldManagers[sub], err = managedfields.NewDefaultFieldManager(f.converter, runtime.UnsafeObjectConvertor(Scheme),
			Scheme, Scheme, kind, hub, sub, resetFields[sub]); err != nil {
			return fmt.Errorf("building the field manager of %q: %w", sub, err)
		}
	}

	guide, err := storedPetSet(guidePetSetJSON)
	if err != nil {
		return err
	}
	rich, err := storedPetSet(richPetSetJSON)
	if err != nil {
		return err
	}
	scale := &autoscalingv1.Scale{
		TypeMeta:   metav1.TypeMeta{APIVersion: autoscalingv1.SchemeGroupVersion.String(), Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: guide.UID, ResourceVersion: guide.ResourceVersion},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 2},
		Status:     autoscalingv1.ScaleStatus{Replicas: 2, Selector: "app=nginx"},
	}
	f.liveObjects = map[string]runtime.Object{"": guide, "status": guide, "scale": scale}

	var versioned []runtime.Object
	for _, ps := range []*apps.PetSet{guide, rich} {
		out, err := Scheme.ConvertToVersion(ps.DeepCopy(), appsv1alpha1.SchemeGroupVersion)
		if err != nil {
			return fmt.Errorf("converting the PetSet to v1alpha1: %w", err)
		}
		versioned = append(versioned, out)
	}
	f.smpOriginals = map[string][]runtime.Object{"": versioned, "status": versioned, "scale": {scale}}
	return nil
}

// storedPetSet decodes a PetSet as the server does (defaults included) and
// gives it what storage gives it.
func storedPetSet(data string) (*apps.PetSet, error) {
	obj, _, err := Codecs.UniversalDecoder(apps.SchemeGroupVersion).Decode([]byte(data), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding a PetSet: %w", err)
	}
	ps, ok := obj.(*apps.PetSet)
	if !ok {
		return nil, fmt.Errorf("decoded a %T, want an internal PetSet", obj)
	}
	ps.UID = "5d1a7c2e-0000-4000-8000-000000000002"
	ps.ResourceVersion = "7"
	ps.Generation = 1
	ps.CreationTimestamp = metav1.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return ps, nil
}

// handlerOutcome is what an emulated API handler answered.
type handlerOutcome struct {
	code int
	err  error
}

// emulateApply runs what the apply handler of k8s.io/apiserver runs on the
// stored object: decode the patch, apply it with the field manager. The
// code is the one the handler answers for the error (500 for an error
// that is not an API status).
func emulateApply(sub string, body []byte) (out handlerOutcome) {
	defer func() {
		if r := recover(); r != nil {
			out = handlerOutcome{http.StatusInternalServerError, fmt.Errorf("the apply handler panics: %v", r)}
		}
	}()
	f := &guardFixture
	patchObj := &unstructured.Unstructured{Object: map[string]interface{}{}}
	if err := yaml.Unmarshal(body, &patchObj.Object); err != nil {
		return handlerOutcome{http.StatusBadRequest, err}
	}
	_, err := f.fieldManagers[sub].Apply(f.liveObjects[sub].DeepCopyObject(), patchObj, "fuzz", true)
	return outcomeOf(err)
}

// emulateStrategicMergePatch runs what the strategic merge patch handler of
// k8s.io/apiserver runs on each of the originals of sub: decode the patch,
// merge it, convert the result to the Go type. It returns the first
// failure.
func emulateStrategicMergePatch(sub string, body []byte) handlerOutcome {
	for _, original := range guardFixture.smpOriginals[sub] {
		if out := emulateStrategicMergePatchOn(original, body); out.err != nil {
			return out
		}
	}
	return handlerOutcome{code: http.StatusOK}
}

func emulateStrategicMergePatchOn(original runtime.Object, body []byte) (out handlerOutcome) {
	defer func() {
		if r := recover(); r != nil {
			out = handlerOutcome{http.StatusInternalServerError, fmt.Errorf("the strategic merge patch handler panics: %v", r)}
		}
	}()
	originalMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(original)
	if err != nil {
		return handlerOutcome{http.StatusInternalServerError, err}
	}
	var patchMap map[string]interface{}
	if err := utiljson.Unmarshal(body, &patchMap); err != nil {
		return handlerOutcome{http.StatusBadRequest, err}
	}
	schemaObject, err := Scheme.New(original.GetObjectKind().GroupVersionKind())
	if err != nil {
		return handlerOutcome{http.StatusInternalServerError, err}
	}
	patched, err := strategicpatch.StrategicMergeMapPatch(originalMap, patchMap, schemaObject)
	if err != nil {
		return outcomeOf(interpretStrategicMergePatchError(err))
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(patched, schemaObject, false); err != nil {
		return handlerOutcome{http.StatusUnprocessableEntity, err}
	}
	return handlerOutcome{code: http.StatusOK}
}

// interpretStrategicMergePatchError is the handler's mapping of the merge
// code's errors; any other error is a 500.
func interpretStrategicMergePatchError(err error) error {
	switch {
	case errors.Is(err, mergepatch.ErrBadJSONDoc), errors.Is(err, mergepatch.ErrBadPatchFormatForPrimitiveList),
		errors.Is(err, mergepatch.ErrBadPatchFormatForRetainKeys), errors.Is(err, mergepatch.ErrBadPatchFormatForSetElementOrderList),
		errors.Is(err, mergepatch.ErrUnsupportedStrategicMergePatchFormat):
		return apierrors.NewBadRequest(err.Error())
	case errors.Is(err, mergepatch.ErrNoListOfLists), errors.Is(err, mergepatch.ErrPatchContentNotMatchRetainKeys):
		return apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
	}
	return err
}

func outcomeOf(err error) handlerOutcome {
	if err == nil {
		return handlerOutcome{code: http.StatusOK}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return handlerOutcome{int(status.Status().Code), err}
	}
	return handlerOutcome{http.StatusInternalServerError, err}
}

// guarded is the outcome of a request sent through the guard.
type guarded struct {
	// code and body are what the client got.
	code int
	body []byte
	// reached tells that the request reached the API handler, and
	// handlerBody is the body the handler read.
	reached     bool
	handlerBody []byte
	// handler is what the emulated handler answered.
	handler handlerOutcome
}

// serveGuarded sends a request through a guard with the server's schema to
// an API handler emulated by handle.
func serveGuarded(tb testing.TB, method, path string, info *request.RequestInfo, contentType string, body []byte,
	handle func(body []byte) handlerOutcome) guarded {
	tb.Helper()
	loadGuardFixture(tb)
	guard := &applyPatchGuard{maxBodyBytes: 3 << 20}
	guard.setTypeConverter(guardFixture.converter)

	var out guarded
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out.reached = true
		b, err := io.ReadAll(r.Body)
		if err != nil {
			tb.Errorf("the API handler could not read the body: %v", err)
		}
		out.handlerBody = b
		if handle != nil {
			out.handler = handle(b)
		} else {
			out.handler = handlerOutcome{code: http.StatusOK}
		}
		w.WriteHeader(out.handler.code)
	})
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req = req.WithContext(request.WithRequestInfo(req.Context(), info))
	rec := httptest.NewRecorder()
	guard.wrap(api).ServeHTTP(rec, req)
	out.code, out.body = rec.Code, rec.Body.Bytes()
	return out
}

func patchInfo(sub string) *request.RequestInfo {
	return &request.RequestInfo{IsResourceRequest: true, Verb: "patch", APIGroup: "apps", APIVersion: "v1alpha1",
		Namespace: "default", Resource: "petsets", Subresource: sub, Name: "web"}
}

func petSetPath(sub string) string {
	path := "/apis/apps/v1alpha1/namespaces/default/petsets/web"
	if sub != "" {
		path += "/" + sub
	}
	return path
}

// checkGuardedOutcome fails the test unless the guard either passed the
// request on untouched to a handler that answered without a server error,
// or refused it itself with a client error carried by a Status.
func checkGuardedOutcome(t *testing.T, got guarded, body []byte) {
	t.Helper()
	if !got.reached {
		if got.code < 400 || got.code >= 500 {
			t.Fatalf("the guard answered %d, want a client error (4xx): %s", got.code, got.body)
		}
		var status metav1.Status
		if err := json.Unmarshal(got.body, &status); err != nil || status.Kind != "Status" || int(status.Code) != got.code {
			t.Fatalf("the guard's %d answer is not a Status of that code: %s", got.code, got.body)
		}
		return
	}
	if !bytes.Equal(got.handlerBody, body) {
		t.Fatalf("the guard changed the body it passed on:\n%q\nwant\n%q", got.handlerBody, body)
	}
	if got.handler.code >= 500 {
		t.Fatalf("the guard let through a patch the handler fails on with %d: %v", got.handler.code, got.handler.err)
	}
}

// FuzzApplyPatchGuard sends arbitrary server-side apply patches of a
// PetSet, its status or its scale through the guard: it never panics, and
// it either refuses a patch with a 4xx or passes it on, untouched, to an
// apply handler that then does not fail with a server error.
func FuzzApplyPatchGuard(f *testing.F) {
	f.Add(uint8(0), []byte(guidePetSetJSON))
	f.Fuzz(func(t *testing.T, subresource uint8, body []byte) {
		sub := subresources[int(subresource)%len(subresources)]
		got := serveGuarded(t, http.MethodPatch, petSetPath(sub)+"?fieldManager=fuzz", patchInfo(sub), string(types.ApplyYAMLPatchType), body,
			func(b []byte) handlerOutcome { return emulateApply(sub, b) })
		checkGuardedOutcome(t, got, body)
	})
}

// FuzzStrategicMergePatchGuard sends arbitrary strategic merge patches of a
// PetSet, its status or its scale through the guard: it never panics, and
// it either refuses a patch with a 4xx or passes it on, untouched, to a
// strategic merge patch handler that then does not fail with a server
// error (or a panic) on the guide's PetSet or a PetSet with many lists.
func FuzzStrategicMergePatchGuard(f *testing.F) {
	f.Add(uint8(0), []byte(`{"spec":{"replicas":3}}`))
	f.Fuzz(func(t *testing.T, subresource uint8, body []byte) {
		sub := subresources[int(subresource)%len(subresources)]
		got := serveGuarded(t, http.MethodPatch, petSetPath(sub), patchInfo(sub), string(types.StrategicMergePatchType), body,
			func(b []byte) handlerOutcome { return emulateStrategicMergePatch(sub, b) })
		checkGuardedOutcome(t, got, body)
	})
}

// TestGuardAnswersClientErrorsWhereTheHandlersFail checks the requests the
// generic handlers answer with 500 (or a dropped connection): the guard
// answers them itself, with the stated client error.
func TestGuardAnswersClientErrorsWhereTheHandlersFail(t *testing.T) {
	const (
		smp   = string(types.StrategicMergePatchType)
		merge = string(types.MergePatchType)
		jsonp = string(types.JSONPatchType)
		apply = string(types.ApplyYAMLPatchType)
	)
	getInfo := func(verb, sub string) *request.RequestInfo {
		info := patchInfo(sub)
		info.Verb = verb
		return info
	}
	tests := []struct {
		name        string
		method      string
		query       string
		info        *request.RequestInfo
		contentType string
		body        string
		wantCode    int
		wantMessage string
	}{
		{"a strategic merge patch deleting a container without its name", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"template":{"spec":{"containers":[{"$patch":"delete"}]}}}}`, http.StatusBadRequest, "does not contain declared merge key: name"},
		{"a strategic merge patch of a container without its name", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}`, http.StatusBadRequest, "does not contain declared merge key: name"},
		{"a strategic merge patch of a port without its number", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","ports":[{"$patch":"delete"}]}]}}}}`, http.StatusBadRequest, "declared merge key: containerPort"},
		{"a strategic merge patch of containers that are numbers", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"template":{"spec":{"containers":[1,2]}}}}`, http.StatusBadRequest, "list element types are not identical"},
		{"a strategic merge patch adding an env var without a name, even to a container without env", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"value":"x"}]}]}}}}`, http.StatusBadRequest, "does not contain declared merge key: name"},
		{"a strategic merge patch with an unknown $patch directive", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"$patch":"bogus"}}`, http.StatusBadRequest, "unknown patch type: bogus"},
		{"a strategic merge patch of the scale with an unknown $patch directive", http.MethodPatch, "", patchInfo("scale"), smp,
			`{"spec":{"$patch":"bogus"}}`, http.StatusBadRequest, "cannot be applied to a Scale"},
		{"a $setElementOrder list that is a string", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"template":{"spec":{"$setElementOrder/containers":"x"}}}}`, http.StatusBadRequest, "cannot be applied to a PetSet"},
		{"a $setElementOrder list of objects for a list without a merge key (the merge code panics)", http.MethodPatch, "", patchInfo(""), smp,
			`{"spec":{"$setElementOrder/volumeClaimTemplates":[{"a":1}]}}`, http.StatusBadRequest, "hash of unhashable type"},
		{"a PUT with a resourceVersion that is not a number", http.MethodPut, "", getInfo("update", ""), "application/json",
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","resourceVersion":"abc"}}`, http.StatusUnprocessableEntity, "metadata.resourceVersion"},
		{"a YAML PUT of the status with a negative resourceVersion", http.MethodPut, "", getInfo("update", "status"), "application/yaml",
			"apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  name: web\n  resourceVersion: \"-1\"\n", http.StatusUnprocessableEntity, "metadata.resourceVersion"},
		{"a PUT of the scale with a resourceVersion that is not a number", http.MethodPut, "", getInfo("update", "scale"), "application/json",
			`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","resourceVersion":"1.5"},"spec":{"replicas":1}}`, http.StatusUnprocessableEntity, `Scale.autoscaling "web" is invalid`},
		{"a merge patch setting the resourceVersion to a word", http.MethodPatch, "", patchInfo(""), merge,
			`{"metadata":{"resourceVersion":"abc"}}`, http.StatusUnprocessableEntity, "metadata.resourceVersion"},
		{"a strategic merge patch of the status setting the resourceVersion to a word", http.MethodPatch, "", patchInfo("status"), smp,
			`{"metadata":{"resourceVersion":"abc"}}`, http.StatusUnprocessableEntity, "metadata.resourceVersion"},
		{"a JSON patch replacing the resourceVersion with a word", http.MethodPatch, "", patchInfo(""), jsonp,
			`[{"op":"replace","path":"/metadata/resourceVersion","value":"abc"}]`, http.StatusUnprocessableEntity, "metadata.resourceVersion"},
		{"a JSON patch replacing the metadata with a word for a resourceVersion", http.MethodPatch, "", patchInfo(""), jsonp,
			`[{"op":"add","path":"/metadata","value":{"name":"web","resourceVersion":"x"}}]`, http.StatusUnprocessableEntity, "metadata.resourceVersion"},
		{"a JSON patch copying the name to the resourceVersion", http.MethodPatch, "", patchInfo("scale"), jsonp,
			`[{"op":"copy","from":"/metadata/name","path":"/metadata/resourceVersion"}]`, http.StatusUnprocessableEntity, "may not copy a value"},
		{"an apply patch with a resourceVersion that is not a number", http.MethodPatch, "?fieldManager=fuzz", patchInfo(""), apply,
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","resourceVersion":"abc"}}`, http.StatusUnprocessableEntity, "metadata.resourceVersion"},
		{"an apply patch with a quantity that does not parse", http.MethodPatch, "?fieldManager=fuzz", patchInfo(""), apply,
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"volumeClaimTemplates":[{"metadata":{"name":"www"},"spec":{"resources":{"requests":{"storage":"abc"}}}}]}}`,
			http.StatusBadRequest, "quantities must match"},
		{"an apply patch with a time that does not parse", http.MethodPatch, "?fieldManager=fuzz", patchInfo(""), apply,
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","creationTimestamp":"garbage"}}`, http.StatusBadRequest, "parsing time"},
		{"an apply patch with a probe port that is an object", http.MethodPatch, "?fieldManager=fuzz", patchInfo(""), apply,
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[{"name":"nginx","livenessProbe":{"httpGet":{"port":{"a":1}}}}]}}}}`,
			http.StatusBadRequest, "does not fit the schema"},
		{"a get at a resourceVersion that is not a number", http.MethodGet, "?resourceVersion=abc", getInfo("get", ""), "", "",
			http.StatusBadRequest, `invalid resource version: resourceVersion: Invalid value: "abc"`},
		{"a get of the scale at a negative resourceVersion", http.MethodGet, "?resourceVersion=-1", getInfo("get", "scale"), "", "",
			http.StatusBadRequest, "invalid resource version"},
		{"a watch at a resourceVersion out of range", http.MethodGet, "?watch=true&resourceVersion=99999999999999999999999", getInfo("watch", ""), "", "",
			http.StatusBadRequest, "value out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serveGuarded(t, tc.method, petSetPath(tc.info.Subresource)+tc.query, tc.info, tc.contentType, []byte(tc.body), nil)
			if got.reached {
				t.Fatalf("the request reached the API handler, want the guard to answer %d", tc.wantCode)
			}
			var status metav1.Status
			if err := json.Unmarshal(got.body, &status); err != nil {
				t.Fatalf("the answer is not a Status: %v: %s", err, got.body)
			}
			if diff := cmp.Diff([]any{tc.wantCode, int32(tc.wantCode), true}, []any{got.code, status.Code, strings.Contains(status.Message, tc.wantMessage)}); diff != "" {
				t.Errorf("code, Status code and whether the message contains %q (-want +got):\n%s\nmessage: %s", tc.wantMessage, diff, status.Message)
			}
		})
	}
}

// TestGuardPassesWritesClientsSend checks that the guard passes on, untouched,
// the writes clients send: kubectl's two- and three-way strategic merge
// patches, apply configurations, updates and reads at a resourceVersion.
func TestGuardPassesWritesClientsSend(t *testing.T) {
	loadGuardFixture(t)
	guideV1 := mustVersioned(t, guardFixture.smpOriginals[""][0])
	modified := guideV1.DeepCopy()
	modified.Spec.Replicas = new(int32(5))
	modified.Labels = map[string]string{"app": "nginx", "tier": "web"}
	modified.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	modified.Spec.Template.Spec.Containers[0].Env = append(modified.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "A", Value: "1"})
	modified.Spec.Template.Spec.Containers[0].Ports = nil
	original, err := json.Marshal(guideV1)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := json.Marshal(modified)
	if err != nil {
		t.Fatal(err)
	}
	twoWay, err := strategicpatch.CreateTwoWayMergePatch(original, changed, &appsv1alpha1.PetSet{})
	if err != nil {
		t.Fatal(err)
	}
	lookup, err := strategicpatch.NewPatchMetaFromStruct(&appsv1alpha1.PetSet{})
	if err != nil {
		t.Fatal(err)
	}
	threeWay, err := strategicpatch.CreateThreeWayMergePatch(original, changed, original, lookup, true)
	if err != nil {
		t.Fatal(err)
	}
	getInfo := func(verb, sub string) *request.RequestInfo {
		info := patchInfo(sub)
		info.Verb = verb
		return info
	}
	tests := []struct {
		name        string
		method      string
		query       string
		info        *request.RequestInfo
		contentType string
		body        []byte
	}{
		{"a two-way strategic merge patch", http.MethodPatch, "", patchInfo(""), string(types.StrategicMergePatchType), twoWay},
		{"a three-way strategic merge patch", http.MethodPatch, "", patchInfo(""), string(types.StrategicMergePatchType), threeWay},
		{"a strategic merge patch deleting a container by name", http.MethodPatch, "", patchInfo(""), string(types.StrategicMergePatchType),
			[]byte(`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],"containers":[{"name":"sidecar","$patch":"delete"}]}}}}`)},
		{"a strategic merge patch of the scale", http.MethodPatch, "", patchInfo("scale"), string(types.StrategicMergePatchType), []byte(`{"spec":{"replicas":3}}`)},
		{"a strategic merge patch with $retainKeys", http.MethodPatch, "", patchInfo(""), string(types.StrategicMergePatchType),
			[]byte(`{"spec":{"template":{"spec":{"volumes":[{"name":"cache","$retainKeys":["name","emptyDir"],"emptyDir":{}}]}}}}`)},
		{"a strategic merge patch removing a finalizer", http.MethodPatch, "", patchInfo(""), string(types.StrategicMergePatchType),
			[]byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["apps.petsets.io/pets"]}}`)},
		{"an apply of the guide's PetSet", http.MethodPatch, "?fieldManager=fuzz", patchInfo(""), string(types.ApplyYAMLPatchType), []byte(guidePetSetJSON)},
		{"an apply of a Scale", http.MethodPatch, "?fieldManager=fuzz", patchInfo("scale"), string(types.ApplyYAMLPatchType),
			[]byte(`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","resourceVersion":"7"},"spec":{"replicas":3}}`)},
		{"a strategic merge patch adding a toleration without a key (tolerations are replaced whole)", http.MethodPatch, "", patchInfo(""), string(types.StrategicMergePatchType),
			[]byte(`{"spec":{"template":{"spec":{"tolerations":[{"operator":"Exists"}]}}}}`)},
		{"a merge patch with a resourceVersion precondition", http.MethodPatch, "", patchInfo(""), string(types.MergePatchType),
			[]byte(`{"metadata":{"resourceVersion":"7"},"spec":{"replicas":3}}`)},
		{"a JSON patch testing the resourceVersion and replacing it", http.MethodPatch, "", patchInfo(""), string(types.JSONPatchType),
			[]byte(`[{"op":"test","path":"/metadata/resourceVersion","value":"7"},{"op":"replace","path":"/metadata/resourceVersion","value":"7"}]`)},
		{"an update at the stored resourceVersion", http.MethodPut, "", getInfo("update", ""), "application/json; charset=utf-8", original},
		{"an update of the status without a resourceVersion", http.MethodPut, "", getInfo("update", "status"), "application/yaml",
			[]byte("apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  name: web\n")},
		{"a get at resourceVersion 0", http.MethodGet, "?resourceVersion=0", getInfo("get", ""), "", nil},
		{"a watch from a resourceVersion", http.MethodGet, "?watch=true&resourceVersion=12", getInfo("watch", ""), "", nil},
		{"a list at no resourceVersion", http.MethodGet, "", getInfo("list", ""), "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serveGuarded(t, tc.method, petSetPath(tc.info.Subresource)+tc.query, tc.info, tc.contentType, tc.body, nil)
			if !got.reached {
				t.Fatalf("the guard answered %d: %s", got.code, got.body)
			}
			if diff := cmp.Diff(string(tc.body), string(got.handlerBody)); diff != "" {
				t.Errorf("the body the handler got (-sent +got):\n%s", diff)
			}
		})
	}
}

func mustVersioned(t *testing.T, obj runtime.Object) *appsv1alpha1.PetSet {
	t.Helper()
	ps, ok := obj.(*appsv1alpha1.PetSet)
	if !ok {
		t.Fatalf("got a %T, want a v1alpha1 PetSet", obj)
	}
	return ps
}
