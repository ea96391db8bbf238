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

package manager

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	petsetfake "github.com/petsets/client-go/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/reference"
	"k8s.io/klog/v2/ktesting"
)

const (
	leaseDuration = 600 * time.Millisecond
	renewDeadline = 400 * time.Millisecond
	retryPeriod   = 50 * time.Millisecond
)

func TestRunWithLeaderElection(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := fake.NewClientset()

	var terms, running atomic.Int32
	leading := make(chan struct{}, 10)
	done := make(chan error, 1)
	go func() {
		done <- RunWithLeaderElection(ctx, client, "kube-system", "petset-controller", "replica-a",
			leaseDuration, renewDeadline, retryPeriod, func(ctx context.Context) {
				terms.Add(1)
				running.Add(1)
				defer running.Add(-1)
				leading <- struct{}{}
				if terms.Load() == 1 {
					// The first term ends on its own: the lease is
					// given up and won again.
					return
				}
				<-ctx.Done()
			})
	}()

	for i := 0; i < 2; i++ {
		select {
		case <-leading:
		case <-time.After(10 * time.Second):
			t.Fatalf("term %d never started", i+1)
		}
	}
	lease, err := client.CoordinationV1().Leases("kube-system").Get(ctx, "petset-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "replica-a" {
		t.Errorf("lease holder %v, want replica-a", lease.Spec.HolderIdentity)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunWithLeaderElection: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("RunWithLeaderElection did not return after cancel")
	}
	if n := running.Load(); n != 0 {
		t.Errorf("%d runs still active after return", n)
	}
	lease, err = client.CoordinationV1().Leases("kube-system").Get(context.Background(), "petset-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
		t.Errorf("lease still held by %q after cancel", *lease.Spec.HolderIdentity)
	}
}

func TestRunWithLeaderElectionInvalidSettings(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	err := RunWithLeaderElection(ctx, fake.NewClientset(), "kube-system", "petset-controller", "a",
		time.Second, 2*time.Second, retryPeriod, func(context.Context) {})
	if err == nil {
		t.Errorf("renew deadline longer than the lease accepted")
	}
}

func TestConfigDefaults(t *testing.T) {
	valid := Config{KubeConfig: &rest.Config{Host: "https://127.0.0.1:6443"}, PetSetClient: petsetfake.NewClientset(), LeaseNamespace: "kube-system"}
	cfg, err := valid.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	if cfg.LeaseName != DefaultLeaseName || cfg.Workers != DefaultWorkers || cfg.Identity == "" ||
		cfg.LeaseDuration != DefaultLeaseDuration || cfg.RenewDeadline != DefaultRenewDeadline ||
		cfg.RetryPeriod != DefaultRetryPeriod || cfg.ResyncPeriod != DefaultResyncPeriod {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	for name, mutate := range map[string]func(*Config){
		"no kube config":     func(c *Config) { c.KubeConfig = nil },
		"no PetSet client":   func(c *Config) { c.PetSetClient = nil },
		"no lease namespace": func(c *Config) { c.LeaseNamespace = "" },
	} {
		c := valid
		mutate(&c)
		if err := Start(context.Background(), c); err == nil {
			t.Errorf("%s: Start accepted the config", name)
		}
	}
}

func TestEventSchemeReferencesPetSets(t *testing.T) {
	scheme, err := newEventScheme()
	if err != nil {
		t.Fatal(err)
	}
	// Objects from informers carry no TypeMeta.
	set := &appsv1alpha1.PetSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "web-uid"}}
	ref, err := reference.GetReference(scheme, set)
	if err != nil {
		t.Fatalf("GetReference: %v", err)
	}
	if ref.APIVersion != "apps/v1alpha1" || ref.Kind != "PetSet" || ref.Name != "web" || ref.UID != "web-uid" {
		t.Errorf("event reference %+v, want apps/v1alpha1 PetSet web", ref)
	}
}

func TestClientLimitsDefaultToKubeControllerManagers(t *testing.T) {
	cfg, err := Config{KubeConfig: &rest.Config{Host: "https://127.0.0.1:1"}, PetSetClient: petsetfake.NewClientset(),
		DisableLeaderElection: true, Identity: "a"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KubeAPIQPS != 20 || cfg.KubeAPIBurst != 30 {
		t.Errorf("client limits %v/%d, want kube-controller-manager's 20/30", cfg.KubeAPIQPS, cfg.KubeAPIBurst)
	}
	set, err := Config{KubeConfig: &rest.Config{Host: "https://127.0.0.1:1"}, PetSetClient: petsetfake.NewClientset(),
		DisableLeaderElection: true, Identity: "a", KubeAPIQPS: 7, KubeAPIBurst: 9}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if set.KubeAPIQPS != 7 || set.KubeAPIBurst != 9 {
		t.Errorf("client limits %v/%d, want the configured 7/9", set.KubeAPIQPS, set.KubeAPIBurst)
	}
}

func TestWithProtobuf(t *testing.T) {
	in := &rest.Config{Host: "https://127.0.0.1:1"}
	got := WithProtobuf(in)
	if got.ContentType != "application/vnd.kubernetes.protobuf" || got.AcceptContentTypes != "application/vnd.kubernetes.protobuf,application/json" {
		t.Errorf("content type %q, accept %q; want protobuf, accepting JSON", got.ContentType, got.AcceptContentTypes)
	}
	if in.ContentType != "" || in.AcceptContentTypes != "" {
		t.Errorf("WithProtobuf changed its argument")
	}
	named := WithProtobuf(&rest.Config{ContentConfig: rest.ContentConfig{ContentType: "application/json", AcceptContentTypes: "application/json"}})
	if named.ContentType != "application/json" || named.AcceptContentTypes != "application/json" {
		t.Errorf("a configured content type was replaced: %q, accept %q", named.ContentType, named.AcceptContentTypes)
	}
}
