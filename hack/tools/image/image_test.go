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
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	testVersion  = "v0.1.0-imagetest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
	// testEpoch is 2023-11-14T22:13:20Z.
	testEpoch = 1700000000

	readyTimeout = 90 * time.Second
	stopTimeout  = 30 * time.Second
)

// checkoutRoot is the root of the checkout this module lives in.
func checkoutRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", binaryName)); err != nil {
		t.Fatalf("%s is not the checkout: %v", root, err)
	}
	return root
}

// TestImage builds the linux/amd64 image twice, from two copies of the
// checkout at different paths into two output directories, and checks that
// the digests match; then reads the image back, checks its config and root
// filesystem, and runs the extracted binary.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds petset-apiserver twice")
	}
	// The first build compiles every dependency for linux/amd64 with
	// -trimpath (a cache of its own); the second only links.
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Minute)
	defer cancel()

	// Two copies of one snapshot of the checkout: the builds see the same
	// sources at different paths.
	tmp := t.TempDir()
	first := filepath.Join(tmp, "a", "checkout")
	second := filepath.Join(tmp, "elsewhere", "b")
	if err := copyTree(checkoutRoot(t), first); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(first, second); err != nil {
		t.Fatal(err)
	}

	opts := func(source, out string) buildOptions {
		return buildOptions{
			Source:     source,
			Out:        out,
			Platforms:  []platform{{OS: "linux", Arch: "amd64"}},
			LDFlags:    "-X " + versionPkg + ".gitVersion=" + testVersion + " -X " + versionPkg + ".gitCommit=" + testRevision,
			Version:    testVersion,
			Revision:   testRevision,
			SourceURL:  defaultSourceURL,
			Created:    time.Unix(testEpoch, 0).UTC(),
			Repository: defaultRepository,
			Log:        testLog{t},
		}
	}
	start := time.Now()
	res1, err := build(ctx, opts(first, filepath.Join(tmp, "out1")))
	if err != nil {
		t.Fatalf("first build: %v", err)
	}
	t.Logf("first build: %s in %v", res1.Digest, time.Since(start).Round(time.Second))
	start = time.Now()
	res2, err := build(ctx, opts(second, filepath.Join(tmp, "out2")))
	if err != nil {
		t.Fatalf("second build: %v", err)
	}
	t.Logf("second build: %s in %v", res2.Digest, time.Since(start).Round(time.Second))
	if res1.Digest != res2.Digest {
		t.Errorf("two builds of the same sources differ: %s and %s", res1.Digest, res2.Digest)
	}
	if a, b := mustSHA256(t, res1.LayoutTar), mustSHA256(t, res2.LayoutTar); a != b {
		t.Errorf("the tars of the two layouts differ: sha256 %s and %s", a, b)
	}
	if got := strings.TrimSpace(string(mustRead(t, filepath.Join(tmp, "out1", digestName)))); got != res1.Digest.String() {
		t.Errorf("the digest file says %q, want %q", got, res1.Digest)
	}

	img := readBack(t, res1)
	rootfs := filepath.Join(tmp, "rootfs")
	extract(t, img, rootfs)

	bin := filepath.Join(rootfs, strings.TrimPrefix(binaryPath, "/"))
	t.Run("version", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", bin, err, out)
		}
		if !strings.Contains(string(out), testVersion) {
			t.Errorf("%s --version = %q, want it to contain %q", bin, out, testVersion)
		}
	})
	t.Run("standalone", func(t *testing.T) {
		runStandalone(ctx, t, bin)
	})
}

