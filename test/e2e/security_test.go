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

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/test/e2e/framework"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// secRequestTimeout bounds every request of these tests.
const secRequestTimeout = 30 * time.Second

// secRequest is one HTTP request to an API server.
type secRequest struct {
	method string
	// path is the absolute path with its query.
	path string
	body []byte
	// fresh, when set, builds the body anew for each send: an update then
	// carries the object as stored at that moment.
	fresh       func(ctx context.Context) ([]byte, error)
	contentType string
	// watch marks a watch: its answer streams, so only the status line is
	// read.
	watch bool
}

func (r secRequest) String() string { return r.method + " " + r.path }

// secAnswer is what a request got: the HTTP status code and, when the body
// is a Status, its message.
type secAnswer struct {
	code    int
	message string
}

func (a secAnswer) String() string {
	if a.message == "" {
		return fmt.Sprint(a.code)
	}
	return fmt.Sprintf("%d (%s)", a.code, a.message)
}

// secClient sends raw requests with the transport (TLS, credentials,
// impersonation, request headers) of one rest.Config.
type secClient struct {
	host string
	http *http.Client
}

func secClientFor(t *testing.T, config *rest.Config) secClient {
	t.Helper()
	client, err := rest.HTTPClientFor(config)
	if err != nil {
		t.Fatalf("creating an HTTP client for %s: %v", config.Host, err)
	}
	t.Cleanup(client.CloseIdleConnections)
	return secClient{host: strings.TrimSuffix(config.Host, "/"), http: client}
}

func (c secClient) send(ctx context.Context, r secRequest) (secAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, secRequestTimeout)
	defer cancel()
	body := r.body
	if r.fresh != nil {
		var err error
		if body, err = r.fresh(ctx); err != nil {
			return secAnswer{}, fmt.Errorf("%s: building the body: %w", r, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.host+r.path, bytes.NewReader(body))
	if err != nil {
		return secAnswer{}, fmt.Errorf("%s: %w", r, err)
	}
	req.Header.Set("Accept", "application/json")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return secAnswer{}, fmt.Errorf("%s: %w", r, err)
	}
	defer resp.Body.Close()
	answer := secAnswer{code: resp.StatusCode}
	if r.watch && resp.StatusCode == http.StatusOK {
		return answer, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return secAnswer{}, fmt.Errorf("%s: reading the answer: %w", r, err)
	}
	var status metav1.Status
	if json.Unmarshal(data, &status) == nil && status.Kind == "Status" {
		answer.message = status.Message
	}
	return answer, nil
}

// do sends r and fails the test if it could not be sent.
func (c secClient) do(t *testing.T, r secRequest) secAnswer {
	t.Helper()
	answer, err := c.send(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return answer
}

// secJSON encodes obj for a request body.
func secJSON(t *testing.T, obj any) []byte {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// secPetSets is the path of the PetSets in ns (all namespaces when empty),
// followed by name and subresource when given.
func secPetSets(ns string, parts ...string) string {
	path := "/apis/apps/v1alpha1"
	if ns != "" {
		path += "/namespaces/" + ns
	}
	path += "/petsets"
	for _, p := range parts {
		path += "/" + p
	}
	return path
}

// secDryRun adds dryRun=All to path: the writes of these tests are
// authorized, admitted and validated like real ones, and leave the stored
// PetSets unchanged, so that each request finds the same state.
func secDryRun(path string) string {
	if strings.Contains(path, "?") {
		return path + "&dryRun=All"
	}
	return path + "?dryRun=All"
}

// secNewPetSet returns a PetSet "name" for a create: the guide's "web"
// without replicas, so that the controller starts no pets for it.
func secNewPetSet(t *testing.T, name string) *appsv1alpha1.PetSet {
	t.Helper()
	ps := apiWebPetSet(t)
	ps.Name = name
	ps.Spec.Replicas = ptr.To[int32](0)
	ps.TypeMeta = metav1.TypeMeta{APIVersion: appsv1alpha1.SchemeGroupVersion.String(), Kind: "PetSet"}
	return ps
}

// secCreateRequest creates (dry run) a PetSet in ns.
func secCreateRequest(t *testing.T, ns string) secRequest {
	t.Helper()
	return secRequest{
		method:      http.MethodPost,
		path:        secDryRun(secPetSets(ns)),
		body:        secJSON(t, secNewPetSet(t, "created-in-dry-run")),
		contentType: "application/json",
	}
}

// secListRequest lists the PetSets in ns (all namespaces when empty).
func secListRequest(ns string) secRequest {
	return secRequest{method: http.MethodGet, path: secPetSets(ns)}
}

// secCreateWeb creates the PetSet "web" without pets in ns as the admin.
// The tests' writes to it are dry runs and their updates unconditional, so
// whatever the controller writes to it meanwhile changes no answer.
func secCreateWeb(t *testing.T, ns string) *appsv1alpha1.PetSet {
	t.Helper()
	web, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(context.Background(), secNewPetSet(t, "web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the PetSet web in %s: %v", ns, err)
	}
	return web
}

// secGrant creates a Role in ns with rules and binds it to subjects.
func secGrant(t *testing.T, ns, name string, rules []rbacv1.PolicyRule, subjects ...rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	if _, err := cluster.Kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Role %s/%s: %v", ns, name, err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   subjects,
	}
	if _, err := cluster.Kube.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating RoleBinding %s/%s: %v", ns, name, err)
	}
}

func secUserSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}
}

func secGroupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
}

// secCheck is a request and the answer it must get.
type secCheck struct {
	name string
	req  secRequest
	code int
	// message, when set, must be part of the answer's Status message: it
	// names the identity the server acted as.
	message string
}

func secRun(t *testing.T, c secClient, checks []secCheck) {
	t.Helper()
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			got := c.do(t, tc.req)
			if got.code != tc.code {
				t.Errorf("%s: got %s, want %d", tc.req, got, tc.code)
			}
			if tc.message != "" && !strings.Contains(got.message, tc.message) {
				t.Errorf("%s: got %s, want a message with %q", tc.req, got, tc.message)
			}
		})
	}
}

// TestSecurityPetSetServerTrustsRequestHeadersOnlyFromTheFrontProxy sends
// requests straight to petset-apiserver that claim, in X-Remote-User and
// X-Remote-Group, to come from a member of system:masters. Only the front
// proxy's client certificate (front-proxy CA, a common name in
// --requestheader-allowed-names) makes the server believe them. Otherwise
// the headers are ignored: without a credential the request is anonymous;
// with another credential (a client certificate of the cluster CA, a
// service account token) it is that credential's user's; a certificate of
// the front-proxy CA with a common name that is not allowed, and the front
// proxy's certificate without a user header, fail authentication (401),
// even for /healthz.
func TestSecurityPetSetServerTrustsRequestHeadersOnlyFromTheFrontProxy(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	secCreateWeb(t, ns)
	const claimedUser = "e2e-claimed-admin"
	claimedGroups := []string{"system:masters", "system:authenticated"}

	requests := func(t *testing.T) []secRequest {
		return []secRequest{
			secListRequest(""),
			{method: http.MethodGet, path: secPetSets(ns, "web")},
			secCreateRequest(t, ns),
			{method: http.MethodDelete, path: secDryRun(secPetSets(ns, "web"))},
		}
	}
	wrongCNCert, wrongCNKey := cluster.IssueClientCertificate(t, framework.FrontProxyCA, "e2e-not-an-allowed-name")
	// The allowed name, but signed by the cluster's client CA rather than
	// the front-proxy CA: a plain user called front-proxy-client.
	otherCACert, otherCAKey := cluster.IssueClientCertificate(t, framework.ClusterCA, "front-proxy-client")
	pki := cluster.Env["PKI_DIR"]
	// A service account's token: petset-apiserver checks it with a
	// TokenReview.
	sa, err := cluster.Kube.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "e2e-token-holder"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a ServiceAccount: %v", err)
	}
	token, err := cluster.Kube.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for ServiceAccount %s: %v", sa.Name, err)
	}
	tokenConfig := cluster.PetSetServerConfig("", "")
	tokenConfig.BearerToken = token.Status.Token

	tests := []struct {
		name   string
		config *rest.Config
		// code and message are the answer to every request.
		code    int
		message string
		// healthz is the answer to /healthz: open to anonymous requests,
		// not to a certificate that fails authentication.
		healthz int
	}{
		{
			name:    "headers without a client certificate are ignored: the request is anonymous and forbidden",
			config:  framework.WithRequestHeaders(cluster.PetSetServerConfig("", ""), claimedUser, claimedGroups...),
			code:    http.StatusForbidden,
			message: `User "system:anonymous"`,
			healthz: http.StatusOK,
		},
		{
			name:    "headers with a front-proxy CA certificate whose name is not allowed are unauthorized",
			config:  framework.WithRequestHeaders(cluster.PetSetServerConfig(wrongCNCert, wrongCNKey), claimedUser, claimedGroups...),
			code:    http.StatusUnauthorized,
			message: "Unauthorized",
			healthz: http.StatusUnauthorized,
		},
		{
			name:    "headers with a cluster CA certificate named front-proxy-client are ignored: the request is that certificate's user's and forbidden",
			config:  framework.WithRequestHeaders(cluster.PetSetServerConfig(otherCACert, otherCAKey), claimedUser, claimedGroups...),
			code:    http.StatusForbidden,
			message: `User "front-proxy-client"`,
			healthz: http.StatusOK,
		},
		{
			name:    "headers with a service account token are ignored: the request is the service account's and forbidden",
			config:  framework.WithRequestHeaders(tokenConfig, claimedUser, claimedGroups...),
			code:    http.StatusForbidden,
			message: fmt.Sprintf(`User "system:serviceaccount:%s:%s"`, ns, sa.Name),
			healthz: http.StatusOK,
		},
		{
			name:    "the front-proxy certificate without headers is unauthorized",
			config:  cluster.PetSetServerConfig(filepath.Join(pki, "front-proxy-client.crt"), filepath.Join(pki, "front-proxy-client.key")),
			code:    http.StatusUnauthorized,
			message: "Unauthorized",
			healthz: http.StatusUnauthorized,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := secClientFor(t, tc.config)
			for _, r := range requests(t) {
				got := c.do(t, r)
				if got.code != tc.code || !strings.Contains(got.message, tc.message) {
					t.Errorf("%s: got %s, want %d with a message containing %q", r, got, tc.code, tc.message)
				}
			}
			if got := c.do(t, secRequest{method: http.MethodGet, path: "/healthz"}); got.code != tc.healthz {
				t.Errorf("GET /healthz: got %s, want %d", got, tc.healthz)
			}
		})
	}

	// The same headers with the front proxy's certificate are believed:
	// the requests above would have succeeded had the server trusted them.
	t.Run("headers with the front-proxy certificate act as the named user", func(t *testing.T) {
		c := secClientFor(t, cluster.FrontProxyConfig(claimedUser, claimedGroups...))
		want := []int{http.StatusOK, http.StatusOK, http.StatusCreated, http.StatusOK}
		for i, r := range requests(t) {
			if got := c.do(t, r); got.code != want[i] {
				t.Errorf("%s: got %s, want %d", r, got, want[i])
			}
		}
	})
}

