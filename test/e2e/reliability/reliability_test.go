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
