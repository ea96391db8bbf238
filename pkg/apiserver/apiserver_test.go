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
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/endpoints/request"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/compatibility"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

func TestNewRefusesACompletedConfigNotMadeByComplete(t *testing.T) {
	tests := []struct {
		name   string
		config CompletedConfig
	}{
		{"the zero CompletedConfig", CompletedConfig{}},
		{"a CompletedConfig without its apply-patch check", CompletedConfig{&completedConfig{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			server, err := tc.config.New()
			if !errors.Is(err, errNotCompleted) {
				t.Errorf("New() error = %v, want %v", err, errNotCompleted)
			}
			if server != nil {
				t.Errorf("New() built a server from a configuration Complete did not make")
			}
		})
	}
}

// refusingConverter is a type converter for which no object fits the
// schema.
type refusingConverter struct{}

func (refusingConverter) ObjectToTyped(runtime.Object, ...typed.ValidationOptions) (*typed.TypedValue, error) {
	return nil, errors.New(".spec.bogus: field not declared in schema")
}

func (refusingConverter) TypedToObject(*typed.TypedValue) (runtime.Object, error) {
	return nil, errors.New("not implemented")
}

// TestCompletePutsTheApplyPatchCheckInTheHandlerChain checks that the
// handler chain of a completed configuration runs apply patches of PetSets
// through the check of the CompletedConfig, and nothing else.
func TestCompletePutsTheApplyPatchCheckInTheHandlerChain(t *testing.T) {
	const petSetBody = `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"bogus":1}}`
	petSets := &request.RequestInfo{IsResourceRequest: true, Verb: "patch", APIGroup: "apps", APIVersion: "v1alpha1", Resource: "petsets", Name: "web"}
	statefulSets := &request.RequestInfo{IsResourceRequest: true, Verb: "patch", APIGroup: "apps", APIVersion: "v1", Resource: "statefulsets", Name: "web"}
	tests := []struct {
		name        string
		info        *request.RequestInfo
		contentType string
		wantCode    int
		wantHandled bool
	}{
		{"an apply patch of a PetSet that does not fit the schema is refused with 400", petSets, string(types.ApplyYAMLPatchType), http.StatusBadRequest, false},
		{"a merge patch of a PetSet reaches the API handler", petSets, string(types.MergePatchType), http.StatusOK, true},
		{"an apply patch of another resource reaches the API handler", statefulSets, string(types.ApplyYAMLPatchType), http.StatusOK, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{GenericConfig: genericapiserver.NewRecommendedConfig(Codecs)}
			cfg.GenericConfig.ExternalAddress = "127.0.0.1:8443"
			cfg.GenericConfig.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
			cfg.GenericConfig.BuildHandlerChainFunc = func(h http.Handler, _ *genericapiserver.Config) http.Handler { return h }
			completed := cfg.Complete()
			if completed.applyGuard == nil {
				t.Fatal("Complete made a CompletedConfig without the apply-patch check")
			}
			// New sets the converter from the group's schema.
			completed.applyGuard.setTypeConverter(refusingConverter{})

			handled := false
			api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				handled = true
				w.WriteHeader(http.StatusOK)
			})
			chain := completed.GenericConfig.BuildHandlerChainFunc(api, completed.GenericConfig.Config)

			req := httptest.NewRequest(http.MethodPatch, "/apis/apps/v1alpha1/namespaces/default/petsets/web", strings.NewReader(petSetBody))
			req.Header.Set("Content-Type", tc.contentType)
			req = req.WithContext(request.WithRequestInfo(req.Context(), tc.info))
			rec := httptest.NewRecorder()
			chain.ServeHTTP(rec, req)

			if diff := cmp.Diff([]any{tc.wantCode, tc.wantHandled}, []any{rec.Code, handled}); diff != "" {
				t.Errorf("code and whether the API handler ran (-want +got):\n%s\nbody: %s", diff, rec.Body)
			}
		})
	}
}
