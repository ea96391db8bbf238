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
	"path/filepath"
	"strings"
	"testing"
)

// TestArtifactsPassServerSideDryRun renders the deploy manifests and applies
// them, and the examples, with server-side dry-run: kube-apiserver and
// petset-apiserver decode them strictly, default, validate and admit them
// without persisting anything.
func TestArtifactsPassServerSideDryRun(t *testing.T) {
	ctx := context.Background()
	kustomizations := []struct {
		dir string
		// want are objects (kind/name) the rendering must contain.
		want []string
	}{
		{dir: "artifacts/deploy/base", want: []string{
			"deployment.apps/petset-apiserver", "statefulset.apps/etcd", "apiservice.apiregistration.k8s.io/v1alpha1.apps",
			"clusterrole.rbac.authorization.k8s.io/petset-apiserver", "service/petset-apiserver",
		}},
		{dir: "artifacts/deploy/overlays/external-etcd", want: []string{
			"deployment.apps/petset-apiserver", "apiservice.apiregistration.k8s.io/v1alpha1.apps",
		}},
	}
	for _, k := range kustomizations {
		t.Run(k.dir, func(t *testing.T) {
			rendered, err := cluster.Kubectl(ctx, "", "kustomize", filepath.Join(cluster.Root, k.dir))
			if err != nil {
				t.Fatalf("rendering: %v", err)
			}
			out, err := cluster.Kubectl(ctx, rendered, "apply", "--dry-run=server", "--validate=strict", "-f", "-")
			if err != nil {
				t.Fatalf("server-side dry-run: %v\n%s", err, out)
			}
			for _, obj := range k.want {
				if !strings.Contains(out, obj+" ") {
					t.Errorf("dry-run output lacks %s:\n%s", obj, out)
				}
			}
			if k.dir == "artifacts/deploy/overlays/external-etcd" && strings.Contains(out, "statefulset.apps/etcd") {
				t.Errorf("the external-etcd overlay still deploys etcd:\n%s", out)
			}
		})
	}

	t.Run("artifacts/examples/petset.yaml", func(t *testing.T) {
		ns := cluster.CreateNamespace(t)
		out, err := cluster.Kubectl(ctx, "", "apply", "--dry-run=server", "--validate=strict", "-n", ns,
			"-f", filepath.Join(cluster.Root, "artifacts", "examples", "petset.yaml"))
		if err != nil {
			t.Fatalf("server-side dry-run: %v\n%s", err, out)
		}
		for _, obj := range []string{"service/nginx", "petset.apps/web"} {
			if !strings.Contains(out, obj+" created (server dry run)") {
				t.Errorf("dry-run output lacks %q:\n%s", obj+" created (server dry run)", out)
			}
		}
		// Nothing was persisted.
		if got, err := cluster.Kubectl(ctx, "", "get", "petsets", "-n", ns, "-o", "name"); err != nil || got != "" {
			t.Errorf("after a dry run, kubectl get petsets = %q, %v; want nothing", got, err)
		}
	})
}
