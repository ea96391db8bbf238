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

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/petsets/client-go/clientset/versioned"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	// startTimeout bounds how long a server may take to write its
	// kubeconfig and report ready.
	startTimeout = 90 * time.Second
	// stopTimeout bounds how long a server may take to exit after SIGTERM
	// before it is killed.
	stopTimeout = 30 * time.Second
)

// server is a petset-apiserver process started with --standalone on a data
// directory of its own.
type server struct {
	// DataDir is the --data-dir of the server.
	DataDir string
	// LogPath is the file the process writes its stdout and stderr to.
	LogPath string
	// Config is the admin configuration read from the kubeconfig the
	// server wrote.
	Config *rest.Config
	// Client is the typed clientset on Config.
	Client versioned.Interface

	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{}
	waitErr error
}

// startServer starts the binary on dataDir, logging to logPath, with the
// extra flags args, and waits until /readyz passes through the kubeconfig it
// writes. On error the process is killed before returning.
func startServer(ctx context.Context, binary, dataDir, logPath string, args ...string) (*server, error) {
	// The kubeconfig is rewritten on every start (with the port of this
	// run); remove the one of a previous run so that it is not mistaken for
	// the new one.
	kubeconfig := filepath.Join(dataDir, "kubeconfig")
	if err := os.Remove(kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, append([]string{"--standalone", "--data-dir", dataDir, "--secure-port", "0"}, args...)...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	s := &server{DataDir: dataDir, LogPath: logPath, cmd: cmd, logFile: logFile, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		s.logFile.Close()
		close(s.exited)
	}()

	if err := s.waitReady(ctx, kubeconfig); err != nil {
		s.Kill()
		return nil, fmt.Errorf("%w\n--- server log (%s) ---\n%s", err, logPath, s.logTail(4000))
	}
	return s, nil
}

// waitReady waits for the kubeconfig and then for /readyz through it.
func (s *server) waitReady(ctx context.Context, kubeconfig string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	last := "no kubeconfig yet"
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("petset-apiserver (pid %d) exited before it was ready: %v", s.cmd.Process.Pid, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("petset-apiserver (pid %d) was not ready within %v: %s", s.cmd.Process.Pid, startTimeout, last)
		case <-ticker.C:
		}
		if s.Config == nil {
			// The file may be read while it is being written: a config
			// that does not load is retried.
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				last = err.Error()
				continue
			}
			cfg.QPS, cfg.Burst = 1000, 2000
			client, err := versioned.NewForConfig(cfg)
			if err != nil {
				return fmt.Errorf("creating the clientset: %w", err)
			}
			s.Config, s.Client = cfg, client
		}
		reqCtx, reqCancel := context.WithTimeout(ctx, 5*time.Second)
		body, err := s.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(reqCtx)
		reqCancel()
		if err == nil {
			return nil
		}
		last = fmt.Sprintf("/readyz: %v: %s", err, body)
	}
}

// Pid is the process id of the server.
func (s *server) Pid() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the process to exit; it is killed if it
// does not exit within stopTimeout. It returns the error of the process
// (nil for a clean exit with status 0).
func (s *server) Stop() error {
	select {
	case <-s.exited:
		return s.waitErr
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("sending SIGTERM to pid %d: %w", s.Pid(), err)
	}
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(stopTimeout):
		s.Kill()
		return fmt.Errorf("pid %d did not exit within %v of SIGTERM and was killed", s.Pid(), stopTimeout)
	}
}

// Kill kills the process if it is still running and waits for it. It is
// safe to call at any time, any number of times.
func (s *server) Kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Log returns what the process has logged so far.
func (s *server) Log() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("<reading %s: %v>", s.LogPath, err)
	}
	return string(b)
}

func (s *server) logTail(n int) string {
	log := s.Log()
	if len(log) > n {
		log = "..." + log[len(log)-n:]
	}
	return log
}

// panicLines returns the lines of the log that mention a panic.
func (s *server) panicLines() []string {
	var out []string
	for _, line := range bytes.Split([]byte(s.Log()), []byte("\n")) {
		if bytes.Contains(bytes.ToLower(line), []byte("panic")) {
			out = append(out, string(line))
		}
	}
	return out
}

// startTestServer starts a server for one test on a data directory and a
// log of the test's own, with the extra flags args; the process is killed
// (by its pid) and both are removed when the test ends, whatever the
// outcome. The log is printed when the test failed.
func startTestServer(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	logDir := testDir(t)
	s, err := startServer(t.Context(), binaryPath, dataDir, filepath.Join(logDir, "server.log"), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("--- log of petset-apiserver pid %d ---\n%s", s.Pid(), s.logTail(8000))
		}
	})
	return s
}
