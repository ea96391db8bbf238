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

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// statusUpdaterInterface writes a PetSet's status through the /status
// subresource.
type statusUpdaterInterface interface {
	// UpdatePetSetStatus sets set's status to status. Implementations retry
	// on conflicts and fail on other errors.
	UpdatePetSetStatus(ctx context.Context, set *appsv1alpha1.PetSet, status *appsv1alpha1.PetSetStatus) error
}

// realStatusUpdater implements statusUpdaterInterface with the PetSet
// clientset. On a conflict it reads the PetSet again from the API server (not
// the cache, which is what was stale) and reapplies the status.
type realStatusUpdater struct {
	client versioned.Interface
}

func newRealStatusUpdater(client versioned.Interface) *realStatusUpdater {
	return &realStatusUpdater{client: client}
}

func (u *realStatusUpdater) UpdatePetSetStatus(ctx context.Context, set *appsv1alpha1.PetSet, status *appsv1alpha1.PetSetStatus) error {
	logger := klog.FromContext(ctx)
	toUpdate := set.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		toUpdate.Status = *status.DeepCopy()
		_, err := u.client.AppsV1alpha1().PetSets(toUpdate.Namespace).UpdateStatus(ctx, toUpdate, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			return err
		}
		fresh, getErr := u.client.AppsV1alpha1().PetSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		if fresh.UID != set.UID {
			return apierrors.NewNotFound(appsv1alpha1.Resource("petsets"), set.Name)
		}
		if apiequality.Semantic.DeepEqual(fresh.Status, *status) {
			return nil
		}
		logger.V(4).Info("Conflict updating PetSet status, retrying", "petSet", klog.KObj(set))
		toUpdate = fresh.DeepCopy()
		return err
	})
	if err != nil {
		return fmt.Errorf("update status of PetSet %s/%s: %w", set.Namespace, set.Name, err)
	}
	return nil
}

var _ statusUpdaterInterface = &realStatusUpdater{}
