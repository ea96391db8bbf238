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

// Package manager runs the PetSet controller inside the server process: it
// wires the informers, the event recorder and the controller together, and
// makes sure only one server replica runs the controller at a time (leader
// election on a coordination.k8s.io Lease).
package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/petsets/client-go/clientset/versioned"
	petsetscheme "github.com/petsets/client-go/clientset/versioned/scheme"
	petsetinformers "github.com/petsets/client-go/informers/externalversions"
	"github.com/petsets/petset/pkg/controller/petset"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

// ComponentName is the event source component and the user agent of the
// controller.
const ComponentName = "petset-controller"

// Defaults applied by Start to zero Config fields.
const (
	DefaultLeaseName     = "petset-controller"
	DefaultWorkers       = 5
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	DefaultResyncPeriod  = 10 * time.Minute
	// DefaultKubeAPIQPS and DefaultKubeAPIBurst are kube-controller-manager's
	// client limits: the controller's pet writes, its events and its
	// leader election each get a client with these limits, as each of
	// kube-controller-manager's controllers does.
	DefaultKubeAPIQPS   = 20
	DefaultKubeAPIBurst = 30
)

// Config configures Start.
type Config struct {
	// KubeConfig connects to the Kubernetes API server that holds the pods,
	// claims, events and the leader election Lease. Required.
	KubeConfig *rest.Config
	// PetSetClient reads PetSets and writes their status and finalizers.
	// Required.
	PetSetClient versioned.Interface

	// DisableLeaderElection runs the controller without a Lease. Only safe
	// when a single replica runs.
	DisableLeaderElection bool
	// LeaseNamespace and LeaseName name the Lease used for leader
	// election. LeaseNamespace is required unless leader election is
	// disabled; LeaseName defaults to DefaultLeaseName.
	LeaseNamespace string
	LeaseName      string
	// Identity identifies this replica in the Lease. Defaults to the host
	// name plus a random suffix.
	Identity string

	// Workers is the number of PetSets synced concurrently. Defaults to
	// DefaultWorkers.
	Workers int

	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// they default to DefaultLeaseDuration, DefaultRenewDeadline and
	// DefaultRetryPeriod.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration

	// ResyncPeriod is how often every PetSet is synced even without a
	// change. Defaults to DefaultResyncPeriod.
	ResyncPeriod time.Duration

	// TerminatingPetMargin is how long past its grace period a
	// terminating pet blocks the next deletion. Defaults to
	// petset.DefaultTerminatingPetMargin.
	TerminatingPetMargin time.Duration

	// KubeAPIQPS and KubeAPIBurst limit each of the controller's clients
	// of the cluster. Default to DefaultKubeAPIQPS and DefaultKubeAPIBurst.
	KubeAPIQPS   float32
	KubeAPIBurst int
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.KubeConfig == nil {
		return cfg, errors.New("petset controller: KubeConfig is required")
	}
	if cfg.PetSetClient == nil {
		return cfg, errors.New("petset controller: PetSetClient is required")
	}
	if cfg.LeaseNamespace == "" && !cfg.DisableLeaderElection {
		return cfg, errors.New("petset controller: LeaseNamespace is required")
	}
	if cfg.LeaseName == "" {
		cfg.LeaseName = DefaultLeaseName
	}
	if cfg.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("petset controller: get host name for the leader election identity: %w", err)
		}
		cfg.Identity = host + "_" + string(uuid.NewUUID())
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewDeadline <= 0 {
		cfg.RenewDeadline = DefaultRenewDeadline
	}
	if cfg.RetryPeriod <= 0 {
		cfg.RetryPeriod = DefaultRetryPeriod
	}
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = DefaultResyncPeriod
	}
	if cfg.KubeAPIQPS <= 0 {
		cfg.KubeAPIQPS = DefaultKubeAPIQPS
	}
	if cfg.KubeAPIBurst <= 0 {
		cfg.KubeAPIBurst = DefaultKubeAPIBurst
	}
	return cfg, nil
}

// Start runs the PetSet controller until ctx is done. It campaigns for the
// Lease, and while it holds it runs the controller; when it loses the Lease
// it stops the controller and campaigns again. It returns nil when ctx is
// done, or an error if cfg is invalid.
func Start(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	clients, err := newClients(cfg)
	if err != nil {
		return err
	}
	if cfg.DisableLeaderElection {
		klog.FromContext(ctx).Info("Running the PetSet controller without leader election")
		return runController(ctx, clients, cfg)
	}
	return RunWithLeaderElection(ctx, clients.leaderElection, cfg.LeaseNamespace, cfg.LeaseName, cfg.Identity,
		cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod,
		func(ctx context.Context) {
			if err := runController(ctx, clients, cfg); err != nil {
				klog.FromContext(ctx).Error(err, "PetSet controller stopped")
			}
		})
}

// clients are the controller's clients of the cluster, each with its own
// rate limits, so that events and lease renewals never wait behind pet
// writes, nor pet writes behind them.
type clients struct {
	pets           kubernetes.Interface
	events         kubernetes.Interface
	leaderElection kubernetes.Interface
}

