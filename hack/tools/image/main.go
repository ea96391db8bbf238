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

// Command petset-image builds the container image of petset-apiserver
// without a container runtime, and the release that ships it.
//
//	petset-image build   [flags]   the image, as an OCI layout and a tar of it
//	petset-image release [flags]   binaries, checksums and the rendered manifests
//
// The image is an OCI image index with one image per platform (linux/amd64
// and linux/arm64 by default). Each image has two layers: a root filesystem
// of a few files (/etc/passwd and /etc/group with the non-root user 65532,
// /etc/nsswitch.conf, /tmp, the user's home) and the static binary
// /usr/local/bin/petset-apiserver. There is no shell and no CA bundle: the
// server reaches kube-apiserver with the in-cluster CA of its service account
// and etcd with --etcd-cafile, and it verifies webhooks with their caBundle.
//
// Every timestamp is the source date (SOURCE_DATE_EPOCH, else the commit
// time), tar entries are sorted with fixed owners and modes, and the binary
// is built with -trimpath and -buildvcs=false, so two builds of one commit
// give the same digest from any checkout path.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "petset-image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: petset-image build|release [flags] (-h for the flags)")
	}
	switch args[0] {
	case "build":
		return runBuild(args[1:])
	case "release":
		return runRelease(args[1:])
	default:
		return fmt.Errorf("unknown command %q: want build or release", args[0])
	}
}
