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

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

const (
	// baseImageName is the image name artifacts/deploy/base uses.
	baseImageName = "petsets/petset-apiserver"
	// manifestName is the rendered base in the release.
	manifestName = binaryName + ".yaml"
	// checksumsName lists the sha256 of every other file of the release.
	checksumsName = "SHA256SUMS"
	// pluginName is the kubectl plugin, released when the checkout has it.
	pluginName = "kubectl-petset"
)

// releaseOptions are the inputs of a release.
type releaseOptions struct {
	// Source is the root of the checkout.
	Source string
	// Image is the output directory of `petset-image build`.
	Image string
	// Out is the release directory; it is replaced.
	Out string
	// Kubectl renders the kustomize base.
	Kubectl string
	// Repository is the image repository the manifests reference.
	Repository string
	// LDFlags and Created build the kubectl plugin as the server was.
	LDFlags string
	Created time.Time
	Log     io.Writer
}

func runRelease(args []string) error {
	fs := flag.NewFlagSet("petset-image release", flag.ContinueOnError)
	source := fs.String("source", ".", "root of the petset-apiserver checkout")
	image := fs.String("image", "_output/image", "output directory of `petset-image build`")
	out := fs.String("out", "_output/release", "release directory (replaced)")
	kubectl := fs.String("kubectl", "_output/bin/kubectl", "kubectl, to render the kustomize base")
	repository := fs.String("repository", defaultRepository, "image repository the rendered manifests reference, pinned by digest")
	ldflags := fs.String("ldflags", "", "linker flags of `make build` (the version stamp), for "+pluginName)
	epoch := fs.Int64("epoch", -1, "as for build")
	timeout := fs.Duration("timeout", 2*time.Hour, "give up after this long (the first build for a platform compiles every dependency)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	created, err := sourceDate(*epoch, *source)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ref, err := release(ctx, releaseOptions{
		Source: *source, Image: *image, Out: *out, Kubectl: *kubectl, Repository: *repository,
		LDFlags: *ldflags, Created: created, Log: os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "release in %s\n", *out)
	fmt.Println(ref)
	return nil
}

// release writes the release directory and returns the image reference its
// manifests use.
func release(ctx context.Context, o releaseOptions) (string, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	layoutDir := filepath.Join(o.Image, layoutDirName)
	digest, plats, err := readLayout(layoutDir)
	if err != nil {
		return "", err
	}
	if recorded, err := os.ReadFile(filepath.Join(o.Image, digestName)); err != nil {
		return "", fmt.Errorf("reading the image digest: %w", err)
	} else if strings.TrimSpace(string(recorded)) != digest.String() {
		return "", fmt.Errorf("%s says %s but the layout holds %s: build the image again", filepath.Join(o.Image, digestName), strings.TrimSpace(string(recorded)), digest)
	}
	ref := o.Repository + "@" + digest.String()

	if err := os.RemoveAll(o.Out); err != nil {
		return "", fmt.Errorf("removing the previous release: %w", err)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return "", fmt.Errorf("creating the release directory: %w", err)
	}
	for _, p := range plats {
		src := filepath.Join(o.Image, binDirName, p.dirName(), binaryName)
		if err := copyFile(src, filepath.Join(o.Out, binaryName+"-"+p.dirName()), 0o755); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(o.Source, "cmd", pluginName)); err == nil {
		for _, p := range plats {
			fmt.Fprintf(o.Log, "building %s for %s\n", pluginName, p)
			if err := goBuild(ctx, o.Source, "./cmd/"+pluginName, filepath.Join(o.Out, pluginName+"-"+p.dirName()), p, o.LDFlags, o.Log); err != nil {
				return "", err
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("looking for cmd/%s: %w", pluginName, err)
	}
	if err := copyFile(filepath.Join(o.Image, layoutTarName), filepath.Join(o.Out, layoutTarName), 0o644); err != nil {
		return "", err
	}
	rendered, err := renderBase(ctx, o.Kubectl, filepath.Join(o.Source, "artifacts", "deploy", "base"), o.Repository, digest)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(o.Out, manifestName), rendered, 0o644); err != nil {
		return "", fmt.Errorf("writing the manifests: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Out, "image.txt"), []byte(ref+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing the image reference: %w", err)
	}
	if err := writeChecksums(o.Out); err != nil {
		return "", err
	}
	return ref, nil
}

// readLayout returns the digest of the one image index of an OCI layout
// and its platforms.
func readLayout(dir string) (v1.Hash, []platform, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("reading the OCI layout %s: %w", dir, err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("reading the OCI layout %s: %w", dir, err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("reading %s/index.json: %w", dir, err)
	}
	if len(im.Manifests) != 1 || !im.Manifests[0].MediaType.IsIndex() {
		return v1.Hash{}, nil, fmt.Errorf("%s should hold exactly one image index", dir)
	}
	digest := im.Manifests[0].Digest
	idx, err := top.ImageIndex(digest)
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("reading the image index %s: %w", digest, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("reading the image index %s: %w", digest, err)
	}
	var plats []platform
	for _, d := range m.Manifests {
		if d.Platform == nil {
			return v1.Hash{}, nil, fmt.Errorf("image %s of the index has no platform", d.Digest)
		}
		plats = append(plats, platform{OS: d.Platform.OS, Arch: d.Platform.Architecture, Variant: d.Platform.Variant})
	}
	return digest, plats, nil
}

// renderBase renders a copy of the kustomize base with the server image set
// to repository@digest, as `kustomize edit set image` would: an overlay
// next to the copy names the base's image and gives it the new name and
// the digest.
func renderBase(ctx context.Context, kubectl, baseDir, repository string, digest v1.Hash) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "petset-release-*")
	if err != nil {
		return nil, fmt.Errorf("creating a directory for the manifests: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := copyDir(baseDir, filepath.Join(tmp, "base")); err != nil {
		return nil, err
	}
	kustomization := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- base
images:
- name: %s
  newName: %s
  digest: %s
`, baseImageName, repository, digest)
	if err := os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		return nil, fmt.Errorf("writing the kustomization: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectl, "kustomize", tmp)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s kustomize: %w: %s", kubectl, err, stderr.String())
	}
	want := "image: " + repository + "@" + digest.String()
	if !strings.Contains(stdout.String(), want) {
		return nil, fmt.Errorf("the rendered base lacks %q", want)
	}
	if strings.Contains(stdout.String(), baseImageName+":") {
		return nil, fmt.Errorf("the rendered base still references %s by tag", baseImageName)
	}
	return stdout.Bytes(), nil
}

// writeChecksums writes SHA256SUMS for the files of dir, in the format of
// sha256sum, so `sha256sum -c SHA256SUMS` checks them.
func writeChecksums(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing the release: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name() != checksumsName {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		sum, err := sha256File(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	if err := os.WriteFile(filepath.Join(dir, checksumsName), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", checksumsName, err)
	}
	return nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}

// copyDir copies the regular files of src (not its subdirectories: a
// kustomize base is flat) into dst.
func copyDir(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			return fmt.Errorf("%s has a subdirectory %s; copy it too", src, e.Name())
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
