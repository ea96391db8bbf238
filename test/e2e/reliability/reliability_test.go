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

package reliability

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderSummarizesEveryResultReadFromJSONLines(t *testing.T) {
	in := []Result{
		{Test: "TestA", Scenario: "etcd killed", Fault: "SIGKILL of etcd", During: []string{"scale 0→5"}, Checks: []string{"no gap"},
			Iterations: 20, Faults: 20, Outcome: Passed, Seconds: 600, Time: "2026-01-01T00:00:00Z"},
		{Test: "TestB", Scenario: "leader killed", Fault: "SIGKILL of the leader", During: []string{"scale 5→1"}, Checks: []string{"one leader"},
			Iterations: 0, Faults: 1, Outcome: Failed, Seconds: 30},
	}
	var lines strings.Builder
	for _, r := range in {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(b)
		lines.WriteString("\n\n")
	}
	got, err := Read(strings.NewReader(lines.String()))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(got) != len(in) {
		t.Fatalf("Read returned %d results, want %d", len(got), len(in))
	}
	var page strings.Builder
	if err := Render(&page, got, "make test-chaos"); err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, want := range []string{
		"Produced by `make test-chaos` (run started 2026-01-01T00:00:00Z)",
		"| etcd killed | scale 0→5 | 20 | 20 | passed | 10 min |",
		"| leader killed | scale 5→1 | 0 | 1 | failed | 30 s |",
		"2 scenarios, 21 faults injected; 1 scenario failed.",
		"- Injected: 1 fault in 0 completed iterations, 30 s",
		"- **Failed**; see the test's log. Checked after every fault:\n  - one leader",
		"- Held after every fault:\n  - no gap",
	} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the page lacks %q:\n%s", want, page.String())
		}
	}
}

func TestReadNamesTheLineThatIsNoResult(t *testing.T) {
	_, err := Read(strings.NewReader("{\"scenario\":\"x\"}\nnot json\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("Read error %v, want one naming line 2", err)
	}
}

func TestMergeReplacesTheResultsOfTheTestsRunAgainAndKeepsTheOthers(t *testing.T) {
	older := []Result{
		{Test: "TestA", Scenario: "a", Run: "r1", Outcome: Failed},
		{Test: "TestB", Scenario: "b", Run: "r1", Outcome: Passed},
	}
	newer := []Result{
		{Test: "TestA", Scenario: "a", Run: "r2", Outcome: Passed},
		{Test: "TestC", Scenario: "c", Run: "r2", Outcome: Passed},
	}
	want := []Result{newer[0], older[1], newer[1]}
	if diff := cmp.Diff(want, Merge(older, newer)); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
}

func TestRenderShowsTheLoadScenarioAndEachRun(t *testing.T) {
	in := []Result{
		{Test: "TestA", Scenario: "etcd killed", During: []string{"scale 0→5"}, Iterations: 1, Faults: 2, Outcome: Passed,
			Seconds: 60, Time: "2026-01-01T00:00:00Z", Run: "2026-01-01T00:00:00Z", Command: "make test-chaos"},
		{Test: "TestLoad", Scenario: "load", Outcome: Passed, Seconds: 200, Time: "2026-01-02T00:00:00Z", Run: "2026-01-02T00:00:00Z",
			Checks: []string{"no 5xx"},
			Load: &Load{Objects: 1000, Clients: 20, Watches: 50, WatchEvents: 4000, HeapMetric: "go_memstats_heap_inuse_bytes", HeapTolerance: 0.2,
				Verbs: []VerbStats{{Verb: "create", Requests: 1000, P50Ms: 12.34, P99Ms: 1500, Codes: map[string]int{"201": 1000}},
					{Verb: "update", Requests: 1002, P50Ms: 8, P99Ms: 20, Codes: map[string]int{"409": 2, "200": 1000}},
					{Verb: "watch", Requests: 50, Codes: map[string]int{"200": 50}}},
				Heap: []HeapSample{{Phase: "before", Bytes: 40 << 20}, {Phase: "during", Bytes: 60 << 20}, {Phase: "after", Bytes: 42 << 20}}}},
	}
	var page strings.Builder
	if err := Render(&page, in, "make test-load"); err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, want := range []string{
		"Produced by `make test-chaos` (run started 2026-01-01T00:00:00Z) and `make test-load` (run started 2026-01-02T00:00:00Z).",
		"| etcd killed | scale 0→5 | 1 | 2 | passed | 60 s |",
		"1 scenario, 2 faults injected; 0 scenarios failed.",
		"- Run: `make test-chaos`, started 2026-01-01T00:00:00Z",
		"## load: 1,000 PetSets, 20 clients, 50 watches",
		"- Responses with a 5xx code: 0",
		"- Watch events received: 4000 by 50 watches",
		"- Held:\n  - no 5xx",
		"| create | 1000 | 12.3 ms | 1.50 s | 201: 1000 |",
		"| update | 1002 | 8.0 ms | 20.0 ms | 200: 1000, 409: 2 |",
		"| watch | 50 | – | – | 200: 50 |",
		"| before | 40.0 |  |",
		"| during | 60.0 | +50% |",
		"| after | 42.0 | +5% |",
	} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the page lacks %q:\n%s", want, page.String())
		}
	}
}
