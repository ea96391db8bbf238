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
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestPetSetGroupDoesNotOfferProtobuf(t *testing.T) {
	mediaTypes := func(s runtime.NegotiatedSerializer) []string {
		var out []string
		for _, info := range s.SupportedMediaTypes() {
			out = append(out, info.MediaType)
		}
		return out
	}
	all := mediaTypes(Codecs)
	if !slices.Contains(all, runtime.ContentTypeProtobuf) {
		t.Fatalf("the codec factory offers %v; this test expects it to include protobuf", all)
	}
	want := slices.DeleteFunc(slices.Clone(all), func(m string) bool { return m == runtime.ContentTypeProtobuf })
	if diff := cmp.Diff(want, mediaTypes(withoutProtobuf{Codecs})); diff != "" {
		t.Errorf("media types (-want +got):\n%s", diff)
	}
}
