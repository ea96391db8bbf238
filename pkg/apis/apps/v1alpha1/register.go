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

package v1alpha1

import (
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group PetSet is served in.
const GroupName = appsv1alpha1.GroupName

// SchemeGroupVersion is the group version used to register these objects.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

var (
	localSchemeBuilder = &appsv1alpha1.SchemeBuilder
	// AddToScheme adds the external types, their conversions and their
	// defaulting functions to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func init() {
	// The generated conversion and defaulting functions register themselves
	// in their own files; this registers the hand-written ones.
	localSchemeBuilder.Register(addDefaultingFuncs)
}
