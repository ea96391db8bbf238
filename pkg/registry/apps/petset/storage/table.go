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

package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/petsets/petset/pkg/apis/apps"
	"k8s.io/apimachinery/pkg/api/meta"
	metatable "k8s.io/apimachinery/pkg/api/meta/table"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

// tableConvertor renders PetSets for `kubectl get`: the columns of the
// PetSet guide (NAME DESIRED CURRENT AGE) with READY before AGE, and with -o
// wide the containers, images and selector.
type tableConvertor struct{}

var _ rest.TableConvertor = tableConvertor{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Desired", Type: "integer", Description: "The desired number of pets."},
	{Name: "Current", Type: "integer", Description: "The number of pets that exist."},
	{Name: "Ready", Type: "integer", Description: "The number of pets that are Running and Ready."},
	{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the pod template."},
	{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the pod template."},
	{Name: "Selector", Type: "string", Priority: 1, Description: "The label selector of the pets."},
}

// ConvertToTable converts a PetSet or a PetSetList to a table.
func (tableConvertor) ConvertToTable(_ context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	opts, ok := tableOptions.(*metav1.TableOptions)
	if !ok || !opts.NoHeaders {
		table.ColumnDefinitions = columns
	}
	if m, err := meta.ListAccessor(object); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
		table.Continue = m.GetContinue()
		table.RemainingItemCount = m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(object); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}

	var err error
	table.Rows, err = metatable.MetaToTableRow(object, func(obj runtime.Object, _ metav1.Object, _, age string) ([]interface{}, error) {
		petSet, ok := obj.(*apps.PetSet)
		if !ok {
			return nil, fmt.Errorf("cannot show %T as a PetSet", obj)
		}
		return petSetCells(petSet, age), nil
	})
	if err != nil {
		return nil, err
	}
	return table, nil
}

func petSetCells(petSet *apps.PetSet, age string) []interface{} {
	containers := petSet.Spec.Template.Spec.Containers
	names := make([]string, 0, len(containers))
	images := make([]string, 0, len(containers))
	for _, c := range containers {
		names = append(names, c.Name)
		images = append(images, c.Image)
	}
	// A nil selector converts to labels.Nothing(), which is not Empty() but
	// prints as "" just like an empty one: test the string, not Empty().
	selector := "<none>"
	if s, err := metav1.LabelSelectorAsSelector(petSet.Spec.Selector); err == nil && s.String() != "" {
		selector = s.String()
	}
	return []interface{}{
		petSet.Name,
		int64(petSet.Spec.Replicas),
		int64(petSet.Status.Replicas),
		int64(petSet.Status.ReadyReplicas),
		age,
		strings.Join(names, ","),
		strings.Join(images, ","),
		selector,
	}
}
