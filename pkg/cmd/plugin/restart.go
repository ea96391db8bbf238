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
	"fmt"
	"io"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetclient "github.com/petsets/client-go/clientset/versioned"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
)

// restartedAtAnnotation is the template annotation kubectl rollout restart
// sets to the time of the restart.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

var (
	restartLong = templates.LongDesc(`
		Restart a PetSet: set the pod template annotation
		kubectl.kubernetes.io/restartedAt to the current time, as 'kubectl
		rollout restart' does for the built-in kinds. The new template is a new
		revision, and it reaches the pets as the update strategy says:
		RollingUpdate replaces them from the highest ordinal down to the
		partition, Recreate deletes them all and creates them again, OnDelete
		(the default) changes a pet only when it is deleted.`)

	restartExample = templates.Examples(`
		# Restart PetSet web and wait until every pet has been replaced
		kubectl petset rollout restart web
		kubectl petset rollout status web`)
)

// RestartOptions are the inputs of `rollout restart`.
type RestartOptions struct {
	Name      string
	Namespace string
	// Now gives the time of the restart.
	Now func() time.Time

	PetSets petsetclient.Interface
	// Out receives the result, ErrOut what the update strategy means for
	// the pets.
	Out, ErrOut io.Writer
}

func newRestartCommand(clients Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RestartOptions{Now: time.Now, Out: streams.Out, ErrOut: streams.ErrOut}
	cmd := &cobra.Command{
		Use:                   "restart NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Restart the pets of a PetSet",
		Long:                  restartLong,
		Example:               restartExample,
		Args:                  exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			o.Name = args[0]
			if o.Namespace, err = clients.Namespace(); err != nil {
				return err
			}
			if o.PetSets, err = clients.PetSets(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	return cmd
}

// Run restarts the PetSet.
func (o *RestartOptions) Run(ctx context.Context) error {
	set, err := getPetSet(ctx, o.PetSets, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	now := o.Now().Format(time.RFC3339)
	if set.Spec.Template.Annotations[restartedAtAnnotation] == now {
		return fmt.Errorf("failed to create patch for %s: if restart has already been triggered within the past second, please wait before attempting to trigger another", o.Name)
	}
	patch, err := restartPatch(now)
	if err != nil {
		return err
	}
	set, err = o.PetSets.AppsV1alpha1().PetSets(o.Namespace).Patch(ctx, o.Name, types.StrategicMergePatchType, patch,
		metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil {
		return fmt.Errorf("failed to patch: %w", err)
	}
	fmt.Fprintf(o.Out, "%s restarted\n", objectName(o.Name))
	if note := restartNote(set); note != "" {
		fmt.Fprintln(o.ErrOut, note)
	}
	return nil
}

// restartPatch is the strategic merge patch kubectl rollout restart sends
// for a StatefulSet.
func restartPatch(now string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"spec": map[string]any{
			"template": map[string]any{
				"metadata": map[string]any{
					"annotations": map[string]string{restartedAtAnnotation: now},
				},
			},
		},
	})
}

// restartNote says which pets a restart does not replace by itself, under
// the PetSet's update strategy.
func restartNote(set *appsv1alpha1.PetSet) string {
	switch strategyOf(set) {
	case appsv1alpha1.OnDeletePetSetStrategyType:
		return fmt.Sprintf("petset %q has updateStrategy OnDelete: its pets change only when they are deleted "+
			"(kubectl delete pod %s-0 ...; see kubectl petset rollout status %s)", set.Name, set.Name, set.Name)
	case appsv1alpha1.RollingUpdatePetSetStrategyType:
		if partition := partitionOf(set); partition > 0 {
			return fmt.Sprintf("petset %q has a rolling update partition of %d: pets %s-0 to %s-%d keep the current revision",
				set.Name, partition, set.Name, set.Name, partition-1)
		}
	}
	return ""
}
