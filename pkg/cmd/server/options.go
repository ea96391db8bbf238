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

// Package server holds the options and the command of petset-apiserver.
// The options follow the usual lifecycle: AddFlags, Complete, Validate,
// Config, Run.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	"github.com/petsets/client-go/clientset/versioned"
	"github.com/petsets/petset/pkg/apiserver"
	"github.com/petsets/petset/pkg/controller/manager"
	"github.com/petsets/petset/pkg/generated/openapi"
	"github.com/petsets/petset/pkg/standalone"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"
)

// DefaultEtcdPathPrefix is the etcd prefix under which the server keeps its
// objects, apart from any other API server sharing the etcd cluster.
const DefaultEtcdPathPrefix = "/registry/petsets.io"

// controllerStopTimeout bounds how long a stopping server waits for the
// controller to stop and release its Lease.
const controllerStopTimeout = 10 * time.Second

// defaultStandalonePort is the secure port of a standalone server when
// --secure-port is not given.
const defaultStandalonePort = 8443

// Options are the command line options of petset-apiserver.
type Options struct {
	RecommendedOptions *genericoptions.RecommendedOptions
	Controller         *ControllerOptions
	StorageIdentity    *StorageIdentityOptions

	// Standalone runs the server with an embedded etcd and a generated
	// admin credential, without a Kubernetes cluster.
	Standalone bool
	// DataDir holds the embedded etcd data, certificates and the admin
	// kubeconfig of a standalone server.
	DataDir string
	// ShutdownSendRetryAfter makes a stopping server answer new requests
	// with 429 and Retry-After until the requests in flight are done, then
	// close the remaining connections (watches included) within seconds,
	// instead of waiting up to the request timeout for open watches.
	ShutdownSendRetryAfter bool
	// ShutdownDelayDuration keeps a stopping server serving, with /readyz
	// failing, so that load balancers take it out first.
	ShutdownDelayDuration time.Duration

	// etcd is the embedded etcd of a standalone server, once started.
	etcd *standalone.Etcd
	// adminToken is the admin credential of a standalone server.
	adminToken string
	// securePortSet records whether --secure-port was given.
	securePortSet bool
}

// NewOptions returns the default options.
func NewOptions() *Options {
	o := &Options{
		RecommendedOptions: genericoptions.NewRecommendedOptions(
			DefaultEtcdPathPrefix,
			apiserver.Codecs.LegacyCodec(appsv1alpha1.SchemeGroupVersion),
		),
		Controller:             NewControllerOptions(),
		StorageIdentity:        NewStorageIdentityOptions(),
		ShutdownSendRetryAfter: true,
	}
	o.RecommendedOptions.Etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(
		appsv1alpha1.SchemeGroupVersion, schema.GroupKind{Group: appsv1alpha1.GroupName})
	// PetSets are stored as protobuf, as kube-apiserver stores its own
	// objects; --storage-media-type chooses another encoding. Objects
	// stored in any of them are read whatever the flag says, and written
	// in its encoding when they are next written.
	o.RecommendedOptions.Etcd.DefaultStorageMediaType = runtime.ContentTypeProtobuf
	return o
}

// AddFlags adds the flags of every option to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.RecommendedOptions.AddFlags(fs)
	o.Controller.AddFlags(fs)
	o.StorageIdentity.AddFlags(fs)
	fs.BoolVar(&o.Standalone, "standalone", o.Standalone,
		"Run without a Kubernetes cluster: an embedded etcd keeps the data in --data-dir, the server listens on 127.0.0.1 only, "+
			"and only the generated admin credential (written to <data-dir>/kubeconfig) is authenticated and authorized.")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory of the standalone server's etcd data, certificates and admin kubeconfig.")
	fs.BoolVar(&o.ShutdownSendRetryAfter, "shutdown-send-retry-after", o.ShutdownSendRetryAfter,
		"On shutdown, answer new requests with 429 and Retry-After until the requests in flight are done, then close "+
			"the remaining connections, watches included, within seconds. When false, shutdown waits for open watches up to the request timeout.")
	fs.DurationVar(&o.ShutdownDelayDuration, "shutdown-delay-duration", o.ShutdownDelayDuration,
		"Time to keep serving after a termination signal, with /readyz failing, so that load balancers stop sending requests first.")
}

// Complete fills in what the flags leave open. fs is the parsed flag set,
// used to tell defaults from given values.
func (o *Options) Complete(fs *pflag.FlagSet) error {
	if fs != nil {
		o.securePortSet = fs.Changed("secure-port")
	}
	if err := o.Controller.Complete(fs, o.Standalone); err != nil {
		return err
	}
	o.StorageIdentity.Complete(o.Standalone)
	if !o.Standalone {
		return nil
	}
	if o.DataDir != "" {
		abs, err := filepath.Abs(o.DataDir)
		if err != nil {
			return fmt.Errorf("resolving --data-dir: %w", err)
		}
		o.DataDir = abs
	}
	ro := o.RecommendedOptions
	// A standalone server has no cluster to delegate to or to watch.
	ro.Authentication = nil
	ro.Authorization = nil
	ro.CoreAPI = nil
	ro.Admission = nil
	ro.Features.EnablePriorityAndFairness = false
	ro.SecureServing.BindAddress = netutils.ParseIPSloppy("127.0.0.1")
	if !o.securePortSet {
		ro.SecureServing.BindPort = defaultStandalonePort
	}
	if ro.SecureServing.ServerCert.CertKey.CertFile == "" {
		ro.SecureServing.ServerCert.CertDirectory = standalone.Paths{DataDir: o.DataDir}.CertDir()
	}
	return nil
}

