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

package install

import (
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	appsfuzzer "github.com/petsets/petset/pkg/apis/apps/fuzzer"
	"github.com/petsets/petset/pkg/apis/apps/v1alpha1"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/randfill"
)

func newScheme() (*runtime.Scheme, runtimeserializer.CodecFactory) {
	scheme := runtime.NewScheme()
	Install(scheme)
	return scheme, runtimeserializer.NewCodecFactory(scheme)
}

func newFuzzer(t *testing.T, codecs runtimeserializer.CodecFactory) *randfill.Filler {
	seed := rand.Int63()
	t.Logf("fuzzer seed: %d", seed)
	return fuzzer.FuzzerFor(fuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, appsfuzzer.Funcs), rand.NewSource(seed), codecs)
}

// TestRoundTripTypes fuzzes the internal types and round-trips them through
// v1alpha1 and JSON (decoding with defaults, as the API server does).
func TestRoundTripTypes(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, Install, appsfuzzer.Funcs)
}

// TestRoundTripProtobufTypes fuzzes the internal types and round-trips them
// through v1alpha1 and protobuf, the encoding of stored PetSets, as well as
// JSON.
func TestRoundTripProtobufTypes(t *testing.T) {
	roundtrip.RoundTripProtobufTestForAPIGroup(t, Install, appsfuzzer.Funcs)
}

// TestRoundTripExternalTypes fuzzes the v1alpha1 types and round-trips them
// through JSON and protobuf.
func TestRoundTripExternalTypes(t *testing.T) {
	scheme, codecs := newScheme()
	roundtrip.RoundTripExternalTypes(t, scheme, codecs, newFuzzer(t, codecs), nil)
}

// TestRoundTripToUnstructured round-trips the v1alpha1 types through
// unstructured objects, with JSON and CBOR (what dynamic clients, server-side
// apply and admission webhooks see). The kinds without an internal version
// (the meta/v1 options registered in every group version) are fuzzed as
// they are.
func TestRoundTripToUnstructured(t *testing.T) {
	scheme, _ := newScheme()
	noInternal := sets.New[schema.GroupVersionKind]()
	for gvk := range scheme.AllKnownTypes() {
		if gvk.Version != runtime.APIVersionInternal && !scheme.Recognizes(gvk.GroupKind().WithVersion(runtime.APIVersionInternal)) {
			noInternal.Insert(gvk)
		}
	}
	roundtrip.RoundtripToUnstructured(t, scheme, appsfuzzer.Funcs, nil, noInternal)
}

// TestRoundTripYAML fuzzes the internal types and round-trips them through
// v1alpha1 and YAML, decoding with defaults.
func TestRoundTripYAML(t *testing.T) {
	scheme, codecs := newScheme()
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeYAML)
	if !ok {
		t.Fatalf("no serializer for %s", runtime.ContentTypeYAML)
	}
	codec := codecs.CodecForVersions(info.Serializer, codecs.UniversalDeserializer(), v1alpha1.SchemeGroupVersion, runtime.InternalGroupVersioner)
	filler := newFuzzer(t, codecs)

	for _, kind := range []string{"PetSet", "PetSetList"} {
		t.Run(kind, func(t *testing.T) {
			for i := 0; i < *roundtrip.FuzzIters; i++ {
				obj, err := scheme.New(apps.SchemeGroupVersion.WithKind(kind))
				if err != nil {
					t.Fatal(err)
				}
				filler.Fill(obj)
				obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})

				data, err := runtime.Encode(codec, obj)
				if err != nil {
					t.Fatalf("encoding: %v", err)
				}
				decoded, err := runtime.Decode(codec, data)
				if err != nil {
					t.Fatalf("decoding: %v\n%s", err, data)
				}
				if !apiequality.Semantic.DeepEqual(obj, decoded) {
					t.Fatalf("round trip changed the object (-original +decoded):\n%s\nYAML:\n%s", cmp.Diff(obj, decoded), data)
				}
			}
		})
	}
}

// TestInstall checks the registration: both versions of both kinds, with
// v1alpha1 preferred, and the defaults run on decode.
func TestInstall(t *testing.T) {
	scheme, codecs := newScheme()
	for _, gvk := range []schema.GroupVersionKind{
		apps.SchemeGroupVersion.WithKind("PetSet"),
		apps.SchemeGroupVersion.WithKind("PetSetList"),
		v1alpha1.SchemeGroupVersion.WithKind("PetSet"),
		v1alpha1.SchemeGroupVersion.WithKind("PetSetList"),
	} {
		if !scheme.Recognizes(gvk) {
			t.Errorf("%v is not registered", gvk)
		}
	}
	if got, want := scheme.PrioritizedVersionsForGroup(apps.GroupName), []schema.GroupVersion{v1alpha1.SchemeGroupVersion}; !cmp.Equal(got, want) {
		t.Errorf("prioritized versions = %v, want %v", got, want)
	}
	if got, want := v1alpha1.SchemeGroupVersion, appsv1alpha1.SchemeGroupVersion; got != want {
		t.Errorf("registered version %v differs from the external types' %v", got, want)
	}

	data := []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},` +
		`"spec":{"serviceName":"nginx","template":{"metadata":{"labels":{"app":"nginx"}},` +
		`"spec":{"containers":[{"name":"nginx","image":"nginx"}]}}}}`)
	obj, gvk, err := codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if want := apps.SchemeGroupVersion.WithKind("PetSet"); *gvk != v1alpha1.SchemeGroupVersion.WithKind("PetSet") {
		t.Errorf("decoded kind %v, want the v1alpha1 kind of %v", gvk, want)
	}
	petSet, ok := obj.(*apps.PetSet)
	if !ok {
		t.Fatalf("decoded a %T, want an internal PetSet", obj)
	}
	if petSet.Spec.Replicas != 1 || petSet.Spec.Selector == nil || petSet.Spec.Template.Spec.RestartPolicy == "" {
		t.Errorf("the decoded PetSet was not defaulted: %+v", petSet.Spec)
	}
}
