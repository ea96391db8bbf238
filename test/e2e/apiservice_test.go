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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/petset/test/e2e/framework"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// apiAPIService is the part of an apiregistration.k8s.io/v1 APIService the
// tests look at (the module does not depend on k8s.io/kube-aggregator).
type apiAPIService struct {
	Spec struct {
		Service *struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
			Port      *int32 `json:"port"`
		} `json:"service"`
		Group                 string `json:"group"`
		Version               string `json:"version"`
		InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify"`
		CABundle              []byte `json:"caBundle"`
		GroupPriorityMinimum  int32  `json:"groupPriorityMinimum"`
		VersionPriority       int32  `json:"versionPriority"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
	} `json:"status"`
}

// apiGetJSON GETs path from kube-apiserver as the admin and decodes the
// JSON answer into out.
func apiGetJSON(t *testing.T, path, accept string, out any) {
	t.Helper()
	req := cluster.Kube.Discovery().RESTClient().Get().AbsPath(path)
	if accept != "" {
		req = req.SetHeader("Accept", accept)
	}
	body, err := req.DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("decoding GET %s: %v\n%s", path, err, body)
	}
}

func TestAPIServiceV1alpha1AppsIsAvailableAndVerifiesTheServingCertificate(t *testing.T) {
	var svc apiAPIService
	apiGetJSON(t, "/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.apps", "application/json", &svc)

	t.Run("available", func(t *testing.T) {
		var available []string
		for _, c := range svc.Status.Conditions {
			if c.Type == "Available" {
				available = append(available, c.Status)
				if c.Status != "True" {
					t.Errorf("condition Available is %s: %s: %s", c.Status, c.Reason, c.Message)
				}
			}
		}
		if diff := cmp.Diff([]string{"True"}, available); diff != "" {
			t.Errorf("Available conditions (-want +got):\n%s", diff)
		}
	})

	t.Run("spec", func(t *testing.T) {
		type spec struct {
			Group, Version, ServiceNamespace, ServiceName string
			Port                                          int32
			InsecureSkipTLSVerify                         bool
			GroupPriorityMinimum, VersionPriority         int32
		}
		got := spec{
			Group:                 svc.Spec.Group,
			Version:               svc.Spec.Version,
			InsecureSkipTLSVerify: svc.Spec.InsecureSkipTLSVerify,
			GroupPriorityMinimum:  svc.Spec.GroupPriorityMinimum,
			VersionPriority:       svc.Spec.VersionPriority,
		}
		if s := svc.Spec.Service; s != nil {
			got.ServiceNamespace, got.ServiceName = s.Namespace, s.Name
			got.Port = ptr.Deref(s.Port, 0)
		}
		want := spec{
			Group:            "apps",
			Version:          "v1alpha1",
			ServiceNamespace: "petset-system",
			ServiceName:      "petset-apiserver",
			// Same group priority as the built-in apps group, a lower version
			// priority than apps/v1.
			GroupPriorityMinimum: 17800,
			VersionPriority:      10,
		}
		if p, err := apiAtoi32(cluster.Env["PETSET_APISERVER_PORT"]); err == nil {
			want.Port = p
		} else {
			t.Errorf("PETSET_APISERVER_PORT=%q: %v", cluster.Env["PETSET_APISERVER_PORT"], err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("APIService v1alpha1.apps (-want +got):\n%s", diff)
		}
	})

	t.Run("caBundle is the serving CA", func(t *testing.T) {
		ca, err := os.ReadFile(cluster.Env["PETSET_SERVING_CA"])
		if err != nil {
			t.Fatal(err)
		}
		if len(svc.Spec.CABundle) == 0 {
			t.Fatal("spec.caBundle is empty: the aggregator cannot verify petset-apiserver")
		}
		if !bytes.Equal(bytes.TrimSpace(svc.Spec.CABundle), bytes.TrimSpace(ca)) {
			t.Errorf("spec.caBundle is not the serving CA %s:\n%s", cluster.Env["PETSET_SERVING_CA"], svc.Spec.CABundle)
		}
	})
}

func apiAtoi32(s string) (int32, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	return int32(n), err
}

// apiWantPetSetResources is how /apis/apps/v1alpha1 describes PetSets.
var apiWantPetSetResources = []metav1.APIResource{
	{
		Name:         "petsets",
		SingularName: "petset",
		Namespaced:   true,
		Kind:         "PetSet",
		Verbs:        metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
		Categories:   []string{"all"},
	},
	{
		Name:       "petsets/scale",
		Namespaced: true,
		Group:      "autoscaling",
		Version:    "v1",
		Kind:       "Scale",
		Verbs:      metav1.Verbs{"get", "patch", "update"},
	},
	{
		Name:       "petsets/status",
		Namespaced: true,
		Kind:       "PetSet",
		Verbs:      metav1.Verbs{"get", "patch", "update"},
	},
}

func TestDiscoveryServesPetSetsInAppsV1alpha1AndKeepsAppsV1Preferred(t *testing.T) {
	t.Run("/apis/apps", func(t *testing.T) {
		var group metav1.APIGroup
		apiGetJSON(t, "/apis/apps", "application/json", &group)
		type summary struct {
			Name      string
			Versions  []string
			Preferred string
		}
		got := summary{Name: group.Name, Preferred: group.PreferredVersion.GroupVersion}
		for _, v := range group.Versions {
			got.Versions = append(got.Versions, v.GroupVersion)
		}
		want := summary{Name: "apps", Versions: []string{"apps/v1", "apps/v1alpha1"}, Preferred: "apps/v1"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("/apis/apps (-want +got):\n%s", diff)
		}
	})

	t.Run("/apis/apps/v1alpha1", func(t *testing.T) {
		var list metav1.APIResourceList
		apiGetJSON(t, "/apis/apps/v1alpha1", "application/json", &list)
		if list.GroupVersion != "apps/v1alpha1" {
			t.Errorf("groupVersion %q, want apps/v1alpha1", list.GroupVersion)
		}
		got := slices.Clone(list.APIResources)
		for i := range got {
			if got[i].Name == "petsets" && got[i].StorageVersionHash == "" {
				t.Errorf("petsets have no storageVersionHash")
			}
			got[i].StorageVersionHash = ""
			slices.Sort(got[i].Verbs)
		}
		slices.SortFunc(got, func(a, b metav1.APIResource) int { return strings.Compare(a.Name, b.Name) })
		if diff := cmp.Diff(apiWantPetSetResources, got); diff != "" {
			t.Errorf("/apis/apps/v1alpha1 resources (-want +got):\n%s", diff)
		}
	})

	t.Run("aggregated discovery", func(t *testing.T) {
		// What kubectl and client-go read: one document for every group.
		var list apidiscoveryv2.APIGroupDiscoveryList
		apiGetJSON(t, "/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", &list)
		type resource struct {
			Version, Resource, Kind, Scope string
			Subresources                   []string
			Freshness                      apidiscoveryv2.DiscoveryFreshness
		}
		var got []resource
		for _, g := range list.Items {
			if g.Name != "apps" {
				continue
			}
			var versions []string
			for _, v := range g.Versions {
				versions = append(versions, v.Version)
				for _, r := range v.Resources {
					if r.Resource != "statefulsets" && r.Resource != "petsets" {
						continue
					}
					res := resource{Version: v.Version, Resource: r.Resource, Scope: string(r.Scope), Freshness: v.Freshness}
					if r.ResponseKind != nil {
						res.Kind = r.ResponseKind.Kind
					}
					for _, s := range r.Subresources {
						res.Subresources = append(res.Subresources, s.Subresource)
					}
					slices.Sort(res.Subresources)
					got = append(got, res)
				}
			}
			// The preferred version comes first.
			if diff := cmp.Diff([]string{"v1", "v1alpha1"}, versions); diff != "" {
				t.Errorf("versions of apps (-want +got):\n%s", diff)
			}
		}
		want := []resource{
			{Version: "v1", Resource: "statefulsets", Kind: "StatefulSet", Scope: "Namespaced", Subresources: []string{"scale", "status"}, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent},
			{Version: "v1alpha1", Resource: "petsets", Kind: "PetSet", Scope: "Namespaced", Subresources: []string{"scale", "status"}, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("apps in aggregated discovery (-want +got):\n%s", diff)
		}
	})

	t.Run("kubectl api-resources", func(t *testing.T) {
		out, err := cluster.Kubectl(context.Background(), "", "api-resources", "--api-group=apps", "-o", "wide", "--cache-dir", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		rows := apiParseTable(t, out)
		type row struct{ APIVersion, Namespaced, Kind, Verbs, Categories string }
		got := map[string]row{}
		for _, r := range rows {
			if name := r["NAME"]; name == "statefulsets" || name == "petsets" {
				got[name] = row{r["APIVERSION"], r["NAMESPACED"], r["KIND"], r["VERBS"], r["CATEGORIES"]}
			}
		}
		verbs := "create,delete,deletecollection,get,list,patch,update,watch"
		want := map[string]row{
			"statefulsets": {"apps/v1", "true", "StatefulSet", verbs, "all"},
			"petsets":      {"apps/v1alpha1", "true", "PetSet", verbs, "all"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("kubectl api-resources --api-group=apps (-want +got):\n%s\n%s", diff, out)
		}
	})
}

// apiParseTable splits kubectl's column output into rows keyed by the
// header; columns are found from the header's positions, so empty cells
// (SHORTNAMES, say) stay empty.
func apiParseTable(t *testing.T, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no table in %q", out)
	}
	header := lines[0]
	type column struct {
		name       string
		start, end int
	}
	var cols []column
	for _, name := range strings.Fields(header) {
		from := 0
		if len(cols) > 0 {
			from = cols[len(cols)-1].start + len(cols[len(cols)-1].name)
		}
		cols = append(cols, column{name: name, start: from + strings.Index(header[from:], name)})
	}
	for i := range cols {
		cols[i].end = -1
		if i+1 < len(cols) {
			cols[i].end = cols[i+1].start
		}
	}
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := map[string]string{}
		for _, c := range cols {
			if c.start >= len(line) {
				row[c.name] = ""
				continue
			}
			end := c.end
			if end < 0 || end > len(line) {
				end = len(line)
			}
			row[c.name] = strings.TrimSpace(line[c.start:end])
		}
		rows = append(rows, row)
	}
	return rows
}

// apiHeader returns the column names of kubectl's table output.
func apiHeader(out string) []string {
	header, _, _ := strings.Cut(out, "\n")
	return strings.Fields(header)
}

func TestStatefulSetsOfAppsV1StillRunPodsOnTheKwokNode(t *testing.T) {
	ctx := context.Background()
	ns := cluster.CreateNamespace(t)
	labels := map[string]string{"app": "sts-web"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](1),
			ServiceName: "nginx",
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers:                    []corev1.Container{{Name: "nginx", Image: "registry.k8s.io/nginx-slim:0.8"}},
				},
			},
		},
	}
	if _, err := cluster.Kube.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating StatefulSet apps/v1: %v", err)
	}

	framework.WaitFor(t, 2*time.Minute, "StatefulSet web with 1 ready replica", func(ctx context.Context) (bool, string, error) {
		got, err := cluster.Kube.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return got.Status.ReadyReplicas == 1, fmt.Sprintf("status %+v", got.Status), nil
	})

	pod, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting the StatefulSet's pod: %v", err)
	}
	type podState struct {
		Node  string
		Phase corev1.PodPhase
		Ready bool
		Owner string
	}
	got := podState{Node: pod.Spec.NodeName, Phase: pod.Status.Phase, Ready: apiPodReady(pod)}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		got.Owner = ref.APIVersion + "/" + ref.Kind + "/" + ref.Name
	}
	want := podState{Node: cluster.Env["NODE_NAME"], Phase: corev1.PodRunning, Ready: true, Owner: "apps/v1/StatefulSet/web"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod web-0 (-want +got):\n%s", diff)
	}

	if err := cluster.Kube.AppsV1().StatefulSets(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatalf("deleting the StatefulSet: %v", err)
	}
	framework.WaitFor(t, 2*time.Minute, "StatefulSet web and its pod to be gone", func(ctx context.Context) (bool, string, error) {
		_, err := cluster.Kube.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("StatefulSet: %v", err), nil
		}
		pods, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d pods left", len(pods.Items)), nil
	})
}

func apiPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// apiWebPetSet is the PetSet "web" of the PetSet guide's example
// (pkg/apis/apps/v1alpha1/testdata/petset-web.yaml): two nginx pets with
// a claim "www" each.
func apiWebPetSet(t *testing.T) *appsv1alpha1.PetSet {
	t.Helper()
	path := filepath.Join(cluster.Root, "pkg", "apis", "apps", "v1alpha1", "testdata", "petset-web.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := &appsv1alpha1.PetSet{}
	if err := yaml.UnmarshalStrict(data, ps); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return ps
}

// apiCreateWeb creates the governing headless Service "nginx" and the
// PetSet "web" in ns and waits until its pets run and are ready.
func apiCreateWeb(t *testing.T, ns string) *appsv1alpha1.PetSet {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Labels: map[string]string{"app": "nginx"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  map[string]string{"app": "nginx"},
			Ports:     []corev1.ServicePort{{Name: "web", Port: 80}},
		},
	}
	if _, err := cluster.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the headless Service nginx: %v", err)
	}
	ps, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, apiWebPetSet(t), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the PetSet web: %v", err)
	}
	want := ptr.Deref(ps.Spec.Replicas, 1)
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("%d ready pets of PetSet web", want), func(ctx context.Context) (bool, string, error) {
		got, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		pods, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		if err != nil {
			return false, err.Error(), nil
		}
		var ready []string
		for i := range pods.Items {
			if p := &pods.Items[i]; p.Status.Phase == corev1.PodRunning && apiPodReady(p) && p.Spec.NodeName == cluster.Env["NODE_NAME"] {
				ready = append(ready, p.Name)
			}
		}
		ok := got.Status.ReadyReplicas == want && got.Status.Replicas == want && len(ready) == int(want)
		return ok, fmt.Sprintf("status %+v, running and ready pods %v", got.Status, ready), nil
	})
	return ps
}

// TestAPIServiceAnswersClientsThatPreferProtobuf covers the clients
// of kube-controller-manager: they ask for protobuf and accept JSON (the
// namespace controller and the garbage collector through the metadata
// client). The server answers them in protobuf, through the aggregator; a
// 406 Not Acceptable or a failing deletecollection would keep every
// namespace Terminating for good.
func TestAPIServiceAnswersClientsThatPreferProtobuf(t *testing.T) {
	ctx := context.Background()
	ns := cluster.CreateNamespace(t)
	for _, name := range []string{"web", "doomed"} {
		ps := apiWebPetSet(t)
		ps.Name = name
		ps.Spec.Replicas = ptr.To[int32](0)
		if _, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, ps, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// What kube-controller-manager's clients send: --kube-api-content-type
	// defaults to protobuf, JSON is the fallback.
	config := rest.CopyConfig(cluster.Config)
	config.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	typed := framework.ClientsFor(t, config).PetSets.AppsV1alpha1().PetSets(ns)
	meta, err := metadata.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	petsets := meta.Resource(appsv1alpha1.SchemeGroupVersion.WithResource("petsets")).Namespace(ns)

	// The steps run in order.
	steps := []struct {
		name string
		do   func(context.Context) error
	}{
		{name: "get", do: func(ctx context.Context) error {
			_, err := typed.Get(ctx, "web", metav1.GetOptions{})
			return err
		}},
		{name: "list", do: func(ctx context.Context) error {
			_, err := typed.List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "get scale", do: func(ctx context.Context) error {
			_, err := typed.GetScale(ctx, "web", metav1.GetOptions{})
			return err
		}},
		{name: "metadata list", do: func(ctx context.Context) error {
			list, err := petsets.List(ctx, metav1.ListOptions{})
			if err == nil && len(list.Items) != 2 {
				return fmt.Errorf("listed %d PetSets, want 2", len(list.Items))
			}
			return err
		}},
		{name: "metadata delete (garbage collector)", do: func(ctx context.Context) error {
			return petsets.Delete(ctx, "doomed", metav1.DeleteOptions{})
		}},
		{name: "metadata deletecollection (namespace controller)", do: func(ctx context.Context) error {
			return petsets.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if err := step.do(ctx); err != nil {
				t.Errorf("%v (reason %s)", err, apierrors.ReasonForError(err))
			}
		})
	}
}
