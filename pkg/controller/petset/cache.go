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

package petset

import (
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// CacheTransform is the transform of the controller's informers: it trims
// each object to what the controller reads before the object is cached.
//
//   - Managed fields are dropped from every object: the controller never
//     reads them, and they are often the largest part of the metadata.
//   - A pod or ControllerRevision whose controller is not a PetSet keeps only
//     its metadata (and a revision its number). The controller reads such an
//     object only through its metadata: the event handlers look at its
//     ownerReferences, labels and name, and the controller index files it
//     under its controller, which no PetSet sync ever asks for. Pods holding
//     a pet's name are read from the API server. In a cluster of Deployments
//     and StatefulSets this keeps the cache from holding a full copy of every
//     pod spec and every template history.
//
// Orphans (no controller) and objects a PetSet controls are kept whole: a
// sync may adopt the former and reads the latter. An object whose controller
// changes arrives again through the watch and is trimmed (or not) anew.
// Claims are kept whole: a pet's claim is read by name, whoever controls it.
func CacheTransform(obj any) (any, error) {
	if accessor, err := meta.Accessor(obj); err == nil && accessor.GetManagedFields() != nil {
		accessor.SetManagedFields(nil)
	}
	switch o := obj.(type) {
	case *v1.Pod:
		if controlledByOtherKind(o) {
			return &v1.Pod{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta}, nil
		}
	case *appsv1.ControllerRevision:
		if controlledByOtherKind(o) {
			return &appsv1.ControllerRevision{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Revision: o.Revision}, nil
		}
	}
	return obj, nil
}

// controlledByOtherKind reports whether obj has a controller that is not a
// PetSet.
func controlledByOtherKind(obj metav1.Object) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && !isPetSetRef(ref)
}

// isPetSetRef reports whether ref points to a PetSet, of any version of the
// group.
func isPetSetRef(ref *metav1.OwnerReference) bool {
	if ref.Kind != controllerKind.Kind {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == controllerKind.Group
}
