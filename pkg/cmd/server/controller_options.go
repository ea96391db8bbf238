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
	"errors"
	"fmt"
	"time"

	"github.com/petsets/petset/pkg/controller/manager"
	"github.com/petsets/petset/pkg/controller/petset"
	"github.com/spf13/pflag"

	// Workqueue, client-go and leader election metrics on /metrics.
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/clientgo/leaderelection"
	_ "k8s.io/component-base/metrics/prometheus/workqueue"
)

// DefaultLeaseNamespace is the namespace of the controller's leader election
// Lease unless --leader-elect-resource-namespace says otherwise.
const DefaultLeaseNamespace = "petset-system"

// ControllerOptions configure the bundled PetSet controller.
type ControllerOptions struct {
	// Enabled runs the controller in this process.
	Enabled bool
	// Workers is the number of PetSets synced concurrently.
	Workers int
	// LeaderElect makes replicas elect one active controller through a
	// Lease. Turning it off is only safe with a single replica.
	LeaderElect    bool
	LeaseNamespace string
	LeaseName      string
	LeaseDuration  time.Duration
	RenewDeadline  time.Duration
	RetryPeriod    time.Duration
	// ResyncPeriod is how often every PetSet is synced without a change.
	ResyncPeriod time.Duration
	// TerminatingPetMargin is how long past its grace period a pet stuck
	// terminating blocks the next deletion of a teardown or scale down.
	TerminatingPetMargin time.Duration
	// KubeAPIQPS and KubeAPIBurst limit each of the controller's clients
	// of the cluster.
	KubeAPIQPS   float32
	KubeAPIBurst int

	// enabledSet records whether --controllers was given.
	enabledSet bool
}

// NewControllerOptions returns the defaults: the controller on, leader
// elected.
func NewControllerOptions() *ControllerOptions {
	return &ControllerOptions{
		Enabled:        true,
		Workers:        manager.DefaultWorkers,
		LeaderElect:    true,
		LeaseNamespace: DefaultLeaseNamespace,
		LeaseName:      manager.DefaultLeaseName,
		LeaseDuration:  manager.DefaultLeaseDuration,
		RenewDeadline:  manager.DefaultRenewDeadline,
		RetryPeriod:    manager.DefaultRetryPeriod,
		ResyncPeriod:   manager.DefaultResyncPeriod,

		TerminatingPetMargin: petset.DefaultTerminatingPetMargin,
		KubeAPIQPS:           manager.DefaultKubeAPIQPS,
		KubeAPIBurst:         manager.DefaultKubeAPIBurst,
	}
}

// AddFlags adds the controller flags to fs.
func (o *ControllerOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Enabled, "controllers", o.Enabled,
		"Run the bundled PetSet controller. It creates pods and claims in the cluster named by --kubeconfig "+
			"(or the in-cluster configuration). Always off with --standalone.")
	fs.IntVar(&o.Workers, "controller-workers", o.Workers, "Number of PetSets the controller syncs concurrently.")
	fs.DurationVar(&o.ResyncPeriod, "controller-resync-period", o.ResyncPeriod, "How often the controller syncs every PetSet without a change.")
	fs.DurationVar(&o.TerminatingPetMargin, "terminating-pet-margin", o.TerminatingPetMargin,
		"How long past its grace period a pet that is still terminating (for example on a node that never confirms) "+
			"blocks the deletion of the next pet when a PetSet is deleted or scaled down. After that the controller goes on "+
			"and records a PetStuckTerminating warning event.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS,
		"Queries per second each of the controller's clients of the cluster (pets, events, leader election) may send, as kube-controller-manager's flag of that name.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst,
		"Burst of each of the controller's clients of the cluster, as kube-controller-manager's flag of that name.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect,
		"Elect one active controller among the server replicas through a Lease. Turn off only when a single replica runs.")
	fs.StringVar(&o.LeaseNamespace, "leader-elect-resource-namespace", o.LeaseNamespace, "Namespace of the controller's leader election Lease.")
	fs.StringVar(&o.LeaseName, "leader-elect-resource-name", o.LeaseName, "Name of the controller's leader election Lease.")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration,
		"How long a non-leader waits after the last renewal before it takes the Lease over.")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline,
		"How long the leader keeps retrying to renew before it stops leading. Less than the lease duration.")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod, "How often replicas try to acquire or renew the Lease.")
}

// Complete records which flags were given.
func (o *ControllerOptions) Complete(fs *pflag.FlagSet, standalone bool) error {
	if fs != nil {
		o.enabledSet = fs.Changed("controllers")
	}
	if standalone && !o.enabledSet {
		o.Enabled = false
	}
	return nil
}

// Validate checks the controller options.
func (o *ControllerOptions) Validate(standalone bool) []error {
	var errs []error
	if standalone && o.Enabled {
		errs = append(errs, errors.New("--controllers cannot run with --standalone: there is no cluster to run pets in"))
	}
	if !o.Enabled {
		return errs
	}
	if o.Workers < 1 {
		errs = append(errs, fmt.Errorf("--controller-workers must be at least 1, not %d", o.Workers))
	}
	if o.ResyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--controller-resync-period must be positive, not %s", o.ResyncPeriod))
	}
	if o.KubeAPIQPS <= 0 {
		errs = append(errs, fmt.Errorf("--kube-api-qps must be positive, not %v", o.KubeAPIQPS))
	}
	if o.KubeAPIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-burst must be at least 1, not %d", o.KubeAPIBurst))
	}
	if o.TerminatingPetMargin <= 0 {
		errs = append(errs, fmt.Errorf("--terminating-pet-margin must be positive, not %s", o.TerminatingPetMargin))
	}
	if o.LeaderElect {
		if o.LeaseNamespace == "" {
			errs = append(errs, errors.New("--leader-elect-resource-namespace must not be empty"))
		}
		if o.LeaseName == "" {
			errs = append(errs, errors.New("--leader-elect-resource-name must not be empty"))
		}
		if o.RetryPeriod <= 0 {
			errs = append(errs, fmt.Errorf("--leader-elect-retry-period must be positive, not %s", o.RetryPeriod))
		}
		if o.RenewDeadline <= o.RetryPeriod {
			errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline (%s) must be longer than --leader-elect-retry-period (%s)", o.RenewDeadline, o.RetryPeriod))
		}
		if o.LeaseDuration <= o.RenewDeadline {
			errs = append(errs, fmt.Errorf("--leader-elect-lease-duration (%s) must be longer than --leader-elect-renew-deadline (%s)", o.LeaseDuration, o.RenewDeadline))
		}
	}
	return errs
}
