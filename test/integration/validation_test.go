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
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/petsets/petset/test/hostile"
)

// forbiddenUpdateMessage is the detail of the errors refusing a change to a
// part of the spec that is fixed once the PetSet exists.
const forbiddenUpdateMessage = "updates to petset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'progressDeadlineSeconds', 'podRemovalPolicy', 'volumeClaimUpdatePolicy', 'revisionHistoryLimit' and the claim templates' storage requests, labels and annotations are forbidden"

func TestUpdatesOfFixedSpecFieldsAreInvalidAndNameEachField(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	changeServiceName := func(ps *appsv1alpha1.PetSet) { ps.Spec.ServiceName = "other" }
	// The same pods, selected another way: a change all the same.
	changeSelector := func(ps *appsv1alpha1.PetSet) {
		ps.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"nginx"}},
		}}
	}
	addClaimTemplate := func(ps *appsv1alpha1.PetSet) {
		claim := ps.Spec.VolumeClaimTemplates[0].DeepCopy()
		claim.Name = "data"
		ps.Spec.VolumeClaimTemplates = append(ps.Spec.VolumeClaimTemplates, *claim)
	}
	// An invalid template is refused on its own path, not as a fixed
	// field: the template may change as a whole.
	const notFixed = false

	tests := []struct {
		name       string
		mutate     func(*appsv1alpha1.PetSet)
		wantFields []string
		fixed      bool
	}{
		{"serviceName", changeServiceName, []string{"spec.serviceName"}, true},
		{"podManagementPolicy", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement
		}, []string{"spec.podManagementPolicy"}, true},
		{"negative ordinals.start", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Ordinals = &appsv1alpha1.PetSetOrdinals{Start: -1}
		}, []string{"spec.ordinals.start"}, notFixed},
		{"unknown whenScaled", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.PetSetPersistentVolumeClaimRetentionPolicy{WhenScaled: "Keep"}
		}, []string{"spec.persistentVolumeClaimRetentionPolicy.whenScaled"}, notFixed},
		{"selector", changeSelector, []string{"spec.selector"}, true},
		{"volumeClaimTemplates gaining a claim", addClaimTemplate, []string{"spec.volumeClaimTemplates"}, true},
		// A claim template's request may grow, never shrink; its other
		// fields (but labels and annotations) stay: each on its own path.
		{"volumeClaimTemplates with a smaller request", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
		}, []string{"spec.volumeClaimTemplates[0].spec.resources.requests[storage]"}, notFixed},
		{"volumeClaimTemplates with other access modes", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, []string{"spec.volumeClaimTemplates[0]"}, notFixed},
		{"template labels no longer matched by the selector", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Template.Labels["app"] = "apache"
		}, []string{"spec.template.metadata.labels"}, notFixed},
		{"rollingUpdate without the RollingUpdate strategy", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: new(int32(1))}
		}, []string{"spec.updateStrategy.rollingUpdate"}, notFixed},
		{"serviceName, selector and volumeClaimTemplates at once", func(ps *appsv1alpha1.PetSet) {
			changeServiceName(ps)
			changeSelector(ps)
			addClaimTemplate(ps)
		}, []string{"spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := created.DeepCopy()
			tc.mutate(ps)
			_, err := client.Update(t.Context(), ps, metav1.UpdateOptions{})
			if !apierrors.IsInvalid(err) || statusCode(err) != http.StatusUnprocessableEntity {
				t.Fatalf("got %v (code %d), want 422 Invalid", err, statusCode(err))
			}
			if diff := cmp.Diff(tc.wantFields, causeFields(err)); diff != "" {
				t.Errorf("fields of the causes (-want +got):\n%s", diff)
			}
			forbidden := map[string]bool{}
			for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
				if c.Type == metav1.CauseTypeForbidden && strings.Contains(c.Message, forbiddenUpdateMessage) {
					forbidden[c.Field] = true
				}
			}
			for _, f := range tc.wantFields {
				if forbidden[f] != tc.fixed {
					t.Errorf("Forbidden cause naming the fixed fields for %s: %v, want %v: %v", f, forbidden[f], tc.fixed, err)
				}
			}
		})
	}

	t.Run("a merge patch of serviceName is refused the same way", func(t *testing.T) {
		_, err := client.Patch(t.Context(), "web", types.MergePatchType, []byte(`{"spec":{"serviceName":"other"}}`), metav1.PatchOptions{})
		if !apierrors.IsInvalid(err) {
			t.Fatalf("got %v, want 422 Invalid", err)
		}
		if diff := cmp.Diff([]string{"spec.serviceName"}, causeFields(err)); diff != "" {
			t.Errorf("fields of the causes (-want +got):\n%s", diff)
		}
	})

	stored, err := client.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, stored); diff != "" {
		t.Errorf("a refused update changed the object (-before +after):\n%s", diff)
	}

	// The template changes as a whole, and so do the update strategy and
	// the revision history limit, as for an apps/v1 StatefulSet.
	for _, tc := range []struct {
		name   string
		mutate func(*appsv1alpha1.PetSet)
	}{
		{"template labels gaining a label", func(ps *appsv1alpha1.PetSet) { ps.Spec.Template.Labels["tier"] = "web" }},
		{"template annotations", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Template.Annotations[appsv1alpha1.PetSetInitAnnotation] = "false"
		}},
		{"a pod field other than the containers", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Template.Spec.TerminationGracePeriodSeconds = new(int64(30))
		}},
		{"the number of containers", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Template.Spec.Containers = append(ps.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
		}},
		{"updateStrategy and revisionHistoryLimit", func(ps *appsv1alpha1.PetSet) {
			ps.Spec.UpdateStrategy = appsv1alpha1.PetSetUpdateStrategy{Type: appsv1alpha1.RollingUpdatePetSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdatePetSetStrategy{Partition: new(int32(1)), MaxUnavailable: new(intstr.FromString("50%"))}}
			ps.Spec.RevisionHistoryLimit = new(int32(3))
		}},
	} {
		t.Run("allowed: "+tc.name, func(t *testing.T) {
			ps, err := client.Get(t.Context(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(ps)
			updated, err := client.Update(t.Context(), ps, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("update refused: %v", err)
			}
			if updated.Generation != ps.Generation+1 {
				t.Errorf("generation %d after the update, want %d", updated.Generation, ps.Generation+1)
			}
		})
	}
}

// setPath sets obj[path...] = value in a decoded JSON object; see
// hostile.SetPath.
func setPath(obj map[string]any, value any, path ...string) { hostile.SetPath(obj, value, path...) }

// templateSpec returns spec.template.spec of a decoded PetSet.
func templateSpec(obj map[string]any) map[string]any { return hostile.TemplateSpec(obj) }

func TestBadRequestsAreRefusedWithClientErrors(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	collection := collectionPath(ns)
	createPetSet(t, s, ns, guidePetSet("web"))

	withBogusField := func(obj map[string]any) { setPath(obj, 1, "spec", "bogus") }
	const malformedYAML = "apiVersion: apps/v1alpha1\nkind: PetSet\nmetadata:\n  name: [web\n"
	const guideYAML = `apiVersion: apps/v1alpha1
kind: PetSet
metadata:
  name: from-yaml
spec:
  serviceName: nginx
  replicas: 2
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: gcr.io/google_containers/nginx-slim:0.8
`
	tests := []struct {
		name        string
		method      string // POST unless set
		path        string // the collection unless set
		contentType string // application/json unless set
		body        []byte
		wantCode    int
		wantMessage string   // a part of the Status message
		wantFields  []string // the fields of the Status causes
		wantWarning string   // a part of a Warning header
	}{{
		name:     "malformed JSON",
		body:     []byte(`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":`),
		wantCode: http.StatusBadRequest,
	}, {
		name:        "malformed YAML",
		contentType: "application/yaml",
		body:        []byte(malformedYAML),
		wantCode:    http.StatusBadRequest,
	}, {
		name:     "an empty body",
		body:     nil,
		wantCode: http.StatusBadRequest,
	}, {
		name:        "an object of another kind",
		body:        []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"}}`),
		wantCode:    http.StatusBadRequest,
		wantMessage: `cannot be handled as a PetSet`,
	}, {
		name:        "a media type the server does not decode",
		contentType: "text/plain",
		body:        guidePetSetJSON(t, "plain", nil),
		wantCode:    http.StatusUnsupportedMediaType,
	}, {
		name:        "an unknown field with fieldValidation=Strict",
		path:        collection + "?fieldValidation=Strict",
		body:        guidePetSetJSON(t, "strict", withBogusField),
		wantCode:    http.StatusBadRequest,
		wantMessage: `unknown field "spec.bogus"`,
	}, {
		name:        "an unknown field in YAML with fieldValidation=Strict",
		path:        collection + "?fieldValidation=Strict",
		contentType: "application/yaml",
		body:        []byte(strings.Replace(guideYAML, "  replicas: 2\n", "  replicas: 2\n  bogus: 1\n", 1)),
		wantCode:    http.StatusBadRequest,
		wantMessage: `unknown field "spec.bogus"`,
	}, {
		name:        "a duplicate field with fieldValidation=Strict",
		path:        collection + "?fieldValidation=Strict",
		body:        []byte(strings.Replace(string(guidePetSetJSON(t, "dup", nil)), `"replicas":2`, `"replicas":2,"replicas":3`, 1)),
		wantCode:    http.StatusBadRequest,
		wantMessage: `duplicate field "spec.replicas"`,
	}, {
		name:        "an unknown field with fieldValidation=Warn is accepted with a warning",
		path:        collection + "?fieldValidation=Warn&dryRun=All",
		body:        guidePetSetJSON(t, "warn", withBogusField),
		wantCode:    http.StatusCreated,
		wantWarning: `unknown field "spec.bogus"`,
	}, {
		name:     "an unknown field with fieldValidation=Ignore is accepted silently",
		path:     collection + "?fieldValidation=Ignore&dryRun=All",
		body:     guidePetSetJSON(t, "ignore", withBogusField),
		wantCode: http.StatusCreated,
	}, {
		name:        "valid YAML is accepted",
		path:        collection + "?fieldValidation=Strict&dryRun=All",
		contentType: "application/yaml",
		body:        []byte(guideYAML),
		wantCode:    http.StatusCreated,
	}, {
		name: "a body over 3 MiB",
		body: guidePetSetJSON(t, "huge", func(obj map[string]any) {
			setPath(obj, strings.Repeat("x", 3<<20), "metadata", "annotations", "huge")
		}),
		wantCode: http.StatusRequestEntityTooLarge,
	}, {
		name:        "a body over 3 MiB on update",
		method:      http.MethodPut,
		path:        collection + "/web",
		body:        guidePetSetJSON(t, "web", func(obj map[string]any) { setPath(obj, strings.Repeat("x", 3<<20), "metadata", "annotations", "huge") }),
		wantCode:    http.StatusRequestEntityTooLarge,
		wantMessage: "Request entity too large",
	}, {
		name:        "a namespace other than the URL's",
		body:        guidePetSetJSON(t, "elsewhere", func(obj map[string]any) { setPath(obj, "elsewhere", "metadata", "namespace") }),
		wantCode:    http.StatusBadRequest,
		wantMessage: "does not match the namespace",
	}, {
		name:        "a name other than the URL's on update",
		method:      http.MethodPut,
		path:        collection + "/web",
		body:        guidePetSetJSON(t, "not-web", nil),
		wantCode:    http.StatusBadRequest,
		wantMessage: "does not match the name",
	}, {
		name:       "negative replicas",
		body:       guidePetSetJSON(t, "negative", func(obj map[string]any) { setPath(obj, -1, "spec", "replicas") }),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.replicas"},
	}, {
		name:       "no containers",
		body:       guidePetSetJSON(t, "nocontainers", func(obj map[string]any) { delete(templateSpec(obj), "containers") }),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.template.spec.containers"},
	}, {
		name:       "a container without an image",
		body:       guidePetSetJSON(t, "noimage", func(obj map[string]any) { delete(templateSpec(obj)["containers"].([]any)[0].(map[string]any), "image") }),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.template.spec.containers[0].image"},
	}, {
		name:       "a name that is not a DNS label",
		body:       guidePetSetJSON(t, "Bad_Name", nil),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"metadata.name"},
	}, {
		name:       "a serviceName that is not a DNS label",
		body:       guidePetSetJSON(t, "badservice", func(obj map[string]any) { setPath(obj, "Nginx_Service", "spec", "serviceName") }),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.serviceName"},
	}, {
		name: "a selector that does not match the template labels",
		body: guidePetSetJSON(t, "mismatch", func(obj map[string]any) {
			setPath(obj, map[string]any{"matchLabels": map[string]any{"app": "apache"}}, "spec", "selector")
		}),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.template.metadata.labels"},
	}, {
		name:       "an empty selector",
		body:       guidePetSetJSON(t, "emptyselector", func(obj map[string]any) { setPath(obj, map[string]any{}, "spec", "selector") }),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.selector"},
	}, {
		name:       "a restart policy other than Always",
		body:       guidePetSetJSON(t, "never", func(obj map[string]any) { setPath(obj, "Never", "spec", "template", "spec", "restartPolicy") }),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.template.spec.restartPolicy"},
	}, {
		name: "a claim template without a storage request",
		body: guidePetSetJSON(t, "nostorage", func(obj map[string]any) {
			claim := obj["spec"].(map[string]any)["volumeClaimTemplates"].([]any)[0].(map[string]any)
			delete(claim["spec"].(map[string]any), "resources")
		}),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"spec.volumeClaimTemplates[0].spec.resources.requests[storage]"},
	}, {
		name: "several problems at once",
		body: guidePetSetJSON(t, "Bad_Name", func(obj map[string]any) {
			setPath(obj, -3, "spec", "replicas")
			delete(templateSpec(obj), "containers")
		}),
		wantCode:   http.StatusUnprocessableEntity,
		wantFields: []string{"metadata.name", "spec.replicas", "spec.template.spec.containers"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, path, contentType := tc.method, tc.path, tc.contentType
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = collection
			}
			if contentType == "" {
				contentType = "application/json"
			}
			resp := doRaw(t, s.Config, method, path, contentType, tc.body)
			if resp.Code >= 500 {
				t.Fatalf("server error %d: %s", resp.Code, resp.Body)
			}
			if resp.Code != tc.wantCode {
				t.Fatalf("code %d, want %d: %s", resp.Code, tc.wantCode, resp.Body)
			}
			warnings := resp.Warnings()
			if tc.wantWarning == "" && len(warnings) > 0 {
				t.Errorf("unexpected warnings: %q", warnings)
			}
			if tc.wantWarning != "" && !slicesContainSubstring(warnings, tc.wantWarning) {
				t.Errorf("warnings %q, want one containing %q", warnings, tc.wantWarning)
			}
			if resp.Code < 300 {
				return
			}
			status, ok := resp.Status()
			if !ok {
				t.Fatalf("the body of the %d is not a Status: %s", resp.Code, resp.Body)
			}
			if int(status.Code) != resp.Code || status.Status != metav1.StatusFailure {
				t.Errorf("Status code=%d status=%q, want %d and %q", status.Code, status.Status, resp.Code, metav1.StatusFailure)
			}
			if !strings.Contains(status.Message, tc.wantMessage) {
				t.Errorf("message %q does not contain %q", status.Message, tc.wantMessage)
			}
			if diff := cmp.Diff(tc.wantFields, statusCauseFields(status)); diff != "" {
				t.Errorf("fields of the causes (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("nothing was created", func(t *testing.T) {
		list, err := petSets(s, ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"web"}, names(list.Items)); diff != "" {
			t.Errorf("PetSets after the bad requests (-want +got):\n%s", diff)
		}
	})
	t.Run("the server logged no panic", func(t *testing.T) {
		if lines := s.panicLines(); len(lines) > 0 {
			t.Errorf("the server log mentions a panic:\n%s", strings.Join(lines, "\n"))
		}
	})
}