// TestSecurityAnonymousRequestsReachOnlyTheHealthChecksAndVersion sends
// requests without any credential. The health checks the deployment's
// probes use stay open (--authorization-always-allow-paths defaults to
// /healthz, /livez and /readyz); /version is granted to everyone by the
// cluster's system:public-info-viewer ClusterRole, as on kube-apiserver;
// everything else, PetSets and discovery included, is forbidden.
func TestSecurityAnonymousRequestsReachOnlyTheHealthChecksAndVersion(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	secCreateWeb(t, ns)
	const anonymous = `User "system:anonymous"`
	get := func(path string) secRequest { return secRequest{method: http.MethodGet, path: path} }
	merge := func(path, patch string) secRequest {
		return secRequest{method: http.MethodPatch, path: secDryRun(path), body: []byte(patch), contentType: "application/merge-patch+json"}
	}
	open := []secCheck{
		{name: "/healthz is open", req: get("/healthz"), code: http.StatusOK},
		{name: "/livez is open (startup probe)", req: get("/livez"), code: http.StatusOK},
		{name: "/livez?exclude=etcd is open (liveness probe)", req: get("/livez?exclude=etcd"), code: http.StatusOK},
		{name: "/readyz is open (readiness probe)", req: get("/readyz"), code: http.StatusOK},
		{name: "/readyz?verbose is open", req: get("/readyz?verbose"), code: http.StatusOK},
		{name: "/version is open", req: get("/version"), code: http.StatusOK},
	}
	forbidden := []secCheck{
		{name: "a single health check is forbidden", req: get("/readyz/etcd")},
		{name: "a single liveness check is forbidden", req: get("/livez/ping")},
		{name: "/metrics is forbidden", req: get("/metrics")},
		{name: "/openapi/v2 is forbidden", req: get("/openapi/v2")},
		{name: "/openapi/v3 is forbidden", req: get("/openapi/v3")},
		{name: "/ is forbidden", req: get("/")},
		{name: "/api is forbidden", req: get("/api")},
		{name: "/apis is forbidden", req: get("/apis")},
		{name: "/apis/apps is forbidden", req: get("/apis/apps")},
		{name: "/apis/apps/v1alpha1 is forbidden", req: get("/apis/apps/v1alpha1")},
		{name: "/debug/pprof/ is forbidden", req: get("/debug/pprof/")},
		{name: "list PetSets in all namespaces is forbidden", req: secListRequest(""), message: anonymous},
		{name: "list PetSets is forbidden", req: secListRequest(ns), message: anonymous},
		{name: "watch PetSets is forbidden", req: get(secPetSets(ns) + "?watch=true"), message: anonymous},
		{name: "get a PetSet is forbidden", req: get(secPetSets(ns, "web")), message: anonymous},
		{name: "get a PetSet's status is forbidden", req: get(secPetSets(ns, "web", "status")), message: anonymous},
		{name: "get a PetSet's scale is forbidden", req: get(secPetSets(ns, "web", "scale")), message: anonymous},
		{name: "create a PetSet is forbidden", req: secCreateRequest(t, ns), message: anonymous},
		{name: "patch a PetSet is forbidden", req: merge(secPetSets(ns, "web"), `{"metadata":{"labels":{"e2e":"anonymous"}}}`), message: anonymous},
		{name: "patch a PetSet's status is forbidden", req: merge(secPetSets(ns, "web", "status"), `{"status":{"replicas":0}}`), message: anonymous},
		{name: "patch a PetSet's scale is forbidden", req: merge(secPetSets(ns, "web", "scale"), `{"spec":{"replicas":1}}`), message: anonymous},
		{name: "delete a PetSet is forbidden", req: secRequest{method: http.MethodDelete, path: secDryRun(secPetSets(ns, "web"))}, message: anonymous},
		{name: "delete the PetSets of a namespace is forbidden", req: secRequest{method: http.MethodDelete, path: secDryRun(secPetSets(ns))}, message: anonymous},
	}
	for i := range forbidden {
		forbidden[i].code = http.StatusForbidden
	}

	t.Run("straight to petset-apiserver", func(t *testing.T) {
		secRun(t, secClientFor(t, cluster.PetSetServerConfig("", "")), append(open, forbidden...))
	})

	// kube-apiserver refuses them the same way before they reach the
	// aggregated API.
	t.Run("through the aggregator", func(t *testing.T) {
		var checks []secCheck
		for _, tc := range forbidden {
			if strings.HasPrefix(tc.req.path, "/apis/apps/v1alpha1") {
				checks = append(checks, tc)
			}
		}
		secRun(t, secClientFor(t, cluster.KubeAPIServerConfig("", "")), checks)
	})
}

