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
	"fmt"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

// StorageCodec returns the codec of the stored PetSets: it encodes the
// v1alpha1 version in mediaType and decodes JSON, YAML and protobuf alike
// into the internal version, so objects written with another
// --storage-media-type stay readable.
func StorageCodec(mediaType string, config storagebackend.Config) (runtime.Codec, error) {
	codec, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
		StorageMediaType:  mediaType,
		StorageSerializer: Codecs,
		StorageVersion:    appsv1alpha1.SchemeGroupVersion,
		MemoryVersion:     schema.GroupVersion{Group: appsv1alpha1.GroupName, Version: runtime.APIVersionInternal},
		Config:            config,
	})
	if err != nil {
		return nil, fmt.Errorf("the storage codec of --storage-media-type %q: %w", mediaType, err)
	}
	return codec, nil
}
