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

// Package plugin is kubectl-petset, the kubectl plugin for PetSets:
// `kubectl rollout` serves the built-in kinds only, so `kubectl petset
// rollout status|history|undo|restart` does for a PetSet what `kubectl
// rollout` does for a StatefulSet, reading the same things apps/v1 has: the
// PetSet's status, its ControllerRevisions and the pets'
// controller-revision-hash label. It takes kubectl's connection flags
// (k8s.io/cli-runtime: -n, --kubeconfig, --context, ...) and runs with the
// user's credentials.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	petsetclient "github.com/petsets/client-go/clientset/versioned"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"
)

// fieldManager is the field manager of the plugin's writes, kubectl
// rollout's.
const fieldManager = "kubectl-rollout"

// Clients gives the commands their namespace and API clients.
type Clients interface {
	// Namespace is the namespace to work in: -n, else the kubeconfig
	// context's, else "default".
	Namespace() (string, error)
	// PetSets is a client for PetSets, Kube for ControllerRevisions and
	// pods.
	PetSets() (petsetclient.Interface, error)
	Kube() (kubernetes.Interface, error)
}

// configClients builds the clients from kubectl's connection flags.
type configClients struct {
	flags *genericclioptions.ConfigFlags
}

func (c configClients) Namespace() (string, error) {
	ns, _, err := c.flags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

func (c configClients) config() (*rest.Config, error) {
	config, err := c.flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	config = rest.CopyConfig(config)
	config.UserAgent = rest.DefaultKubernetesUserAgent()
	return config, nil
}

func (c configClients) PetSets() (petsetclient.Interface, error) {
	config, err := c.config()
	if err != nil {
		return nil, err
	}
	return petsetclient.NewForConfig(config)
}

func (c configClients) Kube() (kubernetes.Interface, error) {
	config, err := c.config()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(config)
}

var (
	rootLong = templates.LongDesc(`
		Manage the rollouts of PetSets (apps/v1alpha1), as 'kubectl rollout' does
		for StatefulSets.

		'kubectl rollout' serves the built-in kinds only. This plugin reads what
		apps/v1 has for StatefulSets: the PetSet's status, its ControllerRevisions
		and the pets' controller-revision-hash label. It runs with your
		credentials and takes kubectl's connection flags (-n, --kubeconfig,
		--context, ...).`)

	rootExample = templates.Examples(`
		# Restart the pets of PetSet web, then wait until they all run the new revision
		kubectl petset rollout restart web
		kubectl petset rollout status web

		# List the revisions of web, then go back to the previous one
		kubectl petset rollout history web
		kubectl petset rollout undo web`)

	rolloutLong = templates.LongDesc(`
		Manage the rollout of a PetSet: follow it (status), list its revisions
		(history), go back to an earlier revision (undo) or replace every pet
		(restart).

		How a new template reaches the pets depends on spec.updateStrategy.type:
		RollingUpdate replaces them from the highest ordinal down to the
		partition, Recreate deletes every old pet before creating any, and
		OnDelete (the default) gives a pet the new template only when it is
		deleted.`)

	rolloutExample = templates.Examples(`
		# Follow the rollout of PetSet web in namespace shop
		kubectl petset rollout status web -n shop`)
)

// NewCommand returns the kubectl-petset command, connecting with kubectl's
// flags.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	cmd := newRootCommand(configClients{flags: flags}, streams)
	flags.AddFlags(cmd.PersistentFlags())
	return cmd
}

// newRootCommand returns the command tree with the given clients.
func newRootCommand(clients Clients, streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:     "kubectl-petset",
		Short:   "Manage the rollouts of PetSets",
		Long:    rootLong,
		Example: rootExample,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl petset",
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{cmd: cmd, err: err}
	})

	rollout := &cobra.Command{
		Use:     "rollout SUBCOMMAND",
		Short:   "Manage the rollout of a PetSet",
		Long:    rolloutLong,
		Example: rolloutExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	rollout.AddCommand(
		newStatusCommand(clients, streams),
		newHistoryCommand(clients, streams),
		newUndoCommand(clients, streams),
		newRestartCommand(clients, streams),
	)
	root.AddCommand(rollout)
	return root
}

// usageError is a wrong use of a command: a bad flag or argument.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e usageError) Error() string {
	return fmt.Sprintf("%v\nSee '%s -h' for help and examples", e.err, e.cmd.CommandPath())
}

func (e usageError) Unwrap() error { return e.err }

// exactlyOneName checks that a command got a PetSet name and nothing else.
func exactlyOneName(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 1:
		if args[0] == "" {
			return usageError{cmd: cmd, err: errors.New("the PetSet name must not be empty")}
		}
		return nil
	case 0:
		return usageError{cmd: cmd, err: errors.New("a PetSet name is required")}
	default:
		return usageError{cmd: cmd, err: fmt.Errorf("exactly one PetSet name is required, got %q", args)}
	}
}

// Execute runs cmd with args and returns the process's exit code: 0, or 1
// after printing the error as kubectl does ("error: ...").
func Execute(ctx context.Context, cmd *cobra.Command, args []string, errOut io.Writer) int {
	rest.SetDefaultWarningHandler(rest.NewWarningWriter(errOut, rest.WarningWriterOptions{Deduplicate: true}))
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return 1
	}
	return 0
}

// Main runs kubectl-petset with the process's arguments and streams.
func Main(ctx context.Context) int {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	return Execute(ctx, NewCommand(streams), os.Args[1:], streams.ErrOut)
}

// setClients returns the namespace and clients of clients.
func setClients(clients Clients) (string, petsetclient.Interface, kubernetes.Interface, error) {
	ns, err := clients.Namespace()
	if err != nil {
		return "", nil, nil, err
	}
	petsets, err := clients.PetSets()
	if err != nil {
		return "", nil, nil, err
	}
	kube, err := clients.Kube()
	if err != nil {
		return "", nil, nil, err
	}
	return ns, petsets, kube, nil
}

// objectName is how kubectl names a PetSet in what it prints:
// petset.apps/<name>.
func objectName(name string) string {
	return "petset.apps/" + name
}
