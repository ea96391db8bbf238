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

package server

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// parse builds the options from command line arguments and completes them.
func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("petset-apiserver", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return o, o.Complete(fs)
}

func TestOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		// wantErrs are substrings of the validation error; none means valid.
		wantErrs []string
	}{
		{
			name: "standalone with a data dir is valid",
			args: []string{"--standalone", "--data-dir", dir},
		},
		{
			name:     "standalone needs a data dir",
			args:     []string{"--standalone"},
			wantErrs: []string{"--standalone needs --data-dir"},
		},
		{
			name:     "standalone runs its own etcd",
			args:     []string{"--standalone", "--data-dir", dir, "--etcd-servers", "http://127.0.0.1:2379"},
			wantErrs: []string{"do not set --etcd-servers"},
		},
		{
			name:     "standalone refuses the controller when asked for it",
			args:     []string{"--standalone", "--data-dir", dir, "--controllers=true"},
			wantErrs: []string{"--controllers cannot run with --standalone"},
		},
		{
			name:     "data dir without standalone is refused",
			args:     []string{"--data-dir", dir, "--etcd-servers", "http://127.0.0.1:2379"},
			wantErrs: []string{"--data-dir is only used with --standalone"},
		},
		{
			name: "cluster mode with etcd is valid",
			args: []string{"--etcd-servers", "http://127.0.0.1:2379"},
		},
		{
			name:     "cluster mode needs etcd",
			args:     []string{},
			wantErrs: []string{"--etcd-servers must be specified"},
		},
		{
			name:     "controller needs workers",
			args:     []string{"--etcd-servers", "http://127.0.0.1:2379", "--controller-workers=0"},
			wantErrs: []string{"--controller-workers must be at least 1"},
		},
		{
			name:     "controller client limits must be positive",
			args:     []string{"--etcd-servers", "http://127.0.0.1:2379", "--kube-api-qps=0", "--kube-api-burst=0"},
			wantErrs: []string{"--kube-api-qps must be positive, not 0", "--kube-api-burst must be at least 1, not 0"},
		},
		{
			name:     "terminating pet margin must be positive",
			args:     []string{"--etcd-servers", "http://127.0.0.1:2379", "--terminating-pet-margin=0s"},
			wantErrs: []string{"--terminating-pet-margin must be positive, not 0s"},
		},
		{
			name:     "storage identity record must be namespace/name",
			args:     []string{"--etcd-servers", "http://127.0.0.1:2379", "--storage-identity-configmap=no-slash"},
			wantErrs: []string{`--storage-identity-configmap must be <namespace>/<name>, not "no-slash"`},
		},
		{
			name: "lease timings must be ordered",
			args: []string{"--etcd-servers", "http://127.0.0.1:2379",
				"--leader-elect-lease-duration=5s", "--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=10s"},
			wantErrs: []string{
				"--leader-elect-renew-deadline (10s) must be longer than --leader-elect-retry-period (10s)",
				"--leader-elect-lease-duration (5s) must be longer than --leader-elect-renew-deadline (10s)",
			},
		},
		{
			name: "lease settings do not matter without leader election",
			args: []string{"--etcd-servers", "http://127.0.0.1:2379", "--leader-elect=false",
				"--leader-elect-resource-namespace="},
		},
		{
			name: "lease settings do not matter without the controller",
			args: []string{"--etcd-servers", "http://127.0.0.1:2379", "--controllers=false", "--controller-workers=0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parse(t, tc.args...)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			err = o.Validate()
			if len(tc.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Validate: unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: no error, want %q", tc.wantErrs)
			}
			for _, want := range tc.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestOptionsCompleteStandalone(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name           string
		args           []string
		wantPort       int
		wantController bool
	}{
		{
			name:     "standalone defaults to port 8443 on loopback without the controller",
			args:     []string{"--standalone", "--data-dir", dir},
			wantPort: defaultStandalonePort,
		},
		{
			name:     "standalone keeps a given port, zero included",
			args:     []string{"--standalone", "--data-dir", dir, "--secure-port=0"},
			wantPort: 0,
		},
		{
			name:           "cluster mode keeps the controller on and the generic default port",
			args:           []string{"--etcd-servers", "http://127.0.0.1:2379"},
			wantPort:       443,
			wantController: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parse(t, tc.args...)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			got := struct {
				Port       int
				Controller bool
			}{o.RecommendedOptions.SecureServing.BindPort, o.Controller.Enabled}
			want := struct {
				Port       int
				Controller bool
			}{tc.wantPort, tc.wantController}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("completed options (-want +got):\n%s", diff)
			}
			if !o.Standalone {
				return
			}
			if ip := o.RecommendedOptions.SecureServing.BindAddress; !ip.IsLoopback() {
				t.Errorf("standalone binds to %s, want loopback", ip)
			}
			if o.RecommendedOptions.Authentication != nil || o.RecommendedOptions.Authorization != nil || o.RecommendedOptions.CoreAPI != nil {
				t.Errorf("standalone keeps delegated authentication, authorization or the core API client")
			}
			if got, want := o.RecommendedOptions.SecureServing.ServerCert.CertDirectory, filepath.Join(dir, "certs"); got != want {
				t.Errorf("certificate directory %q, want %q", got, want)
			}
		})
	}
}
