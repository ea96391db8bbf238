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
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// binaryName is the server binary, also the image's entrypoint.
	binaryName = "petset-apiserver"
	// binaryPath is where the image holds the binary.
	binaryPath = "/usr/local/bin/" + binaryName
	// nonRootID is the uid and gid the image runs as (distroless' nonroot,
	// and what artifacts/deploy runs the pods as).
	nonRootID = 65532

	// The names of the outputs under the output directory.
	layoutDirName = "oci"
	layoutTarName = binaryName + ".oci.tar"
	digestName    = "digest"
	binDirName    = "bin"

	defaultRepository = "petsets/petset-apiserver"
	defaultSourceURL  = "https://github.com/petsets/petset"
	versionPkg        = "k8s.io/component-base/version"
)

// platform is an OS and architecture the image is built for.
type platform struct {
	OS, Arch, Variant string
}

func (p platform) String() string { return p.OS + "/" + p.Arch }

// dirName names the directory of the platform's binaries.
func (p platform) dirName() string { return p.OS + "-" + p.Arch }

// goEnv is the environment of a build for the platform: static, and the
// architecture levels fixed to the defaults whatever the environment says.
func (p platform) goEnv() []string {
	// GOWORK= finds the checkout's go.work, as `make build` does, also
	// when the caller runs with GOWORK=off.
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Arch, "GOWORK="}
	switch p.Arch {
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	}
	return env
}

func parsePlatforms(s string) ([]platform, error) {
	var out []platform
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		os, arch, ok := strings.Cut(f, "/")
		if !ok || os != "linux" || (arch != "amd64" && arch != "arm64") {
			return nil, fmt.Errorf("unsupported platform %q: want linux/amd64 or linux/arm64", f)
		}
		if seen[f] {
			return nil, fmt.Errorf("platform %q given twice", f)
		}
		seen[f] = true
		p := platform{OS: os, Arch: arch}
		if arch == "arm64" {
			p.Variant = "v8"
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no platform given")
	}
	return out, nil
}

// buildOptions are the inputs of an image build.
type buildOptions struct {
	// Source is the root of the petset-apiserver checkout.
	Source string
	// Out is the output directory (the layout, its tar, the digest and
	// the binaries go there).
	Out string
	// Platforms are built in this order into one index.
	Platforms []platform
	// LDFlags are the linker flags of `make build` (the version stamp);
	// -s -w are added.
	LDFlags string
	// Version and Revision label the image.
	Version, Revision string
	// SourceURL labels the image with where its source lives.
	SourceURL string
	// Created is the time of every timestamp in the image.
	Created time.Time
	// Repository names the image in the printed reference and in the
	// layout's ref.name annotation.
	Repository string
	// Log receives the progress and the go build output.
	Log io.Writer
}

// buildResult describes a built image.
type buildResult struct {
	// Digest is the digest of the image index.
	Digest v1.Hash
	// LayoutDir is the OCI layout, LayoutTar a tar of it.
	LayoutDir, LayoutTar string
	// Binaries maps each platform to its server binary.
	Binaries map[platform]string
}

// Reference is the image reference pinned by digest.
func (o buildOptions) reference(d v1.Hash) string { return o.Repository + "@" + d.String() }

