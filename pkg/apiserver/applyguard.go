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
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/storage"
	"sigs.k8s.io/yaml"
)

// applyPatchGuard answers with a client error the requests on PetSets and
// their /status and /scale subresources that the generic handlers of
// k8s.io/apiserver answer with 500 Internal Server Error, or with a dropped
// connection when the strategic merge code panics. Before the handler runs
// it checks:
//
//   - server-side apply patches: their fields must fit the schema (the same
//     type converter the apply handler builds from the group's OpenAPI) and
//     the Go types (a quantity or a time that does not parse): 400 Bad
//     Request otherwise (kubernetes/kubernetes#139253);
//   - strategic merge patches: the merge code must be able to apply them to
//     a PetSet (or a Scale): a list element without its merge key, an
//     element of another type than the list's, an unknown $patch directive
//     or a malformed $setElementOrder list is a 400 Bad Request;
//   - updates and patches: they may set metadata.resourceVersion only to
//     empty or a number (the storage fails to parse anything else): 422
//     Unprocessable Entity on metadata.resourceVersion otherwise;
//   - reads and watches: the resourceVersion parameter must be empty or a
//     number: 400 Bad Request otherwise, as a list answers.
//
// Everything else passes through untouched, the body included.
type applyPatchGuard struct {
	// converter is set once the API group is installed; until then the
	// guard lets every request through.
	converter atomic.Pointer[managedfields.TypeConverter]
	// maxBodyBytes is the server's request body limit (none when not
	// positive). A larger body is passed on for the handler to refuse with
	// 413.
	maxBodyBytes int64
}

func (g *applyPatchGuard) setTypeConverter(tc managedfields.TypeConverter) {
	g.converter.Store(&tc)
}