// WithProtobuf returns a copy of config whose clients send protobuf and ask
// for protobuf, accepting JSON too (for types without a protobuf encoding,
// such as custom resources), as kube-controller-manager's clients do,
// unless config already names a content type.
func WithProtobuf(config *rest.Config) *rest.Config {
	config = rest.CopyConfig(config)
	if config.ContentType == "" {
		config.ContentType = runtime.ContentTypeProtobuf
	}
	if config.AcceptContentTypes == "" {
		config.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	}
	return config
}

func newClients(cfg Config) (clients, error) {
	newClient := func(use string) (kubernetes.Interface, error) {
		config := rest.AddUserAgent(WithProtobuf(cfg.KubeConfig), ComponentName)
		config.QPS, config.Burst = cfg.KubeAPIQPS, cfg.KubeAPIBurst
		client, err := kubernetes.NewForConfig(config)
		if err != nil {
			return nil, fmt.Errorf("petset controller: create the Kubernetes client for %s: %w", use, err)
		}
		return client, nil
	}
	var c clients
	var err error
	if c.pets, err = newClient("pets"); err != nil {
		return c, err
	}
	if c.events, err = newClient("events"); err != nil {
		return c, err
	}
	c.leaderElection, err = newClient("leader election")
	return c, err
}

// runController builds fresh informers, an event broadcaster and the
// controller, and runs them until ctx is done.
func runController(ctx context.Context, clients clients, cfg Config) error {
	kubeClient := clients.pets
	scheme, err := newEventScheme()
	if err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(3)
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: clients.events.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme, v1.EventSource{Component: ComponentName})

	kubeInformers := informers.NewSharedInformerFactoryWithOptions(kubeClient, 0,
		informers.WithTransform(petset.CacheTransform))
	petSetInformers := petsetinformers.NewSharedInformerFactoryWithOptions(cfg.PetSetClient, cfg.ResyncPeriod,
		petsetinformers.WithTransform(petset.CacheTransform))
	controller, err := petset.NewController(ctx, kubeClient, cfg.PetSetClient,
		kubeInformers.Core().V1().Pods(),
		kubeInformers.Core().V1().PersistentVolumeClaims(),
		kubeInformers.Apps().V1().ControllerRevisions(),
		petSetInformers.Apps().V1alpha1().PetSets(),
		recorder,
		petset.Options{TerminatingPetMargin: cfg.TerminatingPetMargin})
	if err != nil {
		return fmt.Errorf("create PetSet controller: %w", err)
	}
	kubeInformers.Start(ctx.Done())
	petSetInformers.Start(ctx.Done())
	defer kubeInformers.Shutdown()
	defer petSetInformers.Shutdown()

	controller.Run(ctx, cfg.Workers)
	return nil
}

// newEventScheme returns the scheme events are recorded with: it must know
// the PetSet type to reference it as apps/v1alpha1 PetSet.
func newEventScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := kubescheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("build event scheme: %w", err)
	}
	if err := petsetscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("build event scheme: %w", err)
	}
	return scheme, nil
}

// RunWithLeaderElection calls run while this process holds the Lease
// namespace/name, under the given identity. run's context is cancelled when
// the Lease is lost or ctx is done; if run returns on its own, the Lease is
// given up. After losing the Lease it waits retryPeriod and campaigns again.
// The Lease is released when ctx is done. It returns nil once ctx is done and
// run has returned, or an error if the election settings are invalid.
func RunWithLeaderElection(ctx context.Context, kubeClient kubernetes.Interface, namespace, name, identity string,
	leaseDuration, renewDeadline, retryPeriod time.Duration, run func(ctx context.Context)) error {
	logger := klog.FromContext(ctx)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: namespace, Name: name},
		Client:     kubeClient.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	for {
		termCtx, cancel := context.WithCancel(ctx)
		var (
			mu      sync.Mutex
			stopped bool
			running sync.WaitGroup
		)
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   leaseDuration,
			RenewDeadline:   renewDeadline,
			RetryPeriod:     retryPeriod,
			ReleaseOnCancel: true,
			Name:            name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(leaderCtx context.Context) {
					mu.Lock()
					if stopped {
						mu.Unlock()
						return
					}
					running.Add(1)
					mu.Unlock()
					defer running.Done()
					// Giving up the Lease when run returns lets
					// another replica take over.
					defer cancel()
					logger.Info("Started leading", "lease", klog.KRef(namespace, name), "identity", identity)
					run(leaderCtx)
				},
				OnStoppedLeading: func() {
					logger.Info("Stopped leading", "lease", klog.KRef(namespace, name), "identity", identity)
				},
				OnNewLeader: func(leader string) {
					if leader != identity {
						logger.Info("Another replica leads", "lease", klog.KRef(namespace, name), "leader", leader)
					}
				},
			},
		})
		if err != nil {
			cancel()
			return fmt.Errorf("leader election for %s/%s: %w", namespace, name, err)
		}
		elector.Run(termCtx)
		cancel()
		// Never let two terms of run overlap.
		mu.Lock()
		stopped = true
		mu.Unlock()
		running.Wait()

		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retryPeriod):
		}
	}
}