// Validate checks the options.
func (o *Options) Validate() error {
	errs := o.Controller.Validate(o.Standalone)
	errs = append(errs, o.StorageIdentity.Validate()...)
	if o.ShutdownDelayDuration < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-delay-duration must not be negative, not %s", o.ShutdownDelayDuration))
	}
	if o.Standalone {
		if o.DataDir == "" {
			errs = append(errs, errors.New("--standalone needs --data-dir"))
		}
		if len(o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList) > 0 {
			errs = append(errs, errors.New("--standalone runs its own etcd: do not set --etcd-servers"))
		}
		if ip := o.RecommendedOptions.SecureServing.BindAddress; ip != nil && !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("--standalone serves on loopback only, not on %s", ip))
		}
		// The embedded etcd is configured in Config; the recommended
		// options would reject the empty server list before that.
		saved := o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList
		o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList = []string{"http://127.0.0.1:2379"}
		errs = append(errs, o.RecommendedOptions.Validate()...)
		o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList = saved
	} else {
		if o.DataDir != "" {
			errs = append(errs, errors.New("--data-dir is only used with --standalone"))
		}
		errs = append(errs, o.RecommendedOptions.Validate()...)
	}
	return utilerrors.NewAggregate(errs)
}

// Config builds the server configuration. For a standalone server it also
// starts the embedded etcd and writes the admin kubeconfig.
func (o *Options) Config(ctx context.Context) (*apiserver.Config, error) {
	if o.Standalone {
		if err := o.startStandalone(ctx); err != nil {
			return nil, err
		}
	}

	ro := o.RecommendedOptions
	if err := ro.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed certificates: %w", err)
	}

	serverConfig := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	namer := openapinamer.NewDefinitionNamer(apiserver.Scheme)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIConfig.Info.Title = "PetSet"
	serverConfig.OpenAPIConfig.Info.Version = "v1alpha1"
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIV3Config.Info.Title = "PetSet"
	serverConfig.OpenAPIV3Config.Info.Version = "v1alpha1"
	serverConfig.FeatureGate = utilfeature.DefaultFeatureGate
	serverConfig.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()

	// The generic server's storage factory takes the codec as it is; the
	// storage media type is applied here.
	if ro.Etcd != nil {
		codec, err := apiserver.StorageCodec(ro.Etcd.DefaultStorageMediaType, ro.Etcd.StorageConfig)
		if err != nil {
			return nil, err
		}
		ro.Etcd.StorageConfig.Codec = codec
	}

	if err := ro.ApplyTo(serverConfig); err != nil {
		return nil, fmt.Errorf("applying options: %w", err)
	}

	serverConfig.ShutdownSendRetryAfter = o.ShutdownSendRetryAfter
	serverConfig.ShutdownDelayDuration = o.ShutdownDelayDuration

	if o.Standalone {
		serverConfig.Authentication.Authenticator = standalone.Authenticator(o.adminToken)
		serverConfig.Authorization.Authorizer = standalone.Authorizer()
		if err := o.writeStandaloneKubeconfig(ctx, serverConfig); err != nil {
			return nil, err
		}
	}
	return &apiserver.Config{
		GenericConfig:   serverConfig,
		RunsController:  o.Controller.Enabled && !o.Standalone,
		StorageIdentity: o.StorageIdentity.Config(),
	}, nil
}

// controllerConfig returns the configuration of the bundled controller:
// PetSets through the server's own loopback client, everything else through
// the cluster the server was configured with (--kubeconfig or in-cluster).
func (o *Options) controllerConfig(cluster, loopback *rest.Config) (manager.Config, error) {
	if cluster == nil {
		return manager.Config{}, errors.New("the PetSet controller needs a cluster: set --kubeconfig, run in a cluster, or pass --controllers=false")
	}
	// Protobuf, as kube-controller-manager's clients: the informers list
	// and watch every PetSet.
	petSetClient, err := versioned.NewForConfig(rest.AddUserAgent(manager.WithProtobuf(loopback), manager.ComponentName))
	if err != nil {
		return manager.Config{}, fmt.Errorf("creating the PetSet client of the controller: %w", err)
	}
	c := o.Controller
	return manager.Config{
		KubeConfig:            cluster,
		PetSetClient:          petSetClient,
		DisableLeaderElection: !c.LeaderElect,
		LeaseNamespace:        c.LeaseNamespace,
		LeaseName:             c.LeaseName,
		Workers:               c.Workers,
		LeaseDuration:         c.LeaseDuration,
		RenewDeadline:         c.RenewDeadline,
		RetryPeriod:           c.RetryPeriod,
		ResyncPeriod:          c.ResyncPeriod,
		TerminatingPetMargin:  c.TerminatingPetMargin,
		KubeAPIQPS:            c.KubeAPIQPS,
		KubeAPIBurst:          c.KubeAPIBurst,
	}, nil
}

