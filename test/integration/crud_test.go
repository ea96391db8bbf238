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

package integration

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	appsv1alpha1ac "github.com/petsets/client-go/applyconfigurations/apps/v1alpha1"
	autoscalingv1ac "github.com/petsets/client-go/applyconfigurations/autoscaling/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

func TestCreateDefaultsSelectorLabelsAndReplicasFromTheTemplate(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)

	type defaulted struct {
		Labels     map[string]string
		Selector   *metav1.LabelSelector
		Replicas   *int32
		Generation int64
		Status     appsv1alpha1.PetSetStatus
	}
	inSet := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"nginx"},
	}}}
	tests := []struct {
		name   string
		mutate func(*appsv1alpha1.PetSet)
		want   defaulted
	}{{
		name: "the guide's example gets the template labels as selector and labels",
		want: defaulted{
			Labels:     map[string]string{"app": "nginx"},
			Selector:   &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Replicas:   ptr.To[int32](2),
			Generation: 1,
		},
	}, {
		name:   "labels of its own are kept",
		mutate: func(ps *appsv1alpha1.PetSet) { ps.Labels = map[string]string{"team": "web"} },
		want: defaulted{
			Labels:     map[string]string{"team": "web"},
			Selector:   &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Replicas:   ptr.To[int32](2),
			Generation: 1,
		},
	}, {
		name:   "a selector of its own is kept",
		mutate: func(ps *appsv1alpha1.PetSet) { ps.Spec.Selector = inSet.DeepCopy() },
		want: defaulted{
			Labels:     map[string]string{"app": "nginx"},
			Selector:   inSet,
			Replicas:   ptr.To[int32](2),
			Generation: 1,
		},
	}, {
		name:   "replicas default to 1",
		mutate: func(ps *appsv1alpha1.PetSet) { ps.Spec.Replicas = nil },
		want: defaulted{
			Labels:     map[string]string{"app": "nginx"},
			Selector:   &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Replicas:   ptr.To[int32](1),
			Generation: 1,
		},
	}, {
		name: "a generation and a status sent on create are not kept",
		mutate: func(ps *appsv1alpha1.PetSet) {
			ps.Generation = 7
			ps.Status = appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](7), Replicas: 2, ReadyReplicas: 1}
		},
		want: defaulted{
			Labels:     map[string]string{"app": "nginx"},
			Selector:   &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Replicas:   ptr.To[int32](2),
			Generation: 1,
		},
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := guidePetSet(fmt.Sprintf("web-%d", i))
			if tc.mutate != nil {
				tc.mutate(ps)
			}
			created := createPetSet(t, s, ns, ps)
			got := defaulted{
				Labels:     created.Labels,
				Selector:   created.Spec.Selector,
				Replicas:   created.Spec.Replicas,
				Generation: created.Generation,
				Status:     created.Status,
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("created PetSet (-want +got):\n%s", diff)
			}
			fetched, err := petSets(s, ns).Get(t.Context(), ps.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("getting the created PetSet: %v", err)
			}
			if diff := cmp.Diff(created, fetched); diff != "" {
				t.Errorf("Get differs from what Create returned (-create +get):\n%s", diff)
			}
		})
	}
}

func TestCreateDefaultsThePodAndClaimTemplatesLikeKubeAPIServer(t *testing.T) {
	t.Parallel()
	s := shared(t)
	created := createPetSet(t, s, testNamespace(t), guidePetSet("web"))

	tmpl := created.Spec.Template.Spec
	c := tmpl.Containers[0]
	claim := created.Spec.VolumeClaimTemplates[0]
	got := map[string]string{
		"restartPolicy":                           string(tmpl.RestartPolicy),
		"dnsPolicy":                               string(tmpl.DNSPolicy),
		"schedulerName":                           tmpl.SchedulerName,
		"terminationGracePeriodSeconds":           strconv.FormatInt(ptr.Deref(tmpl.TerminationGracePeriodSeconds, -1), 10),
		"containers[0].imagePullPolicy":           string(c.ImagePullPolicy),
		"containers[0].terminationMessagePath":    c.TerminationMessagePath,
		"containers[0].ports[0].protocol":         string(c.Ports[0].Protocol),
		"volumeClaimTemplates[0].spec.volumeMode": string(ptr.Deref(claim.Spec.VolumeMode, "")),
	}
	want := map[string]string{
		"restartPolicy":                           string(corev1.RestartPolicyAlways),
		"dnsPolicy":                               string(corev1.DNSClusterFirst),
		"schedulerName":                           corev1.DefaultSchedulerName,
		"terminationGracePeriodSeconds":           "0", // given, not defaulted
		"containers[0].imagePullPolicy":           string(corev1.PullIfNotPresent),
		"containers[0].terminationMessagePath":    corev1.TerminationMessagePathDefault,
		"containers[0].ports[0].protocol":         string(corev1.ProtocolTCP),
		"volumeClaimTemplates[0].spec.volumeMode": string(corev1.PersistentVolumeFilesystem),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults of the templates (-want +got):\n%s", diff)
	}
}

