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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// labelOfLength returns a DNS-1123 label of n characters starting with
// prefix.
func labelOfLength(prefix string, n int) string {
	return prefix + strings.Repeat("a", n-len(prefix))
}

// statusCauses returns the causes of an API error as "type field: message".
func statusCauses(err error) []string {
	var out []string
	status, ok := err.(apierrors.APIStatus)
	if !ok || status.Status().Details == nil {
		return nil
	}
	for _, c := range status.Status().Details.Causes {
		out = append(out, string(c.Type)+" "+c.Field+": "+c.Message)
	}
	return out
}

// statusMessage returns the message of an API error.
func statusMessage(err error) string {
	if status, ok := err.(apierrors.APIStatus); ok {
		return status.Status().Message
	}
	return ""
}

func TestCreateRefusesNamesWhosePetsCannotExist(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)

	tooLong := labelOfLength("web", appsv1alpha1.MaxPetSetNameLength+1)
	tests := []struct {
		name        string
		petSet      func() *appsv1alpha1.PetSet
		wantCauses  []string // nil: created
		wantMessage string   // the whole message, when set
	}{{
		name: "a name of 52 characters is created",
		petSet: func() *appsv1alpha1.PetSet {
			return guidePetSet(labelOfLength("web", appsv1alpha1.MaxPetSetNameLength))
		},
	}, {
		name:   "a name of 53 characters is refused at metadata.name, naming the limit of 52",
		petSet: func() *appsv1alpha1.PetSet { return guidePetSet(tooLong) },
		wantCauses: []string{
			"FieldValueTooLong metadata.name: Too long: may not be more than 52 characters, so that the names of its pets (<name>-<ordinal>) and its revision labels (<name>-<hash>) fit in 63 characters",
		},
		wantMessage: `PetSet.apps "` + tooLong + `" is invalid: metadata.name: Too long: may not be more than 52 characters, so that the names of its pets (<name>-<ordinal>) and its revision labels (<name>-<hash>) fit in 63 characters`,
	}, {
		name:   "a name of 63 characters, a DNS label, is refused at metadata.name",
		petSet: func() *appsv1alpha1.PetSet { return guidePetSet(labelOfLength("web", 63)) },
		wantCauses: []string{
			"FieldValueTooLong metadata.name: Too long: may not be more than 52 characters, so that the names of its pets (<name>-<ordinal>) and its revision labels (<name>-<hash>) fit in 63 characters",
		},
	}, {
		name: "the longest claim template name with the longest name is created: its claims fit",
		petSet: func() *appsv1alpha1.PetSet {
			ps := guidePetSet(labelOfLength("db", appsv1alpha1.MaxPetSetNameLength))
			claimName := labelOfLength("www", 63)
			ps.Spec.VolumeClaimTemplates[0].Name = claimName
			ps.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = claimName
			return ps
		},
	}, {
		name: "a claim template name of 64 characters is refused at spec.volumeClaimTemplates[0].metadata.name",
		petSet: func() *appsv1alpha1.PetSet {
			ps := guidePetSet("longclaim")
			ps.Spec.VolumeClaimTemplates[0].Name = labelOfLength("www", 64)
			ps.Spec.Template.Spec.Containers[0].VolumeMounts = nil
			return ps
		},
		wantCauses: []string{
			`FieldValueInvalid spec.volumeClaimTemplates[0].metadata.name: Invalid value: "` + labelOfLength("www", 64) + `": must be no more than 63 characters`,
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.petSet()
			created, err := client.Create(t.Context(), ps, metav1.CreateOptions{})
			if tc.wantCauses == nil {
				if err != nil {
					t.Fatalf("creating %s: %v", ps.Name, err)
				}
				if created.Name != ps.Name {
					t.Errorf("created %q, want %q", created.Name, ps.Name)
				}
				return
			}
			if !apierrors.IsInvalid(err) || statusCode(err) != http.StatusUnprocessableEntity {
				t.Fatalf("got %v (code %d), want 422 Invalid", err, statusCode(err))
			}
			if diff := cmp.Diff(tc.wantCauses, statusCauses(err)); diff != "" {
				t.Errorf("causes (-want +got):\n%s", diff)
			}
			if tc.wantMessage != "" {
				if diff := cmp.Diff(tc.wantMessage, statusMessage(err)); diff != "" {
					t.Errorf("message (-want +got):\n%s", diff)
				}
			}
			if _, err := client.Get(t.Context(), ps.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the refused PetSet %s exists: %v", ps.Name, err)
			}
		})
	}
}

// reservedCause is the cause refusing the reserved label key at path.
func reservedCause(path, key string) string {
	return `FieldValueForbidden ` + path + `: Forbidden: the label key "` + key + `" is reserved for the PetSet controller, which sets it on the pets and their claims`
}