func (o *Options) startStandalone(ctx context.Context) error {
	paths := standalone.Paths{DataDir: o.DataDir}
	token, err := standalone.AdminToken(paths)
	if err != nil {
		return err
	}
	o.adminToken = token
	etcd, err := standalone.StartEtcd(ctx, paths)
	if err != nil {
		return err
	}
	o.etcd = etcd
	o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList = []string{etcd.ClientURL()}

	// --secure-port=0 asks for a free port. The generic server reads 0 as
	// "no secure serving", so the standalone server opens the listener
	// itself and reports the port it got in the kubeconfig.
	ss := o.RecommendedOptions.SecureServing
	if ss.BindPort == 0 && ss.Listener == nil {
		ln, err := net.Listen("tcp", net.JoinHostPort(ss.BindAddress.String(), "0"))
		if err != nil {
			return fmt.Errorf("listening on a free loopback port: %w", err)
		}
		ss.Listener = ln
		ss.BindPort = ln.Addr().(*net.TCPAddr).Port
	}
	return nil
}

func (o *Options) writeStandaloneKubeconfig(ctx context.Context, cfg *genericapiserver.RecommendedConfig) error {
	ss := o.RecommendedOptions.SecureServing
	certFile := ss.ServerCert.CertKey.CertFile
	caPEM, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("reading serving certificate %s: %w", certFile, err)
	}
	port := ss.BindPort
	if cfg.SecureServing != nil && cfg.SecureServing.Listener != nil {
		port = cfg.SecureServing.Listener.Addr().(*net.TCPAddr).Port
	}
	serverURL := "https://" + net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	paths := standalone.Paths{DataDir: o.DataDir}
	if err := standalone.WriteKubeconfig(paths, serverURL, caPEM, o.adminToken); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Standalone server credentials written", "kubeconfig", paths.Kubeconfig(), "server", serverURL)
	return nil
}

// Run starts the server and blocks until ctx is done.
func (o *Options) Run(ctx context.Context) error {
	defer o.shutdownStandalone()
	config, err := o.Config(ctx)
	if err != nil {
		return err
	}
	server, err := config.Complete().New()
	if err != nil {
		return err
	}
	if err := server.GenericAPIServer.AddPostStartHook("start-petset-apiserver-informers", func(hookCtx genericapiserver.PostStartHookContext) error {
		if config.GenericConfig.SharedInformerFactory != nil {
			config.GenericConfig.SharedInformerFactory.Start(hookCtx.Done())
		}
		return nil
	}); err != nil {
		return fmt.Errorf("adding post-start hook: %w", err)
	}
	if guard := config.StorageIdentity; guard != nil {
		// The check reads etcd and the cluster; it runs once the server
		// serves its health endpoints, which say why it is not ready.
		if err := server.GenericAPIServer.AddPostStartHook("check-storage-identity", func(genericapiserver.PostStartHookContext) error {
			return o.StorageIdentity.run(ctx, guard, o.RecommendedOptions.Etcd.StorageConfig, config.GenericConfig.ClientConfig)
		}); err != nil {
			return fmt.Errorf("adding post-start hook: %w", err)
		}
	}
	controllerDone := make(chan struct{})
	var controllerStarted atomic.Bool
	if o.Controller.Enabled {
		cfg, err := o.controllerConfig(config.GenericConfig.ClientConfig, server.GenericAPIServer.LoopbackClientConfig)
		if err != nil {
			return err
		}
		// The controller starts once the server serves (it reads PetSets
		// through the loopback client) and stops as soon as the server is
		// asked to stop, so that it gives up its Lease while the process
		// still runs.
		if err := server.GenericAPIServer.AddPostStartHook("start-petset-controller", func(genericapiserver.PostStartHookContext) error {
			controllerStarted.Store(true)
			go func() {
				defer close(controllerDone)
				if guard := config.StorageIdentity; guard != nil {
					// No controller on a storage that is not the
					// cluster's.
					select {
					case <-guard.Passed():
					case <-ctx.Done():
						return
					}
				}
				if err := manager.Start(ctx, cfg); err != nil {
					klog.FromContext(ctx).Error(err, "The PetSet controller could not start")
				}
			}()
			return nil
		}); err != nil {
			return fmt.Errorf("adding post-start hook: %w", err)
		}
	}
	runErr := server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
	if !controllerStarted.Load() {
		return runErr
	}
	select {
	case <-controllerDone:
	case <-time.After(controllerStopTimeout):
		klog.FromContext(ctx).Info("The PetSet controller did not stop in time", "timeout", controllerStopTimeout)
	}
	return runErr
}

func (o *Options) shutdownStandalone() {
	if o.etcd != nil {
		o.etcd.Close()
		o.etcd = nil
	}
}