func TestCreateOfAnExistingNameIsAlreadyExists(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	createPetSet(t, s, ns, guidePetSet("web"))

	_, err := petSets(s, ns).Create(t.Context(), guidePetSet("web"), metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) || statusCode(err) != http.StatusConflict {
		t.Fatalf("creating web twice: got %v (code %d), want 409 AlreadyExists", err, statusCode(err))
	}
}

func TestCreateWithoutServiceNameWarnsAboutTheGoverningService(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)

	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(s.Config)
	cfg.WarningHandlerWithContext = warnings
	client := mustClientset(t, cfg)

	ps := guidePetSet("web")
	ps.Spec.ServiceName = ""
	if _, err := client.AppsV1alpha1().PetSets(ns).Create(t.Context(), ps, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a PetSet without serviceName: %v", err)
	}
	want := []string{"spec.serviceName: empty: every PetSet needs a governing headless Service for the network identity of its pets"}
	if diff := cmp.Diff(want, warnings.get()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestGetOfAMissingPetSetIsNotFound(t *testing.T) {
	t.Parallel()
	s := shared(t)
	_, err := petSets(s, testNamespace(t)).Get(t.Context(), "missing", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("getting a missing PetSet: got %v, want 404 NotFound", err)
	}
}

func TestListFiltersByLabelAndFieldSelectors(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	for name, labels := range map[string]map[string]string{
		"web":   {"app": "nginx"},
		"db":    {"app": "db", "tier": "backend"},
		"cache": {"app": "cache", "tier": "backend"},
	} {
		ps := guidePetSet(name)
		ps.Spec.Template.Labels = labels
		createPetSet(t, s, ns, ps)
	}
	// A PetSet of another namespace is never listed.
	createPetSet(t, s, testNamespace(t), guidePetSet("web"))

	tests := []struct {
		name          string
		labelSelector string
		fieldSelector string
		want          []string
	}{
		{name: "no selector lists every PetSet of the namespace", want: []string{"cache", "db", "web"}},
		{name: "label equality", labelSelector: "app=nginx", want: []string{"web"}},
		{name: "label shared by two", labelSelector: "tier=backend", want: []string{"cache", "db"}},
		{name: "label inequality matches the unlabelled too", labelSelector: "tier!=backend", want: []string{"web"}},
		{name: "label set membership", labelSelector: "app in (db,cache)", want: []string{"cache", "db"}},
		{name: "label existence", labelSelector: "!tier", want: []string{"web"}},
		{name: "label matching none", labelSelector: "app=none", want: nil},
		{name: "field metadata.name equality", fieldSelector: "metadata.name=db", want: []string{"db"}},
		{name: "field metadata.name inequality", fieldSelector: "metadata.name!=db", want: []string{"cache", "web"}},
		{name: "field metadata.namespace", fieldSelector: "metadata.namespace=" + ns, want: []string{"cache", "db", "web"}},
		{name: "label and field together", labelSelector: "tier=backend", fieldSelector: "metadata.name=cache", want: []string{"cache"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := petSets(s, ns).List(t.Context(), metav1.ListOptions{LabelSelector: tc.labelSelector, FieldSelector: tc.fieldSelector})
			if err != nil {
				t.Fatalf("listing: %v", err)
			}
			if diff := cmp.Diff(tc.want, names(list.Items)); diff != "" {
				t.Errorf("listed PetSets (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("a field other than metadata.name and metadata.namespace is refused", func(t *testing.T) {
		_, err := petSets(s, ns).List(t.Context(), metav1.ListOptions{FieldSelector: "spec.serviceName=nginx"})
		if !apierrors.IsBadRequest(err) {
			t.Fatalf("listing by spec.serviceName: got %v, want 400 BadRequest", err)
		}
	})

	t.Run("pages of a limited list add up to the whole list", func(t *testing.T) {
		var got []string
		opts := metav1.ListOptions{Limit: 2}
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatalf("more pages than objects: %v", got)
			}
			list, err := petSets(s, ns).List(t.Context(), opts)
			if err != nil {
				t.Fatalf("listing a page: %v", err)
			}
			if len(list.Items) > 2 {
				t.Fatalf("a page of limit 2 holds %d items", len(list.Items))
			}
			got = append(got, names(list.Items)...)
			if list.Continue == "" {
				break
			}
			opts.Continue = list.Continue
		}
		slices.Sort(got)
		if diff := cmp.Diff([]string{"cache", "db", "web"}, got); diff != "" {
			t.Errorf("paged list (-want +got):\n%s", diff)
		}
	})
}

func TestWatchDeliversAddedModifiedAndDeletedInOrder(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)

	list, err := client.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := client.Watch(t.Context(), metav1.ListOptions{
		ResourceVersion: list.ResourceVersion,
		FieldSelector:   "metadata.name=web",
	})
	if err != nil {
		t.Fatalf("starting the watch: %v", err)
	}
	defer w.Stop()

	// "other" is left out by the field selector.
	createPetSet(t, s, ns, guidePetSet("other"))
	created := createPetSet(t, s, ns, guidePetSet("web"))
	toUpdate := created.DeepCopy()
	toUpdate.Spec.Replicas = ptr.To[int32](3)
	updated, err := client.Update(t.Context(), toUpdate, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("updating: %v", err)
	}
	if err := client.Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting: %v", err)
	}

	type event struct {
		Type            watch.EventType
		Name            string
		UID             types.UID
		Replicas        int32
		ResourceVersion string
	}
	var got []event
	timeout := time.After(ioTimeout)
	for len(got) < 3 {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("the watch ended after %d events: %+v", len(got), got)
			}
			ps, isPetSet := e.Object.(*appsv1alpha1.PetSet)
			if !isPetSet {
				t.Fatalf("watch event %s carries a %T: %+v", e.Type, e.Object, e.Object)
			}
			got = append(got, event{e.Type, ps.Name, ps.UID, ptr.Deref(ps.Spec.Replicas, -1), ps.ResourceVersion})
		case <-timeout:
			t.Fatalf("got %d events within %v, want 3: %+v", len(got), ioTimeout, got)
		}
	}
	// The resource version of the deletion is not returned by Delete.
	got[2].ResourceVersion = ""
	want := []event{
		{watch.Added, "web", created.UID, 2, created.ResourceVersion},
		{watch.Modified, "web", created.UID, 3, updated.ResourceVersion},
		{watch.Deleted, "web", created.UID, 3, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("watch events (-want +got):\n%s", diff)
	}
}

