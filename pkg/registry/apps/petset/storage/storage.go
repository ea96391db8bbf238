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

// Package storage serves PetSets from etcd: the main resource, /status and
// /scale, all backed by one genericregistry.Store.
package storage

import (
	"context"
	"fmt"

	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/registry/apps/petset"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// PetSetStorage holds the REST storage of the PetSet resource and its
// subresources.
type PetSetStorage struct {
	PetSet *REST
	Status *StatusREST
	Scale  *ScaleREST
}

// NewStorage returns the storage of PetSets, /status and /scale.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, opts petset.Options) (PetSetStorage, error) {
	strategy := petset.NewStrategy(scheme, opts)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &apps.PetSet{} },
		NewListFunc:               func() runtime.Object { return &apps.PetSetList{} },
		PredicateFunc:             petset.MatchPetSet,
		DefaultQualifiedResource:  apps.Resource("petsets"),
		SingularQualifiedResource: apps.Resource("petset"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: tableConvertor{},
	}
	options := &generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: petset.GetAttrs}
	if err := store.CompleteWithOptions(options); err != nil {
		return PetSetStorage{}, fmt.Errorf("completing the PetSet store: %w", err)
	}

	statusStrategy := petset.NewStatusStrategy(strategy)
	statusStore := *store
	statusStore.UpdateStrategy = statusStrategy
	statusStore.ResetFieldsStrategy = statusStrategy

	return PetSetStorage{
		PetSet: &REST{store},
		Status: &StatusREST{store: &statusStore},
		Scale:  &ScaleREST{store: store},
	}, nil
}

// REST serves the PetSet resource.
type REST struct {
	*genericregistry.Store
}

var _ rest.CategoriesProvider = &REST{}

// Categories puts PetSets in `kubectl get all`.
func (r *REST) Categories() []string {
	return []string{"all"}
}

// StatusREST serves the /status subresource: it changes only the status.
type StatusREST struct {
	store *genericregistry.Store
}

var _ rest.Patcher = &StatusREST{}

// New returns an empty PetSet.
func (r *StatusREST) New() runtime.Object { return &apps.PetSet{} }

// Destroy does nothing: the main resource owns the store.
func (r *StatusREST) Destroy() {}

// Get returns the PetSet.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update changes the status of a PetSet.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create the object.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields lists the fields server-side apply resets on /status.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable renders the PetSet as a table.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// replicasPaths maps each served version to the field /scale writes, so
// that server-side apply tracks who owns spec.replicas through /scale.
var replicasPaths = managedfields.ResourcePathMappings{
	schema.GroupVersion{Group: apps.GroupName, Version: "v1alpha1"}.String(): fieldpath.MakePathOrDie("spec", "replicas"),
}

// ScaleREST serves the /scale subresource as an autoscaling/v1 Scale, so
// `kubectl scale petset` and a HorizontalPodAutoscaler work.
type ScaleREST struct {
	store *genericregistry.Store
}

var _ rest.Patcher = &ScaleREST{}
var _ rest.GroupVersionKindProvider = &ScaleREST{}

// GroupVersionKind is autoscaling/v1 Scale for every version.
func (r *ScaleREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return autoscalingv1.SchemeGroupVersion.WithKind("Scale")
}

// New returns an empty Scale.
func (r *ScaleREST) New() runtime.Object { return &autoscalingv1.Scale{} }

// Destroy does nothing: the main resource owns the store.
func (r *ScaleREST) Destroy() {}

// Get returns the Scale of a PetSet.
func (r *ScaleREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return scaleFromPetSet(obj.(*apps.PetSet))
}

// Update changes spec.replicas of a PetSet through its Scale.
func (r *ScaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	obj, _, err := r.store.Update(ctx, name,
		&scaleUpdatedObjectInfo{name: name, reqObjInfo: objInfo},
		toScaleCreateValidation(createValidation),
		toScaleUpdateValidation(updateValidation),
		false, options)
	if err != nil {
		return nil, false, err
	}
	scale, err := scaleFromPetSet(obj.(*apps.PetSet))
	if err != nil {
		return nil, false, err
	}
	return scale, false, nil
}

// ConvertToTable renders the Scale as a table.
func (r *ScaleREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return rest.NewDefaultTableConvertor(apps.Resource("petsets/scale")).ConvertToTable(ctx, object, tableOptions)
}

