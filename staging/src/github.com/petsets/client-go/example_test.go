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

package clientgo_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1alpha1ac "github.com/petsets/client-go/applyconfigurations/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned/fake"
	"github.com/petsets/client-go/informers/externalversions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
)

// TestGeneratedClientsWorkTogether drives the generated clientset, informers,
// listers and apply configurations together, as a program importing this
// module does.
func TestGeneratedClientsWorkTogether(t *testing.T) {
	client := fake.NewClientset()
	factory := externalversions.NewSharedInformerFactory(client, 0)
	// Cancel before Shutdown, which waits for the informers to stop.
	defer factory.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	informer := factory.Apps().V1alpha1().PetSets()
	lister := informer.Lister()
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{}); err != nil {
		t.Fatalf("adding an event handler: %v", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
		t.Fatal("the PetSet informer did not sync")
	}

	replicas := int32(2)
	web := &appsv1alpha1.PetSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "nginx"}},
		Spec:       appsv1alpha1.PetSetSpec{Replicas: &replicas, ServiceName: "nginx"},
	}
	if _, err := client.AppsV1alpha1().PetSets("default").Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating: %v", err)
	}
	waitForLister(ctx, t, func() (bool, error) {
		got, err := lister.PetSets("default").List(labels.SelectorFromSet(labels.Set{"app": "nginx"}))
		return len(got) == 1, err
	})

	// A server-side apply configuration built with the generated builders.
	apply := appsv1alpha1ac.PetSet("web", "default").
		WithSpec(appsv1alpha1ac.PetSetSpec().WithReplicas(5).WithServiceName("nginx"))
	if _, err := client.AppsV1alpha1().PetSets("default").Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "example", Force: true}); err != nil {
		t.Fatalf("applying: %v", err)
	}
	waitForLister(ctx, t, func() (bool, error) {
		got, err := lister.PetSets("default").Get("web")
		if err != nil {
			return false, err
		}
		return *got.Spec.Replicas == 5, nil
	})

	got, err := lister.PetSets("default").Get("web")
	if err != nil {
		t.Fatalf("lister get: %v", err)
	}
	if diff := cmp.Diff("nginx", got.Spec.ServiceName); diff != "" {
		t.Errorf("service name after apply (-want +got):\n%s", diff)
	}
}

func waitForLister(ctx context.Context, t *testing.T, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		t.Fatalf("waiting for the lister: %v", err)
	}
}
