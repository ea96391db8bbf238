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

package storageidentity

import (
	"context"
	"crypto/tls"
	"fmt"
	"path"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
)

// etcdKeyName is the name of the key, under the server's etcd prefix, that
// holds the storage identity. No resource is stored under it.
const etcdKeyName = "storage-identity"

// EtcdSide keeps the identity in etcd under the server's prefix.
type EtcdSide struct {
	Client *clientv3.Client
	// Prefix is the server's --etcd-prefix.
	Prefix string
}

func (s EtcdSide) key() string { return path.Join("/", s.Prefix, etcdKeyName) }

// Describe names the key.
func (s EtcdSide) Describe() string { return fmt.Sprintf("etcd key %s", s.key()) }

// Get reads the key.
func (s EtcdSide) Get(ctx context.Context) (Identity, bool, error) {
	resp, err := s.Client.Get(ctx, s.key())
	if err != nil {
		return "", false, err
	}
	if len(resp.Kvs) == 0 {
		return "", false, nil
	}
	return Identity(resp.Kvs[0].Value), true, nil
}

// CreateIfAbsent writes the key in a transaction that succeeds only if the
// key does not exist, and returns what the key holds afterwards.
func (s EtcdSide) CreateIfAbsent(ctx context.Context, id Identity) (Identity, error) {
	resp, err := s.Client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(s.key()), "=", 0)).
		Then(clientv3.OpPut(s.key(), string(id))).
		Else(clientv3.OpGet(s.key())).
		Commit()
	if err != nil {
		return "", err
	}
	if resp.Succeeded {
		return id, nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return "", fmt.Errorf("%s exists but could not be read", s.key())
	}
	return Identity(kvs[0].Value), nil
}

// Replace writes the key.
func (s EtcdSide) Replace(ctx context.Context, id Identity) error {
	_, err := s.Client.Put(ctx, s.key(), string(id))
	return err
}

// ConfigMap keys of the cluster's record.
const (
	configMapIdentityKey = "identity"
	configMapPrefixKey   = "etcdPrefix"
	configMapTimeKey     = "recordedAt"
)

// ConfigMapSide keeps the identity in a ConfigMap of the cluster.
type ConfigMapSide struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	// Prefix is the server's --etcd-prefix, recorded for the operator.
	Prefix string
	// Now returns the time recorded with the identity.
	Now func() time.Time
}

// Describe names the ConfigMap.
func (s ConfigMapSide) Describe() string {
	return fmt.Sprintf("ConfigMap %s/%s", s.Namespace, s.Name)
}

// Get reads the ConfigMap. A ConfigMap without the identity key counts as no
// record.
func (s ConfigMapSide) Get(ctx context.Context) (Identity, bool, error) {
	cm, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	id, ok := cm.Data[configMapIdentityKey]
	return Identity(id), ok && id != "", nil
}

func (s ConfigMapSide) data(id Identity) map[string]string {
	return map[string]string{
		configMapIdentityKey: string(id),
		configMapPrefixKey:   s.Prefix,
		configMapTimeKey:     s.Now().UTC().Format(time.RFC3339),
	}
}

// CreateIfAbsent creates the ConfigMap; if it exists, it returns the
// identity it holds.
func (s ConfigMapSide) CreateIfAbsent(ctx context.Context, id Identity) (Identity, error) {
	cm := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name,
			Labels: map[string]string{"app.kubernetes.io/part-of": "petset"}},
		Data: s.data(id),
	}
	_, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if err == nil {
		return id, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	recorded, found, err := s.Get(ctx)
	if err != nil {
		return "", err
	}
	if !found {
		// The ConfigMap exists without an identity: fill it in.
		return id, s.Replace(ctx, id)
	}
	return recorded, nil
}

// Replace writes the identity into the ConfigMap, creating it if needed.
func (s ConfigMapSide) Replace(ctx context.Context, id Identity) error {
	cm, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = s.CreateIfAbsent(ctx, id)
		return err
	}
	if err != nil {
		return err
	}
	cm.Data = s.data(id)
	_, err = s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	return err
}

// NewEtcdClient connects to the etcd servers of the server's storage
// configuration, with its TLS credentials.
func NewEtcdClient(c storagebackend.TransportConfig) (*clientv3.Client, error) {
	var tlsConfig *tls.Config
	if c.CertFile != "" || c.KeyFile != "" || c.TrustedCAFile != "" {
		var err error
		tlsConfig, err = transport.TLSInfo{CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile}.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS configuration: %w", err)
		}
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   c.ServerList,
		TLS:         tlsConfig,
		DialTimeout: 20 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", c.ServerList, err)
	}
	return client, nil
}
