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
	"io"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/petsets/petset/pkg/apis/apps"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"sigs.k8s.io/yaml"
)

// applyPatchGuard refuses server-side apply patches of PetSets, their status
// and their scale whose fields do not fit the schema (an undeclared field, a
// string where a number belongs) with 400 Bad Request. The generic apply
// handler of k8s.io/apiserver reports exactly these as 500 Internal Server
// Error; the guard checks the patch with the same type converter first.
// Everything else passes through untouched.
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
		if tc == nil || !isPetSetApply(r) {
			next.ServeHTTP(w, r)
			return
		}
		// The same limit the handler applies; none when it has none.
		var reader io.Reader = r.Body
		if g.maxBodyBytes > 0 {
			reader = io.LimitReader(r.Body, g.maxBodyBytes+1)
		}
		body, err := io.ReadAll(reader)
		if err != nil || (g.maxBodyBytes > 0 && int64(len(body)) > g.maxBodyBytes) {
			// Let the handler read (and refuse) the whole body.
			r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
			next.ServeHTTP(w, r)
			return
		}
		r.Body = readCloser{bytes.NewReader(body), r.Body}
		if statusErr := checkApplyPatch(*tc, body); statusErr != nil {
			responsewriters.ErrorNegotiated(statusErr, Codecs, schema.GroupVersion{Group: apps.GroupName, Version: "v1alpha1"}, w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isPetSetApply tells an apply patch of a PetSet or one of its subresources.
func isPetSetApply(r *http.Request) bool {
	info, ok := request.RequestInfoFrom(r.Context())
	if !ok || !info.IsResourceRequest || info.Verb != "patch" ||
		info.APIGroup != apps.GroupName || info.Resource != "petsets" {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == string(types.ApplyYAMLPatchType)
}

// checkApplyPatch returns a 400 error when body, a YAML or JSON object, has
// fields outside the schema of its apiVersion and kind. Bodies the handler
// refuses by itself (not an object, no or an unknown kind) pass.
func checkApplyPatch(tc managedfields.TypeConverter, body []byte) error {
	var obj map[string]interface{}
	if err := yaml.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil
	}
	u := &unstructured.Unstructured{Object: obj}
	if u.GetKind() == "" || u.GetAPIVersion() == "" {
		return nil
	}
	if _, err := tc.ObjectToTyped(u); err != nil {
		if isUnknownKind(err) {
			return nil
		}
		return apierrors.NewBadRequest("the apply patch does not fit the schema of " + u.GroupVersionKind().String() + ": " + err.Error())
	}
	return nil
}

// isUnknownKind tells the converter's error for a kind it has no schema for
// (managedfields does not export its type); the handler reports those
// itself.
func isUnknownKind(err error) bool {
	return strings.HasPrefix(err.Error(), "no corresponding type for")
}

type readCloser struct {
	io.Reader
	io.Closer
}
