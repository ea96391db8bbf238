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

// +k8s:conversion-gen=github.com/petsets/petset/pkg/apis/apps
// +k8s:conversion-gen-external-types=github.com/petsets/api/apps/v1alpha1
// +k8s:defaulter-gen=TypeMeta
// +k8s:defaulter-gen-input=github.com/petsets/api/apps/v1alpha1
// +groupName=apps

// Package v1alpha1 registers the external apps/v1alpha1 PetSet types with
// their conversions to the internal version and their defaults.
package v1alpha1 // import "github.com/petsets/petset/pkg/apis/apps/v1alpha1"
