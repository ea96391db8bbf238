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

// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=com.github.petsets.api.apps.v1alpha1
// +groupName=apps

// Package v1alpha1 is the v1alpha1 version of the PetSet API in the apps
// group: the Kubernetes 1.3/1.4 resource that manages stateful pods with
// stable identities.
package v1alpha1 // import "github.com/petsets/api/apps/v1alpha1"
