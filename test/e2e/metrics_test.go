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

package e2e

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
)

// TestMetricsIncludeTheControllerQueueAndLeaderElection reads /metrics of
// petset-apiserver as an admin (authorized by kube-apiserver) and looks for
// the series of the controller's work queue and of its leader election.
func TestMetricsIncludeTheControllerQueueAndLeaderElection(t *testing.T) {
	config := cluster.FrontProxyConfig("metrics-reader", "system:masters")
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	body, err := client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	metrics := string(body)
	for _, series := range []string{
		`workqueue_adds_total{name="petset"}`,
		`workqueue_depth{name="petset"}`,
		`leader_election_master_status{name="petset-controller"} 1`,
		`apiserver_request_total{`,
		`rest_client_requests_total{`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}