func TestUpdateChangesTheContainersAndReplicas(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	ps := created.DeepCopy()
	ps.Spec.Replicas = ptr.To[int32](5)
	ps.Spec.Template.Spec.Containers[0].Image = "gcr.io/google_containers/nginx-slim:0.9"
	ps.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "prod"}}
	updated, err := petSets(s, ns).Update(t.Context(), ps, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("updating replicas and containers: %v", err)
	}
	fetched, err := petSets(s, ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(updated, fetched); diff != "" {
		t.Errorf("Get differs from what Update returned (-update +get):\n%s", diff)
	}
	if diff := cmp.Diff(ps.Spec, fetched.Spec); diff != "" {
		t.Errorf("stored spec (-sent +stored):\n%s", diff)
	}
	if fetched.ResourceVersion == created.ResourceVersion {
		t.Errorf("the resource version did not change on update: %s", fetched.ResourceVersion)
	}
}

func TestGenerationChangesWithTheSpecOnlyAndStatusUpdatesLeaveTheSpec(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	ps := createPetSet(t, s, ns, guidePetSet("web"))
	if ps.Generation != 1 {
		t.Fatalf("generation after create = %d, want 1", ps.Generation)
	}

	type state struct {
		Generation int64
		Replicas   int32
		Status     appsv1alpha1.PetSetStatus
	}
	stateOf := func(ps *appsv1alpha1.PetSet) state {
		return state{ps.Generation, ptr.Deref(ps.Spec.Replicas, -1), ps.Status}
	}
	steps := []struct {
		name   string
		update func(*appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error)
		want   state
	}{{
		name: "a metadata-only update keeps the generation",
		update: func(ps *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
			ps.Labels["extra"] = "yes"
			ps.Annotations = map[string]string{"note": "hello"}
			return client.Update(t.Context(), ps, metav1.UpdateOptions{})
		},
		want: state{Generation: 1, Replicas: 2},
	}, {
		name: "a spec update bumps the generation",
		update: func(ps *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
			ps.Spec.Replicas = ptr.To[int32](3)
			return client.Update(t.Context(), ps, metav1.UpdateOptions{})
		},
		want: state{Generation: 2, Replicas: 3},
	}, {
		name: "an update without changes keeps the generation",
		update: func(ps *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
			return client.Update(t.Context(), ps, metav1.UpdateOptions{})
		},
		want: state{Generation: 2, Replicas: 3},
	}, {
		name: "UpdateStatus stores the status and observedGeneration but leaves the spec and generation",
		update: func(ps *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
			ps.Spec.Replicas = ptr.To[int32](10)
			ps.Status = appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To(ps.Generation), Replicas: 3, ReadyReplicas: 2}
			return client.UpdateStatus(t.Context(), ps, metav1.UpdateOptions{})
		},
		want: state{Generation: 2, Replicas: 3, Status: appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](2), Replicas: 3, ReadyReplicas: 2}},
	}, {
		name: "an update of the main resource leaves the status",
		update: func(ps *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
			ps.Spec.Replicas = ptr.To[int32](4)
			ps.Status = appsv1alpha1.PetSetStatus{Replicas: 0}
			return client.Update(t.Context(), ps, metav1.UpdateOptions{})
		},
		want: state{Generation: 3, Replicas: 4, Status: appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](2), Replicas: 3, ReadyReplicas: 2}},
	}, {
		name: "the controller catching up sets observedGeneration to the generation",
		update: func(ps *appsv1alpha1.PetSet) (*appsv1alpha1.PetSet, error) {
			ps.Status = appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To(ps.Generation), Replicas: 4, ReadyReplicas: 4}
			return client.UpdateStatus(t.Context(), ps, metav1.UpdateOptions{})
		},
		want: state{Generation: 3, Replicas: 4, Status: appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](3), Replicas: 4, ReadyReplicas: 4}},
	}}
	// The steps build on each other: they run in order, and the first
	// failure ends the test.
	for _, step := range steps {
		got, err := step.update(ps.DeepCopy())
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if diff := cmp.Diff(step.want, stateOf(got)); diff != "" {
			t.Fatalf("%s: returned object (-want +got):\n%s", step.name, diff)
		}
		stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(step.want, stateOf(stored)); diff != "" {
			t.Fatalf("%s: stored object (-want +got):\n%s", step.name, diff)
		}
		ps = stored
	}
}

