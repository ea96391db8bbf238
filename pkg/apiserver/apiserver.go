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

// Package apiserver assembles the PetSet API server: the scheme and codecs,
// the REST storage of the apps/v1alpha1 group, and the generic apiserver it
// runs in.
package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/petsets/petset/pkg/apis/apps"
	"github.com/petsets/petset/pkg/apis/apps/install"
	petsetregistry "github.com/petsets/petset/pkg/registry/apps/petset"
	petsetstorage "github.com/petsets/petset/pkg/registry/apps/petset/storage"
	"github.com/petsets/petset/pkg/storageidentity"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

var (
	// Scheme knows the PetSet types, the autoscaling/v1 Scale served by
	// /scale, and the meta types every API server serves.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes the types of Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	install.Install(Scheme)

	// The /scale subresource serves autoscaling/v1 Scale. The same Go type
	// is registered as the internal version too, so requests decode without
	// a conversion.
	Scheme.AddKnownTypes(autoscalingv1.SchemeGroupVersion, &autoscalingv1.Scale{})
	Scheme.AddKnownTypes(schema.GroupVersion{Group: autoscalingv1.GroupName, Version: runtime.APIVersionInternal}, &autoscalingv1.Scale{})

	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{},
		&metav1.APIVersions{},
		&metav1.APIGroupList{},
		&metav1.APIGroup{},
		&metav1.APIResourceList{},
	)
}

// Config is the configuration of a PetSet API server.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	// RunsController says that this server runs the PetSet controller: new
	// PetSets then get the controller's finalizer at creation.
	RunsController bool
	// StorageIdentity, when set, keeps the API unserved (503, and /readyz
	// failing) until the storage identity check has passed.
	StorageIdentity *storageidentity.Guard
}

// completedConfig is what Complete makes of a Config.
type completedConfig struct {
	GenericConfig genericapiserver.CompletedConfig
	// applyGuard checks apply patches against the schema; its handler is
	// already in GenericConfig's handler chain.
	applyGuard     *applyPatchGuard
	runsController bool
}

// CompletedConfig is a Config with every default filled in. Only
// Config.Complete makes one: the unexported pointer it embeds cannot be set
// outside this package (New refuses the zero value), so a server is never
// built from a configuration that skipped Complete, and with it the
// apply-patch check.
type CompletedConfig struct {
	*completedConfig
}

// PetSetServer is a running PetSet API server.
type PetSetServer struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
}

// Complete fills in the defaults of the configuration.
func (c *Config) Complete() CompletedConfig {
	guard := &applyPatchGuard{maxBodyBytes: c.GenericConfig.MaxRequestBodyBytes}
	buildChain := c.GenericConfig.BuildHandlerChainFunc
	if buildChain == nil {
		buildChain = genericapiserver.DefaultBuildHandlerChain
	}
	identity := c.StorageIdentity
	c.GenericConfig.BuildHandlerChainFunc = func(apiHandler http.Handler, cfg *genericapiserver.Config) http.Handler {
		handler := guard.wrap(apiHandler)
		if identity != nil {
			handler = identity.Wrap(handler)
		}
		return buildChain(handler, cfg)
	}
	if identity != nil {
		c.GenericConfig.AddReadyzChecks(identity.ReadyzCheck())
	}
	return CompletedConfig{&completedConfig{GenericConfig: c.GenericConfig.Complete(), applyGuard: guard, runsController: c.RunsController}}
}

// errNotCompleted is New's error for a CompletedConfig that Complete did
// not make: the zero value.
var errNotCompleted = errors.New("the configuration was not completed: build it with Config.Complete")

// New builds the server and installs the apps/v1alpha1 group.
func (c CompletedConfig) New() (*PetSetServer, error) {
	if c.completedConfig == nil || c.applyGuard == nil {
		return nil, errNotCompleted
	}
	genericServer, err := c.GenericConfig.New("petset-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating the generic apiserver: %w", err)
	}

	storage, err := petsetstorage.NewStorage(Scheme, c.GenericConfig.RESTOptionsGetter,
		petsetregistry.Options{ControllerFinalizer: c.runsController})
	if err != nil {
		return nil, err
	}
	apiGroupInfo := genericapiserver.NewDefaultAPIGroupInfo(apps.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	apiGroupInfo.VersionedResourcesStorageMap["v1alpha1"] = map[string]rest.Storage{
		"petsets":        storage.PetSet,
		"petsets/status": storage.Status,
		"petsets/scale":  storage.Scale,
	}
	if err := genericServer.InstallAPIGroup(&apiGroupInfo); err != nil {
		return nil, fmt.Errorf("installing the %s API group: %w", apps.GroupName, err)
	}
	// The same schema the apply handler uses, built by InstallAPIGroup.
	tc, err := managedfields.NewTypeConverter(apiGroupInfo.StaticOpenAPISpec, false)
	if err != nil {
		return nil, fmt.Errorf("building the apply schema of the %s API group: %w", apps.GroupName, err)
	}
	c.applyGuard.setTypeConverter(tc)
	return &PetSetServer{GenericAPIServer: genericServer}, nil
}
