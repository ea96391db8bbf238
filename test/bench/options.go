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
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Options configure Run.
type Options struct {
	// Rounds is the number of rounds; each runs every target once, in an
	// order rotated by one per round.
	Rounds int `json:"rounds"`
	// Requests is the number of sequential requests per verb and target
	// of the latency benchmark.
	Requests int `json:"requests"`
	// Objects is the number of objects per target of the bulk benchmark.
	Objects int `json:"objects"`
	// Workers is the number of concurrent clients that create them.
	Workers int `json:"workers"`
	// ListRepeats is how often each LIST of the bulk benchmark is sent;
	// a round reports the median.
	ListRepeats int `json:"listRepeats"`
	// Pets is N of the controller benchmark (0→N, N→0, teardown from N).
	Pets int `json:"pets"`
	// MemorySamples samples, MemoryInterval apart, are taken before and
	// after the bulk creates; the smallest of each counts.
	MemorySamples  int      `json:"memorySamples"`
	MemoryInterval Duration `json:"memoryInterval"`
	// Warmup is the number of untimed create/get/delete cycles per target
	// before the first round.
	Warmup int `json:"warmup"`
	// Groups are the benchmarks to run: latency, bulk (with memory when the
	// cluster's processes are known) and controller.
	Groups []string `json:"groups"`
	// Targets are the API targets of the latency and bulk benchmarks.
	Targets []string `json:"targets"`
	// RequestTimeout bounds each request; WaitTimeout each wait (for
	// objects to be gone, pods to be ready, a watch, a namespace);
	// SettleTimeout the wait for idle controllers before each target and
	// before memory samples. It must cover the garbage collection of what
	// the last target left: kube-controller-manager deletes the
	// ControllerRevisions of 3,000 deleted sets at its client's 20
	// requests a second, in about two and a half minutes.
	RequestTimeout Duration `json:"requestTimeout"`
	WaitTimeout    Duration `json:"waitTimeout"`
	SettleTimeout  Duration `json:"settleTimeout"`
}

// Duration is a time.Duration that reads and writes as "1m30s" in JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"1m30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("parsing duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// DefaultOptions are the options of `make bench`.
func DefaultOptions() Options {
	return Options{
		Rounds:         3,
		Requests:       200,
		Objects:        3000,
		Workers:        8,
		ListRepeats:    3,
		Pets:           50,
		MemorySamples:  3,
		MemoryInterval: Duration(time.Second),
		Warmup:         20,
		Groups:         []string{GroupLatency, GroupBulk, GroupController},
		Targets:        slices.Clone(APITargets),
		RequestTimeout: Duration(30 * time.Second),
		WaitTimeout:    Duration(10 * time.Minute),
		SettleTimeout:  Duration(5 * time.Minute),
	}
}

// LongOptions are DefaultOptions with 10,000 objects in the bulk benchmark,
// and a settle timeout long enough for their garbage collection.
func LongOptions() Options {
	o := DefaultOptions()
	o.Objects = 10000
	o.SettleTimeout = Duration(15 * time.Minute)
	return o
}

// SmokeOptions run every benchmark once on a handful of objects: enough to
// show that the benchmarks work, not to measure anything.
func SmokeOptions() Options {
	o := DefaultOptions()
	o.Rounds = 1
	o.Requests = 5
	o.Objects = 20
	o.Workers = 4
	o.ListRepeats = 1
	o.Pets = 2
	o.MemorySamples = 1
	o.MemoryInterval = 0
	o.Warmup = 2
	o.WaitTimeout = Duration(2 * time.Minute)
	o.SettleTimeout = Duration(20 * time.Second)
	return o
}

// Validate reports options that cannot run.
func (o Options) Validate() error {
	var errs []error
	positive := map[string]int{"rounds": o.Rounds, "requests": o.Requests, "objects": o.Objects, "workers": o.Workers, "list repeats": o.ListRepeats, "pets": o.Pets, "memory samples": o.MemorySamples}
	for name, v := range positive {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, not %d", name, v))
		}
	}
	for _, g := range o.Groups {
		if !slices.Contains([]string{GroupLatency, GroupBulk, GroupController}, g) {
			errs = append(errs, fmt.Errorf("unknown benchmark %q (want latency, bulk or controller)", g))
		}
	}
	for _, t := range o.Targets {
		if !slices.Contains(APITargets, t) {
			errs = append(errs, fmt.Errorf("unknown target %q (want one of %v)", t, APITargets))
		}
	}
	if len(o.Groups) == 0 {
		errs = append(errs, errors.New("no benchmark selected"))
	}
	for name, d := range map[string]Duration{"request timeout": o.RequestTimeout, "wait timeout": o.WaitTimeout, "settle timeout": o.SettleTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	return errors.Join(errs...)
}

func (o Options) has(group string) bool { return slices.Contains(o.Groups, group) }