func (g *applyPatchGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tc := g.converter.Load()
		info, ok := request.RequestInfoFrom(r.Context())
		if tc == nil || !ok || !isPetSetRequest(info) {
			next.ServeHTTP(w, r)
			return
		}
		var statusErr error
		switch info.Verb {
		case "get", "list", "watch":
			statusErr = checkResourceVersionParameter(r.URL.Query().Get("resourceVersion"))
		case "update", "patch":
			body, complete := g.readBody(r)
			if !complete {
				// Let the handler read (and refuse) the whole body.
				next.ServeHTTP(w, r)
				return
			}
			statusErr = checkWrite(*tc, info, r.Header.Get("Content-Type"), body)
		}
		if statusErr != nil {
			responsewriters.ErrorNegotiated(statusErr, Codecs, schema.GroupVersion{Group: apps.GroupName, Version: "v1alpha1"}, w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads the body of r, up to the server's limit, and puts it back
// for the handler. complete is false when the body could not be read whole
// or is over the limit: what was read is put back in front of the rest.
func (g *applyPatchGuard) readBody(r *http.Request) (body []byte, complete bool) {
	var reader io.Reader = r.Body
	if g.maxBodyBytes > 0 {
		reader = io.LimitReader(r.Body, g.maxBodyBytes+1)
	}
	body, err := io.ReadAll(reader)
	if err != nil || (g.maxBodyBytes > 0 && int64(len(body)) > g.maxBodyBytes) {
		r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return nil, false
	}
	r.Body = readCloser{bytes.NewReader(body), r.Body}
	return body, true
}

// isPetSetRequest tells a request on PetSets or one of their subresources.
func isPetSetRequest(info *request.RequestInfo) bool {
	return info.IsResourceRequest && info.APIGroup == apps.GroupName && info.Resource == "petsets"
}

// checkResourceVersionParameter returns a 400 error when the
// resourceVersion parameter of a read is not empty and not a number; a
// list answers the same, where a get or a watch would answer 500.
func checkResourceVersionParameter(rv string) error {
	if _, err := (storage.APIObjectVersioner{}).ParseResourceVersion(rv); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %v", err))
	}
	return nil
}

// checkWrite checks an update or a patch of a PetSet, its status or its
// scale. Bodies the handler refuses by itself (that do not decode, of a
// media type it does not take) pass.
func checkWrite(tc managedfields.TypeConverter, info *request.RequestInfo, contentType string, body []byte) error {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil
	}
	kind, schemaObject := apps.Kind("PetSet"), runtime.Object(&appsv1alpha1.PetSet{})
	if info.Subresource == "scale" {
		kind, schemaObject = schema.GroupKind{Group: autoscalingv1.GroupName, Kind: "Scale"}, &autoscalingv1.Scale{}
	}
	rv := resourceVersionCheck{kind: kind, name: info.Name}

	if info.Verb == "update" {
		var obj map[string]interface{}
		switch mediaType {
		case runtime.ContentTypeJSON:
			err = utiljson.Unmarshal(body, &obj)
		case runtime.ContentTypeYAML:
			err = yaml.Unmarshal(body, &obj)
		default:
			return nil
		}
		if err != nil {
			return nil
		}
		return rv.ofObject(obj)
	}

	switch types.PatchType(mediaType) {
	case types.ApplyYAMLPatchType:
		var obj map[string]interface{}
		if err := yaml.Unmarshal(body, &obj); err != nil || obj == nil {
			return nil
		}
		if err := checkApplyPatch(tc, obj); err != nil {
			return err
		}
		return rv.ofObject(obj)
	case types.MergePatchType:
		var patch map[string]interface{}
		if err := utiljson.Unmarshal(body, &patch); err != nil {
			return nil
		}
		return rv.ofObject(patch)
	case types.StrategicMergePatchType:
		var patch map[string]interface{}
		if err := utiljson.Unmarshal(body, &patch); err != nil {
			return nil
		}
		if err := rv.ofObject(patch); err != nil {
			return err
		}
		return checkStrategicMergePatch(schemaObject, patch)
	case types.JSONPatchType:
		return rv.ofJSONPatch(body)
	}
	return nil
}

// checkApplyPatch returns a 400 error when obj, a decoded apply patch, has
// fields outside the schema of its apiVersion and kind, or values that do
// not convert to its Go type. Patches the handler refuses by itself (no or
// an unknown kind) pass.
func checkApplyPatch(tc managedfields.TypeConverter, obj map[string]interface{}) error {
	u := &unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	if gvk.Kind == "" || u.GetAPIVersion() == "" {
		return nil
	}
	if _, err := tc.ObjectToTyped(u); err != nil {
		if isUnknownKind(err) {
			return nil
		}
		return apierrors.NewBadRequest("the apply patch does not fit the schema of " + gvk.String() + ": " + err.Error())
	}
	// The apply handler converts the merged object to the Go type; a value
	// the schema allows but the type does not parse (a quantity, a time)
	// fails there.
	typed, err := Scheme.New(gvk)
	if err != nil {
		return nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, typed); err != nil {
		return apierrors.NewBadRequest("the apply patch does not fit the schema of " + gvk.String() + ": " + err.Error())
	}
	return nil
}

// isUnknownKind tells the converter's error for a kind it has no schema for
// (managedfields does not export its type); the handler reports those
// itself.
func isUnknownKind(err error) bool {
	return strings.HasPrefix(err.Error(), "no corresponding type for")
}

// resourceVersionCheck checks the metadata.resourceVersion a write sets.
// The storage parses it as a number before anything validates the object,
// and reports anything else as an internal error.
type resourceVersionCheck struct {
	kind schema.GroupKind
	name string
}

var resourceVersionPath = field.NewPath("metadata", "resourceVersion")

func (c resourceVersionCheck) invalid(value interface{}, detail string) error {
	return apierrors.NewInvalid(c.kind, c.name, field.ErrorList{field.Invalid(resourceVersionPath, value, detail)})
}

// ofObject checks metadata.resourceVersion of a decoded object or patch.
// Values that are not strings pass: they do not decode into the object,
// which the handler reports.
func (c resourceVersionCheck) ofObject(obj interface{}) error {
	m, _ := obj.(map[string]interface{})
	metadata, _ := m["metadata"].(map[string]interface{})
	rv, ok := metadata["resourceVersion"].(string)
	if !ok {
		return nil
	}
	if _, err := (storage.APIObjectVersioner{}).ParseResourceVersion(rv); err != nil {
		return c.invalid(rv, "must be empty or the resourceVersion of an earlier read (a decimal number)")
	}
	return nil
}

// ofJSONPatch checks the operations of a JSON patch that write
// metadata.resourceVersion, metadata or the whole object. A value copied or
// moved there is not known before the patch applies to the stored object,
// so those operations are refused.
func (c resourceVersionCheck) ofJSONPatch(body []byte) error {
	var ops []map[string]interface{}
	if err := utiljson.Unmarshal(body, &ops); err != nil {
		return nil
	}
	for _, op := range ops {
		path, ok := op["path"].(string)
		if !ok {
			continue
		}
		var value interface{}
		switch path {
		case "":
			value = op["value"]
		case "/metadata":
			value = map[string]interface{}{"metadata": op["value"]}
		case "/metadata/resourceVersion":
			value = map[string]interface{}{"metadata": map[string]interface{}{"resourceVersion": op["value"]}}
		default:
			continue
		}
		switch op["op"] {
		case "add", "replace":
			if err := c.ofObject(value); err != nil {
				return err
			}
		case "copy", "move":
			return c.invalid(path, fmt.Sprintf("a JSON patch may not %s a value to %q: only a value given in the patch can be checked", op["op"], path))
		}
	}
	return nil
}

// checkStrategicMergePatch returns a 400 error when the strategic merge
// code cannot apply patch to an object of the type of schemaObject.
//
// The merge code checks the elements of a patched list (their merge key,
// their type) only where the object has the list, and some of its checks
// panic. The patch is applied to a probe object that has every list the
// patch touches (see strategicMergeProbe), and a failure or a panic there
// is a refusal. The probe may have a list the stored object lacks, where the
// merge code would take the patch's list as it is: such a patch is refused
// all the same. That keeps the rule simple (every element of a list merged
// by a key carries the key and has the list's type, whatever the stored
// object holds) and costs only patches that add such an element to a list
// the object does not have yet, which validation refuses anyway: every list
// of a PetSet merged by a key requires the key in its elements, but for
// imagePullSecrets, where an element without a name names nothing.
//
// The merge code consumes patch; the probe shares none of its maps or
// lists.
func checkStrategicMergePatch(schemaObject runtime.Object, patch map[string]interface{}) error {
	meta, err := strategicpatch.NewPatchMetaFromStruct(schemaObject)
	if err != nil || patch == nil {
		return nil
	}
	if err := strategicMerge(strategicMergeProbe([]map[string]interface{}{patch}, meta), patch, meta); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the strategic merge patch cannot be applied to a %s: %v",
			reflect.TypeOf(schemaObject).Elem().Name(), err))
	}
	return nil
}

