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
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestPetSetsSurviveARestartOnTheSameDataDir runs a server of its own: it
// stops it with SIGTERM, which must end it cleanly, and starts another one
// on the same data directory.
func TestPetSetsSurviveARestartOnTheSameDataDir(t *testing.T) {
	t.Parallel()
	dataDir := testDir(t)
	const ns = "restart"

	first := startTestServer(t, dataDir)
	client := petSets(first, ns)
	web := createPetSet(t, first, ns, guidePetSet("web"))
	web.Status = appsv1alpha1.PetSetStatus{ObservedGeneration: ptr.To[int64](1), Replicas: 2, ReadyReplicas: 1}
	web, err := client.UpdateStatus(t.Context(), web, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := client.GetScale(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scaled.Spec.Replicas = 3
	if _, err := client.UpdateScale(t.Context(), "web", scaled, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	db := guidePetSet("db")
	db.Spec.Template.Labels = map[string]string{"app": "db"}
	createPetSet(t, first, ns, db)
	gone := createPetSet(t, first, ns, guidePetSet("gone"))
	if err := client.Delete(t.Context(), gone.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := client.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if err := first.Stop(); err != nil {
		t.Fatalf("the server did not exit cleanly on SIGTERM: %v\n%s", err, first.logTail(4000))
	}
	if lines := first.panicLines(); len(lines) > 0 {
		t.Errorf("the first server logged a panic:\n%s", strings.Join(lines, "\n"))
	}

	second := startTestServer(t, dataDir)
	if second.Config.BearerToken != first.Config.BearerToken {
		t.Errorf("the admin token changed across the restart")
	}
	after, err := petSets(second, ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing after the restart: %v", err)
	}
	// Same objects, with the same UIDs, resource versions, specs, statuses
	// and managed fields.
	if diff := cmp.Diff(before.Items, after.Items); diff != "" {
		t.Errorf("PetSets after the restart (-before +after):\n%s", diff)
	}
	if got := names(after.Items); !cmp.Equal(got, []string{"db", "web"}) {
		t.Errorf("PetSets after the restart: %v, want db and web", got)
	}

	t.Run("the restarted server goes on writing", func(t *testing.T) {
		stored, err := petSets(second, ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stored.Spec.Replicas = ptr.To[int32](4)
		updated, err := petSets(second, ns).Update(t.Context(), stored, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("updating after the restart: %v", err)
		}
		oldRV, _ := strconv.ParseInt(stored.ResourceVersion, 10, 64)
		newRV, err := strconv.ParseInt(updated.ResourceVersion, 10, 64)
		if err != nil || newRV <= oldRV {
			t.Errorf("resource version after the restart %q, want a number above %d", updated.ResourceVersion, oldRV)
		}
		if updated.Generation != stored.Generation+1 {
			t.Errorf("generation = %d, want %d", updated.Generation, stored.Generation+1)
		}
		// The name of the deleted PetSet is free.
		createPetSet(t, second, ns, guidePetSet("gone"))
	})

	if err := second.Stop(); err != nil {
		t.Errorf("the restarted server did not exit cleanly on SIGTERM: %v", err)
	}
	if lines := second.panicLines(); len(lines) > 0 {
		t.Errorf("the restarted server logged a panic:\n%s", strings.Join(lines, "\n"))
	}
}
