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

package apiserver

import (
	"bytes"
	"os"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/pkg/apis/apps"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/utils/ptr"
)

// storedGuidePetSet returns the PetSet of the guide's example
// (artifacts/examples/petset.yaml) as the server stores it: defaulted, with
// the metadata the server sets, the managed fields of a kubectl apply and of
// the controller's status updates, and a status.
func storedGuidePetSet(tb testing.TB) *appsv1alpha1.PetSet {
	tb.Helper()
	data, err := os.ReadFile("../../artifacts/examples/petset.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var ps *appsv1alpha1.PetSet
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		if !bytes.Contains(doc, []byte("\nkind: PetSet\n")) {
			continue // the Service
		}
		obj, _, err := Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			tb.Fatalf("decoding the guide's example: %v", err)
		}
		ps, _ = obj.(*appsv1alpha1.PetSet)
	}
	if ps == nil {
		tb.Fatal("no PetSet in artifacts/examples/petset.yaml")
	}
	Scheme.Default(ps)
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ps.Namespace = "default"
	ps.UID = types.UID("6f1f3a52-3c4e-4c1b-9a57-0e8a1f6c2d41")
	ps.ResourceVersion = "123456"
	ps.Generation = 1
	ps.CreationTimestamp = created
	ps.Labels = map[string]string{"app": "nginx"}
	ps.Finalizers = []string{"apps.petsets.io/petset-controller"}
	ps.ManagedFields = []metav1.ManagedFieldsEntry{{
		Manager:    "kubectl",
		Operation:  metav1.ManagedFieldsOperationApply,
		APIVersion: "apps/v1alpha1",
		Time:       &created,
		FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{},"f:serviceName":{},"f:template":{"f:metadata":{` +
			`"f:annotations":{"f:pod.alpha.kubernetes.io/initialized":{}},"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{` +
			`"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{` +
			`".":{},"f:containerPort":{},"f:name":{}}},"f:volumeMounts":{"k:{\"mountPath\":\"/usr/share/nginx/html\"}":{".":{},` +
			`"f:mountPath":{},"f:name":{}}}}},"f:terminationGracePeriodSeconds":{}}},"f:volumeClaimTemplates":{}}}`)},
	}, {
		Manager:     "petset-controller",
		Operation:   metav1.ManagedFieldsOperationUpdate,
		APIVersion:  "apps/v1alpha1",
		Time:        &created,
		FieldsType:  "FieldsV1",
		Subresource: "status",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:availableReplicas":{},"f:collisionCount":{},"f:currentReplicas":{},` +
			`"f:currentRevision":{},"f:observedGeneration":{},"f:readyReplicas":{},"f:replicas":{},"f:updateRevision":{},"f:updatedReplicas":{}}}`)},
	}}
	ps.Status = appsv1alpha1.PetSetStatus{
		ObservedGeneration: ptr.To[int64](1),
		Replicas:           2,
		ReadyReplicas:      2,
		CurrentReplicas:    2,
		UpdatedReplicas:    2,
		AvailableReplicas:  2,
		CurrentRevision:    "web-7b9c5d8f6",
		UpdateRevision:     "web-7b9c5d8f6",
		CollisionCount:     ptr.To[int32](0),
	}
	return ps
}

// encodings are the media types compared: JSON, which the server stored
// before, and protobuf, which it stores now.
var encodings = []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf}

func serializerFor(tb testing.TB, mediaType string) runtime.Serializer {
	tb.Helper()
	info, ok := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		tb.Fatalf("no serializer for %s", mediaType)
	}
	return info.Serializer
}

// storageCodecFor is the codec the server's storage uses for mediaType.
func storageCodecFor(tb testing.TB, mediaType string) runtime.Codec {
	tb.Helper()
	codec, err := StorageCodec(mediaType, storagebackend.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return codec
}

// TestStoredGuidePetSetRoundTrips checks what the benchmarks measure: the
// stored PetSet survives both encodings, through the storage codec too.
func TestStoredGuidePetSetRoundTrips(t *testing.T) {
	ps := storedGuidePetSet(t)
	for _, mediaType := range encodings {
		t.Run(mediaType, func(t *testing.T) {
			s := serializerFor(t, mediaType)
			data, err := runtime.Encode(s, ps)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes", len(data))
			decoded, _, err := s.Decode(data, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !apiequality.Semantic.DeepEqual(ps, decoded) {
				t.Errorf("round trip changed the PetSet")
			}
			codec := storageCodecFor(t, mediaType)
			internal, err := runtime.Decode(codec, data)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := internal.(*apps.PetSet); !ok {
				t.Fatalf("the storage codec decoded a %T", internal)
			}
			again, err := runtime.Encode(codec, internal)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, again) {
				t.Errorf("the storage codec encodes the decoded PetSet differently")
			}
		})
	}
}

// BenchmarkPetSetEncoding encodes and decodes the guide's stored PetSet in
// JSON and protobuf: the serializer alone on the v1alpha1 object, and the
// storage codec (conversion to and from the internal version and defaults
// included), as etcd3 storage's Get and GuaranteedUpdate decode every
// stored object. It reports the encoded size too.
func BenchmarkPetSetEncoding(b *testing.B) {
	ps := storedGuidePetSet(b)
	for _, mediaType := range encodings {
		name := map[string]string{runtime.ContentTypeJSON: "json", runtime.ContentTypeProtobuf: "protobuf"}[mediaType]
		s := serializerFor(b, mediaType)
		data, err := runtime.Encode(s, ps)
		if err != nil {
			b.Fatal(err)
		}
		codec := storageCodecFor(b, mediaType)
		internal, err := runtime.Decode(codec, data)
		if err != nil {
			b.Fatal(err)
		}

		b.Run("encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := s.Encode(ps, &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "bytes/object")
		})
		b.Run("decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Decode(data, nil, &appsv1alpha1.PetSet{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("storage-encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := runtime.Encode(codec, internal); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("storage-decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := runtime.Decode(codec, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
