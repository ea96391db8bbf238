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
	"k8s.io/apimachinery/pkg/runtime"
)

// withoutProtobuf offers the media types of a NegotiatedSerializer except
// protobuf. The PetSet types have no protobuf encoding; if the server offered
// it, a client that prefers protobuf and accepts JSON (kube-controller-
// manager's namespace controller and garbage collector do) would be answered
// 406 Not Acceptable instead of getting JSON, and could never delete a
// PetSet or a namespace holding one.
type withoutProtobuf struct {
	runtime.NegotiatedSerializer
}

func (s withoutProtobuf) SupportedMediaTypes() []runtime.SerializerInfo {
	all := s.NegotiatedSerializer.SupportedMediaTypes()
	out := make([]runtime.SerializerInfo, 0, len(all))
	for _, info := range all {
		if info.MediaType == runtime.ContentTypeProtobuf {
			continue
		}
		out = append(out, info)
	}
	return out
}