// readBack reads the layout with go-containerregistry and checks the index,
// the manifest and the config; it returns the linux/amd64 image.
func readBack(t *testing.T, res *buildResult) v1.Image {
	t.Helper()
	digest, plats, err := readLayout(res.LayoutDir)
	if err != nil {
		t.Fatal(err)
	}
	if digest != res.Digest {
		t.Errorf("the layout holds %s, the build said %s", digest, res.Digest)
	}
	if want := []platform{{OS: "linux", Arch: "amd64"}}; !reflect.DeepEqual(plats, want) {
		t.Errorf("platforms = %v, want %v", plats, want)
	}
	top, err := layout.ImageIndexFromPath(res.LayoutDir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := top.ImageIndex(digest)
	if err != nil {
		t.Fatal(err)
	}
	if mt, err := idx.MediaType(); err != nil || mt != types.OCIImageIndex {
		t.Errorf("index media type = %q, %v; want %q", mt, err, types.OCIImageIndex)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := im.Annotations["org.opencontainers.image.version"]; got != testVersion {
		t.Errorf("index annotation version = %q, want %q", got, testVersion)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("the index has %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest media types = %q, config %q; want OCI", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %s has media type %q, want %q", l.Digest, l.MediaType, types.OCILayer)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("config platform = %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
	}
	if want := []string{binaryPath}; !reflect.DeepEqual(cfg.Config.Entrypoint, want) {
		t.Errorf("entrypoint = %q, want %q", cfg.Config.Entrypoint, want)
	}
	if len(cfg.Config.Cmd) != 0 {
		t.Errorf("cmd = %q, want none", cfg.Config.Cmd)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532", cfg.Config.User)
	}
	created := time.Unix(testEpoch, 0).UTC()
	if !cfg.Created.Time.Equal(created) {
		t.Errorf("created = %v, want %v", cfg.Created.Time, created)
	}
	for _, h := range cfg.History {
		if !h.Created.Time.Equal(created) {
			t.Errorf("history %q created %v, want %v", h.Comment, h.Created.Time, created)
		}
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.source":   defaultSourceURL,
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
		"org.opencontainers.image.title":    binaryName,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	for k, v := range wantLabels {
		if got := cfg.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	return img
}

// extract writes the image's root filesystem into dir and checks its
// entries: owners, modes, the users, and nothing else (no shell).
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the root filesystem: %v", err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		names = append(names, name)
		if !hdr.ModTime.Equal(time.Unix(testEpoch, 0)) {
			t.Errorf("%s modified at %v, want the source date", name, hdr.ModTime)
		}
		wantID := 0
		if name == "home/nonroot" {
			wantID = nonRootID
		}
		if hdr.Uid != wantID || hdr.Gid != wantID {
			t.Errorf("%s is owned by %d:%d, want %d:%d", name, hdr.Uid, hdr.Gid, wantID, wantID)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, data, fs.FileMode(hdr.Mode)&fs.ModePerm); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("%s has tar type %q; the image holds only files and directories", name, hdr.Typeflag)
		}
	}
	sort.Strings(names)
	want := []string{
		"etc", "etc/group", "etc/nsswitch.conf", "etc/passwd", "home", "home/nonroot", "tmp",
		"usr", "usr/local", "usr/local/bin", "usr/local/bin/petset-apiserver",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("root filesystem = %q, want %q (no shell, nothing else)", names, want)
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(dir, "etc", "passwd"))), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the user 65532")
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(dir, "etc", "group"))), "nonroot:x:65532:") {
		t.Errorf("/etc/group lacks the group 65532")
	}
}

