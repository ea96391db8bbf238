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
	"context"
	"fmt"
	"slices"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// PetSetFinalizer is the finalizer the controller puts on every PetSet it
// manages. It keeps a deleted PetSet around until its pets are gone, deleted
// one at a time from the highest ordinal down (cascading deletion), or
// released (orphaning deletion, kubectl delete --cascade=orphan).
const PetSetFinalizer = appsv1alpha1.PetSetFinalizer

// finalizerControlInterface adds and removes PetSetFinalizer.
type finalizerControlInterface interface {
	// AddFinalizer adds PetSetFinalizer to set unless it is present or set
	// is being deleted. It returns the latest PetSet it knows of: as
	// written, as read from the API server after a conflict, or set.
	AddFinalizer(ctx context.Context, set *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error)
	// RemoveFinalizer removes PetSetFinalizer from set. A PetSet that is
	// gone is not an error.
	RemoveFinalizer(ctx context.Context, set *appsv1alpha1.PetSet) error
}

// realFinalizerControl implements finalizerControlInterface with updates of
// the main resource, retried on conflict against a fresh read from the API
// server.
type realFinalizerControl struct {
	client versioned.Interface
}

func newRealFinalizerControl(client versioned.Interface) *realFinalizerControl {
	return &realFinalizerControl{client: client}
}

func (fc *realFinalizerControl) AddFinalizer(ctx context.Context, set *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
	latest, written, err := fc.update(ctx, set, func(s *appsv1alpha1.PetSet) bool {
		if s.DeletionTimestamp != nil || hasFinalizer(s, PetSetFinalizer) {
			return false
		}
		s.Finalizers = append(s.Finalizers, PetSetFinalizer)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("add finalizer %s to PetSet %s/%s: %w", PetSetFinalizer, set.Namespace, set.Name, err)
	}
	if written {
		klog.FromContext(ctx).V(2).Info("Added finalizer", "petSet", klog.KObj(set), "finalizer", PetSetFinalizer)
	}
	return latest, nil
}

func (fc *realFinalizerControl) RemoveFinalizer(ctx context.Context, set *appsv1alpha1.PetSet) error {
	_, written, err := fc.update(ctx, set, func(s *appsv1alpha1.PetSet) bool {
		if !hasFinalizer(s, PetSetFinalizer) {
			return false
		}
		s.Finalizers = slices.DeleteFunc(slices.Clone(s.Finalizers), func(f string) bool { return f == PetSetFinalizer })
		return true
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove finalizer %s from PetSet %s/%s: %w", PetSetFinalizer, set.Namespace, set.Name, err)
	}
	if written {
		klog.FromContext(ctx).V(2).Info("Removed finalizer", "petSet", klog.KObj(set), "finalizer", PetSetFinalizer)
	}
	return nil
}

// update applies mutate to a copy of set and writes it if mutate reports a
// change. It returns the latest PetSet it knows of and whether it wrote. On a
// conflict it reads the PetSet from the API server and tries again; a PetSet
// replaced by another one with the same name counts as gone.
func (fc *realFinalizerControl) update(ctx context.Context, set *appsv1alpha1.PetSet, mutate func(*appsv1alpha1.PetSet) bool) (*appsv1alpha1.PetSet, bool, error) {
	current := set.DeepCopy()
	written := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !mutate(current) {
			return nil
		}
		updated, err := fc.client.AppsV1alpha1().PetSets(current.Namespace).Update(ctx, current, metav1.UpdateOptions{})
		if err == nil {
			current, written = updated, true
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, getErr := fc.client.AppsV1alpha1().PetSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		if fresh.UID != set.UID {
			return apierrors.NewNotFound(appsv1alpha1.Resource("petsets"), set.Name)
		}
		current = fresh
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return current, written, nil
}

var _ finalizerControlInterface = &realFinalizerControl{}
