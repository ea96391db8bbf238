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
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/petsets/petset/test/e2e/framework"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
)

// rbacCase is one request and whether RBAC lets it through.
type rbacCase struct {
	name    string
	do      func(ctx context.Context, c framework.Clients) error
	allowed bool
}

// rbacCheck runs each case with c as a subtest and checks that it is
// allowed (any answer but Forbidden; allowed requests are meant to succeed
// and must) or Forbidden.
func rbacCheck(t *testing.T, c framework.Clients, cases []rbacCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do(context.Background(), c)
			switch {
			case tc.allowed && err != nil:
				t.Errorf("got %v, want it allowed", err)
			case !tc.allowed && !apierrors.IsForbidden(err):
				t.Errorf("got %v, want Forbidden", err)
			}
		})
	}
}

// rbacUser is a user name of its own for each run, so that no
// authorization decision cached by petset-apiserver from an earlier run
// applies.
func rbacUser(what string) string {
	return "e2e-" + what + "-" + rand.String(5)
}

func rbacListPetSets(ns string) func(context.Context, framework.Clients) error {
	return func(ctx context.Context, c framework.Clients) error {
		_, err := c.PetSets.AppsV1alpha1().PetSets(ns).List(ctx, metav1.ListOptions{})
		return err
	}
}

// rbacCanI runs `kubectl auth can-i` as user and returns its answer.
func rbacCanI(t *testing.T, user string, args ...string) string {
	t.Helper()
	out, err := cluster.Kubectl(context.Background(), "", append([]string{"auth", "can-i", "--as", user}, args...)...)
	answer := strings.TrimSpace(out)
	// can-i exits 1 with "no".
	if err != nil && answer != "no" {
		t.Fatalf("kubectl auth can-i %s: %v", strings.Join(args, " "), err)
	}
	return answer
}

