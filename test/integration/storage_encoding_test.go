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

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetserver "github.com/petsets/petset/pkg/cmd/server"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// protobufMagic starts every object kube-apiserver's protobuf encoding
// writes, in etcd and on the wire.
var protobufMagic = []byte("k8s\x00")

// etcdValue returns the value stored in the embedded etcd of s for the
// PetSet ns/name. The standalone server writes the ports of its etcd, which
// serves plain HTTP on loopback, to etcd-ports.json in its data directory.
func etcdValue(t *testing.T, s *server, ns, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.DataDir, "etcd-ports.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ports struct {
		Client int `json:"client"`
	}
	if err := json.Unmarshal(data, &ports); err != nil {
		t.Fatalf("reading etcd-ports.json: %v", err)
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"http://127.0.0.1:" + strconv.Itoa(ports.Client)},
		DialTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
	defer cancel()
	key := petsetserver.DefaultEtcdPathPrefix + "/apps/petsets/" + ns + "/" + name
	resp, err := client.Get(ctx, key)
	if err != nil {
		t.Fatalf("reading %s from etcd: %v", key, err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("etcd holds %d values at %s, want 1", len(resp.Kvs), key)
	}
	return resp.Kvs[0].Value
}

// prefix returns the start of a stored value, for messages.
func prefix(value []byte) string {
	if len(value) > 16 {
		value = value[:16]
	}
	return strconv.Quote(string(value))
}

// TestPetSetsAreStoredAsProtobuf reads what a write leaves in etcd: the
// protobuf encoding, as kube-apiserver stores its own objects.
func TestPetSetsAreStoredAsProtobuf(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	createPetSet(t, s, ns, guidePetSet("web"))
	if value := etcdValue(t, s, ns, "web"); !bytes.HasPrefix(value, protobufMagic) {
		t.Errorf("the stored PetSet starts with %s, want the protobuf magic %q", prefix(value), protobufMagic)
	}
}

// TestJSONStoredPetSetsAfterTheUpgrade stores PetSets as JSON, as servers
// before the protobuf encoding did (and --storage-media-type
// application/json still does), then restarts the server on the same data
// with the default: the objects read as they were, and are rewritten as
// protobuf by their next write.
func TestJSONStoredPetSetsAfterTheUpgrade(t *testing.T) {
	t.Parallel()
	dataDir := testDir(t)
	const ns = "upgrade"

	old := startTestServer(t, dataDir, "--storage-media-type", runtime.ContentTypeJSON)
	web := createPetSet(t, old, ns, guidePetSet("web"))
	web.Status = appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](1), Replicas: 2, ReadyReplicas: 1}
	web, err := petSets(old, ns).UpdateStatus(t.Context(), web, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	db := guidePetSet("db")
	db.Spec.Template.Labels = map[string]string{"app": "db"}
	createPetSet(t, old, ns, db)
	quiet := guidePetSet("quiet")
	quiet.Spec.Template.Labels = map[string]string{"app": "quiet"}
	createPetSet(t, old, ns, quiet)
	before, err := petSets(old, ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "db", "quiet"} {
		if value := etcdValue(t, old, ns, name); !bytes.HasPrefix(value, []byte("{")) {
			t.Fatalf("with --storage-media-type %s the stored PetSet %s starts with %s, want JSON", runtime.ContentTypeJSON, name, prefix(value))
		}
	}
	if err := old.Stop(); err != nil {
		t.Fatalf("the server did not exit cleanly on SIGTERM: %v", err)
	}

	upgraded := startTestServer(t, dataDir)
	client := petSets(upgraded, ns)
	after, err := client.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the JSON-stored PetSets: %v", err)
	}
	if diff := cmp.Diff(before.Items, after.Items); diff != "" {
		t.Errorf("the JSON-stored PetSets read back (-before +after):\n%s", diff)
	}
	got, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting a JSON-stored PetSet: %v", err)
	}
	if diff := cmp.Diff(web, got); diff != "" {
		t.Errorf("the JSON-stored PetSet read back (-before +after):\n%s", diff)
	}
	// Reading does not rewrite.
	if value := etcdValue(t, upgraded, ns, "web"); !bytes.HasPrefix(value, []byte("{")) {
		t.Errorf("after a read the stored PetSet starts with %s, want the JSON it was", prefix(value))
	}

	got.Spec.Replicas = ptr.To[int32](3)
	updated, err := client.Update(t.Context(), got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("updating a JSON-stored PetSet: %v", err)
	}
	if updated.Generation != got.Generation+1 || *updated.Spec.Replicas != 3 || updated.Status.ReadyReplicas != 1 {
		t.Errorf("after the update: generation %d (want %d), replicas %d (want 3), ready replicas %d (want 1)",
			updated.Generation, got.Generation+1, *updated.Spec.Replicas, updated.Status.ReadyReplicas)
	}
	if value := etcdValue(t, upgraded, ns, "web"); !bytes.HasPrefix(value, protobufMagic) {
		t.Errorf("after an update the stored PetSet starts with %s, want the protobuf magic", prefix(value))
	}

	// The other JSON-stored PetSet, written through /scale and /status.
	scale, err := client.GetScale(t.Context(), "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 5
	if _, err := client.UpdateScale(t.Context(), "db", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("scaling a JSON-stored PetSet: %v", err)
	}
	if value := etcdValue(t, upgraded, ns, "db"); !bytes.HasPrefix(value, protobufMagic) {
		t.Errorf("after a scale the stored PetSet starts with %s, want the protobuf magic", prefix(value))
	}
	dbNow, err := client.Get(t.Context(), "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dbNow.Spec.Replicas != 5 {
		t.Errorf("replicas after the scale = %d, want 5", *dbNow.Spec.Replicas)
	}

	// An update that changes nothing rewrites the PetSet too: the stored
	// bytes differ from the new encoding's.
	quietNow, err := client.Get(t.Context(), "quiet", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Update(t.Context(), quietNow, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("updating a JSON-stored PetSet without changes: %v", err)
	}
	if value := etcdValue(t, upgraded, ns, "quiet"); !bytes.HasPrefix(value, protobufMagic) {
		t.Errorf("after an update without changes the stored PetSet starts with %s, want the protobuf magic", prefix(value))
	}
}

// protobufConfig returns cfg for clients that send protobuf and accept only
// protobuf, so that a JSON answer fails.
func protobufConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf
	return cfg
}