// secPermission is one verb on one resource or subresource of PetSets.
type secPermission struct {
	verb     string
	resource string // petsets, petsets/status or petsets/scale
}

func (p secPermission) String() string {
	return p.verb + " " + strings.ReplaceAll(p.resource, "/", " ")
}

// secMatrixOp is the request that needs exactly one permission and its
// answer when that permission is granted.
type secMatrixOp struct {
	perm    secPermission
	req     secRequest
	granted int
}

// secMatrixOps returns one request for each verb that each of petsets,
// petsets/status and petsets/scale serves, against the PetSet web in ns.
func secMatrixOps(t *testing.T, ns string, web *appsv1alpha1.PetSet) []secMatrixOp {
	t.Helper()
	const mergePatch = "application/merge-patch+json"
	petSets := cluster.PetSets.AppsV1alpha1().PetSets(ns)
	// Updates send the stored object, read by the admin just before, without
	// its resourceVersion: unconditional, so that nothing the controller
	// writes meanwhile makes them conflict.
	updatedWeb := func(ctx context.Context) ([]byte, error) {
		ps, err := petSets.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("getting web: %w", err)
		}
		ps.TypeMeta = metav1.TypeMeta{APIVersion: appsv1alpha1.SchemeGroupVersion.String(), Kind: "PetSet"}
		ps.ResourceVersion = ""
		ps.ManagedFields = nil
		if ps.Labels == nil {
			ps.Labels = map[string]string{}
		}
		ps.Labels["e2e"] = "updated"
		return json.Marshal(ps)
	}
	scaledWeb := func(ctx context.Context) ([]byte, error) {
		scale, err := petSets.GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("getting the scale of web: %w", err)
		}
		scale.TypeMeta = metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"}
		scale.ResourceVersion = ""
		scale.Spec.Replicas = 1
		return json.Marshal(scale)
	}
	obj := secPetSets(ns, "web")
	status := secPetSets(ns, "web", "status")
	scalePath := secPetSets(ns, "web", "scale")
	return []secMatrixOp{
		{perm: secPermission{"get", "petsets"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodGet, path: obj}},
		{perm: secPermission{"list", "petsets"}, granted: http.StatusOK,
			req: secListRequest(ns)},
		{perm: secPermission{"watch", "petsets"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodGet, path: secPetSets(ns) + "?watch=true&resourceVersion=" + web.ResourceVersion, watch: true}},
		{perm: secPermission{"create", "petsets"}, granted: http.StatusCreated,
			req: secCreateRequest(t, ns)},
		{perm: secPermission{"update", "petsets"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodPut, path: secDryRun(obj), fresh: updatedWeb, contentType: "application/json"}},
		{perm: secPermission{"patch", "petsets"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodPatch, path: secDryRun(obj), body: []byte(`{"metadata":{"labels":{"e2e":"patched"}}}`), contentType: mergePatch}},
		{perm: secPermission{"delete", "petsets"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodDelete, path: secDryRun(obj)}},
		{perm: secPermission{"deletecollection", "petsets"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodDelete, path: secDryRun(secPetSets(ns))}},
		{perm: secPermission{"get", "petsets/status"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodGet, path: status}},
		{perm: secPermission{"update", "petsets/status"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodPut, path: secDryRun(status), fresh: updatedWeb, contentType: "application/json"}},
		{perm: secPermission{"patch", "petsets/status"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodPatch, path: secDryRun(status), body: []byte(`{"status":{"replicas":0}}`), contentType: mergePatch}},
		{perm: secPermission{"get", "petsets/scale"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodGet, path: scalePath}},
		{perm: secPermission{"update", "petsets/scale"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodPut, path: secDryRun(scalePath), fresh: scaledWeb, contentType: "application/json"}},
		{perm: secPermission{"patch", "petsets/scale"}, granted: http.StatusOK,
			req: secRequest{method: http.MethodPatch, path: secDryRun(scalePath), body: []byte(`{"spec":{"replicas":1}}`), contentType: mergePatch}},
	}
}