func TestCreateRefusesReservedLabelKeys(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)

	// selectApp sets the selector and the PetSet's labels, so that they are
	// not defaulted from the template labels.
	selectApp := func(ps *appsv1alpha1.PetSet) {
		ps.Labels = map[string]string{"app": "nginx"}
		ps.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}
	}
	tests := []struct {
		name        string
		mutate      func(*appsv1alpha1.PetSet)
		wantCauses  []string // nil: created
		wantMessage string   // the whole message, when set
	}{{
		name: "a pet-name label in the template is refused at spec.template.metadata.labels[key]",
		mutate: func(ps *appsv1alpha1.PetSet) {
			selectApp(ps)
			ps.Spec.Template.Labels[appsv1alpha1.PetSetPodNameLabel] = "web-0"
		},
		wantCauses: []string{reservedCause("spec.template.metadata.labels[apps.petsets.io/pet-name]", appsv1alpha1.PetSetPodNameLabel)},
		wantMessage: `PetSet.apps "web" is invalid: spec.template.metadata.labels[apps.petsets.io/pet-name]: ` +
			`Forbidden: the label key "apps.petsets.io/pet-name" is reserved for the PetSet controller, which sets it on the pets and their claims`,
	}, {
		name: "a reserved key in selector.matchLabels is refused at spec.selector.matchLabels[key]",
		mutate: func(ps *appsv1alpha1.PetSet) {
			selectApp(ps)
			ps.Spec.Selector.MatchLabels[appsv1alpha1.PetSetClaimSetLabel] = "web"
			ps.Spec.Template.Labels[appsv1alpha1.PetSetClaimSetLabel] = "web"
		},
		wantCauses: []string{
			reservedCause("spec.selector.matchLabels[apps.petsets.io/petset]", appsv1alpha1.PetSetClaimSetLabel),
			reservedCause("spec.template.metadata.labels[apps.petsets.io/petset]", appsv1alpha1.PetSetClaimSetLabel),
		},
	}, {
		name: "a reserved key in a selector expression is refused at spec.selector.matchExpressions[i].key",
		mutate: func(ps *appsv1alpha1.PetSet) {
			selectApp(ps)
			ps.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{
				{Key: appsv1alpha1.PetSetPodOrdinalLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
			}
		},
		wantCauses: []string{reservedCause("spec.selector.matchExpressions[0].key", appsv1alpha1.PetSetPodOrdinalLabel)},
	}, {
		name: "a reserved key in a claim template's labels is refused at spec.volumeClaimTemplates[i].metadata.labels[key]",
		mutate: func(ps *appsv1alpha1.PetSet) {
			ps.Spec.VolumeClaimTemplates[0].Labels = map[string]string{appsv1alpha1.PetSetClaimTemplateLabel: "www"}
		},
		wantCauses: []string{reservedCause("spec.volumeClaimTemplates[0].metadata.labels[apps.petsets.io/claim-template]", appsv1alpha1.PetSetClaimTemplateLabel)},
	}, {
		name: "another key of the apps.petsets.io prefix is accepted",
		mutate: func(ps *appsv1alpha1.PetSet) {
			selectApp(ps)
			ps.Spec.Template.Labels["apps.petsets.io/role"] = "primary"
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := guidePetSet("web")
			tc.mutate(ps)
			_, err := client.Create(t.Context(), ps, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if tc.wantCauses == nil {
				if err != nil {
					t.Fatalf("creating: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) || statusCode(err) != http.StatusUnprocessableEntity {
				t.Fatalf("got %v (code %d), want 422 Invalid", err, statusCode(err))
			}
			if diff := cmp.Diff(tc.wantCauses, statusCauses(err)); diff != "" {
				t.Errorf("causes (-want +got):\n%s", diff)
			}
			if tc.wantMessage != "" {
				if diff := cmp.Diff(tc.wantMessage, statusMessage(err)); diff != "" {
					t.Errorf("message (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestUpdateRefusesReservedLabelKeysItAdds(t *testing.T) {
	t.Parallel()
	s := shared(t)
	ns := testNamespace(t)
	client := petSets(s, ns)
	created := createPetSet(t, s, ns, guidePetSet("web"))

	tests := []struct {
		name       string
		mutate     func(*appsv1alpha1.PetSet)
		wantFields []string
	}{{
		name:       "a reserved key added to the template labels is refused at its key",
		mutate:     func(ps *appsv1alpha1.PetSet) { ps.Spec.Template.Labels[appsv1alpha1.PetSetPodNameLabel] = "web-0" },
		wantFields: []string{"spec.template.metadata.labels[apps.petsets.io/pet-name]"},
	}, {
		name: "the revision label added to the template labels is refused at its key",
		mutate: func(ps *appsv1alpha1.PetSet) {
			ps.Spec.Template.Labels[appsv1alpha1.ControllerRevisionHashLabel] = "web-1"
		},
		wantFields: []string{"spec.template.metadata.labels[controller-revision-hash]"},
	}, {
		name: "a reserved key added to a claim template's labels is refused at its key (the labels may change)",
		mutate: func(ps *appsv1alpha1.PetSet) {
			ps.Spec.VolumeClaimTemplates[0].Labels = map[string]string{appsv1alpha1.PetSetClaimSetLabel: "web"}
		},
		wantFields: []string{"spec.volumeClaimTemplates[0].metadata.labels[apps.petsets.io/petset]"},
	}, {
		name:   "a reserved key on the PetSet's own labels is no pet's label: accepted",
		mutate: func(ps *appsv1alpha1.PetSet) { ps.Labels[appsv1alpha1.PetSetPodNameLabel] = "web" },
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			current, err := client.Get(t.Context(), created.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(current)
			_, err = client.Update(t.Context(), current, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			if tc.wantFields == nil {
				if err != nil {
					t.Fatalf("updating: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) || statusCode(err) != http.StatusUnprocessableEntity {
				t.Fatalf("got %v (code %d), want 422 Invalid", err, statusCode(err))
			}
			if diff := cmp.Diff(tc.wantFields, causeFields(err)); diff != "" {
				t.Errorf("fields of the causes (-want +got):\n%s", diff)
			}
			if msg := statusMessage(err); !strings.Contains(msg, "is reserved for the PetSet controller") {
				t.Errorf("message %q does not say the key is reserved", msg)
			}
		})
	}
}
