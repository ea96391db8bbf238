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

package framework

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/petsets/client-go/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Clients are the clients of one identity: Kube for kube-apiserver and
// PetSets for PetSets (through whatever server Config points at).
type Clients struct {
	Config  *rest.Config
	Kube    kubernetes.Interface
	PetSets versioned.Interface
}

// ClientsFor returns the clients of config; it fails the test on error.
func ClientsFor(t testing.TB, config *rest.Config) Clients {
	t.Helper()
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatalf("creating a Kubernetes client for %s: %v", config.Host, err)
	}
	petSets, err := versioned.NewForConfig(config)
	if err != nil {
		t.Fatalf("creating a PetSet client for %s: %v", config.Host, err)
	}
	return Clients{Config: config, Kube: kube, PetSets: petSets}
}

// ImpersonatedConfig returns a copy of the admin's configuration that acts
// as user (and, besides system:authenticated, which kube-apiserver adds,
// groups) through impersonation. Requests go through kube-apiserver, which
// passes the impersonated identity on to petset-apiserver.
func (c *Cluster) ImpersonatedConfig(user string, groups ...string) *rest.Config {
	config := rest.CopyConfig(c.Config)
	config.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return config
}

// Impersonate returns clients that act as user in groups; see
// ImpersonatedConfig.
func (c *Cluster) Impersonate(t testing.TB, user string, groups ...string) Clients {
	t.Helper()
	return ClientsFor(t, c.ImpersonatedConfig(user, groups...))
}

// KubeconfigClients returns clients built from the kubeconfig at path, such
// as Env["PETSET_APISERVER_KUBECONFIG"], the credentials petset-apiserver
// itself uses against kube-apiserver.
func (c *Cluster) KubeconfigClients(t testing.TB, path string) Clients {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return ClientsFor(t, config)
}

// FrontProxyConfig returns a configuration that talks to petset-apiserver
// directly, bypassing kube-apiserver, the way the aggregator does: with the
// front-proxy client certificate and the user and groups in the
// X-Remote-User and X-Remote-Group headers. petset-apiserver then
// authenticates the request from the headers and authorizes it itself
// (a SubjectAccessReview against kube-apiserver).
func (c *Cluster) FrontProxyConfig(user string, groups ...string) *rest.Config {
	pki := c.Env["PKI_DIR"]
	config := &rest.Config{
		Host: c.Env["PETSET_APISERVER_URL"],
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   c.Env["PETSET_SERVING_CA"],
			CertFile: filepath.Join(pki, "front-proxy-client.crt"),
			KeyFile:  filepath.Join(pki, "front-proxy-client.key"),
		},
	}
	config.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &requestHeaderRoundTripper{user: user, groups: groups, next: rt}
	})
	return config
}

type requestHeaderRoundTripper struct {
	user   string
	groups []string
	next   http.RoundTripper
}

func (rt *requestHeaderRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Remote-User", rt.user)
	req.Header.Del("X-Remote-Group")
	for _, g := range rt.groups {
		req.Header.Add("X-Remote-Group", g)
	}
	return rt.next.RoundTrip(req)
}