func TestUpdateStatusRefusesInvalidCounters(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	tests := []struct {
		name       string
		status     appsv1alpha1.PetSetStatus
		wantFields []string
	}{
		// 0 ready (and available) pets are also more than -1 existing ones.
		{"negative replicas", appsv1alpha1.PetSetStatus{Replicas: -1}, []string{"status.availableReplicas", "status.currentReplicas", "status.readyReplicas", "status.replicas", "status.updatedReplicas"}},
		{"more updated than existing", appsv1alpha1.PetSetStatus{Replicas: 1, UpdatedReplicas: 2, CurrentReplicas: 2}, []string{"status.currentReplicas", "status.updatedReplicas"}},
		{"negative collisionCount", appsv1alpha1.PetSetStatus{CollisionCount: ptr.To[int32](-1)}, []string{"status.collisionCount"}},
		{"negative readyReplicas", appsv1alpha1.PetSetStatus{Replicas: 1, ReadyReplicas: -1}, []string{"status.availableReplicas", "status.readyReplicas"}},
		{"more available than ready", appsv1alpha1.PetSetStatus{Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 2}, []string{"status.availableReplicas"}},
		{"more ready than existing", appsv1alpha1.PetSetStatus{Replicas: 1, ReadyReplicas: 2}, []string{"status.readyReplicas"}},
		{"negative observedGeneration", appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](-1)}, []string{"status.observedGeneration"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := created.DeepCopy()
			// Unconditional: each case is refused for its own reason, even
			// after a case that was wrongly accepted.
			ps.ResourceVersion = ""
			ps.Status = tc.status
			_, err := petSets(s, ns).UpdateStatus(t.Context(), ps, metav1.UpdateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want 422 Invalid", err)
			}
			if diff := cmp.Diff(tc.wantFields, causeFields(err)); diff != "" {
				t.Errorf("fields of the causes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWritesWithAStaleResourceVersionAreConflicts(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	stale := createPetSet(t, s, ns, guidePetSet("web"))
	current := stale.DeepCopy()
	current.Labels["bumped"] = "yes"
	current, err := client.Update(t.Context(), current, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("bumping the resource version: %v", err)
	}

	tests := []struct {
		name  string
		write func() error
	}{{
		name: "Update",
		write: func() error {
			ps := stale.DeepCopy()
			ps.Spec.Replicas = ptr.To[int32](7)
			_, err := client.Update(t.Context(), ps, metav1.UpdateOptions{})
			return err
		},
	}, {
		name: "UpdateStatus",
		write: func() error {
			ps := stale.DeepCopy()
			ps.Status.Replicas = 1
			_, err := client.UpdateStatus(t.Context(), ps, metav1.UpdateOptions{})
			return err
		},
	}, {
		name: "UpdateScale",
		write: func() error {
			scale, err := client.GetScale(t.Context(), "web", metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("getting the scale: %w", err)
			}
			scale.ResourceVersion = stale.ResourceVersion
			scale.Spec.Replicas = 7
			_, err = client.UpdateScale(t.Context(), "web", scale, metav1.UpdateOptions{})
			return err
		},
	}, {
		name: "merge patch naming the resource version",
		write: func() error {
			patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"spec":{"replicas":7}}`, stale.ResourceVersion)
			_, err := client.Patch(t.Context(), "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			return err
		},
	}, {
		name: "Delete with a resource version precondition",
		write: func() error {
			return client.Delete(t.Context(), "web", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale.ResourceVersion}})
		},
	}, {
		name: "Delete with a UID precondition of another object",
		write: func() error {
			return client.Delete(t.Context(), "web", metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions("not-the-uid")})
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.write()
			if !apierrors.IsConflict(err) || statusCode(err) != http.StatusConflict {
				t.Fatalf("got %v (code %d), want 409 Conflict", err, statusCode(err))
			}
		})
	}

	after, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the refused writes lost the object: %v", err)
	}
	if diff := cmp.Diff(current, after); diff != "" {
		t.Errorf("a refused write changed the object (-before +after):\n%s", diff)
	}
}

func TestDeleteRemovesThePetSet(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	if err := client.Delete(t.Context(), "web", metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(created.UID))}); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	if _, err := client.Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("getting a deleted PetSet: got %v, want 404 NotFound", err)
	}
	if err := client.Delete(t.Context(), "web", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deleting a deleted PetSet: got %v, want 404 NotFound", err)
	}
	// The name is free again, for a new object.
	recreated := createPetSet(t, s, ns, guidePetSet("web"))
	if recreated.UID == created.UID {
		t.Errorf("the recreated PetSet has the UID of the deleted one: %s", recreated.UID)
	}
}

func TestDeleteCollectionDeletesTheSelectedPetSetsOfTheNamespaceOnly(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	otherNS := testNamespace(t)
	client := petSets(s, ns)
	for name, env := range map[string]string{"a": "prod", "b": "test", "c": "test"} {
		ps := guidePetSet(name)
		ps.Labels = map[string]string{"env": env}
		createPetSet(t, s, ns, ps)
	}
	untouched := guidePetSet("b")
	untouched.Labels = map[string]string{"env": "test"}
	createPetSet(t, s, otherNS, untouched)

	listNames := func(ns string) []string {
		t.Helper()
		list, err := petSets(s, ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return names(list.Items)
	}

	if err := client.DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "env=test"}); err != nil {
		t.Fatalf("deleting env=test: %v", err)
	}
	if diff := cmp.Diff([]string{"a"}, listNames(ns)); diff != "" {
		t.Errorf("after deleting env=test (-want +got):\n%s", diff)
	}
	if err := client.DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatalf("deleting all: %v", err)
	}
	if diff := cmp.Diff([]string(nil), listNames(ns)); diff != "" {
		t.Errorf("after deleting all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b"}, listNames(otherNS)); diff != "" {
		t.Errorf("the other namespace after the deletions (-want +got):\n%s", diff)
	}
}

// names returns the sorted names of the PetSets.
func names(items []appsv1alpha1.PetSet) []string {
	var out []string
	for _, ps := range items {
		out = append(out, ps.Name)
	}
	slices.Sort(out)
	return out
}

func TestWritesToAMissingPetSetAreNotFoundAndCreateNothing(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	missing := guidePetSet("missing")
	missing.Namespace = ns

	tests := []struct {
		name  string
		write func() error
	}{
		{"Update", func() error { _, err := client.Update(t.Context(), missing, metav1.UpdateOptions{}); return err }},
		{"UpdateStatus", func() error { _, err := client.UpdateStatus(t.Context(), missing, metav1.UpdateOptions{}); return err }},
		{"UpdateScale", func() error {
			scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "missing", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}
			_, err := client.UpdateScale(t.Context(), "missing", scale, metav1.UpdateOptions{})
			return err
		}},
		{"merge patch", func() error {
			_, err := client.Patch(t.Context(), "missing", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{})
			return err
		}},
		{"ApplyStatus", func() error {
			_, err := client.ApplyStatus(t.Context(), appsv1alpha1ac.PetSet("missing", ns).WithStatus(appsv1alpha1ac.PetSetStatus().WithReplicas(1)),
				metav1.ApplyOptions{FieldManager: "integration"})
			return err
		}},
		{"ApplyScale", func() error {
			_, err := client.ApplyScale(t.Context(), "missing", autoscalingv1ac.Scale().WithSpec(autoscalingv1ac.ScaleSpec().WithReplicas(1)),
				metav1.ApplyOptions{FieldManager: "integration"})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.write(); !apierrors.IsNotFound(err) {
				t.Fatalf("got %v, want 404 NotFound", err)
			}
		})
	}
	if _, err := client.Get(t.Context(), "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a write to the missing PetSet created it: %v", err)
	}
}

func TestGenerateNameCreatesDistinctNames(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	seen := map[string]bool{}
	for range 3 {
		ps := guidePetSet("")
		ps.GenerateName = "web-"
		created := createPetSet(t, s, ns, ps)
		if !strings.HasPrefix(created.Name, "web-") || len(created.Name) <= len("web-") || seen[created.Name] {
			t.Errorf("generated name %q: want a new name starting with web-", created.Name)
		}
		seen[created.Name] = true
	}
}

func TestDryRunCreateUpdateAndDeletePersistNothing(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	dryRun := []string{metav1.DryRunAll}

	if _, err := client.Create(t.Context(), guidePetSet("dry"), metav1.CreateOptions{DryRun: dryRun}); err != nil {
		t.Fatalf("dry-run create: %v", err)
	}
	if _, err := client.Get(t.Context(), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry-run create persisted the PetSet: %v", err)
	}

	created := createPetSet(t, s, ns, guidePetSet("web"))
	ps := created.DeepCopy()
	ps.Spec.Replicas = ptr.To[int32](9)
	if _, err := client.Update(t.Context(), ps, metav1.UpdateOptions{DryRun: dryRun}); err != nil {
		t.Fatalf("dry-run update: %v", err)
	}
	if err := client.Delete(t.Context(), "web", metav1.DeleteOptions{DryRun: dryRun}); err != nil {
		t.Fatalf("dry-run delete: %v", err)
	}
	stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the PetSet is gone after a dry-run delete: %v", err)
	}
	if diff := cmp.Diff(created, stored); diff != "" {
		t.Errorf("dry runs changed the PetSet (-before +after):\n%s", diff)
	}
}

func TestConcurrentUpdatesRetriedOnConflictLoseNoWrite(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	createPetSet(t, s, ns, guidePetSet("web"))

	const writers = 10
	// Enough tries for every writer to lose to all the others.
	backoff := wait.Backoff{Steps: 4 * writers, Duration: 10 * time.Millisecond, Factor: 1.2, Jitter: 1, Cap: time.Second}
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs <- retry.RetryOnConflict(backoff, func() error {
				ps, err := client.Get(t.Context(), "web", metav1.GetOptions{})
				if err != nil {
					return err
				}
				ps.Annotations = maps.Clone(ps.Annotations)
				if ps.Annotations == nil {
					ps.Annotations = map[string]string{}
				}
				ps.Annotations[fmt.Sprintf("writer-%d", i)] = "done"
				_, err = client.Update(t.Context(), ps, metav1.UpdateOptions{})
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a writer failed: %v", err)
		}
	}
	stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Annotations) != writers {
		t.Errorf("annotations after %d writers: %v", writers, stored.Annotations)
	}
}
