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

package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetclient "github.com/petsets/client-go/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// changeCauseAnnotation is the annotation kubectl shows as CHANGE-CAUSE.
const changeCauseAnnotation = "kubernetes.io/change-cause"

// getPetSet reads the PetSet name of ns, with kubectl's message when it
// does not exist.
func getPetSet(ctx context.Context, client petsetclient.Interface, ns, name string) (*appsv1alpha1.PetSet, error) {
	set, err := client.AppsV1alpha1().PetSets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("petsets.apps %q not found in namespace %q", name, ns)
	}
	return set, err
}

// selectorOf returns the PetSet's label selector; a missing or empty one is
// an error, as it would select every object of the namespace.
func selectorOf(set *appsv1alpha1.PetSet) (labels.Selector, error) {
	if set.Spec.Selector == nil {
		return nil, fmt.Errorf("petset %q has no selector", set.Name)
	}
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("petset %q has an invalid selector: %w", set.Name, err)
	}
	if selector.Empty() {
		return nil, fmt.Errorf("petset %q has an empty selector", set.Name)
	}
	return selector, nil
}

// listRevisions returns the ControllerRevisions set controls (those its
// selector matches with a controller ownerReference to its UID, as the
// controller and kubectl find a StatefulSet's), sorted by revision number,
// then name.
func listRevisions(ctx context.Context, kube kubernetes.Interface, set *appsv1alpha1.PetSet) ([]*appsv1.ControllerRevision, error) {
	selector, err := selectorOf(set)
	if err != nil {
		return nil, err
	}
	list, err := kube.AppsV1().ControllerRevisions(set.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the revisions of petset %q: %w", set.Name, err)
	}
	var revisions []*appsv1.ControllerRevision
	for i := range list.Items {
		rev := &list.Items[i]
		if ref := metav1.GetControllerOfNoCopy(rev); ref != nil && ref.UID == set.UID {
			revisions = append(revisions, rev)
		}
	}
	slices.SortFunc(revisions, func(a, b *appsv1.ControllerRevision) int {
		if a.Revision != b.Revision {
			if a.Revision < b.Revision {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return revisions, nil
}

// revisionTemplate decodes the pod template a revision holds: its data is
// {"spec":{"template":{...}}}, as apps/v1's for StatefulSets.
func revisionTemplate(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	raw := rev.Data.Raw
	if raw == nil && rev.Data.Object != nil {
		var err error
		if raw, err = json.Marshal(rev.Data.Object); err != nil {
			return nil, fmt.Errorf("encoding revision %s: %w", rev.Name, err)
		}
	}
	var data struct {
		Spec struct {
			Template *corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("decoding revision %s: %w", rev.Name, err)
	}
	if data.Spec.Template == nil {
		return nil, fmt.Errorf("revision %s holds no pod template", rev.Name)
	}
	return data.Spec.Template, nil
}

// holdsTemplate reports whether rev holds the PetSet's current template:
// it is the update revision the controller recorded for the PetSet's
// current generation (the controller compares templates with the server's
// defaults applied, so that a revision written by another server version
// still matches), or its template is semantically the PetSet's.
func holdsTemplate(set *appsv1alpha1.PetSet, rev *appsv1.ControllerRevision, template *corev1.PodTemplateSpec) bool {
	if observed(set) && set.Status.UpdateRevision == rev.Name {
		return true
	}
	return apiequality.Semantic.DeepEqual(template, &set.Spec.Template)
}

// findRevision returns the revision with the given number, or nil.
func findRevision(revisions []*appsv1.ControllerRevision, number int64) *appsv1.ControllerRevision {
	for _, rev := range revisions {
		if rev.Revision == number {
			return rev
		}
	}
	return nil
}

// revisionNumbers lists the numbers of revisions, for messages.
func revisionNumbers(revisions []*appsv1.ControllerRevision) string {
	numbers := make([]string, 0, len(revisions))
	for _, rev := range revisions {
		numbers = append(numbers, strconv.FormatInt(rev.Revision, 10))
	}
	return strings.Join(numbers, ", ")
}