// TestSecurityRBACGrantsEachPetSetVerbAndSubresourceAlone gives one user
// per verb and (sub)resource a Role with exactly that permission, then
// sends every request of the matrix as every user: each user gets exactly
// its own request through and 403 for all the others. It runs through the
// aggregator (kube-apiserver authorizes, then petset-apiserver again) and
// straight to petset-apiserver the way the aggregator sends requests (only
// petset-apiserver's delegated authorization decides).
func TestSecurityRBACGrantsEachPetSetVerbAndSubresourceAlone(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	web := secCreateWeb(t, ns)
	ops := secMatrixOps(t, ns, web)

	users := map[secPermission]string{}
	for _, op := range ops {
		user := rbacUser(strings.ReplaceAll(op.perm.String(), " ", "-"))
		users[op.perm] = user
		secGrant(t, ns, "only-"+strings.ReplaceAll(op.perm.String(), " ", "-"), []rbacv1.PolicyRule{{
			APIGroups: []string{"apps"},
			Resources: []string{op.perm.resource},
			Verbs:     []string{op.perm.verb},
		}}, secUserSubject(user))
	}

	paths := []struct {
		name   string
		config func(user string) *rest.Config
	}{
		{name: "through the aggregator", config: func(user string) *rest.Config { return cluster.ImpersonatedConfig(user) }},
		{name: "straight to petset-apiserver", config: func(user string) *rest.Config {
			return cluster.FrontProxyConfig(user, "system:authenticated")
		}},
	}
	clients := make([]map[secPermission]secClient, len(paths))
	for i, p := range paths {
		clients[i] = map[secPermission]secClient{}
		for _, op := range ops {
			clients[i][op.perm] = secClientFor(t, p.config(users[op.perm]))
		}
	}

	// RBAC reads Roles from an informer: wait until every user's own
	// request goes through kube-apiserver. Its requests never reached
	// petset-apiserver before, so that has no denial of them cached.
	framework.WaitFor(t, 30*time.Second, "every Role to take effect", func(ctx context.Context) (bool, string, error) {
		var pending []string
		for _, op := range ops {
			got, err := clients[0][op.perm].send(ctx, op.req)
			if err != nil || got.code != op.granted {
				pending = append(pending, fmt.Sprintf("%s: %v %v", op.perm, got, err))
			}
		}
		return len(pending) == 0, strings.Join(pending, "; "), nil
	})

	start := time.Now()
	requests := 0
	for i, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			for _, grant := range ops {
				t.Run("only "+grant.perm.String()+" is allowed", func(t *testing.T) {
					c := clients[i][grant.perm]
					for _, op := range ops {
						want := http.StatusForbidden
						if op.perm == grant.perm {
							want = op.granted
						}
						got := c.do(t, op.req)
						requests++
						if got.code != want {
							t.Errorf("%s (needs %s): got %s, want %d", op.req, op.perm, got, want)
						}
					}
				})
			}
		})
	}
	t.Logf("%d users × %d requests × %d paths: %d requests in %s", len(ops), len(ops), len(paths), requests, time.Since(start).Round(time.Millisecond))
}

