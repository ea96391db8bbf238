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
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArtifactsPassServerSideDryRun renders the deploy manifests and applies
// them, and the examples, with server-side dry-run: kube-apiserver and
// petset-apiserver decode them strictly, default, validate and admit them
// without persisting anything. The base is also rendered as `make release`
// renders it, with the server image pinned by digest, and so is the
// release's own rendering when `make release` has made one.
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
			out := dryRunRendered(ctx, t, rendered, k.want)
			if k.dir == "artifacts/deploy/overlays/external-etcd" && strings.Contains(out, "statefulset.apps/etcd") {
				t.Errorf("the external-etcd overlay still deploys etcd:\n%s", out)
			}
		})
	}

	baseWant := kustomizations[0].want
	t.Run("artifacts/deploy/base pinned by digest", func(t *testing.T) {
		ref := releasedImageRef(t)
		repo, digest, _ := strings.Cut(ref, "@")
		// As `make release` does: a copy of the base and, next to it, an
		// overlay that sets the image the way `kustomize edit set image`
		// would.
		dir := t.TempDir()
		if err := copyFlatDir(filepath.Join(cluster.Root, "artifacts", "deploy", "base"), filepath.Join(dir, "base")); err != nil {
			t.Fatal(err)
		}
		kustomization := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"+
			"resources:\n- base\nimages:\n- name: petsets/petset-apiserver\n  newName: %s\n  digest: %s\n", repo, digest)
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
			t.Fatal(err)
		}
		rendered, err := cluster.Kubectl(ctx, "", "kustomize", dir)
		if err != nil {
			t.Fatalf("rendering: %v", err)
		}
		checkServerImage(t, rendered, ref)
		dryRunRendered(ctx, t, rendered, baseWant)
	})

	t.Run("_output/release/petset-apiserver.yaml", func(t *testing.T) {
		release := filepath.Join(cluster.Root, "_output", "release")
		rendered, err := os.ReadFile(filepath.Join(release, "petset-apiserver.yaml"))
		if os.IsNotExist(err) {
			t.Skip("no release: make release renders it")
		}
		if err != nil {
			t.Fatal(err)
		}
		ref, err := os.ReadFile(filepath.Join(release, "image.txt"))
		if err != nil {
			t.Fatal(err)
		}
		checkServerImage(t, string(rendered), strings.TrimSpace(string(ref)))
		dryRunRendered(ctx, t, string(rendered), baseWant)
	})

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

// dryRunRendered applies rendered manifests with server-side dry-run and
// checks that the output names every object (kind/name) in want.
func dryRunRendered(ctx context.Context, t *testing.T, rendered string, want []string) string {
	t.Helper()
	out, err := cluster.Kubectl(ctx, rendered, "apply", "--dry-run=server", "--validate=strict", "-f", "-")
	if err != nil {
		t.Fatalf("server-side dry-run: %v\n%s", err, out)
	}
	for _, obj := range want {
		if !strings.Contains(out, obj+" ") {
			t.Errorf("dry-run output lacks %s:\n%s", obj, out)
		}
	}
	return out
}

// digestRef matches an image reference pinned by a sha256 digest.
var digestRef = regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*@sha256:[0-9a-f]{64}$`)

// releasedImageRef is the reference `make image` printed last
// (petsets/petset-apiserver@<digest of _output/image>), or, without an
// image, the same repository with a digest of the checkout's deployment
// manifest: the form is what matters to the API servers.
func releasedImageRef(t *testing.T) string {
	t.Helper()
	const repo = "petsets/petset-apiserver"
	var ref string
	if d, err := os.ReadFile(filepath.Join(cluster.Root, "_output", "image", "digest")); err == nil {
		ref = repo + "@" + strings.TrimSpace(string(d))
	} else {
		data, err := os.ReadFile(filepath.Join(cluster.Root, "artifacts", "deploy", "base", "deployment.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ref = fmt.Sprintf("%s@sha256:%x", repo, sha256.Sum256(data))
	}
	if !digestRef.MatchString(ref) {
		t.Fatalf("%q is not an image reference pinned by digest", ref)
	}
	return ref
}

// checkServerImage checks that the rendered manifests run the server from
// ref and reference no image of it by tag.
func checkServerImage(t *testing.T, rendered, ref string) {
	t.Helper()
	if !digestRef.MatchString(ref) {
		t.Errorf("%q is not an image reference pinned by digest", ref)
	}
	if n := strings.Count(rendered, "image: "+ref+"\n"); n != 1 {
		t.Errorf("the rendered manifests run %s %d times, want once (the Deployment)", ref, n)
	}
	if strings.Contains(rendered, "petsets/petset-apiserver:") {
		t.Errorf("the rendered manifests still reference petsets/petset-apiserver by tag")
	}
}

// copyFlatDir copies the files of src, which has no subdirectories, into
// dst.
func copyFlatDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			return fmt.Errorf("%s has a subdirectory %s", src, e.Name())
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return fmt.Errorf("copying %s: %w", e.Name(), err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return fmt.Errorf("copying %s: %w", e.Name(), err)
		}
	}
	return nil
}
