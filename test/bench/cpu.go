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
	"time"

	"golang.org/x/sys/unix"
)

// ProcEtcd is etcd's name in hack/local-cluster.sh's pids/ directory.
const ProcEtcd = "etcd"

// CPUProcesses are the processes whose CPU time the latency benchmark
// reads: every process that serves the objects it writes or reacts to
// them. The scheduler, kwok and CoreDNS have nothing to do with objects
// of zero replicas.
var CPUProcesses = []string{ProcEtcd, ProcKubeAPIServer, ProcPetSetAPIServer, ProcKubeControllerManager}

// cpuMeter reads the CPU time that processes of the cluster have used.
// Unlike a latency, a process's CPU time does not grow while it waits for
// a core, so the figure holds still on a machine that is busy with other
// work.
type cpuMeter struct {
	procs []process
}

func (c *Cluster) cpuMeter() (*cpuMeter, error) {
	procs, err := c.processes(CPUProcesses)
	if err != nil {
		return nil, err
	}
	return &cpuMeter{procs: procs}, nil
}

// read returns the CPU time each process has used since it started.
func (m *cpuMeter) read() (map[string]time.Duration, error) {
	out := make(map[string]time.Duration, len(m.procs))
	for _, p := range m.procs {
		if err := p.check(); err != nil {
			return nil, err
		}
		d, err := ProcessCPUTime(p.pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		out[p.name] = d
	}
	return out, nil
}

// ProcessCPUTime returns the CPU time, user and system, that every thread
// of process pid has used so far, those that have exited included. It
// reads the process's CPU-time clock (clock_getcpuclockid(3)), which counts
// nanoseconds where /proc/<pid>/stat counts clock ticks.
func ProcessCPUTime(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("no process has pid %d", pid)
	}
	// The clock of a whole process: its PID inverted, shifted past the
	// clock type (CPUCLOCK_SCHED, 2), as glibc's clock_getcpuclockid
	// builds it.
	clock := int32((^pid)<<3 | 2)
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, fmt.Errorf("reading the CPU-time clock of pid %d: %w", pid, err)
	}
	return time.Duration(ts.Nano()), nil
}

// cpuSpent returns, per process, the CPU time used between two readings.
func cpuSpent(before, after map[string]time.Duration) map[string]time.Duration {
	out := make(map[string]time.Duration, len(after))
	for name, a := range after {
		out[name] = a - before[name]
	}
	return out
}
