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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	config := c.PetSetServerConfig(filepath.Join(pki, "front-proxy-client.crt"), filepath.Join(pki, "front-proxy-client.key"))
	return WithRequestHeaders(config, user, groups...)
}

// PetSetServerConfig returns a configuration that talks to petset-apiserver
// directly, verifying its serving certificate, with the client certificate
// certFile and its key keyFile, or without any credential when both are
// empty.
func (c *Cluster) PetSetServerConfig(certFile, keyFile string) *rest.Config {
	return &rest.Config{
		Host: c.Env["PETSET_APISERVER_URL"],
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   c.Env["PETSET_SERVING_CA"],
			CertFile: certFile,
			KeyFile:  keyFile,
		},
	}
}

// KubeAPIServerConfig returns a configuration for kube-apiserver that
// authenticates with the client certificate certFile and its key keyFile
// instead of the admin's credentials, or with none when both are empty.
func (c *Cluster) KubeAPIServerConfig(certFile, keyFile string) *rest.Config {
	config := rest.AnonymousClientConfig(c.Config)
	config.CertFile, config.KeyFile = certFile, keyFile
	return config
}

// WithRequestHeaders returns config with every request carrying user in
// X-Remote-User and groups in X-Remote-Group, the headers the aggregator
// sets. Only a client certificate that petset-apiserver accepts as a front
// proxy makes it trust them.
func WithRequestHeaders(config *rest.Config, user string, groups ...string) *rest.Config {
	config = rest.CopyConfig(config)
	config.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &requestHeaderRoundTripper{user: user, groups: groups, next: rt}
	})
	return config
}

// Certificate authorities of the local cluster, as IssueClientCertificate
// takes them: the files <name>.crt and <name>.key in PKI_DIR.
const (
	// ClusterCA signs the client certificates kube-apiserver accepts
	// (--client-ca-file); petset-apiserver accepts them too, as it reads
	// the same client CA from kube-system/extension-apiserver-authentication.
	ClusterCA = "ca"
	// FrontProxyCA signs the front proxy's client certificate
	// (--requestheader-client-ca-file); only a certificate of it whose
	// common name is in --requestheader-allowed-names may set the user in
	// request headers.
	FrontProxyCA = "front-proxy-ca"
)

// IssueClientCertificate signs a client certificate for commonName, in the
// groups organizations, with the local cluster's certificate authority ca
// (ClusterCA, FrontProxyCA), valid for an hour. It writes the certificate
// and its key to a temporary directory of t and returns their paths; it
// fails the test on error.
func (c *Cluster) IssueClientCertificate(t testing.TB, ca, commonName string, organizations ...string) (certFile, keyFile string) {
	t.Helper()
	pki := c.Env["PKI_DIR"]
	certPEM, keyPEM, err := issueClientCertificate(filepath.Join(pki, ca+".crt"), filepath.Join(pki, ca+".key"), commonName, organizations)
	if err != nil {
		t.Fatalf("issuing a client certificate for %q with %s: %v", commonName, ca, err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func issueClientCertificate(caCertFile, caKeyFile, commonName string, organizations []string) (certPEM, keyPEM []byte, err error) {
	caPair, err := tls.LoadX509KeyPair(caCertFile, caKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the certificate authority: %w", err)
	}
	caCert, err := x509.ParseCertificate(caPair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("parsing %s: %w", caCertFile, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generating a serial number: %w", err)
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: organizations},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, caCert, key.Public(), caPair.PrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
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