// secImpersonatorPath is one way an impersonator's requests reach
// PetSets.
type secImpersonatorPath struct {
	name string
	// config returns the impersonator's configuration, impersonating as
	// given (nothing when as is empty).
	config func(as rest.ImpersonationConfig) *rest.Config
}

// secImpersonatorPaths returns the ways for user, who authenticates to
// kube-apiserver with the client certificate certFile and keyFile, to send
// requests: through kube-apiserver (whose impersonation filter decides and
// whose aggregator passes the impersonated identity on), and straight to
// petset-apiserver as the aggregator would send its own requests (the
// server's own impersonation filter decides).
func secImpersonatorPaths(user, certFile, keyFile string) []secImpersonatorPath {
	return []secImpersonatorPath{
		{
			name: "through kube-apiserver",
			config: func(as rest.ImpersonationConfig) *rest.Config {
				config := cluster.KubeAPIServerConfig(certFile, keyFile)
				config.Impersonate = as
				return config
			},
		},
		{
			name: "straight to petset-apiserver",
			config: func(as rest.ImpersonationConfig) *rest.Config {
				config := cluster.FrontProxyConfig(user, "system:authenticated")
				config.Impersonate = as
				return config
			},
		},
	}
}

// secGrantCluster creates a ClusterRole with rules and binds it to
// subjects, both deleted when the test ends.
func secGrantCluster(t *testing.T, name string, rules []rbacv1.PolicyRule, subjects ...rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	if _, err := cluster.Kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ClusterRole %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := cluster.Kube.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Logf("deleting ClusterRole %s: %v", name, err)
		}
	})
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   subjects,
	}
	if _, err := cluster.Kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ClusterRoleBinding %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := cluster.Kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Logf("deleting ClusterRoleBinding %s: %v", name, err)
		}
	})
}

// secWaitAllowed waits until r, sent with each of configs, gets code.
func secWaitAllowed(t *testing.T, what string, r secRequest, code int, configs ...*rest.Config) {
	t.Helper()
	for _, config := range configs {
		c := secClientFor(t, config)
		framework.WaitFor(t, 45*time.Second, what+" at "+config.Host, func(ctx context.Context) (bool, string, error) {
			got, err := c.send(ctx, r)
			if err != nil {
				return false, err.Error(), nil
			}
			return got.code == code, got.String(), nil
		})
	}
}

