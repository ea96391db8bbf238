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

package validation_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apis/apps/install"
	"github.com/petsets/petset/pkg/apis/apps/validation"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// FuzzDecodeDefaultValidateConvert takes arbitrary bytes through what the
// server does with the body of a create: decode them (JSON or YAML) as an
// apps/v1alpha1 PetSet, default it, convert it to the internal version and
// validate it. Nothing may panic, and a PetSet that validates
//   - is a valid update of itself;
//   - converts to v1alpha1 and back to the same internal PetSet, and the
//     defaulted v1alpha1 PetSet converts to internal and back unchanged;
//   - is a fixed point of storage: encoding it, decoding that and encoding
//     again gives the same bytes.
func FuzzDecodeDefaultValidateConvert(f *testing.F) {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	codecs := serializer.NewCodecFactory(scheme)
	deserializer := codecs.UniversalDeserializer()
	storageCodec := codecs.LegacyCodec(appsv1alpha1.SchemeGroupVersion)
	storageDecoder := codecs.UniversalDecoder(apps.SchemeGroupVersion)
	petSetKind := appsv1alpha1.SchemeGroupVersion.WithKind("PetSet")

	f.Add([]byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"serviceName":"nginx",` +
		`"template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx"}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, _, err := deserializer.Decode(data, &petSetKind, &appsv1alpha1.PetSet{})
		if err != nil {
			return
		}
		external, ok := obj.(*appsv1alpha1.PetSet)
		if !ok {
			return
		}
		scheme.Default(external)
		internal := &apps.PetSet{}
		if err := scheme.Convert(external, internal, nil); err != nil {
			t.Fatalf("converting a decoded PetSet to the internal version: %v", err)
		}
		// The request's namespace, as the handler sets it.
		if internal.Namespace == "" {
			internal.Namespace = metav1.NamespaceDefault
		}
		errs := validation.ValidatePetSet(internal)
		// An update of the PetSet as stored, changing nothing.
		stored := internal.DeepCopy()
		stored.ResourceVersion = "1"
		updateErrs := validation.ValidatePetSetUpdate(stored.DeepCopy(), stored)
		_ = validation.ValidatePetSetStatusUpdate(stored.DeepCopy(), stored)
		if len(errs) > 0 {
			return
		}
		if len(updateErrs) > 0 {
			t.Errorf("a valid PetSet is not a valid update of itself: %v", updateErrs.ToAggregate())
		}

		back := &appsv1alpha1.PetSet{}
		if err := scheme.Convert(internal, back, nil); err != nil {
			t.Fatalf("converting a valid PetSet to v1alpha1: %v", err)
		}
		again := &apps.PetSet{}
		if err := scheme.Convert(back, again, nil); err != nil {
			t.Fatalf("converting a valid PetSet back to the internal version: %v", err)
		}
		if !apiequality.Semantic.DeepEqual(internal, again) {
			t.Errorf("internal -> v1alpha1 -> internal changed the PetSet (-before +after):\n%s", cmp.Diff(internal, again))
		}
		external.TypeMeta, back.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
		external.Namespace = internal.Namespace
		if !apiequality.Semantic.DeepEqual(external, back) {
			t.Errorf("v1alpha1 -> internal -> v1alpha1 changed the PetSet (-before +after):\n%s", cmp.Diff(external, back))
		}

		encoded, err := runtime.Encode(storageCodec, internal)
		if err != nil {
			t.Fatalf("encoding a valid PetSet: %v", err)
		}
		read, err := runtime.Decode(storageDecoder, encoded)
		if err != nil {
			t.Fatalf("decoding a stored PetSet: %v\n%s", err, encoded)
		}
		reencoded, err := runtime.Encode(storageCodec, read)
		if err != nil {
			t.Fatalf("encoding a PetSet read back: %v", err)
		}
		if !bytes.Equal(encoded, reencoded) {
			t.Errorf("a stored PetSet reads back differently (-stored +read back):\n%s", cmp.Diff(string(encoded), string(reencoded)))
		}
	})
}