// strategicMerge applies patch to original and returns the error of the
// merge code, a panic included.
func strategicMerge(original, patch map[string]interface{}, meta strategicpatch.PatchMetaFromStruct) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_, err = strategicpatch.StrategicMergeMapPatchUsingLookupPatchMeta(original, patch, meta)
	return err
}

const (
	setElementOrderPrefix         = "$setElementOrder/"
	deleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/"
	// probeName is the value of a merge key no patch element names.
	probeName = "(probe)"
)

// strategicMergeProbe returns an object for patches (the patches that apply
// at the same place) to be applied to in a check: it has
//   - every struct or map field the patches patch, built the same way;
//   - every list the patches patch (directly or through $setElementOrder and
//     $deleteFromPrimitiveList), holding an element of the list's type that
//     no patch names and, for a list merged by a key, an element for every
//     key the patches name, built the same way from the patch elements of
//     that key, so that the lists inside them are merged too.
func strategicMergeProbe(patches []map[string]interface{}, meta strategicpatch.PatchMetaFromStruct) map[string]interface{} {
	maps := map[string][]map[string]interface{}{}
	lists := map[string][]interface{}{}
	for _, patch := range patches {
		for key, value := range patch {
			name := strings.TrimPrefix(strings.TrimPrefix(key, setElementOrderPrefix), deleteFromPrimitiveListPrefix)
			if name == "" || strings.HasPrefix(name, "$") {
				continue
			}
			switch v := value.(type) {
			case map[string]interface{}:
				if name == key {
					maps[name] = append(maps[name], v)
				}
			case []interface{}:
				lists[name] = append(lists[name], v...)
			}
		}
	}

	probe := map[string]interface{}{}
	for name, fieldPatches := range maps {
		sub, _, err := meta.LookupPatchMetadataForStruct(name)
		if err != nil {
			continue
		}
		subMeta, ok := sub.(strategicpatch.PatchMetaFromStruct)
		if !ok || !isObjectType(subMeta.T) {
			continue
		}
		probe[name] = strategicMergeProbe(fieldPatches, subMeta)
	}
	for name, elements := range lists {
		if list, ok := probeList(name, elements, meta); ok {
			probe[name] = list
		}
	}
	return probe
}