// TestSecurityImpersonationNeedsImpersonateRightsAndActsWithTheImpersonatedRights
// uses users of their own (client certificates of the cluster CA) that
// impersonate another user, through the aggregator and straight at
// petset-apiserver: without rights to impersonate they are refused; with a
// ClusterRole that grants impersonating users and groups, the requests
// carry the impersonated user's and groups' permissions, not the
// impersonator's; with constrained impersonation (a ClusterRole that allows
// impersonating one user for one verb on PetSets) only that verb goes
// through.
func TestSecurityImpersonationNeedsImpersonateRightsAndActsWithTheImpersonatedRights(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	secCreateWeb(t, ns)

	impersonator := rbacUser("impersonator")
	target := rbacUser("impersonated")
	creators := rbacUser("petset-creators")
	nobody := rbacUser("nobody")
	certFile, keyFile := cluster.IssueClientCertificate(t, framework.ClusterCA, impersonator)
	paths := secImpersonatorPaths(impersonator, certFile, keyFile)

	// The impersonated user may read PetSets in ns; its group may create
	// them.
	secGrant(t, ns, "petset-reader", []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"petsets"}, Verbs: []string{"get", "list"}}}, secUserSubject(target))
	secGrant(t, ns, "petset-creator", []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"petsets"}, Verbs: []string{"create"}}}, secGroupSubject(creators))

	asTarget := rest.ImpersonationConfig{UserName: target}
	asTargetInCreators := rest.ImpersonationConfig{UserName: target, Groups: []string{creators}}
	getWeb := secRequest{method: http.MethodGet, path: secPetSets(ns, "web")}
	deleteWeb := secRequest{method: http.MethodDelete, path: secDryRun(secPetSets(ns, "web"))}
	// The denial names the impersonator, whichever impersonation mode
	// (legacy "impersonate" or constrained "impersonate:user-info",
	// "impersonate-on:user-info:<verb>") it reports.
	cannotImpersonate := func(user string) string { return fmt.Sprintf("User %q cannot impersonate", user) }
	cannot := func(user, verb string) string { return fmt.Sprintf("User %q cannot %s", user, verb) }

	t.Run("without impersonate rights", func(t *testing.T) {
		for _, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				t.Run("as a user", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(asTarget)), []secCheck{
						{name: "list PetSets is forbidden", req: secListRequest(ns), code: http.StatusForbidden, message: cannotImpersonate(impersonator)},
					})
				})
				t.Run("as a user in a group", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(asTargetInCreators)), []secCheck{
						{name: "create a PetSet is forbidden", req: secCreateRequest(t, ns), code: http.StatusForbidden, message: cannotImpersonate(impersonator)},
					})
				})
				t.Run("as itself", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(rest.ImpersonationConfig{})), []secCheck{
						{name: "list PetSets is forbidden", req: secListRequest(ns), code: http.StatusForbidden, message: cannot(impersonator, "list")},
					})
				})
			})
		}
		t.Run("anonymous impersonating system:masters straight at petset-apiserver is forbidden", func(t *testing.T) {
			config := cluster.PetSetServerConfig("", "")
			config.Impersonate = rest.ImpersonationConfig{UserName: "e2e-admin", Groups: []string{"system:masters"}}
			secRun(t, secClientFor(t, config), []secCheck{
				{name: "list PetSets", req: secListRequest(""), code: http.StatusForbidden, message: cannotImpersonate("system:anonymous")},
			})
		})
	})

	secGrantCluster(t, impersonator, []rbacv1.PolicyRule{{
		APIGroups: []string{""},
		Resources: []string{"users", "groups"},
		Verbs:     []string{"impersonate"},
	}}, secUserSubject(impersonator))
	// RBAC reads the binding from an informer, and petset-apiserver keeps
	// the denials above cached for a few seconds.
	secWaitAllowed(t, "the impersonate grant to take effect", secListRequest(ns), http.StatusOK, paths[0].config(asTarget), paths[1].config(asTarget))
	secWaitAllowed(t, "the impersonate grant to take effect for groups", secCreateRequest(t, ns), http.StatusCreated, paths[0].config(asTargetInCreators), paths[1].config(asTargetInCreators))

	t.Run("with a ClusterRole to impersonate users and groups", func(t *testing.T) {
		for _, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				t.Run("as the impersonated user", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(asTarget)), []secCheck{
						{name: "list PetSets in its namespace is allowed", req: secListRequest(ns), code: http.StatusOK},
						{name: "get a PetSet in its namespace is allowed", req: getWeb, code: http.StatusOK},
						{name: "list PetSets in all namespaces is forbidden", req: secListRequest(""), code: http.StatusForbidden, message: cannot(target, "list")},
						{name: "create a PetSet is forbidden", req: secCreateRequest(t, ns), code: http.StatusForbidden, message: cannot(target, "create")},
					})
				})
				t.Run("as the impersonated user in the impersonated group", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(asTargetInCreators)), []secCheck{
						{name: "create a PetSet is allowed", req: secCreateRequest(t, ns), code: http.StatusCreated},
						{name: "delete a PetSet is forbidden", req: deleteWeb, code: http.StatusForbidden, message: cannot(target, "delete")},
					})
				})
				t.Run("as a user without grants", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(rest.ImpersonationConfig{UserName: nobody})), []secCheck{
						{name: "list PetSets is forbidden", req: secListRequest(ns), code: http.StatusForbidden, message: cannot(nobody, "list")},
					})
				})
				t.Run("as a service account", func(t *testing.T) {
					// Service accounts are a resource of their own: the
					// ClusterRole does not cover them.
					as := rest.ImpersonationConfig{UserName: "system:serviceaccount:petset-system:petset-apiserver"}
					secRun(t, secClientFor(t, p.config(as)), []secCheck{
						{name: "list PetSets is forbidden", req: secListRequest(ns), code: http.StatusForbidden, message: cannotImpersonate(impersonator)},
					})
				})
				t.Run("as itself", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(rest.ImpersonationConfig{})), []secCheck{
						{name: "list PetSets is still forbidden", req: secListRequest(ns), code: http.StatusForbidden, message: cannot(impersonator, "list")},
					})
				})
			})
		}
	})

	// Constrained impersonation: impersonating target (and no one else),
	// only to list PetSets.
	limited := rbacUser("list-impersonator")
	limitedCert, limitedKey := cluster.IssueClientCertificate(t, framework.ClusterCA, limited)
	limitedPaths := secImpersonatorPaths(limited, limitedCert, limitedKey)
	secGrantCluster(t, limited, []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"users"}, ResourceNames: []string{target}, Verbs: []string{"impersonate:user-info"}},
		{APIGroups: []string{"apps"}, Resources: []string{"petsets"}, Verbs: []string{"impersonate-on:user-info:list"}},
	}, secUserSubject(limited))
	secWaitAllowed(t, "the constrained impersonate grant to take effect", secListRequest(ns), http.StatusOK, limitedPaths[0].config(asTarget), limitedPaths[1].config(asTarget))

	t.Run("with a ClusterRole to impersonate one user for listing PetSets", func(t *testing.T) {
		for _, p := range limitedPaths {
			t.Run(p.name, func(t *testing.T) {
				t.Run("as the impersonated user", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(asTarget)), []secCheck{
						{name: "list PetSets in its namespace is allowed", req: secListRequest(ns), code: http.StatusOK},
						{name: "list PetSets in all namespaces is forbidden", req: secListRequest(""), code: http.StatusForbidden, message: cannot(target, "list")},
						// The impersonated user may get web, the impersonator
						// may not impersonate it for that.
						{name: "get a PetSet is forbidden", req: getWeb, code: http.StatusForbidden, message: cannotImpersonate(limited)},
						{name: "watch PetSets is forbidden", req: secRequest{method: http.MethodGet, path: secPetSets(ns) + "?watch=true", watch: true}, code: http.StatusForbidden, message: cannotImpersonate(limited)},
					})
				})
				t.Run("as the impersonated user in a group", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(asTargetInCreators)), []secCheck{
						{name: "list PetSets is forbidden", req: secListRequest(ns), code: http.StatusForbidden, message: cannotImpersonate(limited)},
						{name: "create a PetSet is forbidden", req: secCreateRequest(t, ns), code: http.StatusForbidden, message: cannotImpersonate(limited)},
					})
				})
				t.Run("as another user", func(t *testing.T) {
					secRun(t, secClientFor(t, p.config(rest.ImpersonationConfig{UserName: nobody})), []secCheck{
						{name: "list PetSets is forbidden", req: secListRequest(ns), code: http.StatusForbidden, message: cannotImpersonate(limited)},
					})
				})
			})
		}
	})
}

