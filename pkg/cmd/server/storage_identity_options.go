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
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/petsets/petset/pkg/storageidentity"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// DefaultStorageIdentityConfigMap is where the cluster's record of the
// storage identity is kept unless --storage-identity-configmap says
// otherwise.
const DefaultStorageIdentityConfigMap = DefaultLeaseNamespace + "/petset-apiserver-storage-identity"

// StorageIdentityOptions configure the storage identity guard: a server on
// a cluster refuses to serve a storage that is not the one the cluster
// recorded (see package storageidentity).
type StorageIdentityOptions struct {
	// Enabled checks the storage identity on start. Never with
	// --standalone, which has no cluster.
	Enabled bool
	// ConfigMap is "<namespace>/<name>" of the cluster's record.
	ConfigMap string
	// Adopt resolves a mismatch in favour of the storage the server was
	// started on.
	Adopt bool

	namespace, name string
}

// NewStorageIdentityOptions returns the defaults: the guard on.
func NewStorageIdentityOptions() *StorageIdentityOptions {
	return &StorageIdentityOptions{Enabled: true, ConfigMap: DefaultStorageIdentityConfigMap}
}

// AddFlags adds the guard's flags to fs.
func (o *StorageIdentityOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Enabled, "storage-identity-guard", o.Enabled,
		"Record an identity of the storage in etcd and in the cluster, and refuse to serve (503, /readyz failing) a storage "+
			"whose identity does not match the cluster's record, so that a server started on empty or wrong storage never makes "+
			"the garbage collector delete pets. Always off with --standalone.")
	fs.StringVar(&o.ConfigMap, "storage-identity-configmap", o.ConfigMap,
		"<namespace>/<name> of the ConfigMap holding the cluster's record of the storage identity.")
	fs.BoolVar(&o.Adopt, "adopt-storage-identity", o.Adopt,
		"On a storage identity mismatch, adopt the storage the server was started on and record its identity in the cluster. "+
			"Use once, after checking that this storage is the one to keep.")
}

// Complete turns the guard off in standalone mode and splits the ConfigMap
// reference.
func (o *StorageIdentityOptions) Complete(standalone bool) {
	if standalone {
		o.Enabled = false
	}
	o.namespace, o.name, _ = strings.Cut(o.ConfigMap, "/")
}

// Validate checks the ConfigMap reference.
func (o *StorageIdentityOptions) Validate() []error {
	if !o.Enabled {
		return nil
	}
	namespace, name, ok := strings.Cut(o.ConfigMap, "/")
	if !ok {
		return []error{fmt.Errorf("--storage-identity-configmap must be <namespace>/<name>, not %q", o.ConfigMap)}
	}
	var errs []error
	for _, msg := range validation.IsDNS1123Label(namespace) {
		errs = append(errs, fmt.Errorf("--storage-identity-configmap: namespace %q: %s", namespace, msg))
	}
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, fmt.Errorf("--storage-identity-configmap: name %q: %s", name, msg))
	}
	return errs
}

// Config returns the guard, or nil when it is off.
func (o *StorageIdentityOptions) Config() *storageidentity.Guard {
	if !o.Enabled {
		return nil
	}
	return storageidentity.NewGuard()
}

// run checks the identity of the storage described by storage against the
// cluster reached with cluster, until the check completes or ctx is done.
func (o *StorageIdentityOptions) run(ctx context.Context, guard *storageidentity.Guard, storage storagebackend.Config, cluster *rest.Config) error {
	if cluster == nil {
		return errors.New("the storage identity guard needs a cluster to record the identity in: set --kubeconfig, " +
			"run in a cluster, or pass --storage-identity-guard=false")
	}
	kubeClient, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cluster), "petset-apiserver-storage-identity"))
	if err != nil {
		return fmt.Errorf("client for the storage identity record: %w", err)
	}
	etcdClient, err := storageidentity.NewEtcdClient(storage.Transport)
	if err != nil {
		return err
	}
	go func() {
		defer func() {
			if err := etcdClient.Close(); err != nil {
				klog.FromContext(ctx).V(2).Info("Closing the storage identity etcd client", "err", err)
			}
		}()
		guard.Run(ctx,
			storageidentity.EtcdSide{Client: etcdClient, Prefix: storage.Prefix},
			storageidentity.ConfigMapSide{Client: kubeClient, Namespace: o.namespace, Name: o.name, Prefix: storage.Prefix, Now: time.Now},
			o.Adopt,
			func() storageidentity.Identity { return storageidentity.Identity(uuid.NewUUID()) })
	}()
	return nil
}