// runStandalone runs the binary with --standalone on a data directory of
// its own, on a free loopback port, until /readyz answers ok; the process
// is stopped by its pid whatever the outcome.
func runStandalone(ctx context.Context, t *testing.T, bin string) {
	dataDir := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--standalone", "--data-dir", dataDir, "--secure-port=0", "--bind-address=127.0.0.1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", bin, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stopProcess(t, pid, exited)
		logFile.Close()
		if t.Failed() {
			t.Logf("--- log of petset-apiserver pid %d ---\n%s", pid, tail(mustRead(t, logPath), 8000))
		}
	})

	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	kubeconfig := filepath.Join(dataDir, "kubeconfig")
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	var client *http.Client
	var server, token, last string
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("petset-apiserver (pid %d) exited before it was ready: %v", pid, err)
		case <-ctx.Done():
			t.Fatalf("petset-apiserver (pid %d) was not ready within %v: %s", pid, readyTimeout, last)
		case <-ticker.C:
		}
		if client == nil {
			var ca []byte
			server, ca, token, err = readKubeconfig(kubeconfig)
			if err != nil {
				last = err.Error()
				continue
			}
			if !strings.HasPrefix(server, "https://127.0.0.1:") {
				t.Fatalf("the standalone server serves on %s, want loopback", server)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(ca) {
				t.Fatalf("the kubeconfig's CA does not parse")
			}
			client = &http.Client{
				Timeout:   5 * time.Second,
				Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
			t.Logf("/readyz of pid %d: ok", pid)
			return
		}
		last = fmt.Sprintf("/readyz: %d %s", resp.StatusCode, body)
	}
}

// stopProcess sends SIGTERM to pid and waits for it to exit, killing it
// after stopTimeout.
func stopProcess(t *testing.T, pid int, exited chan error) {
	select {
	case err := <-exited:
		exited <- err
		return
	default:
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("SIGTERM to pid %d: %v", pid, err)
	}
	select {
	case err := <-exited:
		exited <- err
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Errorf("waiting for pid %d: %v", pid, err)
		}
	case <-time.After(stopTimeout):
		t.Errorf("pid %d did not exit within %v of SIGTERM; killing it", pid, stopTimeout)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		exited <- <-exited
	}
}

// readKubeconfig reads the server, the CA and the token of the kubeconfig
// that a standalone server writes (one cluster, one user).
func readKubeconfig(path string) (server string, ca []byte, token string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		switch key {
		case "server":
			server = value
		case "certificate-authority-data":
			if ca, err = base64.StdEncoding.DecodeString(value); err != nil {
				return "", nil, "", fmt.Errorf("decoding the kubeconfig's CA: %w", err)
			}
		case "token":
			token = value
		}
	}
	if err := sc.Err(); err != nil {
		return "", nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	if server == "" || len(ca) == 0 || token == "" {
		return "", nil, "", errors.New("the kubeconfig is not complete yet")
	}
	return server, ca, token, nil
}

// TestLdflagValue checks that the version and revision are read from the
// linker flags of `make build`.
func TestLdflagValue(t *testing.T) {
	ldflags := "-X k8s.io/component-base/version.gitVersion=v0.1.0-abc -X k8s.io/component-base/version.gitCommit=deadbeef"
	if got := ldflagValue(ldflags, versionPkg+".gitVersion"); got != "v0.1.0-abc" {
		t.Errorf("gitVersion = %q", got)
	}
	if got := ldflagValue(ldflags, versionPkg+".gitCommit"); got != "deadbeef" {
		t.Errorf("gitCommit = %q", got)
	}
	if got := ldflagValue(ldflags, versionPkg+".gitMajor"); got != "" {
		t.Errorf("gitMajor = %q, want none", got)
	}
}

// TestRenderBase renders the kustomize base pinned by digest with the
// pinned kubectl, when `make tools` has built it.
func TestRenderBase(t *testing.T) {
	root := checkoutRoot(t)
	kubectl := filepath.Join(root, "_output", "bin", "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Skipf("no %s (make tools builds it)", kubectl)
	}
	digest := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := renderBase(ctx, kubectl, filepath.Join(root, "artifacts", "deploy", "base"), "registry.example.com/petset-apiserver", digest)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "image: registry.example.com/petset-apiserver@"+digest.String()); n != 1 {
		t.Errorf("the rendered base references the pinned image %d times, want 1:\n%s", n, out)
	}
}

// copyTree copies the regular files and directories of src into dst,
// leaving out .git and _output.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() && (rel == ".git" || rel == "_output") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		default:
			return nil
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustSHA256(t *testing.T, path string) string {
	t.Helper()
	sum, err := sha256File(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func tail(b []byte, n int) string {
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}

// testLog sends the build output to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
