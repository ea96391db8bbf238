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
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is a file or directory of a layer. Names are relative, without a
// leading slash; directories end in a slash.
type entry struct {
	Name     string
	Mode     int64
	UID, GID int
	Data     []byte
}

func (e entry) isDir() bool { return strings.HasSuffix(e.Name, "/") }

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\n" +
		"nonroot:x:65532:\n"
	// Go's resolver reads /etc/hosts first, then DNS, with this file.
	nsswitch = "hosts: files dns\n"
)

// rootFSLayer is the layer every platform shares: the users, the name
// service order and the writable directories.
func rootFSLayer(created time.Time) (v1.Layer, error) {
	return layerOf([]entry{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/group", Mode: 0o644, Data: []byte(group)},
		{Name: "etc/nsswitch.conf", Mode: 0o644, Data: []byte(nsswitch)},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Name: "home/", Mode: 0o755},
		{Name: "home/nonroot/", Mode: 0o700, UID: nonRootID, GID: nonRootID},
		{Name: "tmp/", Mode: 0o1777},
	}, created)
}

// binaryLayer holds the server binary.
func binaryLayer(bin []byte, created time.Time) (v1.Layer, error) {
	return layerOf([]entry{
		{Name: "usr/", Mode: 0o755},
		{Name: "usr/local/", Mode: 0o755},
		{Name: "usr/local/bin/", Mode: 0o755},
		{Name: strings.TrimPrefix(binaryPath, "/"), Mode: 0o755, Data: bin},
	}, created)
}

// layerOf is a gzip-compressed OCI layer of the entries, sorted by name,
// owned by their UID and GID (root unless set), all modified at created.
func layerOf(entries []entry, created time.Time) (v1.Layer, error) {
	var raw bytes.Buffer
	if err := writeTar(&raw, entries, created); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("compressing a layer: %w", err)
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, fmt.Errorf("compressing a layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing a layer: %w", err)
	}
	compressed := gz.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("creating a layer: %w", err)
	}
	return layer, nil
}

// writeTar writes the entries, sorted by name, with fixed times, owners
// and modes.
func writeTar(w io.Writer, entries []entry, mtime time.Time) error {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	tw := tar.NewWriter(w)
	for _, e := range sorted {
		hdr := &tar.Header{
			Name:    e.Name,
			Mode:    e.Mode,
			Uid:     e.UID,
			Gid:     e.GID,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		if e.isDir() {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing the tar header of %s: %w", e.Name, err)
		}
		if !e.isDir() {
			if _, err := tw.Write(e.Data); err != nil {
				return fmt.Errorf("writing %s into the tar: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("closing the tar: %w", err)
	}
	return nil
}

// tarDir writes a tar of the directory dir (its contents, relative to it)
// to out, with the same fixed times, owners and modes as the layers.
func tarDir(dir, out string, mtime time.Time) error {
	var entries []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			entries = append(entries, entry{Name: rel + "/", Mode: 0o755})
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			entries = append(entries, entry{Name: rel, Mode: 0o644, Data: data})
		default:
			return fmt.Errorf("%s is neither a file nor a directory", path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	if err := writeTar(f, entries, mtime); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