func TestRBACDecidesPetSetAccessThroughTheAggregator(t *testing.T) {
	ctx := context.Background()
	granted := cluster.CreateNamespace(t)
	other := cluster.CreateNamespace(t)
	for _, ns := range []string{granted, other} {
		if _, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, apiWebPetSet(t), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating PetSet web in %s: %v", ns, err)
		}
	}
	user := rbacUser("petset-reader")
	reader := cluster.Impersonate(t, user)

	t.Run("without grants", func(t *testing.T) {
		rbacCheck(t, reader, []rbacCase{
			{name: "list in the namespace", do: rbacListPetSets(granted)},
			{name: "list in all namespaces", do: rbacListPetSets(metav1.NamespaceAll)},
		})
		if got := rbacCanI(t, user, "list", "petsets", "-n", granted); got != "no" {
			t.Errorf("kubectl auth can-i list petsets: %q, want no", got)
		}
	})

	// A Role in one namespace that grants reading PetSets, not their
	// subresources.
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "petset-reader"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"apps"},
			Resources: []string{"petsets"},
			Verbs:     []string{"get", "list"},
		}},
	}
	if _, err := cluster.Kube.RbacV1().Roles(granted).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "petset-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := cluster.Kube.RbacV1().RoleBindings(granted).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// RBAC reads roles from an informer: wait until the grant is seen.
	framework.WaitFor(t, 30*time.Second, "the Role to take effect", func(ctx context.Context) (bool, string, error) {
		err := rbacListPetSets(granted)(ctx, reader)
		return err == nil, fmt.Sprintf("list: %v", err), nil
	})

	webInGranted := func(ctx context.Context, c framework.Clients) error {
		ps, err := c.PetSets.AppsV1alpha1().PetSets(granted).Get(ctx, "web", metav1.GetOptions{})
		if err == nil && ps.Spec.ServiceName != "nginx" {
			return fmt.Errorf("got PetSet %s/%s with serviceName %q", ps.Namespace, ps.Name, ps.Spec.ServiceName)
		}
		return err
	}
	listSeesWeb := func(ctx context.Context, c framework.Clients) error {
		list, err := c.PetSets.AppsV1alpha1().PetSets(granted).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != 1 || list.Items[0].Name != "web" {
			return fmt.Errorf("listed %d PetSets, want web only", len(list.Items))
		}
		return nil
	}
	cases := []rbacCase{
		{name: "list in the granted namespace", do: listSeesWeb, allowed: true},
		{name: "get in the granted namespace", do: webInGranted, allowed: true},
		{name: "list in another namespace", do: rbacListPetSets(other)},
		{name: "list in all namespaces", do: rbacListPetSets(metav1.NamespaceAll)},
		{name: "get in another namespace", do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.PetSets.AppsV1alpha1().PetSets(other).Get(ctx, "web", metav1.GetOptions{})
			return err
		}},
		{name: "watch in the granted namespace", do: func(ctx context.Context, c framework.Clients) error {
			w, err := c.PetSets.AppsV1alpha1().PetSets(granted).Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{name: "create in the granted namespace", do: func(ctx context.Context, c framework.Clients) error {
			ps := apiWebPetSet(t)
			ps.Name = "created-by-reader"
			_, err := c.PetSets.AppsV1alpha1().PetSets(granted).Create(ctx, ps, metav1.CreateOptions{})
			return err
		}},
		{name: "delete in the granted namespace", do: func(ctx context.Context, c framework.Clients) error {
			return c.PetSets.AppsV1alpha1().PetSets(granted).Delete(ctx, "web", metav1.DeleteOptions{})
		}},
		{name: "deletecollection in the granted namespace", do: func(ctx context.Context, c framework.Clients) error {
			return c.PetSets.AppsV1alpha1().PetSets(granted).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}},
		{name: "get scale in the granted namespace", do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.PetSets.AppsV1alpha1().PetSets(granted).GetScale(ctx, "web", metav1.GetOptions{})
			return err
		}},
		{name: "get status in the granted namespace", do: func(ctx context.Context, c framework.Clients) error {
			return c.PetSets.AppsV1alpha1().RESTClient().Get().Namespace(granted).Resource("petsets").Name("web").SubResource("status").Do(ctx).Error()
		}},
	}

	t.Run("through kube-apiserver", func(t *testing.T) {
		rbacCheck(t, reader, cases)
	})

	// The same requests straight to petset-apiserver, the way the
	// aggregator proxies them: petset-apiserver has to authorize them
	// itself (delegated authorization), as it cannot know whether the
	// request came through kube-apiserver's authorization.
	t.Run("straight to petset-apiserver", func(t *testing.T) {
		// The user's requests before the grant never reached petset-apiserver
		// (kube-apiserver refused them), so it has no cached denial for them.
		direct := framework.ClientsFor(t, cluster.FrontProxyConfig(user, "system:authenticated"))
		rbacCheck(t, direct, cases)
	})

	t.Run("straight to petset-apiserver without grants", func(t *testing.T) {
		nobody := framework.ClientsFor(t, cluster.FrontProxyConfig(rbacUser("nobody"), "system:authenticated"))
		rbacCheck(t, nobody, []rbacCase{
			{name: "list in the namespace", do: rbacListPetSets(granted)},
			{name: "get in the namespace", do: webInGranted},
		})
	})

	t.Run("kubectl auth can-i", func(t *testing.T) {
		tests := []struct {
			args []string
			want string
		}{
			{[]string{"list", "petsets", "-n", granted}, "yes"},
			{[]string{"get", "petsets.apps", "-n", granted}, "yes"},
			{[]string{"get", "petsets/web", "-n", granted}, "yes"},
			{[]string{"list", "petsets", "-n", other}, "no"},
			{[]string{"list", "petsets", "--all-namespaces"}, "no"},
			{[]string{"watch", "petsets", "-n", granted}, "no"},
			{[]string{"create", "petsets", "-n", granted}, "no"},
			{[]string{"delete", "petsets", "-n", granted}, "no"},
			{[]string{"update", "petsets", "-n", granted, "--subresource=scale"}, "no"},
		}
		for _, tc := range tests {
			t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
				if got := rbacCanI(t, user, tc.args...); got != tc.want {
					t.Errorf("kubectl auth can-i %s --as %s: %q, want %q", strings.Join(tc.args, " "), user, got, tc.want)
				}
			})
		}
	})

	// Nothing the reader tried changed the PetSets.
	for _, ns := range []string{granted, other} {
		list, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ps := range list.Items {
			if ps.DeletionTimestamp == nil {
				names = append(names, ps.Name)
			}
		}
		if diff := cmp.Diff([]string{"web"}, names); diff != "" {
			t.Errorf("PetSets in %s after the reader's requests (-want +got):\n%s", ns, diff)
		}
	}
}