func slicesContainSubstring(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestGarbageBodiesNeverCauseServerErrors sends malformed and mistyped bodies
// to every write endpoint of PetSets, in every content type each accepts,
// and checks that the server answers each with a client error (or accepts
// it), never with a 5xx, and keeps no trace of the attempts.
func TestGarbageBodiesNeverCauseServerErrors(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	created := createPetSet(t, s, ns, guidePetSet("web"))
	item := collectionPath(ns) + "/web"

	type endpoint struct {
		method, path string
		contentTypes []string
	}
	patchTypes := []string{
		string(types.JSONPatchType), string(types.MergePatchType), string(types.StrategicMergePatchType), string(types.ApplyYAMLPatchType),
	}
	bodyTypes := []string{"application/json", "application/yaml"}
	endpoints := []endpoint{
		{http.MethodPost, collectionPath(ns), bodyTypes},
		{http.MethodPut, item, bodyTypes},
		{http.MethodPut, item + "/status", bodyTypes},
		{http.MethodPut, item + "/scale", bodyTypes},
		{http.MethodPatch, item, patchTypes},
		{http.MethodPatch, item + "/status", patchTypes},
		{http.MethodPatch, item + "/scale", patchTypes},
	}
	bodies := map[string]string{
		"empty":                        "",
		"null":                         "null",
		"empty object":                 "{}",
		"empty list":                   "[]",
		"truncated":                    `{"spec":`,
		"binary":                       "\x00\xff\xfe\x01",
		"a bare string":                `"web"`,
		"deeply nested lists":          strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		"deeply nested objects":        strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000),
		"a huge number":                `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"replicas":1e400}}`,
		"replicas as a string":         `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"replicas":"two"}}`,
		"a name that is a number":      `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":5}}`,
		"a null spec":                  `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":null}`,
		"a null template":              `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"template":null,"selector":null}}`,
		"a scale of a string":          `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":"x"}}`,
		"a scale without a name":       `{"apiVersion":"autoscaling/v1","kind":"Scale","spec":{"replicas":3}}`,
		"a scale of another uid":       `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","uid":"x"},"spec":{"replicas":3}}`,
		"a pet set as a scale":         `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"replicas":3}}`,
		"a JSON patch without a path":  `[{"op":"add"}]`,
		"a JSON patch of metadata":     `[{"op":"replace","path":"/metadata","value":null}]`,
		"a JSON patch of the spec":     `[{"op":"replace","path":"/spec","value":"x"}]`,
		"an annotation that is a list": `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web","annotations":{"foo":["bar"]}}}`,
		"an unknown field":             `{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"bogus":1}}`,
		"another apiVersion":           `{"apiVersion":"apps/v1","kind":"PetSet","metadata":{"name":"web"},"spec":{"replicas":3}}`,
		"another kind":                 `{"apiVersion":"apps/v1alpha1","kind":"StatefulSet","metadata":{"name":"web"},"spec":{"replicas":3}}`,
		"a YAML list":                  "- a\n- b\n",
		"YAML with tabs":               "spec:\n\treplicas: 1\n",
		"a YAML alias bomb":            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
	}
	for _, ep := range endpoints {
		for _, contentType := range ep.contentTypes {
			path := ep.path
			if contentType == string(types.ApplyYAMLPatchType) {
				path += "?fieldManager=garbage"
			}
			for name, body := range bodies {
				t.Run(ep.method+" "+strings.TrimPrefix(ep.path, collectionPath(ns))+" "+contentType+" "+name, func(t *testing.T) {
					resp := doRaw(t, s.Config, ep.method, path, contentType, []byte(body))
					if resp.Code >= 500 {
						t.Errorf("server error %d: %.2000s", resp.Code, resp.Body)
					}
				})
			}
		}
	}

	t.Run("the PetSet is unchanged or changed only validly", func(t *testing.T) {
		stored, err := petSets(s, ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting the PetSet after the garbage: %v", err)
		}
		if stored.UID != created.UID {
			t.Errorf("the PetSet was replaced: UID %s, want %s", stored.UID, created.UID)
		}
	})
	t.Run("the server logged no panic", func(t *testing.T) {
		if lines := s.panicLines(); len(lines) > 0 {
			t.Errorf("the server log mentions a panic:\n%s", strings.Join(lines, "\n"))
		}
	})
}

