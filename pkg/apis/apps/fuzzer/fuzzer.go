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

// Package fuzzer provides the fuzzer functions of the apps group, for the
// round-trip tests.
package fuzzer

import (
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apis/apps/v1alpha1"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
)

// Funcs returns the fuzzer functions of the apps group.
//
// A round trip decodes with defaulting, so a fuzzed internal PetSet must
// already look like a defaulted one: replicas and selector set as the
// defaults would set them, and the pod template and claim templates carrying
// the Kubernetes core defaults. The internal types embed the core/v1 pod
// template, so instead of restating those defaults field by field the fuzzer
// applies the real defaulter to the fuzzed object.
var Funcs = func(codecs runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(p *apps.PetSet, c randfill.Continue) {
			c.FillNoCustom(p) // fuzz self without calling this function again
			setDefaults(p)
		},
	}
}

// setDefaults applies the v1alpha1 defaults to an internal PetSet. The
// conversions between the two versions are plain copies and cannot fail; if
// one ever did, the object is left as it is and the round trip reports it.
func setDefaults(p *apps.PetSet) {
	external := &appsv1alpha1.PetSet{}
	if err := v1alpha1.Convert_apps_PetSet_To_v1alpha1_PetSet(p, external, nil); err != nil {
		return
	}
	v1alpha1.SetObjectDefaults_PetSet(external)
	defaulted := &apps.PetSet{}
	if err := v1alpha1.Convert_v1alpha1_PetSet_To_apps_PetSet(external, defaulted, nil); err != nil {
		return
	}
	*p = *defaulted
}
