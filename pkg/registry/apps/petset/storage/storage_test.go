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

package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apiserver"
	"github.com/petsets/petset/pkg/registry/apps/petset"
	petsetstorage "github.com/petsets/petset/pkg/registry/apps/petset/storage"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// guideManifest is the PetSet "web" of the PetSet guide.
const guideManifest = "../../../../apis/apps/v1alpha1/testdata/petset-web.yaml"

// testEnv is a PetSet registry backed by its own embedded etcd.
type testEnv struct {
	storage petsetstorage.PetSetStorage
	etcd    *etcd3testing.EtcdTestServer
	config  *storagebackend.Config
}

// newTestEnv starts an etcd and builds the PetSet storage on it the way the
// server does: objects are kept as apps/v1alpha1 JSON. gc turns on garbage
// collection, which decides what a delete does with the dependents.
func newTestEnv(t *testing.T, gc bool) *testEnv {
	t.Helper()
	server, config := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	config.Codec = apiserver.Codecs.LegacyCodec(appsv1alpha1.SchemeGroupVersion)
	config.EncodeVersioner = runtime.NewMultiGroupVersioner(appsv1alpha1.SchemeGroupVersion, schema.GroupKind{Group: appsv1alpha1.GroupName})
	opts := generic.RESTOptions{
		StorageConfig:           config.ForResource(apps.Resource("petsets")),
		Decorator:               generic.UndecoratedStorage,
		EnableGarbageCollection: gc,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          "petsets",
	}
	s, err := petsetstorage.NewStorage(apiserver.Scheme, opts, petset.Options{})
	if err != nil {
		t.Fatalf("NewStorage: %v", err)
	}
	t.Cleanup(s.PetSet.Store.DestroyFunc)
	return &testEnv{storage: s, etcd: server, config: config}
}

func nsContext(namespace string) context.Context {
	return genericapirequest.WithNamespace(genericapirequest.NewContext(), namespace)
}

// guidePetSet decodes the guide's PetSet as the server decodes a request
// body (defaulted, then converted to the internal type).
func guidePetSet(t *testing.T, namespace, name string) *apps.PetSet {
	t.Helper()
	data, err := os.ReadFile(guideManifest)
	if err != nil {
		t.Fatalf("reading the guide's manifest: %v", err)
	}
	obj, _, err := apiserver.Codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("decoding the guide's manifest: %v", err)
	}
	p, ok := obj.(*apps.PetSet)
	if !ok {
		t.Fatalf("decoded %T, want *apps.PetSet", obj)
	}
	p.Namespace = namespace
	p.Name = name
	return p
}

// withApp makes p select and label its pets with app=<app>.
func withApp(p *apps.PetSet, app string) *apps.PetSet {
	p.Labels = map[string]string{"app": app}
	p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	p.Spec.Template.Labels = map[string]string{"app": app}
	return p
}

func (e *testEnv) create(t *testing.T, p *apps.PetSet) *apps.PetSet {
	t.Helper()
	obj, err := e.storage.PetSet.Create(nsContext(p.Namespace), p, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating PetSet %s/%s: %v", p.Namespace, p.Name, err)
	}
	return obj.(*apps.PetSet)
}

func (e *testEnv) get(t *testing.T, namespace, name string) *apps.PetSet {
	t.Helper()
	obj, err := e.storage.PetSet.Get(nsContext(namespace), name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting PetSet %s/%s: %v", namespace, name, err)
	}
	return obj.(*apps.PetSet)
}

func (e *testEnv) update(ctx context.Context, p *apps.PetSet) (*apps.PetSet, error) {
	obj, _, err := e.storage.PetSet.Update(ctx, p.Name, rest.DefaultUpdatedObjectInfo(p), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*apps.PetSet), nil
}

func (e *testEnv) updateStatus(ctx context.Context, p *apps.PetSet) (*apps.PetSet, error) {
	obj, _, err := e.storage.Status.Update(ctx, p.Name, rest.DefaultUpdatedObjectInfo(p), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*apps.PetSet), nil
}

func (e *testEnv) updateScale(ctx context.Context, name string, scale *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	obj, _, err := e.storage.Scale.Update(ctx, name, rest.DefaultUpdatedObjectInfo(scale), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*autoscalingv1.Scale), nil
}

// relabel changes a label of the stored PetSet, which moves its resource
// version on, and returns the new object.
func (e *testEnv) relabel(t *testing.T, namespace, name, value string) *apps.PetSet {
	t.Helper()
	p := e.get(t, namespace, name)
	p.Labels["touched"] = value
	updated, err := e.update(nsContext(namespace), p)
	if err != nil {
		t.Fatalf("relabelling %s/%s: %v", namespace, name, err)
	}
	return updated
}

// statusCode is the HTTP status an error is served with.
func statusCode(err error) int32 {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Code
	}
	return 0
}

func causeFields(err error) []string {
	var s apierrors.APIStatus
	if !errors.As(err, &s) || s.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range s.Status().Details.Causes {
		out = append(out, c.Field)
	}
	return out
}

// ----------------------------------------------------------------------------
// The generic registry tests.

// testerPetSet is a valid PetSet for the generic tester, which names it and
// puts it in its "test" namespace itself.
func testerPetSet(t *testing.T) *apps.PetSet {
	p := guidePetSet(t, "test", "web")
	p.ObjectMeta = metav1.ObjectMeta{Name: "web", Namespace: "test", Labels: map[string]string{"app": "nginx"}}
	return p
}

func TestCreate(t *testing.T) {
	e := newTestEnv(t, false)
	test := genericregistrytest.New(t, e.storage.PetSet.Store)
	valid := testerPetSet(t)
	valid.ObjectMeta = metav1.ObjectMeta{}

	negativeReplicas := testerPetSet(t)
	negativeReplicas.Name = "negative-replicas"
	negativeReplicas.Spec.Replicas = -1

	selectorMismatch := testerPetSet(t)
	selectorMismatch.Name = "selector-mismatch"
	selectorMismatch.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "apache"}}

	badServiceName := testerPetSet(t)
	badServiceName.Name = "bad-service-name"
	badServiceName.Spec.ServiceName = "Not_A_Label"

	test.TestCreate(valid, negativeReplicas, selectorMismatch, badServiceName)
}