// An apply body that does not fit the schema (a field of the wrong type, or
// unknown, whatever fieldValidation says) is a 400. The generic apiserver
// reports these as 500 (kubernetes/kubernetes#139253); the server checks
// apply patches against the schema before the handler does.
func TestApplyOfABodyThatDoesNotFitTheSchemaIsAClientError(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	createPetSet(t, s, ns, guidePetSet("web"))

	tests := []struct {
		name        string
		subresource string
		query       string
		body        string
		wantMessage string
	}{
		{"an unknown field with fieldValidation=Strict", "", "&fieldValidation=Strict",
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"bogus":1}}`, ".spec.bogus"},
		{"an unknown field without fieldValidation", "", "",
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"bogus":1}}`, ".spec.bogus"},
		{"replicas of the wrong type", "", "",
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"spec":{"replicas":"two"}}`, ".spec.replicas"},
		{"an unknown status field", "/status", "",
			`{"apiVersion":"apps/v1alpha1","kind":"PetSet","metadata":{"name":"web"},"status":{"bogus":1}}`, ".status.bogus"},
		{"scale replicas of the wrong type", "/scale", "",
			`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":"x"}}`, ".spec.replicas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := doRaw(t, s.Config, http.MethodPatch, collectionPath(ns)+"/web"+tc.subresource+"?fieldManager=integration"+tc.query,
				string(types.ApplyYAMLPatchType), []byte(tc.body))
			if resp.Code != http.StatusBadRequest && resp.Code != http.StatusUnprocessableEntity {
				t.Fatalf("code %d, want 400 or 422: %s", resp.Code, resp.Body)
			}
			if status, ok := resp.Status(); !ok || !strings.Contains(status.Message, tc.wantMessage) {
				t.Errorf("the error does not name %s: %s", tc.wantMessage, resp.Body)
			}
		})
	}
}