func runBuild(args []string) error {
	fs := flag.NewFlagSet("petset-image build", flag.ContinueOnError)
	source := fs.String("source", ".", "root of the petset-apiserver checkout")
	out := fs.String("out", "_output/image", "output directory: "+layoutDirName+"/ (OCI layout), "+layoutTarName+", "+digestName+", "+binDirName+"/")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated platforms of the image index")
	ldflags := fs.String("ldflags", "", "linker flags of `make build` (the version stamp)")
	version := fs.String("version", "", "org.opencontainers.image.version (default: the gitVersion in -ldflags)")
	revision := fs.String("revision", "", "org.opencontainers.image.revision (default: the gitCommit in -ldflags)")
	sourceURL := fs.String("source-url", defaultSourceURL, "org.opencontainers.image.source")
	epoch := fs.Int64("epoch", -1, "the time of every timestamp, in seconds since 1970 (default: $SOURCE_DATE_EPOCH, else the time of the checkout's HEAD commit)")
	repository := fs.String("repository", defaultRepository, "the image repository, for the printed reference and the layout's ref.name")
	timeout := fs.Duration("timeout", 2*time.Hour, "give up after this long (the first build for a platform compiles every dependency)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	plats, err := parsePlatforms(*platforms)
	if err != nil {
		return err
	}
	created, err := sourceDate(*epoch, *source)
	if err != nil {
		return err
	}
	o := buildOptions{
		Source:     *source,
		Out:        *out,
		Platforms:  plats,
		LDFlags:    *ldflags,
		Version:    firstNonEmpty(*version, ldflagValue(*ldflags, versionPkg+".gitVersion")),
		Revision:   firstNonEmpty(*revision, ldflagValue(*ldflags, versionPkg+".gitCommit")),
		SourceURL:  *sourceURL,
		Created:    created,
		Repository: *repository,
		Log:        os.Stderr,
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := build(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "OCI layout %s, tar %s\n", res.LayoutDir, res.LayoutTar)
	fmt.Println(o.reference(res.Digest))
	return nil
}

// sourceDate is the time of every timestamp: the flag, else
// $SOURCE_DATE_EPOCH, else the commit time of the checkout's HEAD.
func sourceDate(flagEpoch int64, source string) (time.Time, error) {
	if flagEpoch >= 0 {
		return time.Unix(flagEpoch, 0).UTC(), nil
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	out, err := exec.Command("git", "-C", source, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Time{}, fmt.Errorf("no -epoch or SOURCE_DATE_EPOCH, and reading the commit time of %s: %w", source, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing the commit time %q: %w", out, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// ldflagValue returns the value that -X name=value sets in ldflags.
func ldflagValue(ldflags, name string) string {
	fields := strings.Fields(ldflags)
	for i, f := range fields {
		v := f
		if f == "-X" && i+1 < len(fields) {
			v = fields[i+1]
		} else if rest, ok := strings.CutPrefix(f, "-X="); ok {
			v = rest
		} else {
			continue
		}
		if k, val, ok := strings.Cut(v, "="); ok && k == name {
			return val
		}
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// build builds the binaries and the image and writes the outputs.
func build(ctx context.Context, o buildOptions) (*buildResult, error) {
	if o.Version == "" || o.Revision == "" {
		return nil, errors.New("the image needs a version and a revision: pass -ldflags as `make build` does, or -version and -revision")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	source, err := filepath.Abs(o.Source)
	if err != nil {
		return nil, fmt.Errorf("resolving the source directory: %w", err)
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, fmt.Errorf("resolving the output directory: %w", err)
	}
	res := &buildResult{
		LayoutDir: filepath.Join(out, layoutDirName),
		LayoutTar: filepath.Join(out, layoutTarName),
		Binaries:  map[platform]string{},
	}
	// Start from nothing: a layout keeps blobs it no longer references.
	for _, p := range []string{res.LayoutDir, res.LayoutTar, filepath.Join(out, digestName), filepath.Join(out, binDirName)} {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("removing the previous output: %w", err)
		}
	}

	base, err := rootFSLayer(o.Created)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		bin := filepath.Join(out, binDirName, p.dirName(), binaryName)
		fmt.Fprintf(o.Log, "building %s for %s\n", binaryName, p)
		if err := goBuild(ctx, source, "./cmd/"+binaryName, bin, p, o.LDFlags, o.Log); err != nil {
			return nil, err
		}
		res.Binaries[p] = bin
		img, err := platformImage(o, p, base, bin)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.Variant},
			},
		})
	}
	annotated, ok := mutate.Annotations(idx, o.labels()).(v1.ImageIndex)
	if !ok {
		return nil, errors.New("annotating the image index did not give an index")
	}
	idx = annotated
	if res.Digest, err = idx.Digest(); err != nil {
		return nil, fmt.Errorf("computing the index digest: %w", err)
	}

	lp, err := layout.Write(res.LayoutDir, mutate.IndexMediaType(empty.Index, types.OCIImageIndex))
	if err != nil {
		return nil, fmt.Errorf("creating the OCI layout: %w", err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.Version,
	})); err != nil {
		return nil, fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := tarDir(res.LayoutDir, res.LayoutTar, o.Created); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, digestName), []byte(res.Digest.String()+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing the digest: %w", err)
	}
	return res, nil
}

// labels are the org.opencontainers.image labels of each image config,
// also the annotations of the index.
func (o buildOptions) labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       binaryName,
		"org.opencontainers.image.description": "The PetSet API (apps/v1alpha1) as an aggregated Kubernetes API server, with its controller",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.source":      o.SourceURL,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
}

// goBuild builds pkg of the checkout at source for p into out.
func goBuild(ctx context.Context, source, pkg, out string, p platform, ldflags string, log io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("creating the binary directory: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", strings.TrimSpace("-s -w "+ldflags), "-o", out, pkg)
	cmd.Dir = source
	cmd.Env = append(os.Environ(), p.goEnv()...)
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w", pkg, p, err)
	}
	return nil
}

// platformImage is the image of one platform: the root filesystem, the
// binary, and the config.
func platformImage(o buildOptions, p platform, base v1.Layer, bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("reading the binary: %w", err)
	}
	binLayer, err := binaryLayer(data, o.Created)
	if err != nil {
		return nil, err
	}
	cfg := &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      v1.Time{Time: o.Created},
		Config: v1.Config{
			Entrypoint: []string{binaryPath},
			User:       fmt.Sprintf("%d:%d", nonRootID, nonRootID),
			WorkingDir: "/",
			Env:        []string{"PATH=/usr/local/bin"},
			Labels:     o.labels(),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting the config: %w", err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	created := v1.Time{Time: o.Created}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{
			Created: created, CreatedBy: "petset-image", Comment: "root filesystem: /etc/passwd, /etc/group, /etc/nsswitch.conf, /tmp, /home/nonroot",
		}},
		mutate.Addendum{Layer: binLayer, History: v1.History{
			Created: created, CreatedBy: "petset-image", Comment: binaryPath + " " + o.Version,
		}},
	)
	if err != nil {
		return nil, fmt.Errorf("adding the layers: %w", err)
	}
	return img, nil
}