func TestUpdate(t *testing.T) {
	e := newTestEnv(t, false)
	test := genericregistrytest.New(t, e.storage.PetSet.Store)
	test.TestUpdate(
		testerPetSet(t),
		// valid: the two changes a PetSet allows
		func(obj runtime.Object) runtime.Object {
			p := obj.(*apps.PetSet)
			p.Spec.Replicas = 5
			p.Spec.Template.Spec.Containers[0].Image = "gcr.io/google_containers/nginx-slim:0.7"
			return p
		},
		// invalid
		func(obj runtime.Object) runtime.Object {
			p := obj.(*apps.PetSet)
			p.Spec.ServiceName = "apache"
			return p
		},
		func(obj runtime.Object) runtime.Object {
			p := obj.(*apps.PetSet)
			p.Spec.Replicas = -1
			return p
		},
		func(obj runtime.Object) runtime.Object {
			p := obj.(*apps.PetSet)
			p.Spec.VolumeClaimTemplates = nil
			return p
		},
	)
}

func TestDelete(t *testing.T) {
	e := newTestEnv(t, false)
	test := genericregistrytest.New(t, e.storage.PetSet.Store)
	test.TestDelete(testerPetSet(t))
}

func TestGet(t *testing.T) {
	e := newTestEnv(t, false)
	test := genericregistrytest.New(t, e.storage.PetSet.Store)
	test.TestGet(testerPetSet(t))
}

func TestList(t *testing.T) {
	e := newTestEnv(t, false)
	test := genericregistrytest.New(t, e.storage.PetSet.Store)
	test.TestList(testerPetSet(t))
}

func TestWatch(t *testing.T) {
	e := newTestEnv(t, false)
	test := genericregistrytest.New(t, e.storage.PetSet.Store)
	test.TestWatch(
		testerPetSet(t),
		// matching labels
		[]labels.Set{{"app": "nginx"}},
		// not matching labels
		[]labels.Set{{"app": "apache"}, {"tier": "web"}},
		// matching fields
		[]fields.Set{
			{"metadata.name": "web"},
			{"metadata.namespace": "test"},
			{"metadata.name": "web", "metadata.namespace": "test"},
		},
		// not matching fields
		[]fields.Set{
			{"metadata.name": "db"},
			{"metadata.namespace": "other"},
		},
	)
}

// ----------------------------------------------------------------------------
// Storage.