func toScaleCreateValidation(f rest.ValidateObjectFunc) rest.ValidateObjectFunc {
	return func(ctx context.Context, obj runtime.Object) error {
		scale, err := scaleFromPetSet(obj.(*apps.PetSet))
		if err != nil {
			return err
		}
		return f(ctx, scale)
	}
}

func toScaleUpdateValidation(f rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		newScale, err := scaleFromPetSet(obj.(*apps.PetSet))
		if err != nil {
			return err
		}
		oldScale, err := scaleFromPetSet(old.(*apps.PetSet))
		if err != nil {
			return err
		}
		return f(ctx, newScale, oldScale)
	}
}

// scaleFromPetSet returns the Scale of a PetSet; status.selector is the
// selector in string form, which a HorizontalPodAutoscaler needs.
func scaleFromPetSet(petSet *apps.PetSet) (*autoscalingv1.Scale, error) {
	selector, err := metav1.LabelSelectorAsSelector(petSet.Spec.Selector)
	if err != nil {
		return nil, errors.NewBadRequest(fmt.Sprintf("PetSet %s has an invalid selector: %v", petSet.Name, err))
	}
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name:              petSet.Name,
			Namespace:         petSet.Namespace,
			UID:               petSet.UID,
			ResourceVersion:   petSet.ResourceVersion,
			CreationTimestamp: petSet.CreationTimestamp,
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: petSet.Spec.Replicas},
		Status: autoscalingv1.ScaleStatus{Replicas: petSet.Status.Replicas, Selector: selector.String()},
	}, nil
}

// validateScale checks what a Scale may carry: a non-negative replica count.
func validateScale(scale *autoscalingv1.Scale) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(int64(scale.Spec.Replicas), field.NewPath("spec", "replicas"))
}

// scaleUpdatedObjectInfo turns an update of a Scale into an update of the
// PetSet it belongs to, carrying the managed fields across.
type scaleUpdatedObjectInfo struct {
	name       string
	reqObjInfo rest.UpdatedObjectInfo
}

func (i *scaleUpdatedObjectInfo) Preconditions() *metav1.Preconditions {
	return i.reqObjInfo.Preconditions()
}

func (i *scaleUpdatedObjectInfo) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	petSet, ok := oldObj.DeepCopyObject().(*apps.PetSet)
	if !ok {
		return nil, errors.NewBadRequest(fmt.Sprintf("expected the existing object to be a PetSet, got %T", oldObj))
	}
	if len(petSet.ResourceVersion) == 0 {
		return nil, errors.NewNotFound(apps.Resource("petsets/scale"), i.name)
	}

	groupVersion := schema.GroupVersion{Group: apps.GroupName, Version: "v1alpha1"}
	if info, found := genericapirequest.RequestInfoFrom(ctx); found {
		requested := schema.GroupVersion{Group: info.APIGroup, Version: info.APIVersion}
		if _, ok := replicasPaths[requested.String()]; !ok {
			return nil, errors.NewBadRequest(fmt.Sprintf("scale is not served for %s", requested))
		}
		groupVersion = requested
	}

	managedFields := managedfields.NewScaleHandler(petSet.ManagedFields, groupVersion, replicasPaths)
	oldScale, err := scaleFromPetSet(petSet)
	if err != nil {
		return nil, err
	}
	if oldScale.ManagedFields, err = managedFields.ToSubresource(); err != nil {
		return nil, fmt.Errorf("converting managed fields to the scale subresource: %w", err)
	}

	newScaleObj, err := i.reqObjInfo.UpdatedObject(ctx, oldScale)
	if err != nil {
		return nil, err
	}
	if newScaleObj == nil {
		return nil, errors.NewBadRequest("nil update passed to Scale")
	}
	scale, ok := newScaleObj.(*autoscalingv1.Scale)
	if !ok {
		return nil, errors.NewBadRequest(fmt.Sprintf("expected the input object to be a Scale, got %T", newScaleObj))
	}
	if errs := validateScale(scale); len(errs) > 0 {
		return nil, errors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), petSet.Name, errs)
	}
	if len(scale.UID) > 0 && scale.UID != petSet.UID {
		return nil, errors.NewConflict(apps.Resource("petsets/scale"), petSet.Name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", scale.UID, petSet.UID))
	}

	petSet.Spec.Replicas = scale.Spec.Replicas
	petSet.ResourceVersion = scale.ResourceVersion
	if petSet.ManagedFields, err = managedFields.ToParent(scale.ManagedFields); err != nil {
		return nil, fmt.Errorf("converting managed fields back to the PetSet: %w", err)
	}
	return petSet, nil
}
