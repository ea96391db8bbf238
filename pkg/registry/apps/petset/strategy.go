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

// Package petset holds the registry strategies of the PetSet resource: what
// happens to an object on create, update, status update and delete before it
// reaches storage.
package petset

import (
	"context"
	"fmt"
	"slices"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apis/apps/validation"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Options tune the strategy to the server it runs in.
type Options struct {
	// ControllerFinalizer puts the controller's finalizer on every PetSet
	// created with replicas. Only a server that runs the PetSet controller
	// sets it:
	// nothing else would ever remove the finalizer. It spares every new
	// PetSet the controller's extra update to add it.
	ControllerFinalizer bool
}

// strategy implements the create, update and delete behaviour of PetSets.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	opts Options
}

// NewStrategy returns the strategy of the main PetSet resource.
func NewStrategy(typer runtime.ObjectTyper, opts Options) strategy {
	return strategy{typer, names.SimpleNameGenerator, opts}
}

var _ rest.RESTCreateStrategy = strategy{}
var _ rest.RESTUpdateStrategy = strategy{}
var _ rest.RESTDeleteStrategy = strategy{}
var _ rest.GarbageCollectionDeleteStrategy = strategy{}
var _ rest.ResetFieldsStrategy = strategy{}

// DefaultGarbageCollectionPolicy makes a delete without a propagation policy
// cascade to the pets, as deleting a PetSet scales it down in the guide.
func (strategy) DefaultGarbageCollectionPolicy(context.Context) rest.GarbageCollectionPolicy {
	return rest.DeleteDependents
}

func (strategy) NamespaceScoped() bool { return true }

// GetResetFields lists the fields the main resource never writes: the status
// belongs to the /status subresource.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"apps/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// PrepareForCreate clears the status, starts the generation at 1 and, in a
// server that runs the controller, adds the controller's finalizer to a
// PetSet that asks for pets (one created with no replicas gets it from the
// controller before its first pet).
func (s strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	petSet := obj.(*apps.PetSet)
	petSet.Status = apps.PetSetStatus{}
	petSet.Generation = 1
	if s.opts.ControllerFinalizer && petSet.Spec.Replicas > 0 && !slices.Contains(petSet.Finalizers, appsv1alpha1.PetSetFinalizer) {
		petSet.Finalizers = append(petSet.Finalizers, appsv1alpha1.PetSetFinalizer)
	}
}

// PrepareForUpdate keeps the stored status and bumps the generation when,
// and only when, the spec changes.
func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newPetSet := obj.(*apps.PetSet)
	oldPetSet := old.(*apps.PetSet)
	newPetSet.Status = oldPetSet.Status
	if !apiequality.Semantic.DeepEqual(newPetSet.Spec, oldPetSet.Spec) {
		newPetSet.Generation = oldPetSet.Generation + 1
	}
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidatePetSet(obj.(*apps.PetSet))
}

// WarningsOnCreate reminds the user that every PetSet needs a governing
// Service: without one its pets get no DNS names.
func (strategy) WarningsOnCreate(_ context.Context, obj runtime.Object) []string {
	petSet := obj.(*apps.PetSet)
	if petSet.Spec.ServiceName == "" {
		return []string{fmt.Sprintf("%s: empty: every PetSet needs a governing headless Service for the network identity of its pets", field.NewPath("spec", "serviceName"))}
	}
	return nil
}

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePetSetUpdate(obj.(*apps.PetSet), old.(*apps.PetSet))
}

func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// statusStrategy implements updates through the /status subresource.
type statusStrategy struct {
	strategy
}

// NewStatusStrategy returns the strategy of the /status subresource.
func NewStatusStrategy(s strategy) statusStrategy {
	return statusStrategy{s}
}

// GetResetFields lists the fields /status never writes: the spec.
func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"apps/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec")),
	}
}

// PrepareForUpdate keeps the stored spec: /status changes only the status
// (and the metadata any update may change).
func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newPetSet := obj.(*apps.PetSet)
	oldPetSet := old.(*apps.PetSet)
	newPetSet.Spec = oldPetSet.Spec
}

func (statusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePetSetStatusUpdate(obj.(*apps.PetSet), old.(*apps.PetSet))
}

func (statusStrategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// GetAttrs returns the labels and fields of a PetSet for filtering.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	petSet, ok := obj.(*apps.PetSet)
	if !ok {
		return nil, nil, fmt.Errorf("given object is not a PetSet: %T", obj)
	}
	return labels.Set(petSet.Labels), generic.ObjectMetaFieldsSet(&petSet.ObjectMeta, true), nil
}

// MatchPetSet is the filter used by list and watch: labels and the
// metadata.name and metadata.namespace fields.
func MatchPetSet(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{
		Label:    label,
		Field:    field,
		GetAttrs: GetAttrs,
	}
}
