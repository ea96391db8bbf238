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
	"context"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/version/verflag"
)

// NewCommand returns the petset-apiserver command.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	logOptions := logs.NewOptions()
	cmd := &cobra.Command{
		Use:   "petset-apiserver",
		Short: "Serve the PetSet API (apps/v1alpha1) and run the PetSet controller",
		Long: `petset-apiserver serves PetSets in the apps/v1alpha1 API group from etcd. It is
registered with a Kubernetes cluster through an APIService, or run with
--standalone to try the API without a cluster.`,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			verflag.PrintAndExitIfRequested()
			if err := logsapi.ValidateAndApply(logOptions, nil); err != nil {
				return err
			}
			if err := o.Complete(cmd.Flags()); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
		Args: cobra.NoArgs,
	}
	cmd.SetContext(ctx)
	fs := cmd.Flags()
	o.AddFlags(fs)
	logsapi.AddFlags(logOptions, fs)
	verflag.AddFlags(fs)
	globalflag.AddGlobalFlags(fs, cmd.Name(), logs.SkipLoggingConfigurationFlags())
	return cmd
}