// TestProtobufClientsSeeWhatJSONClientsSee drives the typed client in
// protobuf: created, read, listed, watched and scaled PetSets decode to the
// objects the JSON client gets.
func TestProtobufClientsSeeWhatJSONClientsSee(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	proto := mustClientset(t, protobufConfig(s.Config)).AppsV1alpha1().PetSets(ns)
	jsonClient := petSets(s, ns)

	created, err := proto.Create(t.Context(), guidePetSet("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating in protobuf: %v", err)
	}
	if len(created.ManagedFields) == 0 || created.Spec.Selector == nil {
		t.Errorf("a PetSet created in protobuf has managed fields %v and selector %v, want both set by the server", created.ManagedFields, created.Spec.Selector)
	}
	db := guidePetSet("db")
	db.Spec.Template.Labels = map[string]string{"app": "db"}
	createPetSet(t, s, ns, db)

	for _, name := range []string{"web", "db"} {
		fromProto, err := proto.Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting in protobuf: %v", err)
		}
		fromJSON, err := jsonClient.Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(fromJSON, fromProto); diff != "" {
			t.Errorf("PetSet %s (-JSON +protobuf):\n%s", name, diff)
		}
	}

	listProto, err := proto.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing in protobuf: %v", err)
	}
	listJSON, err := jsonClient.List(t.Context(), metav1.ListOptions{ResourceVersion: listProto.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(listJSON.Items, listProto.Items); diff != "" {
		t.Errorf("list (-JSON +protobuf):\n%s", diff)
	}
	if len(listProto.Items) != 2 {
		t.Errorf("listed %d PetSets in protobuf, want 2", len(listProto.Items))
	}

	scale, err := proto.GetScale(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the scale in protobuf: %v", err)
	}
	if scale.Spec.Replicas != 2 || scale.Status.Selector == "" {
		t.Errorf("scale in protobuf: replicas %d (want 2), selector %q", scale.Spec.Replicas, scale.Status.Selector)
	}

	watchCtx, cancel := context.WithTimeout(t.Context(), ioTimeout)
	defer cancel()
	w, err := proto.Watch(watchCtx, metav1.ListOptions{ResourceVersion: listProto.ResourceVersion})
	if err != nil {
		t.Fatalf("watching in protobuf: %v", err)
	}
	defer w.Stop()
	web, err := jsonClient.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web.Spec.Replicas = ptr.To[int32](4)
	updated, err := jsonClient.Update(t.Context(), web, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case <-watchCtx.Done():
			t.Fatal("no watch event of the update in protobuf")
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the protobuf watch ended before the event of the update")
			}
			if ev.Type == watch.Error {
				t.Fatalf("watch error: %v", ev.Object)
			}
			got, ok := ev.Object.(*appsv1alpha1.PetSet)
			if !ok {
				t.Fatalf("watch event of a %T", ev.Object)
			}
			if got.ResourceVersion != updated.ResourceVersion {
				continue
			}
			if ev.Type != watch.Modified {
				t.Errorf("event %s, want %s", ev.Type, watch.Modified)
			}
			if diff := cmp.Diff(updated, got); diff != "" {
				t.Errorf("watched PetSet (-JSON update +protobuf event):\n%s", diff)
			}
			return
		}
	}
}
