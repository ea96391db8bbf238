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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetclient "github.com/petsets/client-go/clientset/versioned"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/util/templates"
)

var (
	undoLong = templates.LongDesc(`
		Roll a PetSet back to an earlier revision of its pod template: the
		previous one (the newest revision whose template differs from the
		current template), or revision N with --to-revision=N. The PetSet's
		spec.template is replaced by that revision's; the controller then
		reuses the revision, and the pets follow the update strategy as for
		any template change (under OnDelete only when they are deleted).

		When the current template already is that revision's, nothing is
		written.`)

	undoExample = templates.Examples(`
		# Roll back to the previous revision
		kubectl petset rollout undo web

		# Roll back to revision 3
		kubectl petset rollout undo web --to-revision=3

		# Show the template revision 3 would bring back, changing nothing
		kubectl petset rollout undo web --to-revision=3 --dry-run=client`)
)

// DryRun is a --dry-run strategy.
type DryRun string

const (
	DryRunNone   DryRun = "none"
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// UndoOptions are the inputs of `rollout undo`.
type UndoOptions struct {
	Name      string
	Namespace string
	// ToRevision is the revision number to roll back to; 0 for the
	// previous one.
	ToRevision int64
	DryRun     DryRun

	PetSets petsetclient.Interface
	Kube    kubernetes.Interface
	Out     io.Writer
}

func newUndoCommand(clients Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UndoOptions{Out: streams.Out}
	var dryRun string
	cmd := &cobra.Command{
		Use:                   "undo NAME [--to-revision N] [--dry-run=none|client|server]",
		DisableFlagsInUseLine: true,
		Short:                 "Roll a PetSet back to an earlier revision",
		Long:                  undoLong,
		Example:               undoExample,
		Args:                  exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch DryRun(dryRun) {
			case DryRunNone, DryRunClient, DryRunServer:
				o.DryRun = DryRun(dryRun)
			default:
				return usageError{cmd: cmd, err: fmt.Errorf(`invalid --dry-run value %q: must be "none", "server" or "client"`, dryRun)}
			}
			if o.ToRevision < 0 {
				return usageError{cmd: cmd, err: errors.New("--to-revision must not be negative")}
			}
			var err error
			o.Name = args[0]
			if o.Namespace, o.PetSets, o.Kube, err = setClients(clients); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Int64Var(&o.ToRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	cmd.Flags().StringVar(&dryRun, "dry-run", string(DryRunNone), `Must be "none", "server", or "client". If client strategy, only print the template that would be restored, without sending it. If server strategy, submit a server-side request without persisting the resource.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = string(DryRunClient)
	return cmd
}

// Run rolls the PetSet back.
func (o *UndoOptions) Run(ctx context.Context) error {
	set, err := getPetSet(ctx, o.PetSets, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	revisions, err := listRevisions(ctx, o.Kube, set)
	if err != nil {
		return err
	}
	to, template, err := undoTarget(set, revisions, o.ToRevision)
	if err != nil {
		return err
	}
	if template == nil {
		fmt.Fprintf(o.Out, "%s skipped rollback (current template already matches revision %d)\n", objectName(o.Name), to.Revision)
		return nil
	}
	if o.DryRun == DryRunClient {
		fmt.Fprintf(o.Out, "%s will roll back to revision %d (dry run)\n%s", objectName(o.Name), to.Revision, describeTemplate(template))
		return nil
	}

	patch, err := undoPatch(set, template)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	if o.DryRun == DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := o.PetSets.AppsV1alpha1().PetSets(o.Namespace).Patch(ctx, o.Name, types.JSONPatchType, patch, opts); err != nil {
		return fmt.Errorf("failed restoring revision %d: %w", to.Revision, err)
	}
	suffix := ""
	if o.DryRun == DryRunServer {
		suffix = " (server dry run)"
	}
	fmt.Fprintf(o.Out, "%s rolled back to revision %d%s\n", objectName(o.Name), to.Revision, suffix)
	return nil
}

// undoTarget picks the revision to roll back to among revisions (sorted by
// number): revision toRevision, or for 0 the newest revision whose template
// differs from the PetSet's: the previous revision, as kubectl's "second
// newest", but also right while the controller has yet to record the
// current template. It returns that revision's template, or nil when the
// PetSet's template already is it.
func undoTarget(set *appsv1alpha1.PetSet, revisions []*appsv1.ControllerRevision, toRevision int64) (*appsv1.ControllerRevision, *corev1.PodTemplateSpec, error) {
	if toRevision > 0 {
		to := findRevision(revisions, toRevision)
		if to == nil {
			if len(revisions) == 0 {
				return nil, nil, fmt.Errorf("unable to find specified revision %d in history: petset %q has no revisions", toRevision, set.Name)
			}
			return nil, nil, fmt.Errorf("unable to find specified revision %d in history (revisions: %s)", toRevision, revisionNumbers(revisions))
		}
		template, err := revisionTemplate(to)
		if err != nil {
			return nil, nil, err
		}
		if holdsTemplate(set, to, template) {
			return to, nil, nil
		}
		return to, template, nil
	}
	for _, rev := range slices.Backward(revisions) {
		template, err := revisionTemplate(rev)
		if err != nil {
			return nil, nil, err
		}
		if !holdsTemplate(set, rev, template) {
			return rev, template, nil
		}
	}
	return nil, nil, errors.New("no last revision to roll back to")
}

// undoPatch is the JSON patch that replaces the PetSet's template by
// template as a whole (a merge would keep what the current template has
// and the revision's lacks, such as kubectl.kubernetes.io/restartedAt), on
// the condition that the PetSet is still the object read.
func undoPatch(set *appsv1alpha1.PetSet, template *corev1.PodTemplateSpec) ([]byte, error) {
	return json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/uid", "value": set.UID},
		{"op": "replace", "path": "/spec/template", "value": template},
	})
}
