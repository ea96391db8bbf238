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

package e2e

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPetSetsAreListedThroughTheAggregator(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	list, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing PetSets through kube-apiserver: %v", err)
	}
	if len(list.Items) != 0 {
		t.Errorf("a new namespace holds %d PetSets, want none", len(list.Items))
	}
}