// TestSecurityPetSetServerNegotiatesOnlyTLS12AndTLS13 connects to
// petset-apiserver's serving port with one TLS version at a time.
func TestSecurityPetSetServerNegotiatesOnlyTLS12AndTLS13(t *testing.T) {
	u, err := url.Parse(cluster.Env["PETSET_APISERVER_URL"])
	if err != nil {
		t.Fatalf("PETSET_APISERVER_URL: %v", err)
	}
	caPEM, err := os.ReadFile(cluster.Env["PETSET_SERVING_CA"])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in %s", cluster.Env["PETSET_SERVING_CA"])
	}
	var insecureSuites []uint16
	for _, s := range tls.InsecureCipherSuites() {
		insecureSuites = append(insecureSuites, s.ID)
	}

	const refused = "remote error: tls: protocol version not supported"
	tests := []struct {
		name    string
		version uint16
		suites  []uint16
		// err is part of the handshake's error; empty when it succeeds.
		err string
	}{
		{name: "TLS 1.0 is refused", version: tls.VersionTLS10, err: refused},
		{name: "TLS 1.1 is refused", version: tls.VersionTLS11, err: refused},
		{name: "TLS 1.2 is accepted", version: tls.VersionTLS12},
		{name: "TLS 1.3 is accepted", version: tls.VersionTLS13},
		{name: "TLS 1.2 with only insecure cipher suites is refused", version: tls.VersionTLS12, suites: insecureSuites, err: "remote error: tls: handshake failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			config := &tls.Config{
				RootCAs:      roots,
				ServerName:   u.Hostname(),
				MinVersion:   tc.version,
				MaxVersion:   tc.version,
				CipherSuites: tc.suites,
			}
			dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: config}
			ctx, cancel := context.WithTimeout(context.Background(), secRequestTimeout)
			defer cancel()
			conn, err := dialer.DialContext(ctx, "tcp", u.Host)
			if tc.err != "" {
				if err == nil {
					state := conn.(*tls.Conn).ConnectionState()
					conn.Close()
					t.Fatalf("handshake succeeded with %s and %s, want it refused", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite))
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("handshake failed with %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake with %s: %v", tls.VersionName(tc.version), err)
			}
			defer conn.Close()
			if got := conn.(*tls.Conn).ConnectionState().Version; got != tc.version {
				t.Errorf("negotiated %s, want %s", tls.VersionName(got), tls.VersionName(tc.version))
			}
		})
	}
}
