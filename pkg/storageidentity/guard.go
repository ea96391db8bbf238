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

package storageidentity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/klog/v2"
)

// Guard holds the result of the identity check and keeps the server from
// serving its API until the check has passed.
type Guard struct {
	mu      sync.RWMutex
	outcome *Outcome
	// lastErr is the last error of a check that could not complete.
	lastErr error
	passed  chan struct{}
}

// NewGuard returns a guard whose check has not run yet: until it passes, the
// server serves only its health, metrics and version endpoints.
func NewGuard() *Guard {
	return &Guard{passed: make(chan struct{})}
}

// Passed is closed once the check has passed.
func (g *Guard) Passed() <-chan struct{} { return g.passed }

// state returns why the API must not be served, or "" once it may.
func (g *Guard) state() string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	switch {
	case g.outcome != nil && g.outcome.OK():
		return ""
	case g.outcome != nil:
		return "storage identity mismatch: " + g.outcome.Mismatch
	case g.lastErr != nil:
		return fmt.Sprintf("the storage identity is not checked yet: %v", g.lastErr)
	}
	return "the storage identity is not checked yet"
}

// Run checks the identities, retrying with backoff while either side cannot
// be read, until the check completes or ctx is done. A mismatch is final for
// the life of the process: only a restart on the right storage, or with
// adopt, resolves it.
func (g *Guard) Run(ctx context.Context, storage, cluster Side, adopt bool, newIdentity func() Identity) {
	logger := klog.FromContext(ctx)
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: 5 * time.Second}
	_ = wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		outcome, err := Check(ctx, storage, cluster, adopt, newIdentity)
		if err != nil {
			logger.Error(err, "Storage identity check failed, retrying")
			g.mu.Lock()
			g.lastErr = err
			g.mu.Unlock()
			return false, nil
		}
		g.mu.Lock()
		g.outcome = &outcome
		g.lastErr = nil
		g.mu.Unlock()
		if !outcome.OK() {
			logger.Error(errors.New(outcome.Mismatch), "Refusing to serve the API: storage identity mismatch")
			return true, nil
		}
		logger.Info("Storage identity checked", "identity", outcome.Identity, "action", outcome.Action,
			"storage", storage.Describe(), "cluster", cluster.Describe())
		close(g.passed)
		return true, nil
	})
}

// openPaths are served whatever the guard's state: health checks say why the
// server is not ready, and metrics and the version stay available.
var openPaths = []string{"/healthz", "/livez", "/readyz", "/metrics", "/version"}

func isOpen(path string) bool {
	for _, p := range openPaths {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Wrap answers 503 Service Unavailable, with the reason, to every request
// but the open paths until the check has passed: discovery included, so the
// aggregator marks the API unavailable and no client, the garbage collector
// included, takes a missing PetSet for a deleted one.
func (g *Guard) Wrap(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if isOpen(req.URL.Path) {
			handler.ServeHTTP(w, req)
			return
		}
		if reason := g.state(); reason != "" {
			w.Header().Set("Retry-After", "10")
			status := apierrors.NewServiceUnavailable(reason).Status()
			status.Kind, status.APIVersion = "Status", "v1"
			responsewriters.WriteRawJSON(int(status.Code), &status, w)
			return
		}
		handler.ServeHTTP(w, req)
	})
}

// ReadyzCheck fails, with the reason, until the check has passed.
func (g *Guard) ReadyzCheck() healthz.HealthChecker {
	return healthz.NamedCheck("storage-identity", func(*http.Request) error {
		if reason := g.state(); reason != "" {
			return errors.New(reason)
		}
		return nil
	})
}
