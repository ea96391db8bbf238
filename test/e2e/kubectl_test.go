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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestKubectlGetPetSetPrintsTheGuideColumnsThroughTheAggregator(t *testing.T) {
	ns := cluster.CreateNamespace(t)
	apiCreateWeb(t, ns)

	tests := []struct {
		name       string
		args       []string
		wantHeader []string
		// wantRow holds the cells of web's row, AGE left out.
		wantRow map[string]string
	}{
		{
			name:       "default",
			args:       []string{"get", "petset"},
			wantHeader: []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"},
			wantRow:    map[string]string{"NAME": "web", "DESIRED": "2", "CURRENT": "2", "READY": "2"},
		},
		{
			name:       "wide",
			args:       []string{"get", "petsets.v1alpha1.apps", "-o", "wide"},
			wantHeader: []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"},
			wantRow: map[string]string{
				"NAME": "web", "DESIRED": "2", "CURRENT": "2", "READY": "2",
				"CONTAINERS": "nginx", "IMAGES": "gcr.io/google_containers/nginx-slim:0.8", "SELECTOR": "app=nginx",
			},
		},
		{
			name:       "by name",
			args:       []string{"get", "petset", "web"},
			wantHeader: []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"},
			wantRow:    map[string]string{"NAME": "web", "DESIRED": "2", "CURRENT": "2", "READY": "2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cluster.Kubectl(context.Background(), "", append(tc.args, "-n", ns)...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantHeader, apiHeader(out)); diff != "" {
				t.Errorf("columns (-want +got):\n%s\n%s", diff, out)
			}
			rows := apiParseTable(t, out)
			if len(rows) != 1 {
				t.Fatalf("got %d rows, want 1:\n%s", len(rows), out)
			}
			if rows[0]["AGE"] == "" {
				t.Errorf("AGE is empty:\n%s", out)
			}
			delete(rows[0], "AGE")
			if diff := cmp.Diff(tc.wantRow, rows[0]); diff != "" {
				t.Errorf("row of web (-want +got):\n%s\n%s", diff, out)
			}
		})
	}

	t.Run("category all", func(t *testing.T) {
		out, err := cluster.Kubectl(context.Background(), "", "get", "all", "-n", ns, "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "petset.apps/web\n") {
			t.Errorf("kubectl get all does not list petset.apps/web:\n%s", out)
		}
	})
}

func TestKubectlExplainDescribesPetSetFieldsFromTheOpenAPI(t *testing.T) {
	tests := []struct {
		args []string
		want map[string]string
		// wantFields are lines of the FIELDS section.
		wantFields []string
	}{
		{
			args:       []string{"petset"},
			want:       map[string]string{"GROUP": "apps", "KIND": "PetSet", "VERSION": "v1alpha1"},
			wantFields: []string{"spec\t<PetSetSpec>", "status\t<PetSetStatus>"},
		},
		{
			args: []string{"petset.spec.volumeClaimTemplates"},
			want: map[string]string{
				"GROUP": "apps", "KIND": "PetSet", "VERSION": "v1alpha1",
				"FIELD": "volumeClaimTemplates <[]PersistentVolumeClaim>",
			},
			wantFields: []string{"metadata\t<ObjectMeta>", "spec\t<PersistentVolumeClaimSpec>"},
		},
		{
			args: []string{"petset.spec", "--api-version=apps/v1alpha1"},
			want: map[string]string{
				"GROUP": "apps", "KIND": "PetSet", "VERSION": "v1alpha1",
				"FIELD": "spec <PetSetSpec>",
			},
			wantFields: []string{
				"replicas\t<integer>",
				"serviceName\t<string> -required-",
				"template\t<PodTemplateSpec> -required-",
				"volumeClaimTemplates\t<[]PersistentVolumeClaim>",
			},
		},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := cluster.Kubectl(context.Background(), "", append([]string{"explain"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, line := range strings.Split(out, "\n") {
				k, v, ok := strings.Cut(line, ":")
				if ok && (k == "GROUP" || k == "KIND" || k == "VERSION" || k == "FIELD") {
					got[k] = strings.TrimSpace(v)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kubectl explain %s (-want +got):\n%s\n%s", tc.args, diff, out)
			}
			if !strings.Contains(out, "DESCRIPTION:") {
				t.Errorf("kubectl explain %s has no DESCRIPTION:\n%s", tc.args, out)
			}
			for _, f := range tc.wantFields {
				if !strings.Contains(out, "\n  "+f+"\n") {
					t.Errorf("kubectl explain %s lacks the field %q:\n%s", tc.args, f, out)
				}
			}
		})
	}
}

func TestKubectlScalePetSetChangesSpecReplicasThroughTheScaleSubresource(t *testing.T) {
	ctx := context.Background()
	ns := cluster.CreateNamespace(t)
	if _, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Create(ctx, apiWebPetSet(t), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the PetSet web: %v", err)
	}

	// The steps run in order, each on the result of the previous one.
	steps := []struct {
		name    string
		args    []string
		wantErr string
		want    int32
	}{
		{name: "up to 3", args: []string{"--replicas=3", "--current-replicas=2"}, want: 3},
		{name: "wrong current replicas", args: []string{"--replicas=1", "--current-replicas=5"}, wantErr: "Expected replicas to be 5, was 3", want: 3},
		{name: "down to 1", args: []string{"--replicas=1"}, want: 1},
		{name: "to 0", args: []string{"--replicas=0", "--current-replicas=1"}, want: 0},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			out, err := cluster.Kubectl(ctx, "", append([]string{"scale", "petset", "web", "-n", ns}, step.args...)...)
			switch {
			case step.wantErr == "" && err != nil:
				t.Fatal(err)
			case step.wantErr == "" && strings.TrimSpace(out) != "petset.apps/web scaled":
				t.Errorf("kubectl scale printed %q, want %q", out, "petset.apps/web scaled")
			case step.wantErr != "" && (err == nil || !strings.Contains(err.Error(), step.wantErr)):
				t.Errorf("kubectl scale: got error %v, want one with %q", err, step.wantErr)
			}

			ps, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			scale, err := cluster.PetSets.AppsV1alpha1().PetSets(ns).GetScale(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			type replicas struct{ Spec, Scale int32 }
			got := replicas{Spec: ptr.Deref(ps.Spec.Replicas, -1), Scale: scale.Spec.Replicas}
			if diff := cmp.Diff(replicas{step.want, step.want}, got); diff != "" {
				t.Errorf("replicas of web (-want +got):\n%s", diff)
			}
		})
	}
}
