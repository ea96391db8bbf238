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

// Package standalone runs the PetSet API server without a Kubernetes
// cluster: an etcd embedded in the process keeps the objects in a data
// directory, and a single generated admin credential is the only identity
// the server accepts and authorizes.
package standalone

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

const (
	// AdminUser is the user name of the generated admin credential.
	AdminUser = "petset-admin"

	tokenFile = "admin-token"
	portsFile = "etcd-ports.json"
)

// Paths names the files a standalone server keeps in its data directory.
type Paths struct {
	DataDir string
}

// EtcdDir is where the embedded etcd keeps its data.
func (p Paths) EtcdDir() string { return filepath.Join(p.DataDir, "etcd") }

// CertDir is where the self-signed serving certificate is kept.
func (p Paths) CertDir() string { return filepath.Join(p.DataDir, "certs") }

// Kubeconfig is the kubeconfig of the admin credential.
func (p Paths) Kubeconfig() string { return filepath.Join(p.DataDir, "kubeconfig") }

// Etcd is an etcd server running inside the process.
type Etcd struct {
	server    *embed.Etcd
	clientURL string
}

// ClientURL is the URL clients reach the embedded etcd at.
func (e *Etcd) ClientURL() string { return e.clientURL }

// Close stops the embedded etcd.
func (e *Etcd) Close() { e.server.Close() }

type etcdPorts struct {
	Client int `json:"client"`
	Peer   int `json:"peer"`
}

// StartEtcd starts an etcd server on loopback with its data in the data
// directory, reusing the ports of the previous run when they are free.
func StartEtcd(ctx context.Context, p Paths) (*Etcd, error) {
	logger := klog.FromContext(ctx)
	if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	ports, err := choosePorts(filepath.Join(p.DataDir, portsFile))
	if err != nil {
		return nil, err
	}

	cfg := embed.NewConfig()
	cfg.Name = "petset-standalone"
	cfg.Dir = p.EtcdDir()
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(p.DataDir, "etcd.log")}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports.Client))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports.Peer))}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	server, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", cfg.Dir, err)
	}
	select {
	case <-server.Server.ReadyNotify():
	case err := <-server.Err():
		server.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		server.Close()
		return nil, errors.New("embedded etcd did not become ready within 60s")
	case <-ctx.Done():
		server.Close()
		return nil, ctx.Err()
	}
	logger.Info("Embedded etcd is ready", "url", clientURL.String(), "dataDir", cfg.Dir)
	return &Etcd{server: server, clientURL: clientURL.String()}, nil
}

// choosePorts returns the ports of the previous run if both are still free,
// and two new free loopback ports otherwise. The choice is recorded.
func choosePorts(path string) (etcdPorts, error) {
	var ports etcdPorts
	if data, err := os.ReadFile(path); err == nil {
		if json.Unmarshal(data, &ports) == nil && portFree(ports.Client) && portFree(ports.Peer) && ports.Client != ports.Peer {
			return ports, nil
		}
	}
	var err error
	if ports.Client, err = freePort(); err != nil {
		return ports, err
	}
	for {
		if ports.Peer, err = freePort(); err != nil {
			return ports, err
		}
		if ports.Peer != ports.Client {
			break
		}
	}
	data, err := json.Marshal(ports)
	if err != nil {
		return ports, fmt.Errorf("encoding etcd ports: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return ports, fmt.Errorf("recording etcd ports: %w", err)
	}
	return ports, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	if port <= 0 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// AdminToken returns the admin bearer token kept in the data directory,
// generating it on first use.
func AdminToken(p Paths) (string, error) {
	path := filepath.Join(p.DataDir, tokenFile)
	if data, err := os.ReadFile(path); err == nil {
		if token := strings.TrimSpace(string(data)); token != "" {
			return token, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading admin token: %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generating admin token: %w", err)
	}
	token := hex.EncodeToString(buf)
	if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("creating data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing admin token: %w", err)
	}
	return token, nil
}

// Authenticator accepts exactly the admin bearer token.
func Authenticator(token string) authenticator.Request {
	admin := &user.DefaultInfo{Name: AdminUser, Groups: []string{user.AllAuthenticated}}
	return bearertoken.New(authenticator.TokenFunc(func(_ context.Context, value string) (*authenticator.Response, bool, error) {
		if subtle.ConstantTimeCompare([]byte(value), []byte(token)) != 1 {
			return nil, false, nil
		}
		return &authenticator.Response{User: admin}, true, nil
	}))
}

// Authorizer allows every request of the admin user and no other.
func Authorizer() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if u := a.GetUser(); u != nil && u.GetName() == AdminUser {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "only the standalone admin credential is authorized", nil
	})
}

// WriteKubeconfig writes a kubeconfig for the admin credential that trusts
// the server's certificate bundle.
func WriteKubeconfig(p Paths, serverURL string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["petset-standalone"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["petset-standalone"] = &clientcmdapi.Context{Cluster: "petset-standalone", AuthInfo: AdminUser, Namespace: "default"}
	cfg.CurrentContext = "petset-standalone"
	if err := clientcmd.WriteToFile(*cfg, p.Kubeconfig()); err != nil {
		return fmt.Errorf("writing %s: %w", p.Kubeconfig(), err)
	}
	return os.Chmod(p.Kubeconfig(), 0o600)
}
