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

package plugin

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// execute runs the command tree with args against clients and returns the
// exit code, standard output and standard error.
func execute(clients Clients, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := Execute(context.Background(), newRootCommand(clients, streams), args, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	revs := objects(revision("web-old", 1, oldImage, ""), revision("web-new", 2, newImage, ""))
	pets := objects(pet(1, newRevision, ready), pet(0, newRevision, ready))
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{
			args:    []string{"rollout", "status", "web", "--timeout=1m"},
			wantOut: "petset rolling update complete 2 pets at revision web-new...\n",
		},
		{
			args:    []string{"rollout", "history", "web"},
			wantOut: "petset.apps/web\nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n",
		},
		{
			args:    []string{"rollout", "history", "web", "--revision=1", "-o", "jsonpath={.spec.template.spec.containers[0].image}"},
			wantOut: oldImage,
		},
		{
			args:    []string{"rollout", "undo", "web", "--dry-run"},
			wantOut: "petset.apps/web will roll back to revision 1 (dry run)\nPod Template:\n",
		},
		{
			args:    []string{"rollout", "undo", "web", "--to-revision=2"},
			wantOut: "petset.apps/web skipped rollback (current template already matches revision 2)\n",
		},
		{args: []string{"rollout", "restart", "web"}, wantOut: "petset.apps/web restarted\n"},

		// Wrong uses: exit code 1, kubectl's "error: " and a pointer to
		// the help.
		{
			args: []string{"rollout", "status"}, wantCode: 1,
			wantErr: "error: a PetSet name is required\nSee 'kubectl petset rollout status -h' for help and examples\n",
		},
		{
			args: []string{"rollout", "undo", "web", "db"}, wantCode: 1,
			wantErr: "error: exactly one PetSet name is required, got [\"web\" \"db\"]\nSee 'kubectl petset rollout undo -h' for help and examples\n",
		},
		{
			args: []string{"rollout", "undo", "web", "--dry-run=maybe"}, wantCode: 1,
			wantErr: "error: invalid --dry-run value \"maybe\": must be \"none\", \"server\" or \"client\"\nSee 'kubectl petset rollout undo -h' for help and examples\n",
		},
		{
			args: []string{"rollout", "status", "web", "--timeout=soon"}, wantCode: 1,
			wantErr: "error: invalid argument \"soon\" for \"--timeout\" flag: time: invalid duration \"soon\"\nSee 'kubectl petset rollout status -h' for help and examples\n",
		},
		{
			args: []string{"rollout", "history", "web", "-o", "table"}, wantCode: 1,
			wantErr: "error: unable to match a printer suitable for the output format \"table\"",
		},
		{
			args: []string{"rollout", "history", "db"}, wantCode: 1,
			wantErr: "error: petsets.apps \"db\" not found in namespace \"shop\"\n",
		},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			clients := newFakeClients(newSet(2, rollingUpdate(0)), append(revs, pets...)...)
			code, out, errOut := execute(clients, tc.args...)
			if code != tc.wantCode || !strings.HasPrefix(out, tc.wantOut) || !strings.HasPrefix(errOut, tc.wantErr) {
				t.Errorf("exit code %d, printed %q and on standard error %q; want %d, %q and %q", code, out, errOut, tc.wantCode, tc.wantOut, tc.wantErr)
			}
		})
	}
}

// TestHelp: each command has help with examples, naming the plugin as
// kubectl runs it.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"},
		{"rollout", "--help"},
		{"rollout", "status", "--help"},
		{"rollout", "history", "--help"},
		{"rollout", "undo", "--help"},
		{"rollout", "restart", "--help"},
	} {
		code, out, errOut := execute(newFakeClients(nil), args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Examples:\n  # ") || !strings.Contains(out, "kubectl petset rollout") {
			t.Errorf("%v: exit code %d, standard error %q, help:\n%s", args, code, errOut, out)
		}
	}
}

// TestKubectlFlags: NewCommand takes kubectl's connection flags.
func TestKubectlFlags(t *testing.T) {
	cmd := NewCommand(genericiooptions.NewTestIOStreamsDiscard())
	for _, name := range []string{"namespace", "kubeconfig", "context", "cluster", "user", "server", "token", "as", "request-timeout"} {
		if cmd.PersistentFlags().Lookup(name) == nil {
			t.Errorf("no --%s flag", name)
		}
	}
	if f := cmd.PersistentFlags().ShorthandLookup("n"); f == nil || f.Name != "namespace" {
		t.Errorf("-n is not --namespace")
	}
}
