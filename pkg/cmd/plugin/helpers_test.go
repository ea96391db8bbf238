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
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetclient "github.com/petsets/client-go/clientset/versioned"
	petsetfake "github.com/petsets/client-go/clientset/versioned/fake"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"
)

// Fixtures: PetSet web of namespace shop (selector app=web), its pets and
// its revisions, as the controller writes them.

const (
	testNamespace = "shop"
	testName      = "web"
	testUID       = types.UID("uid-web")
	// oldRevision and newRevision name the revisions of the fixtures.
	oldRevision = "web-old"
	newRevision = "web-new"
	oldImage    = "nginx:1.26"
	newImage    = "nginx:1.27"
)

// setOpt changes a fixture PetSet.
type setOpt func(*appsv1alpha1.PetSet)

// newSet returns PetSet web with replicas pets of image newImage, observed
// by the controller, rolling out newRevision over oldRevision.
func newSet(replicas int32, opts ...setOpt) *appsv1alpha1.PetSet {
	set := &appsv1alpha1.PetSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: testName, Namespace: testNamespace, UID: testUID, Generation: 2,
		},
		Spec: appsv1alpha1.PetSetSpec{
			Replicas:    &replicas,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			ServiceName: "web",
			Template:    template(newImage),
		},
		Status: appsv1alpha1.PetSetStatus{
			ObservedGeneration: new(int64(2)),
			CurrentRevision:    oldRevision,
			UpdateRevision:     newRevision,
		},
	}
	for _, opt := range opts {
		opt(set)
	}
	return set
}

func rollingUpdate(partition int32) setOpt {
	return func(set *appsv1alpha1.PetSet) {
		set.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{
			Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
			RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{
				Partition:      &partition,
				MaxUnavailable: new(intstr.FromInt32(1)),
			},
		}
	}
}

func strategy(t appsv1alpha1.PetSetUpdateStrategyType) setOpt {
	return func(set *appsv1alpha1.PetSet) { set.Spec.UpdateStrategy.Type = t }
}

// template returns the pod template of the fixtures with image.
func template(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "nginx", Image: image}},
		},
	}
}

// petState is how a fixture pet is.
type petState int

const (
	ready petState = iota
	notReady
	pending
	terminating
	paused
)

// pet returns pet ordinal of web at revision in state.
func pet(ordinal int, revision string, state petState) *corev1.Pod {
	controller := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-%d", testName, ordinal),
			Namespace: testNamespace,
			UID:       types.UID(fmt.Sprintf("pod-%d-%s", ordinal, revision)),
			Labels: map[string]string{
				"app":                                    "web",
				appsv1alpha1.ControllerRevisionHashLabel: revision,
				appsv1alpha1.PetSetPodOrdinalLabel:       strconv.Itoa(ordinal),
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1alpha1", Kind: "PetSet", Name: testName, UID: testUID, Controller: &controller,
			}},
		},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	switch state {
	case notReady:
		pod.Status.Conditions[0].Status = corev1.ConditionFalse
	case pending:
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	case terminating:
		pod.DeletionTimestamp = &metav1.Time{}
	case paused:
		pod.Annotations = map[string]string{appsv1alpha1.PetSetInitAnnotation: "false"}
	}
	return pod
}

// revision returns a revision of web holding template(image), as the
// controller writes it.
func revision(name string, number int64, image, changeCause string) *appsv1.ControllerRevision {
	controller := true
	data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": template(image)}})
	if err != nil {
		panic(err)
	}
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: testNamespace,
			Labels:    map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1alpha1", Kind: "PetSet", Name: testName, UID: testUID, Controller: &controller,
			}},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: number,
	}
	if changeCause != "" {
		rev.Annotations = map[string]string{changeCauseAnnotation: changeCause}
	}
	return rev
}

// fakeClients serves the commands fake clientsets in testNamespace.
type fakeClients struct {
	petsets *petsetfake.Clientset
	kube    *k8sfake.Clientset
}

func newFakeClients(set *appsv1alpha1.PetSet, objects ...runtime.Object) fakeClients {
	var petsetObjects []runtime.Object
	if set != nil {
		petsetObjects = append(petsetObjects, set)
	}
	return fakeClients{
		petsets: petsetfake.NewClientset(petsetObjects...),
		kube:    k8sfake.NewClientset(objects...),
	}
}

func (c fakeClients) Namespace() (string, error)               { return testNamespace, nil }
func (c fakeClients) PetSets() (petsetclient.Interface, error) { return c.petsets, nil }
func (c fakeClients) Kube() (kubernetes.Interface, error)      { return c.kube, nil }

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// objects returns pods as runtime objects.
func objects[T runtime.Object](items ...T) []runtime.Object {
	out := make([]runtime.Object, 0, len(items))
	for _, item := range items {
		out = append(out, item)
	}
	return out
}

func mustNot(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