func TestRBACLimitsPetSetAPIServerCredentialsToItsRoles(t *testing.T) {
	const identity = "system:serviceaccount:petset-system:petset-apiserver"
	ns := cluster.CreateNamespace(t)
	server := cluster.KubeconfigClients(t, cluster.Env["PETSET_APISERVER_KUBECONFIG"])

	t.Run("identity", func(t *testing.T) {
		review, err := server.Kube.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Extra holds the certificate's fingerprint; it is left out.
		got := authenticationv1.UserInfo{Username: review.Status.UserInfo.Username, Groups: slices.Sorted(slices.Values(review.Status.UserInfo.Groups))}
		want := authenticationv1.UserInfo{
			Username: identity,
			Groups:   []string{"system:authenticated", "system:serviceaccounts", "system:serviceaccounts:petset-system"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("user of %s (-want +got):\n%s", cluster.Env["PETSET_APISERVER_KUBECONFIG"], diff)
		}
	})

	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	rbacCheck(t, server, []rbacCase{
		// What the server and its controller need.
		{name: "list pods in all namespaces", allowed: true, do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "list persistentvolumeclaims in all namespaces", allowed: true, do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoreV1().PersistentVolumeClaims(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "list namespaces", allowed: true, do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "get the leader election Lease", allowed: true, do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoordinationV1().Leases("petset-system").Get(ctx, "petset-controller", metav1.GetOptions{})
			return err
		}},
		{name: "get the configmap extension-apiserver-authentication", allowed: true, do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
			return err
		}},
		{name: "create a TokenReview", allowed: true, do: func(ctx context.Context, c framework.Clients) error {
			review, err := c.Kube.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "not-a-token"}}, metav1.CreateOptions{})
			if err == nil && review.Status.Authenticated {
				return fmt.Errorf("a bogus token authenticated as %q", review.Status.User.Username)
			}
			return err
		}},
		{name: "create a SubjectAccessReview", allowed: true, do: func(ctx context.Context, c framework.Clients) error {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               "e2e-nobody",
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Group: "apps", Resource: "petsets"},
			}}
			review, err := c.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err == nil && review.Status.Allowed {
				return fmt.Errorf("e2e-nobody may get petsets")
			}
			return err
		}},

		// What it must not do.
		{name: "create a Secret", do: func(ctx context.Context, c framework.Clients) error {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stolen"}, StringData: map[string]string{"k": "v"}}
			_, err := c.Kube.CoreV1().Secrets(ns).Create(ctx, secret, dryRun)
			return err
		}},
		{name: "list secrets in all namespaces", do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "list secrets in its own namespace", do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoreV1().Secrets("petset-system").List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "get another configmap in kube-system", do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err
		}},
		{name: "create a ClusterRoleBinding to cluster-admin", do: func(ctx context.Context, c framework.Clients) error {
			crb := &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "petset-apiserver-escalation"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "petset-system", Name: "petset-apiserver"}},
			}
			_, err := c.Kube.RbacV1().ClusterRoleBindings().Create(ctx, crb, dryRun)
			return err
		}},
		{name: "create a ClusterRole", do: func(ctx context.Context, c framework.Clients) error {
			cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "petset-apiserver-escalation"}}
			_, err := c.Kube.RbacV1().ClusterRoles().Create(ctx, cr, dryRun)
			return err
		}},
		{name: "delete a namespace", do: func(ctx context.Context, c framework.Clients) error {
			return c.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		}},
		{name: "list statefulsets", do: func(ctx context.Context, c framework.Clients) error {
			_, err := c.Kube.AppsV1().StatefulSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "impersonate system:masters", do: func(ctx context.Context, c framework.Clients) error {
			config := rest.CopyConfig(c.Config)
			config.Impersonate = rest.ImpersonationConfig{UserName: "admin", Groups: []string{"system:masters"}}
			_, err := framework.ClientsFor(t, config).Kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
			return err
		}},
	})
}