// probeList returns the probe of the list field name patched with elements.
func probeList(name string, elements []interface{}, meta strategicpatch.PatchMetaFromStruct) ([]interface{}, bool) {
	sub, patchMeta, err := meta.LookupPatchMetadataForSlice(name)
	if err != nil {
		return nil, false
	}
	elemMeta, ok := sub.(strategicpatch.PatchMetaFromStruct)
	if !ok {
		return nil, false
	}
	mergeKey := patchMeta.GetPatchMergeKey()
	if !isObjectType(elemMeta.T) {
		if value, ok := probeScalar(elemMeta.T); ok {
			return []interface{}{value}, true
		}
		return []interface{}{}, true
	}

	other := map[string]interface{}{}
	if mergeKey != "" {
		keySchema, _, err := elemMeta.LookupPatchMetadataForStruct(mergeKey)
		if keyMeta, ok := keySchema.(strategicpatch.PatchMetaFromStruct); err == nil && ok {
			if value, ok := probeScalar(keyMeta.T); ok {
				other[mergeKey] = value
			}
		}
	}
	list := []interface{}{other}
	if mergeKey == "" {
		return list, true
	}
	// The patch elements by merge key, in the order of their first
	// appearance.
	var keys []interface{}
	byKey := map[interface{}][]map[string]interface{}{}
	for _, e := range elements {
		m, ok := e.(map[string]interface{})
		if !ok {
			continue
		}
		key, ok := m[mergeKey]
		if !ok || !isScalar(key) {
			continue
		}
		if _, seen := byKey[key]; !seen {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], m)
	}
	for _, key := range keys {
		element := strategicMergeProbe(byKey[key], elemMeta)
		element[mergeKey] = key
		list = append(list, element)
	}
	return list, true
}

var jsonMarshaler = reflect.TypeOf((*json.Marshaler)(nil)).Elem()

// isObjectType tells a Go type encoded as a JSON object: a struct or a map
// without an encoding of its own.
func isObjectType(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		return false
	}
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}

// probeScalar returns a value of the JSON type of the scalar Go type t, as
// the merge code sees an object's values.
func probeScalar(t reflect.Type) (interface{}, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		return nil, false
	}
	switch t.Kind() {
	case reflect.String:
		return probeName, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(-1), true
	case reflect.Float32, reflect.Float64:
		return float64(-1), true
	case reflect.Bool:
		return false, true
	}
	return nil, false
}

// isScalar tells a JSON scalar: a merge key value that can be compared.
func isScalar(v interface{}) bool {
	switch v.(type) {
	case string, int64, float64, bool:
		return true
	}
	return false
}

type readCloser struct {
	io.Reader
	io.Closer
}
