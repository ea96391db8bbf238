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

package bench

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var sink atomic.Int64

func rusageCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Errorf("getrusage: %v", err)
		return time.Duration(math.MaxInt64) // ends the spinning
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestProcessCPUTimeAgreesWithGetrusage checks the process CPU-time clock
// against the kernel's other account of the same time, while several
// threads burn CPU: the clock must count every thread, not the one that
// reads it.
func TestProcessCPUTimeAgreesWithGetrusage(t *testing.T) {
	pid := os.Getpid()
	clockBefore, err := ProcessCPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	rusageBefore := rusageCPU(t)

	// Spin on as many threads as the runtime may run at once, until
	// together they have used burn of CPU time by getrusage's count.
	const burn = 150 * time.Millisecond
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rusageCPU(t)-rusageBefore < burn {
				for i := 0; i < 100000; i++ {
					sink.Add(1)
				}
			}
		}()
	}
	wg.Wait()

	clockAfter, err := ProcessCPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	rusageAfter := rusageCPU(t)
	clock, rusage := clockAfter-clockBefore, rusageAfter-rusageBefore
	t.Logf("CPU time of the burn: clock %s, getrusage %s", clock, rusage)
	if clock < burn {
		t.Errorf("the clock counted %s, less than the %s the threads burnt", clock, burn)
	}
	// getrusage counts in microseconds and reads a moment later; the
	// two accounts differ by far less than a millisecond per thread.
	if diff := (clock - rusage).Abs(); diff > 5*time.Millisecond {
		t.Errorf("the clock counted %s, getrusage %s: %s apart", clock, rusage, diff)
	}
}

func TestProcessCPUTimeOfAGoneProcessIsAnError(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("running true: %v", err)
	}
	// The process has been waited for, so its PID names no process
	// (unless reused at once, which a busy machine could do).
	if _, err := ProcessCPUTime(cmd.Process.Pid); err == nil {
		if _, statErr := os.Stat(fmt.Sprintf("/proc/%d", cmd.Process.Pid)); statErr != nil {
			t.Errorf("ProcessCPUTime(%d) of a process that has exited: no error", cmd.Process.Pid)
		}
	}
	for _, pid := range []int{0, -1} {
		if _, err := ProcessCPUTime(pid); err == nil {
			t.Errorf("ProcessCPUTime(%d): no error", pid)
		}
	}
}

func TestCPUSpentPerProcess(t *testing.T) {
	before := map[string]time.Duration{"etcd": time.Second, "kube-apiserver": 2 * time.Second}
	after := map[string]time.Duration{"etcd": 1500 * time.Millisecond, "kube-apiserver": 2 * time.Second, "petset-apiserver": 300 * time.Millisecond}
	spent := cpuSpent(before, after)
	want := map[string]time.Duration{"etcd": 500 * time.Millisecond, "kube-apiserver": 0, "petset-apiserver": 300 * time.Millisecond}
	if diff := cmp.Diff(want, spent); diff != "" {
		t.Errorf("per process (-want +got):\n%s", diff)
	}
}