func TestStoredAsV1alpha1JSON(t *testing.T) {
	e := newTestEnv(t, false)
	e.create(t, guidePetSet(t, "default", "web"))

	key := path.Join(e.config.Prefix, "petsets", "default", "web")
	resp, err := e.etcd.V3Client.KV.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("reading %s from etcd: %v", key, err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("etcd has %d keys at %s, want 1", len(resp.Kvs), key)
	}
	var stored struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name       string `json:"name"`
			Generation int64  `json:"generation"`
		} `json:"metadata"`
		Spec struct {
			ServiceName string `json:"serviceName"`
			Replicas    int32  `json:"replicas"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &stored); err != nil {
		t.Fatalf("the stored value is no JSON: %v\n%s", err, resp.Kvs[0].Value)
	}
	want := stored
	want.APIVersion = "apps/v1alpha1"
	want.Kind = "PetSet"
	want.Metadata.Name = "web"
	want.Metadata.Generation = 1
	want.Spec.ServiceName = "nginx"
	want.Spec.Replicas = 2
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored object (-want +got):\n%s", diff)
	}
}

func TestListSelectors(t *testing.T) {
	e := newTestEnv(t, false)
	e.create(t, guidePetSet(t, "shop", "web"))
	e.create(t, withApp(guidePetSet(t, "shop", "db"), "db"))
	e.create(t, guidePetSet(t, "blog", "web"))

	tests := []struct {
		name      string
		namespace string
		label     string
		field     string
		want      []string
	}{
		{name: "all PetSets of a namespace", namespace: "shop", want: []string{"shop/db", "shop/web"}},
		{name: "all PetSets of all namespaces", namespace: metav1.NamespaceAll, want: []string{"blog/web", "shop/db", "shop/web"}},
		{name: "a label selector", namespace: "shop", label: "app=nginx", want: []string{"shop/web"}},
		{name: "a label selector matching nothing", namespace: "shop", label: "app=apache"},
		{name: "field selector metadata.name", namespace: "shop", field: "metadata.name=db", want: []string{"shop/db"}},
		{name: "field selector metadata.name across namespaces", namespace: metav1.NamespaceAll, field: "metadata.name=web", want: []string{"blog/web", "shop/web"}},
		{name: "field selector metadata.namespace", namespace: metav1.NamespaceAll, field: "metadata.namespace=blog", want: []string{"blog/web"}},
		{name: "field selector metadata.name!=", namespace: "shop", field: "metadata.name!=web", want: []string{"shop/db"}},
		{name: "labels and fields together", namespace: metav1.NamespaceAll, label: "app=nginx", field: "metadata.namespace=shop", want: []string{"shop/web"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := labels.Parse(tc.label)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := fields.ParseSelector(tc.field)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := e.storage.PetSet.List(nsContext(tc.namespace), &metainternalversion.ListOptions{LabelSelector: ls, FieldSelector: fs})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var got []string
			for _, p := range obj.(*apps.PetSetList).Items {
				got = append(got, p.Namespace+"/"+p.Name)
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("listed PetSets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeletePropagation(t *testing.T) {
	e := newTestEnv(t, true)
	policy := func(p metav1.DeletionPropagation) *metav1.DeletionPropagation { return &p }
	tests := []struct {
		name    string
		options *metav1.DeleteOptions
		// wantFinalizers is nil when the PetSet must be gone at once.
		wantFinalizers []string
	}{{
		// DeleteDependents: the PetSet goes at once and the garbage
		// collector deletes its pets in the background; an orphaning
		// default would keep it with the orphan finalizer instead.
		name:    "without options the PetSet is deleted at once, its pets in the background",
		options: nil,
	}, {
		name:    "without a policy in the options the PetSet is deleted at once, its pets in the background",
		options: &metav1.DeleteOptions{},
	}, {
		name:           "an explicit foreground policy",
		options:        &metav1.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)},
		wantFinalizers: []string{metav1.FinalizerDeleteDependents},
	}, {
		name:           "the orphan policy keeps the PetSet until its pets are released",
		options:        &metav1.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationOrphan)},
		wantFinalizers: []string{metav1.FinalizerOrphanDependents},
	}, {
		name:    "the background policy deletes the PetSet at once",
		options: &metav1.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationBackground)},
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("web-%d", i)
			e.create(t, guidePetSet(t, "default", name))
			ctx := nsContext("default")

			_, deleted, err := e.storage.PetSet.Delete(ctx, name, rest.ValidateAllObjectFunc, tc.options)
			if err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if want := tc.wantFinalizers == nil; deleted != want {
				t.Errorf("Delete reported deleted=%v, want %v", deleted, want)
			}

			obj, err := e.storage.PetSet.Get(ctx, name, &metav1.GetOptions{})
			if tc.wantFinalizers == nil {
				if !apierrors.IsNotFound(err) {
					t.Errorf("Get after delete: %v (object %v), want NotFound", err, obj)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get after delete: %v", err)
			}
			p := obj.(*apps.PetSet)
			if p.DeletionTimestamp == nil {
				t.Errorf("the PetSet has no deletionTimestamp")
			}
			if diff := cmp.Diff(tc.wantFinalizers, p.Finalizers); diff != "" {
				t.Errorf("finalizers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeleteCollection(t *testing.T) {
	e := newTestEnv(t, false)
	tests := []struct {
		name        string
		label       string
		field       string
		wantDeleted []string
		wantLeft    []string
	}{{
		name:        "a label selector deletes the matching PetSets only",
		label:       "app=nginx",
		wantDeleted: []string{"web-a", "web-b"},
		wantLeft:    []string{"db"},
	}, {
		name:        "a field selector on metadata.name deletes that PetSet only",
		field:       "metadata.name=db",
		wantDeleted: []string{"db"},
		wantLeft:    []string{"web-a", "web-b"},
	}, {
		name:        "no selector deletes every PetSet of the namespace",
		wantDeleted: []string{"db", "web-a", "web-b"},
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("ns-%d", i)
			e.create(t, guidePetSet(t, ns, "web-a"))
			e.create(t, guidePetSet(t, ns, "web-b"))
			e.create(t, withApp(guidePetSet(t, ns, "db"), "db"))
			// A PetSet elsewhere must survive every case.
			e.create(t, guidePetSet(t, ns+"-other", "web-a"))

			ls, err := labels.Parse(tc.label)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := fields.ParseSelector(tc.field)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := e.storage.PetSet.DeleteCollection(nsContext(ns), rest.ValidateAllObjectFunc, nil, &metainternalversion.ListOptions{LabelSelector: ls, FieldSelector: fs})
			if err != nil {
				t.Fatalf("DeleteCollection: %v", err)
			}
			if diff := cmp.Diff(tc.wantDeleted, itemNames(obj)); diff != "" {
				t.Errorf("deleted PetSets (-want +got):\n%s", diff)
			}

			left, err := e.storage.PetSet.List(nsContext(ns), &metainternalversion.ListOptions{})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if diff := cmp.Diff(tc.wantLeft, itemNames(left)); diff != "" {
				t.Errorf("PetSets left (-want +got):\n%s", diff)
			}
			e.get(t, ns+"-other", "web-a")
		})
	}
}

func itemNames(obj runtime.Object) []string {
	var names []string
	for _, p := range obj.(*apps.PetSetList).Items {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// ----------------------------------------------------------------------------
// Updates: conflicts and generations.

func TestUpdateConflictOnStaleResourceVersion(t *testing.T) {
	e := newTestEnv(t, false)
	tests := []struct {
		name string
		// write sends a change based on p, carrying p's resource version.
		write func(ctx context.Context, p *apps.PetSet) error
	}{{
		name: "the main resource",
		write: func(ctx context.Context, p *apps.PetSet) error {
			p.Spec.Replicas = 5
			_, err := e.update(ctx, p)
			return err
		},
	}, {
		name: "/status",
		write: func(ctx context.Context, p *apps.PetSet) error {
			p.Status.Replicas = 2
			_, err := e.updateStatus(ctx, p)
			return err
		},
	}, {
		name: "/scale",
		write: func(ctx context.Context, p *apps.PetSet) error {
			obj, err := e.storage.Scale.Get(ctx, p.Name, &metav1.GetOptions{})
			if err != nil {
				return err
			}
			scale := obj.(*autoscalingv1.Scale)
			scale.ResourceVersion = p.ResourceVersion
			scale.Spec.Replicas = 5
			_, err = e.updateScale(ctx, p.Name, scale)
			return err
		},
	}}
	for i, tc := range tests {
		t.Run(tc.name+" refuses a stale resourceVersion with 409 Conflict", func(t *testing.T) {
			name := fmt.Sprintf("stale-%d", i)
			ctx := nsContext("default")
			stale := e.create(t, guidePetSet(t, "default", name))
			current := e.relabel(t, "default", name, "1")

			err := tc.write(ctx, stale.DeepCopy())
			if !apierrors.IsConflict(err) || statusCode(err) != 409 {
				t.Fatalf("write with a stale resourceVersion: %v (code %d), want 409 Conflict", err, statusCode(err))
			}
			if diff := cmp.Diff(current, e.get(t, "default", name)); diff != "" {
				t.Errorf("the refused write changed the PetSet (-want +got):\n%s", diff)
			}
		})
		t.Run(tc.name+" accepts the current resourceVersion", func(t *testing.T) {
			name := fmt.Sprintf("current-%d", i)
			e.create(t, guidePetSet(t, "default", name))
			current := e.relabel(t, "default", name, "1")
			if err := tc.write(nsContext("default"), current.DeepCopy()); err != nil {
				t.Fatalf("write with the current resourceVersion: %v", err)
			}
			if got := e.get(t, "default", name); got.ResourceVersion == current.ResourceVersion {
				t.Errorf("the write did not reach storage: resourceVersion still %s", got.ResourceVersion)
			}
		})
	}
}

func TestGenerationThroughStorage(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")

	created := guidePetSet(t, "default", "web")
	created.Generation = 7
	created.Status = apps.PetSetStatus{ObservedGeneration: new(int64(7)), Replicas: 9, ReadyReplicas: 9}
	p := e.create(t, created)
	if p.Generation != 1 || !cmp.Equal(p.Status, apps.PetSetStatus{}) {
		t.Fatalf("created PetSet has generation %d and status %+v, want 1 and an empty status", p.Generation, p.Status)
	}

	scaleTo := func(replicas int32) func(*testing.T, *apps.PetSet) {
		return func(t *testing.T, p *apps.PetSet) {
			if _, err := e.updateScale(ctx, p.Name, &autoscalingv1.Scale{
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
				Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
			}); err != nil {
				t.Fatalf("scaling: %v", err)
			}
		}
	}
	update := func(change func(*apps.PetSet)) func(*testing.T, *apps.PetSet) {
		return func(t *testing.T, p *apps.PetSet) {
			change(p)
			if _, err := e.update(ctx, p); err != nil {
				t.Fatalf("updating: %v", err)
			}
		}
	}
	steps := []struct {
		name               string
		do                 func(*testing.T, *apps.PetSet)
		wantGeneration     int64
		wantObserved       *int64
		wantReplicas       int32
		wantStatusReplicas int32
	}{{
		name:           "a label change keeps generation 1",
		do:             update(func(p *apps.PetSet) { p.Labels["team"] = "web" }),
		wantGeneration: 1, wantReplicas: 2,
	}, {
		name:           "an annotation change keeps generation 1",
		do:             update(func(p *apps.PetSet) { p.Annotations = map[string]string{"note": "x"} }),
		wantGeneration: 1, wantReplicas: 2,
	}, {
		name:           "a generation sent by the client is ignored",
		do:             update(func(p *apps.PetSet) { p.Generation = 50 }),
		wantGeneration: 1, wantReplicas: 2,
	}, {
		name:           "a replicas change bumps the generation to 2",
		do:             update(func(p *apps.PetSet) { p.Spec.Replicas = 3 }),
		wantGeneration: 2, wantReplicas: 3,
	}, {
		name: "an image change bumps the generation to 3",
		do: update(func(p *apps.PetSet) {
			p.Spec.Template.Spec.Containers[0].Image = "gcr.io/google_containers/nginx-slim:0.7"
		}),
		wantGeneration: 3, wantReplicas: 3,
	}, {
		name: "a status update keeps the generation and the spec",
		do: func(t *testing.T, p *apps.PetSet) {
			p.Spec.Replicas = 10
			p.Status = apps.PetSetStatus{ObservedGeneration: new(int64(3)), Replicas: 3, ReadyReplicas: 2}
			if _, err := e.updateStatus(ctx, p); err != nil {
				t.Fatalf("updating the status: %v", err)
			}
		},
		wantGeneration: 3, wantReplicas: 3, wantObserved: new(int64(3)), wantStatusReplicas: 3,
	}, {
		name: "a status sent to the main resource is ignored",
		do: update(func(p *apps.PetSet) {
			p.Status = apps.PetSetStatus{ObservedGeneration: new(int64(1)), Replicas: 0}
		}),
		wantGeneration: 3, wantReplicas: 3, wantObserved: new(int64(3)), wantStatusReplicas: 3,
	}, {
		name:           "scaling through /scale bumps the generation to 4",
		do:             scaleTo(4),
		wantGeneration: 4, wantReplicas: 4, wantObserved: new(int64(3)), wantStatusReplicas: 3,
	}, {
		name:           "scaling to the same count keeps the generation",
		do:             scaleTo(4),
		wantGeneration: 4, wantReplicas: 4, wantObserved: new(int64(3)), wantStatusReplicas: 3,
	}}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.do(t, e.get(t, "default", "web"))
			got := e.get(t, "default", "web")
			type summary struct {
				Generation, Replicas, StatusReplicas int64
				Observed                             *int64
			}
			want := summary{step.wantGeneration, int64(step.wantReplicas), int64(step.wantStatusReplicas), step.wantObserved}
			have := summary{got.Generation, int64(got.Spec.Replicas), int64(got.Status.Replicas), got.Status.ObservedGeneration}
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("stored PetSet (-want +got):\n%s", diff)
			}
		})
	}
}

// ----------------------------------------------------------------------------
// /status.

func TestStatusUpdate(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	tests := []struct {
		name   string
		change func(*apps.PetSet)
		// want changes the object as it was before into the expected result;
		// nil when the update must be refused with 422 at wantFields.
		want       func(*apps.PetSet)
		wantFields []string
	}{{
		name: "the status is stored",
		change: func(p *apps.PetSet) {
			p.Status = apps.PetSetStatus{ObservedGeneration: new(int64(1)), Replicas: 2, ReadyReplicas: 1}
		},
		want: func(p *apps.PetSet) {
			p.Status = apps.PetSetStatus{ObservedGeneration: new(int64(1)), Replicas: 2, ReadyReplicas: 1}
		},
	}, {
		name: "spec changes sent to /status are ignored",
		change: func(p *apps.PetSet) {
			p.Spec.Replicas = 9
			p.Spec.ServiceName = "apache"
			p.Spec.Template.Spec.Containers[0].Image = "other"
			p.Status.Replicas = 2
		},
		want: func(p *apps.PetSet) { p.Status.Replicas = 2 },
	}, {
		name: "label changes sent to /status are stored",
		change: func(p *apps.PetSet) {
			p.Labels["team"] = "web"
			p.Status.Replicas = 1
		},
		want: func(p *apps.PetSet) {
			p.Labels["team"] = "web"
			p.Status.Replicas = 1
		},
	}, {
		name:       "an inconsistent status is refused with 422 at status.readyReplicas",
		change:     func(p *apps.PetSet) { p.Status = apps.PetSetStatus{Replicas: 1, ReadyReplicas: 2} },
		wantFields: []string{"status.readyReplicas"},
	}, {
		name:       "a negative status.replicas is refused with 422",
		change:     func(p *apps.PetSet) { p.Status = apps.PetSetStatus{Replicas: -1, ReadyReplicas: -1} },
		wantFields: []string{"status.replicas", "status.readyReplicas", "status.currentReplicas", "status.updatedReplicas", "status.availableReplicas", "status.availableReplicas"},
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("web-%d", i)
			before := e.create(t, guidePetSet(t, "default", name))
			sent := before.DeepCopy()
			tc.change(sent)

			returned, err := e.updateStatus(ctx, sent)
			got := e.get(t, "default", name)
			if tc.want == nil {
				if !apierrors.IsInvalid(err) || statusCode(err) != 422 {
					t.Fatalf("status update: %v (code %d), want 422 Invalid", err, statusCode(err))
				}
				if diff := cmp.Diff(tc.wantFields, causeFields(err)); diff != "" {
					t.Errorf("error fields (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(before, got); diff != "" {
					t.Errorf("the refused update changed the PetSet (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("status update: %v", err)
			}
			want := before.DeepCopy()
			tc.want(want)
			ignore := cmpopts.IgnoreFields(metav1.ObjectMeta{}, "ResourceVersion", "ManagedFields")
			if diff := cmp.Diff(want, got, ignore); diff != "" {
				t.Errorf("stored PetSet (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(got, returned); diff != "" {
				t.Errorf("returned PetSet differs from the stored one (-stored +returned):\n%s", diff)
			}
		})
	}
}

func TestStatusOfMissingPetSet(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	missing := guidePetSet(t, "default", "missing")
	tests := []struct {
		name string
		call func() error
	}{{
		name: "get",
		call: func() error { _, err := e.storage.Status.Get(ctx, "missing", &metav1.GetOptions{}); return err },
	}, {
		name: "update does not create it",
		call: func() error { _, err := e.updateStatus(ctx, missing); return err },
	}}
	for _, tc := range tests {
		t.Run(tc.name+" is NotFound", func(t *testing.T) {
			if err := tc.call(); !apierrors.IsNotFound(err) {
				t.Errorf("got %v, want NotFound", err)
			}
		})
	}
	if _, err := e.storage.PetSet.Get(ctx, "missing", &metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a /status update created the PetSet: Get = %v", err)
	}
}

func TestStatusGetReturnsThePetSet(t *testing.T) {
	e := newTestEnv(t, false)
	created := e.create(t, guidePetSet(t, "default", "web"))
	obj, err := e.storage.Status.Get(nsContext("default"), "web", &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(created, obj); diff != "" {
		t.Errorf("/status Get (-want +got):\n%s", diff)
	}
}

// ----------------------------------------------------------------------------
// /scale.

func TestScaleGet(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	tests := []struct {
		name         string
		petSet       func(*apps.PetSet)
		status       apps.PetSetStatus
		wantReplicas int32
		wantSelector string
	}{{
		name:         "the guide's PetSet: spec and status replicas, selector as a string",
		status:       apps.PetSetStatus{Replicas: 1, ReadyReplicas: 1},
		wantReplicas: 2,
		wantSelector: "app=nginx",
	}, {
		name: "a selector with several labels and expressions",
		petSet: func(p *apps.PetSet) {
			p.Spec.Template.Labels = map[string]string{"app": "nginx", "tier": "web", "track": "stable"}
			p.Spec.Selector = &metav1.LabelSelector{
				MatchLabels: map[string]string{"tier": "web", "app": "nginx"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "track", Operator: metav1.LabelSelectorOpIn, Values: []string{"stable", "canary"}},
					{Key: "legacy", Operator: metav1.LabelSelectorOpDoesNotExist},
				},
			}
			p.Spec.Replicas = 0
		},
		wantReplicas: 0,
		wantSelector: "app=nginx,!legacy,tier=web,track in (canary,stable)",
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := guidePetSet(t, "default", fmt.Sprintf("web-%d", i))
			if tc.petSet != nil {
				tc.petSet(p)
			}
			p = e.create(t, p)
			p.Status = tc.status
			p, err := e.updateStatus(ctx, p)
			if err != nil {
				t.Fatalf("updating the status: %v", err)
			}

			obj, err := e.storage.Scale.Get(ctx, p.Name, &metav1.GetOptions{})
			if err != nil {
				t.Fatalf("getting the scale: %v", err)
			}
			want := &autoscalingv1.Scale{
				ObjectMeta: metav1.ObjectMeta{
					Name:              p.Name,
					Namespace:         "default",
					UID:               p.UID,
					ResourceVersion:   p.ResourceVersion,
					CreationTimestamp: p.CreationTimestamp,
				},
				Spec:   autoscalingv1.ScaleSpec{Replicas: tc.wantReplicas},
				Status: autoscalingv1.ScaleStatus{Replicas: tc.status.Replicas, Selector: tc.wantSelector},
			}
			if diff := cmp.Diff(want, obj); diff != "" {
				t.Errorf("scale (-want +got):\n%s", diff)
			}
			// The selector string must parse back to the PetSet's selector.
			sel, err := labels.Parse(obj.(*autoscalingv1.Scale).Status.Selector)
			if err != nil {
				t.Fatalf("status.selector does not parse: %v", err)
			}
			if !sel.Matches(labels.Set(p.Spec.Template.Labels)) {
				t.Errorf("status.selector %q does not select the pets (labels %v)", sel, p.Spec.Template.Labels)
			}
		})
	}
}

func TestScaleOfMissingPetSet(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	e.create(t, guidePetSet(t, "other", "web"))
	tests := []struct {
		name string
		call func() error
	}{{
		name: "get",
		call: func() error { _, err := e.storage.Scale.Get(ctx, "web", &metav1.GetOptions{}); return err },
	}, {
		name: "update",
		call: func() error {
			_, err := e.updateScale(ctx, "web", &autoscalingv1.Scale{
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
				Spec:       autoscalingv1.ScaleSpec{Replicas: 3},
			})
			return err
		},
	}, {
		name: "patch (the patch is never applied)",
		call: func() error {
			patch := func(_ context.Context, _, current runtime.Object) (runtime.Object, error) {
				t.Errorf("the patch was applied to a missing PetSet")
				return current, nil
			}
			_, _, err := e.storage.Scale.Update(ctx, "web", rest.DefaultUpdatedObjectInfo(nil, patch), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
			return err
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name+" is NotFound", func(t *testing.T) {
			err := tc.call()
			if !apierrors.IsNotFound(err) || statusCode(err) != 404 {
				t.Errorf("got %v, want 404 NotFound", err)
			}
		})
	}
	if _, err := e.storage.PetSet.Get(ctx, "web", &metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a /scale update created the PetSet: Get = %v", err)
	}
}

func TestScaleUpdate(t *testing.T) {
	e := newTestEnv(t, false)
	servedInfo := &genericapirequest.RequestInfo{APIGroup: "apps", APIVersion: "v1alpha1", Resource: "petsets", Subresource: "scale", Name: "web"}
	unservedInfo := &genericapirequest.RequestInfo{APIGroup: "apps", APIVersion: "v1", Resource: "petsets", Subresource: "scale", Name: "web"}
	tests := []struct {
		name        string
		requestInfo *genericapirequest.RequestInfo
		// stale moves the PetSet on after the scale is read.
		stale bool
		// patch sends change as a patch, applied to the scale as stored,
		// instead of as the whole scale read before.
		patch  bool
		change func(*autoscalingv1.Scale)
		// wantReplicas and wantGeneration hold when wantErr is nil.
		wantReplicas   int32
		wantGeneration int64
		wantErr        func(error) bool
		wantCode       int32
	}{{
		name:         "replicas are updated through the scale and bump the generation",
		change:       func(s *autoscalingv1.Scale) { s.Spec.Replicas = 5 },
		wantReplicas: 5, wantGeneration: 2,
	}, {
		name:         "scaling to zero is allowed",
		change:       func(s *autoscalingv1.Scale) { s.Spec.Replicas = 0 },
		wantReplicas: 0, wantGeneration: 2,
	}, {
		name:         "the same replicas keep the generation",
		change:       func(s *autoscalingv1.Scale) {},
		wantReplicas: 2, wantGeneration: 1,
	}, {
		name: "a scale without resourceVersion is applied unconditionally",
		change: func(s *autoscalingv1.Scale) {
			s.ResourceVersion = ""
			s.Spec.Replicas = 3
		},
		stale:        true,
		wantReplicas: 3, wantGeneration: 2,
	}, {
		name:         "a request for the served version apps/v1alpha1 is accepted",
		requestInfo:  servedInfo,
		change:       func(s *autoscalingv1.Scale) { s.Spec.Replicas = 4 },
		wantReplicas: 4, wantGeneration: 2,
	}, {
		name:     "a stale resourceVersion is a 409 Conflict",
		stale:    true,
		change:   func(s *autoscalingv1.Scale) { s.Spec.Replicas = 5 },
		wantErr:  apierrors.IsConflict,
		wantCode: 409,
	}, {
		name:     "negative replicas are a 422 Invalid",
		change:   func(s *autoscalingv1.Scale) { s.Spec.Replicas = -1 },
		wantErr:  apierrors.IsInvalid,
		wantCode: 422,
	}, {
		name:     "another UID is a 409 Conflict",
		change:   func(s *autoscalingv1.Scale) { s.UID = "another-uid"; s.Spec.Replicas = 5 },
		wantErr:  apierrors.IsConflict,
		wantCode: 409,
	}, {
		name:         "a patch of the replicas is applied to the stored scale",
		patch:        true,
		stale:        true,
		change:       func(s *autoscalingv1.Scale) { s.Spec.Replicas = 6 },
		wantReplicas: 6, wantGeneration: 2,
	}, {
		name:     "a patch changing the UID is a 409 Conflict",
		patch:    true,
		change:   func(s *autoscalingv1.Scale) { s.UID = "another-uid"; s.Spec.Replicas = 5 },
		wantErr:  apierrors.IsConflict,
		wantCode: 409,
	}, {
		name:        "a request for a version the scale is not served in is a 400 BadRequest",
		requestInfo: unservedInfo,
		change:      func(s *autoscalingv1.Scale) { s.Spec.Replicas = 5 },
		wantErr:     apierrors.IsBadRequest,
		wantCode:    400,
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("ns-%d", i)
			ctx := nsContext(ns)
			if tc.requestInfo != nil {
				ctx = genericapirequest.WithRequestInfo(ctx, tc.requestInfo)
			}
			e.create(t, guidePetSet(t, ns, "web"))
			obj, err := e.storage.Scale.Get(ctx, "web", &metav1.GetOptions{})
			if err != nil {
				t.Fatalf("getting the scale: %v", err)
			}
			scale := obj.(*autoscalingv1.Scale)
			if tc.stale {
				e.relabel(t, ns, "web", "1")
			}
			before := e.get(t, ns, "web")

			var returned *autoscalingv1.Scale
			if tc.patch {
				patch := func(_ context.Context, _, current runtime.Object) (runtime.Object, error) {
					s := current.(*autoscalingv1.Scale)
					tc.change(s)
					return s, nil
				}
				var obj runtime.Object
				obj, _, err = e.storage.Scale.Update(ctx, "web", rest.DefaultUpdatedObjectInfo(nil, patch), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
				if err == nil {
					returned = obj.(*autoscalingv1.Scale)
				}
			} else {
				tc.change(scale)
				returned, err = e.updateScale(ctx, "web", scale)
			}
			after := e.get(t, ns, "web")
			if tc.wantErr != nil {
				if !tc.wantErr(err) || statusCode(err) != tc.wantCode {
					t.Fatalf("scale update: %v (code %d), want code %d", err, statusCode(err), tc.wantCode)
				}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("the refused scale update changed the PetSet (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("scale update: %v", err)
			}

			// Only spec.replicas (and the generation) change.
			want := before.DeepCopy()
			want.Spec.Replicas = tc.wantReplicas
			want.Generation = tc.wantGeneration
			ignore := cmpopts.IgnoreFields(metav1.ObjectMeta{}, "ResourceVersion", "ManagedFields")
			if diff := cmp.Diff(want, after, ignore); diff != "" {
				t.Errorf("stored PetSet (-want +got):\n%s", diff)
			}

			wantScale := &autoscalingv1.Scale{
				ObjectMeta: metav1.ObjectMeta{
					Name:              "web",
					Namespace:         ns,
					UID:               after.UID,
					ResourceVersion:   after.ResourceVersion,
					CreationTimestamp: after.CreationTimestamp,
				},
				Spec:   autoscalingv1.ScaleSpec{Replicas: tc.wantReplicas},
				Status: autoscalingv1.ScaleStatus{Replicas: 0, Selector: "app=nginx"},
			}
			if diff := cmp.Diff(wantScale, returned); diff != "" {
				t.Errorf("returned scale (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScaleInvalidErrorNamesTheField(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	e.create(t, guidePetSet(t, "default", "web"))
	_, err := e.updateScale(ctx, "web", &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       autoscalingv1.ScaleSpec{Replicas: -3},
	})
	var s apierrors.APIStatus
	if !errors.As(err, &s) {
		t.Fatalf("scale update: %v, want an API status error", err)
	}
	details := s.Status().Details
	if details == nil {
		t.Fatalf("the error has no details: %v", err)
	}
	type summary struct {
		Code         int32
		Reason       metav1.StatusReason
		Group, Kind  string
		Name         string
		CauseFields  []string
		CauseReasons []metav1.CauseType
	}
	got := summary{Code: s.Status().Code, Reason: s.Status().Reason, Group: details.Group, Kind: details.Kind, Name: details.Name}
	for _, c := range details.Causes {
		got.CauseFields = append(got.CauseFields, c.Field)
		got.CauseReasons = append(got.CauseReasons, c.Type)
	}
	want := summary{
		Code: 422, Reason: metav1.StatusReasonInvalid,
		Group: "autoscaling", Kind: "Scale", Name: "web",
		CauseFields:  []string{"spec.replicas"},
		CauseReasons: []metav1.CauseType{metav1.CauseTypeFieldValueInvalid},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error (-want +got):\n%s\nerror: %v", diff, err)
	}
}

// TestScaleUpdatesRaceLabelUpdates scales a PetSet while another writer keeps
// relabelling it: every scale without a resourceVersion must land, on the
// object as it is at that moment.
func TestScaleUpdatesRaceLabelUpdates(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	e.create(t, guidePetSet(t, "default", "web"))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			relabel := func(_ context.Context, _, current runtime.Object) (runtime.Object, error) {
				p := current.(*apps.PetSet)
				p.Labels["round"] = fmt.Sprint(i)
				return p, nil
			}
			obj, _, err := e.storage.PetSet.Update(ctx, "web", rest.DefaultUpdatedObjectInfo(nil, relabel), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
			if err != nil {
				t.Errorf("relabelling: %v", err)
				return
			}
			if got := obj.(*apps.PetSet).Labels["round"]; got != fmt.Sprint(i) {
				t.Errorf("label round = %q, want %d", got, i)
				return
			}
		}
	}()

	for i := int32(0); i < 30; i++ {
		scaleTo := func(_ context.Context, _, current runtime.Object) (runtime.Object, error) {
			s := current.(*autoscalingv1.Scale)
			s.Spec.Replicas = i
			return s, nil
		}
		obj, _, err := e.storage.Scale.Update(ctx, "web", rest.DefaultUpdatedObjectInfo(nil, scaleTo), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("scaling to %d: %v", i, err)
		}
		if got := obj.(*autoscalingv1.Scale).Spec.Replicas; got != i {
			t.Errorf("scaled to %d, the scale says %d", i, got)
		}
	}
	close(stop)
	wg.Wait()

	if got := e.get(t, "default", "web"); got.Spec.Replicas != 29 {
		t.Errorf("stored replicas = %d, want 29", got.Spec.Replicas)
	}
}

func TestScaleSubresourceKind(t *testing.T) {
	e := newTestEnv(t, false)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"/scale serves autoscaling/v1 Scale for v1alpha1", e.storage.Scale.GroupVersionKind(appsv1alpha1.SchemeGroupVersion), autoscalingv1.SchemeGroupVersion.WithKind("Scale")},
		{"/scale New is an empty Scale", e.storage.Scale.New(), &autoscalingv1.Scale{}},
		{"/status New is an empty PetSet", e.storage.Status.New(), &apps.PetSet{}},
		{"the main resource New is an empty PetSet", e.storage.PetSet.New(), &apps.PetSet{}},
		{"the main resource NewList is an empty PetSetList", e.storage.PetSet.NewList(), &apps.PetSetList{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// ----------------------------------------------------------------------------
// Discovery and server-side apply.

func TestCategories(t *testing.T) {
	e := newTestEnv(t, false)
	var provider rest.CategoriesProvider = e.storage.PetSet
	if diff := cmp.Diff([]string{"all"}, provider.Categories()); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
}

// TestNoShortNames: PetSets had no short name, and none is invented.
func TestNoShortNames(t *testing.T) {
	e := newTestEnv(t, false)
	if p, ok := any(e.storage.PetSet).(rest.ShortNamesProvider); ok {
		t.Errorf("PetSets have short names %q, want none", p.ShortNames())
	}
}

func TestResetFields(t *testing.T) {
	e := newTestEnv(t, false)
	setsEqual := cmp.Comparer(func(a, b *fieldpath.Set) bool { return a.Equals(b) })
	tests := []struct {
		name string
		got  map[fieldpath.APIVersion]*fieldpath.Set
		want map[fieldpath.APIVersion]*fieldpath.Set
	}{{
		name: "an apply to the main resource never sets the status",
		got:  e.storage.PetSet.GetResetFields(),
		want: map[fieldpath.APIVersion]*fieldpath.Set{"apps/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("status"))},
	}, {
		name: "an apply to /status never sets the spec",
		got:  e.storage.Status.GetResetFields(),
		want: map[fieldpath.APIVersion]*fieldpath.Set{"apps/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got, setsEqual); diff != "" {
				t.Errorf("reset fields (-want +got):\n%s", diff)
			}
		})
	}
}

// ----------------------------------------------------------------------------
// Tables.

type column struct {
	Name     string
	Type     string
	Format   string
	Priority int32
}

func TestTableColumns(t *testing.T) {
	e := newTestEnv(t, false)
	table, err := e.storage.PetSet.ConvertToTable(nsContext("default"), guidePetSet(t, "default", "web"), nil)
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	var got []column
	for _, c := range table.ColumnDefinitions {
		got = append(got, column{c.Name, c.Type, c.Format, c.Priority})
		if c.Description == "" {
			t.Errorf("column %s has no description", c.Name)
		}
	}
	want := []column{
		// kubectl get
		{"Name", "string", "name", 0},
		{"Desired", "integer", "", 0},
		{"Current", "integer", "", 0},
		{"Ready", "integer", "", 0},
		{"Age", "string", "", 0},
		// kubectl get -o wide adds these
		{"Containers", "string", "", 1},
		{"Images", "string", "", 1},
		{"Selector", "string", "", 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}

	// The same columns for /status, and none when the client asks for none.
	statusTable, err := e.storage.Status.ConvertToTable(nsContext("default"), guidePetSet(t, "default", "web"), nil)
	if err != nil {
		t.Fatalf("/status ConvertToTable: %v", err)
	}
	if diff := cmp.Diff(table.ColumnDefinitions, statusTable.ColumnDefinitions); diff != "" {
		t.Errorf("/status columns differ (-main +status):\n%s", diff)
	}
	noHeaders, err := e.storage.PetSet.ConvertToTable(nsContext("default"), guidePetSet(t, "default", "web"), &metav1.TableOptions{NoHeaders: true})
	if err != nil {
		t.Fatalf("ConvertToTable without headers: %v", err)
	}
	if len(noHeaders.ColumnDefinitions) != 0 || len(noHeaders.Rows) != 1 {
		t.Errorf("without headers: %d columns and %d rows, want 0 and 1", len(noHeaders.ColumnDefinitions), len(noHeaders.Rows))
	}
}

func TestTableRows(t *testing.T) {
	e := newTestEnv(t, false)
	fiveDaysAgo := metav1.NewTime(time.Now().Add(-5*24*time.Hour - time.Minute))
	image := "gcr.io/google_containers/nginx-slim:0.8"
	petSet := func(name string, change func(*apps.PetSet)) *apps.PetSet {
		p := guidePetSet(t, "default", name)
		p.CreationTimestamp = fiveDaysAgo
		p.ResourceVersion = "17"
		p.Status = apps.PetSetStatus{Replicas: 2, ReadyReplicas: 1}
		if change != nil {
			change(p)
		}
		return p
	}
	tests := []struct {
		name       string
		obj        runtime.Object
		wantCells  [][]any
		wantRV     string
		wantCont   string
		wantRemain *int64
	}{{
		name:      "the guide's PetSet",
		obj:       petSet("web", nil),
		wantCells: [][]any{{"web", int64(2), int64(2), int64(1), "5d", "nginx", image, "app=nginx"}},
		wantRV:    "17",
	}, {
		name: "several containers are joined with commas",
		obj: petSet("web", func(p *apps.PetSet) {
			sidecar := *p.Spec.Template.Spec.Containers[0].DeepCopy()
			sidecar.Name = "exporter"
			sidecar.Image = "nginx/nginx-prometheus-exporter:1.0"
			p.Spec.Template.Spec.Containers = append(p.Spec.Template.Spec.Containers, sidecar)
		}),
		wantCells: [][]any{{"web", int64(2), int64(2), int64(1), "5d", "nginx,exporter", image + ",nginx/nginx-prometheus-exporter:1.0", "app=nginx"}},
		wantRV:    "17",
	}, {
		name: "desired, current and ready come from spec.replicas, status.replicas and status.readyReplicas",
		obj: petSet("web", func(p *apps.PetSet) {
			p.Spec.Replicas = 5
			p.Status = apps.PetSetStatus{Replicas: 3, ReadyReplicas: 2}
		}),
		wantCells: [][]any{{"web", int64(5), int64(3), int64(2), "5d", "nginx", image, "app=nginx"}},
		wantRV:    "17",
	}, {
		name:      "an empty selector shows <none>",
		obj:       petSet("web", func(p *apps.PetSet) { p.Spec.Selector = &metav1.LabelSelector{} }),
		wantCells: [][]any{{"web", int64(2), int64(2), int64(1), "5d", "nginx", image, "<none>"}},
		wantRV:    "17",
	}, {
		name:      "no selector shows <none>",
		obj:       petSet("web", func(p *apps.PetSet) { p.Spec.Selector = nil }),
		wantCells: [][]any{{"web", int64(2), int64(2), int64(1), "5d", "nginx", image, "<none>"}},
		wantRV:    "17",
	}, {
		name:      "no creation timestamp shows an unknown age",
		obj:       petSet("web", func(p *apps.PetSet) { p.CreationTimestamp = metav1.Time{} }),
		wantCells: [][]any{{"web", int64(2), int64(2), int64(1), "<unknown>", "nginx", image, "app=nginx"}},
		wantRV:    "17",
	}, {
		name: "a list gives a row per PetSet, in order, and keeps the list metadata",
		obj: &apps.PetSetList{
			ListMeta: metav1.ListMeta{ResourceVersion: "99", Continue: "next-page", RemainingItemCount: new(int64(3))},
			Items: []apps.PetSet{
				*petSet("web", nil),
				*petSet("db", func(p *apps.PetSet) { withApp(p, "db"); p.Spec.Replicas = 3 }),
			},
		},
		wantCells: [][]any{
			{"web", int64(2), int64(2), int64(1), "5d", "nginx", image, "app=nginx"},
			{"db", int64(3), int64(2), int64(1), "5d", "nginx", image, "app=db"},
		},
		wantRV:     "99",
		wantCont:   "next-page",
		wantRemain: new(int64(3)),
	}, {
		name:      "an empty list gives no rows",
		obj:       &apps.PetSetList{ListMeta: metav1.ListMeta{ResourceVersion: "5"}},
		wantCells: nil,
		wantRV:    "5",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := e.storage.PetSet.ConvertToTable(nsContext("default"), tc.obj, &metav1.TableOptions{})
			if err != nil {
				t.Fatalf("ConvertToTable: %v", err)
			}
			var cells [][]any
			for i, row := range table.Rows {
				cells = append(cells, row.Cells)
				if len(row.Cells) != len(table.ColumnDefinitions) {
					t.Errorf("row %d has %d cells for %d columns", i, len(row.Cells), len(table.ColumnDefinitions))
				}
				if _, ok := row.Object.Object.(*apps.PetSet); !ok {
					t.Errorf("row %d carries a %T, want the PetSet", i, row.Object.Object)
				}
			}
			if diff := cmp.Diff(tc.wantCells, cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
			gotMeta := []any{table.ResourceVersion, table.Continue, table.RemainingItemCount}
			wantMeta := []any{tc.wantRV, tc.wantCont, tc.wantRemain}
			if diff := cmp.Diff(wantMeta, gotMeta); diff != "" {
				t.Errorf("table metadata [resourceVersion continue remainingItemCount] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableRefusesOtherTypes(t *testing.T) {
	e := newTestEnv(t, false)
	if _, err := e.storage.PetSet.ConvertToTable(nsContext("default"), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0"}}, nil); err == nil {
		t.Errorf("ConvertToTable of a Pod succeeded, want an error")
	}
}

func TestTableOfAStoredList(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	e.create(t, guidePetSet(t, "default", "web"))
	db := e.create(t, withApp(guidePetSet(t, "default", "db"), "db"))
	db.Status = apps.PetSetStatus{Replicas: 2, ReadyReplicas: 2}
	if _, err := e.updateStatus(ctx, db); err != nil {
		t.Fatalf("updating the status: %v", err)
	}

	list, err := e.storage.PetSet.List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	table, err := e.storage.PetSet.ConvertToTable(ctx, list, nil)
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	var got [][]any
	for _, row := range table.Rows {
		cells := append([]any(nil), row.Cells...)
		cells[4] = "<age>" // just created: a few seconds
		got = append(got, cells)
	}
	image := "gcr.io/google_containers/nginx-slim:0.8"
	want := [][]any{
		{"db", int64(2), int64(2), int64(2), "<age>", "nginx", image, "app=db"},
		{"web", int64(2), int64(0), int64(0), "<age>", "nginx", image, "app=nginx"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if table.ResourceVersion == "" || table.ResourceVersion != list.(*apps.PetSetList).ResourceVersion {
		t.Errorf("table resourceVersion %q, want the list's %q", table.ResourceVersion, list.(*apps.PetSetList).ResourceVersion)
	}
}

func TestScaleTable(t *testing.T) {
	e := newTestEnv(t, false)
	ctx := nsContext("default")
	e.create(t, guidePetSet(t, "default", "web"))
	scale, err := e.storage.Scale.Get(ctx, "web", &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the scale: %v", err)
	}
	table, err := e.storage.Scale.ConvertToTable(ctx, scale, nil)
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	if len(table.Rows) != 1 || len(table.Rows[0].Cells) == 0 || table.Rows[0].Cells[0] != "web" {
		t.Errorf("scale table rows = %v, want one row for web", table.Rows)
	}
}
