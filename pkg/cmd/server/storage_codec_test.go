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

package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apiserver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
)

func TestStorageMediaTypeDefaultsToProtobuf(t *testing.T) {
	o, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.RecommendedOptions.Etcd.DefaultStorageMediaType; got != runtime.ContentTypeProtobuf {
		t.Errorf("storage media type %q, want %q", got, runtime.ContentTypeProtobuf)
	}
	o, err = parse(t, "--storage-media-type", runtime.ContentTypeJSON)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.RecommendedOptions.Etcd.DefaultStorageMediaType; got != runtime.ContentTypeJSON {
		t.Errorf("storage media type %q with --storage-media-type %s", got, runtime.ContentTypeJSON)
	}
}

// TestStorageCodecReadsEveryEncoding stores a PetSet with the codec of each
// storage media type and reads it with the codec of each other: a server
// whose --storage-media-type changed reads what the previous one wrote.
func TestStorageCodecReadsEveryEncoding(t *testing.T) {
	o := NewOptions()
	ps := &apps.PetSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "nginx"}}}
	ps.Spec.ServiceName = "nginx"
	prefixes := map[string][]byte{
		runtime.ContentTypeJSON:     []byte("{"),
		runtime.ContentTypeYAML:     []byte("apiVersion: apps/v1alpha1\n"),
		runtime.ContentTypeProtobuf: []byte("k8s\x00"),
	}
	for written, prefix := range prefixes {
		writer, err := apiserver.StorageCodec(written, o.RecommendedOptions.Etcd.StorageConfig)
		if err != nil {
			t.Fatal(err)
		}
		data, err := runtime.Encode(writer, ps)
		if err != nil {
			t.Fatalf("encoding as %s: %v", written, err)
		}
		if !bytes.HasPrefix(data, prefix) {
			t.Errorf("stored as %s, the PetSet starts with %q, want %q", written, data[:min(len(data), 16)], prefix)
		}
		for read := range prefixes {
			reader, err := apiserver.StorageCodec(read, o.RecommendedOptions.Etcd.StorageConfig)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := runtime.Decode(reader, data)
			if err != nil {
				t.Errorf("reading %s with the %s codec: %v", written, read, err)
				continue
			}
			got, ok := obj.(*apps.PetSet)
			if !ok {
				t.Errorf("reading %s with the %s codec gave a %T, want the internal PetSet", written, read, obj)
				continue
			}
			if got.Name != "web" || got.Spec.ServiceName != "nginx" || got.Labels["app"] != "nginx" {
				t.Errorf("reading %s with the %s codec gave %+v", written, read, got.ObjectMeta)
			}
		}
	}
	if _, err := apiserver.StorageCodec("text/plain", o.RecommendedOptions.Etcd.StorageConfig); err == nil {
		t.Errorf("a storage codec for text/plain")
	}
}

// TestControllerPetSetClientSpeaksProtobuf checks the requests of the
// bundled controller's PetSet client: protobuf bodies, protobuf asked for
// and JSON accepted, as kube-controller-manager's clients send.
func TestControllerPetSetClientSpeaksProtobuf(t *testing.T) {
	type request struct{ contentType, accept string }
	requests := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case requests <- request{r.Header.Get("Content-Type"), r.Header.Get("Accept")}:
		default:
		}
		http.Error(w, "test", http.StatusTeapot)
	}))
	defer srv.Close()

	o := NewOptions()
	cfg, err := o.controllerConfig(&rest.Config{Host: srv.URL}, &rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ps := &appsv1alpha1.PetSet{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	_, _ = cfg.PetSetClient.AppsV1alpha1().PetSets("default").UpdateStatus(t.Context(), ps, metav1.UpdateOptions{})
	got := <-requests
	if want := (request{runtime.ContentTypeProtobuf, runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON}); got != want {
		t.Errorf("the controller's PetSet client sent %+v, want %+v", got, want)
	}
}
