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
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetclient "github.com/petsets/client-go/clientset/versioned"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/kubectl/pkg/util/templates"
)

var (
	historyLong = templates.LongDesc(`
		View the rollout history of a PetSet: its revisions, kept as
		ControllerRevisions (spec.revisionHistoryLimit bounds how many), with
		the kubernetes.io/change-cause annotation each had when it was created.

		With --revision=N it shows the pod template of revision N. With -o it
		prints the PetSet as it is with the template of each revision (or of
		revision N), as 'kubectl rollout history statefulset -o' does.`)

	historyExample = templates.Examples(`
		# List the revisions of PetSet web
		kubectl petset rollout history web

		# Show the pod template of revision 3
		kubectl petset rollout history web --revision=3

		# The image of revision 3
		kubectl petset rollout history web --revision=3 -o jsonpath='{.spec.template.spec.containers[0].image}'`)
)

// HistoryOptions are the inputs of `rollout history`.
type HistoryOptions struct {
	Name      string
	Namespace string
	// Revision, when positive, selects one revision.
	Revision int64
	// Printer prints the PetSets of -o; nil for the table.
	Printer printers.ResourcePrinter

	PetSets petsetclient.Interface
	Kube    kubernetes.Interface
	Out     io.Writer
}

// scheme knows the PetSet types, for the printers of -o.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := appsv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

func newHistoryCommand(clients Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HistoryOptions{Out: streams.Out}
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
	cmd := &cobra.Command{
		Use:                   "history NAME [--revision N] [-o yaml|json|jsonpath=...]",
		DisableFlagsInUseLine: true,
		Short:                 "View the rollout history of a PetSet",
		Long:                  historyLong,
		Example:               historyExample,
		Args:                  exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Revision < 0 {
				return usageError{cmd: cmd, err: errors.New("--revision must not be negative")}
			}
			if printFlags.OutputFlagSpecified() {
				printer, err := printFlags.ToPrinter()
				if err != nil {
					return usageError{cmd: cmd, err: err}
				}
				o.Printer = printer
			}
			var err error
			o.Name = args[0]
			if o.Namespace, o.PetSets, o.Kube, err = setClients(clients); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Int64Var(&o.Revision, "revision", 0, "See the details, including the pod template, of the revision specified")
	printFlags.AddFlags(cmd)
	return cmd
}

// Run prints the history.
func (o *HistoryOptions) Run(ctx context.Context) error {
	set, err := getPetSet(ctx, o.PetSets, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	revisions, err := listRevisions(ctx, o.Kube, set)
	if err != nil {
		return err
	}
	if o.Revision > 0 {
		revisions = []*appsv1.ControllerRevision{findRevision(revisions, o.Revision)}
		if revisions[0] == nil {
			return fmt.Errorf("unable to find the specified revision %d of petset %q", o.Revision, o.Name)
		}
	}

	if o.Printer != nil {
		for _, rev := range revisions {
			applied, err := applyRevision(set, rev)
			if err != nil {
				return err
			}
			if err := o.Printer.PrintObj(applied, o.Out); err != nil {
				return err
			}
		}
		return nil
	}

	if o.Revision > 0 {
		template, err := revisionTemplate(revisions[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s with revision #%d\n%s", objectName(o.Name), o.Revision, describeTemplate(template))
		return nil
	}
	fmt.Fprintf(o.Out, "%s\n", objectName(o.Name))
	if len(revisions) == 0 {
		fmt.Fprintln(o.Out, "No rollout history found.")
		return nil
	}
	fmt.Fprint(o.Out, historyTable(revisions))
	return nil
}

// historyTable is kubectl's REVISION / CHANGE-CAUSE table of revisions, in
// the order given.
func historyTable(revisions []*appsv1.ControllerRevision) string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "REVISION\tCHANGE-CAUSE\n")
	for _, rev := range revisions {
		cause := rev.Annotations[changeCauseAnnotation]
		if cause == "" {
			cause = "<none>"
		}
		fmt.Fprintf(w, "%d\t%s\n", rev.Revision, cause)
	}
	w.Flush()
	return buf.String()
}

// describeTemplate describes a pod template as kubectl describe does,
// aligned.
func describeTemplate(template *corev1.PodTemplateSpec) string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	describe.DescribePodTemplate(template, describe.NewPrefixWriter(w))
	w.Flush()
	return buf.String()
}

// applyRevision returns a copy of set with the pod template of rev.
func applyRevision(set *appsv1alpha1.PetSet, rev *appsv1.ControllerRevision) (*appsv1alpha1.PetSet, error) {
	template, err := revisionTemplate(rev)
	if err != nil {
		return nil, err
	}
	applied := set.DeepCopy()
	applied.Spec.Template = *template
	return applied, nil
}
