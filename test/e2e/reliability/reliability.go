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

// Package reliability holds the results of the end-to-end fault scenarios
// (one JSON object a line) and renders them as docs/reliability.md.
package reliability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Outcomes of a scenario.
const (
	Passed = "passed"
	Failed = "failed"
)

// Result is what one run of a fault scenario did and whether its checks
// held.
type Result struct {
	// Test is the Go test that ran the scenario.
	Test string `json:"test"`
	// Scenario names the fault scenario.
	Scenario string `json:"scenario"`
	// Fault says what was done to which process.
	Fault string `json:"fault"`
	// During lists the operations the faults hit.
	During []string `json:"during"`
	// Checks lists what was checked after every fault.
	Checks []string `json:"checks"`
	// Iterations counts the iterations that completed with every check
	// made; Faults the faults injected.
	Iterations int `json:"iterations"`
	Faults     int `json:"faults"`
	// Notes report what else happened, for the reader.
	Notes []string `json:"notes,omitempty"`
	// Outcome is Passed or Failed.
	Outcome string `json:"outcome"`
	// Seconds is how long the scenario ran.
	Seconds float64 `json:"seconds"`
	// Time is when it started (RFC 3339, UTC).
	Time string `json:"time"`
	// Run is when the test run that ran it started (RFC 3339, UTC), and
	// Command how that run was started; results of several runs can be
	// merged into one page.
	Run     string `json:"run,omitempty"`
	Command string `json:"command,omitempty"`
	// Load is set for a load scenario, which injects no fault.
	Load *Load `json:"load,omitempty"`
}

// Load is what a load scenario did and measured.
type Load struct {
	// Objects, Clients and Watches count the objects created, updated and
	// deleted, the concurrent clients that did it and the watches open
	// meanwhile.
	Objects int `json:"objects"`
	Clients int `json:"clients"`
	Watches int `json:"watches"`
	// Verbs are the request latencies per verb.
	Verbs []VerbStats `json:"verbs"`
	// ServerErrors counts the responses with a 5xx code, of every request
	// the clients and watches made.
	ServerErrors int `json:"serverErrors"`
	// WatchEvents counts the events the watches received.
	WatchEvents int `json:"watchEvents"`
	// Heap holds the server's heap at the moments it was measured.
	Heap []HeapSample `json:"heap"`
	// HeapMetric names what Heap measures.
	HeapMetric string `json:"heapMetric"`
	// HeapTolerance is how far above the lowest heap after an earlier
	// round's deletion the heap after the last round's may be, as a fraction (0.2
	// for 20%), when Checks name the heap.
	HeapTolerance float64 `json:"heapTolerance"`
	// Rounds counts the times the load ran, one after the other.
	Rounds int `json:"rounds,omitempty"`
}

// VerbStats are the latencies of the requests of one verb.
type VerbStats struct {
	Verb     string  `json:"verb"`
	Requests int     `json:"requests"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	// Codes counts the responses per HTTP status code.
	Codes map[string]int `json:"codes"`
}

// HeapSample is the server's heap at one moment.
type HeapSample struct {
	// Phase says when it was measured.
	Phase string  `json:"phase"`
	Bytes float64 `json:"bytes"`
}

// Read decodes the JSON lines of r.
func Read(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var res Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading results: %w", err)
	}
	return out, nil
}

// Write encodes results as JSON lines.
func Write(w io.Writer, results []Result) error {
	for _, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// Merge returns older with each result replaced by the result of newer
// that has its test, followed by the results of newer that older lacks: a
// run of some scenarios updates their results and keeps the others'.
func Merge(older, newer []Result) []Result {
	out := append([]Result(nil), older...)
	for _, r := range newer {
		i := slices.IndexFunc(out, func(o Result) bool { return o.Test == r.Test })
		if i < 0 {
			out = append(out, r)
			continue
		}
		out[i] = r
	}
	return out
}

// run is one test run that produced results.
type run struct {
	started, command string
}

func (r Result) run(command string) run {
	started := r.Run
	if started == "" {
		started = r.Time
	}
	if r.Command != "" {
		command = r.Command
	}
	return run{started: started, command: command}
}

// Render writes the Markdown page for results; command is how the results
// that do not name their run's command were produced.
func Render(w io.Writer, results []Result, command string) error {
	var faultResults, loadResults []Result
	var runs []run
	for _, r := range results {
		if !slices.Contains(runs, r.run(command)) {
			runs = append(runs, r.run(command))
		}
		if r.Load != nil {
			loadResults = append(loadResults, r)
		} else {
			faultResults = append(faultResults, r)
		}
	}
	var b strings.Builder
	b.WriteString("# Reliability under faults\n\n")
	b.WriteString("<!-- Generated by test/e2e/reliabilitydoc from the results of the e2e fault scenarios; do not edit. -->\n\n")
	b.WriteString("The end-to-end fault scenarios (`test/e2e/chaos_test.go`) inject faults into the processes of the local ")
	b.WriteString("cluster (`hack/local-cluster.sh`: real etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok ")
	b.WriteString("and petset-apiserver, all on 127.0.0.1) while the PetSet controller scales and tears down PetSets. Only ")
	b.WriteString("processes the cluster or the test started are signalled, by their recorded PID. After every fault the test ")
	b.WriteString("checks the whole history of the pods, recorded by UID from a watch started before the PetSet was created, ")
	b.WriteString("and waits (bounded) for the PetSet to converge. The scenarios that kill petset-apiserver run it with a 6 s ")
	b.WriteString("leader Lease (`--leader-elect-lease-duration=6s`) so that a killed leader's Lease expires in seconds; the ")
	b.WriteString("storage identity guard's scenarios (`test/e2e/storage_identity_test.go`) restart it on an etcd prefix no ")
	b.WriteString("server has used. `make test` runs every scenario once; `make test-chaos` repeats them ")
	b.WriteString("(`CHAOS_ITERATIONS`, default 20), runs the load scenario (`test/e2e/load_test.go`) at full size and ")
	b.WriteString("writes this page.\n\n")
	b.WriteString("Produced by ")
	for i, r := range runs {
		if i > 0 {
			b.WriteString(" and ")
		}
		fmt.Fprintf(&b, "`%s`", r.command)
		if r.started != "" {
			fmt.Fprintf(&b, " (run started %s)", r.started)
		}
	}
	b.WriteString(".\n\n")
	renderFaults(&b, faultResults, len(runs) > 1, command)
	if len(loadResults) > 0 {
		b.WriteString("\n# Load\n\n")
		b.WriteString("The load scenario (`test/e2e/load_test.go`) creates, updates and deletes PetSets with `replicas: 0` ")
		b.WriteString("through kube-apiserver's aggregator from concurrent clients while watches, each selecting a share of the ")
		b.WriteString("PetSets by label, stay open. Every watch must see, in resourceVersion order, each of its PetSets added, ")
		b.WriteString("modified by the update and deleted; no response may have a 5xx code. petset-apiserver's heap is read from ")
		b.WriteString("its `/metrics` right after a garbage collection (`/debug/pprof/heap?gc=1`). At full size the load runs ")
		b.WriteString("several times (the heading gives the count); after each round's deletion the test waits (bounded) for the heap to settle, and after the ")
		b.WriteString("last round it must be within the tolerance of the lowest it settled at after an earlier round: a leak grows ")
		b.WriteString("from round to round, while the watch cache's history, which resizes itself to hold at least 75 s of ")
		b.WriteString("events, stays bounded. The heap before any load is the table's reference; k8s.io/apiserver's watch cache keeps the ")
		b.WriteString("latest events (the deleted PetSets with them) until newer events replace them, so the heap does not ")
		b.WriteString("return to it (the notes say how much the watch cache holds). `make test` runs a small version; ")
		b.WriteString("`make test-chaos` the full size (`LOAD_OBJECTS`, `LOAD_CLIENTS`, `LOAD_WATCHES`).\n")
		for _, r := range loadResults {
			renderLoad(&b, r, len(runs) > 1, command)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func renderFaults(b *strings.Builder, results []Result, showRun bool, command string) {
	if len(results) == 0 {
		return
	}
	b.WriteString("| scenario | faults hit | iterations | faults injected | outcome | time |\n")
	b.WriteString("|---|---|---:|---:|---|---:|\n")
	faults, failed := 0, 0
	for _, r := range results {
		faults += r.Faults
		if r.Outcome != Passed {
			failed++
		}
		fmt.Fprintf(b, "| %s | %s | %d | %d | %s | %s |\n", r.Scenario, strings.Join(r.During, ", "), r.Iterations, r.Faults, r.Outcome, seconds(r.Seconds))
	}
	fmt.Fprintf(b, "\n%s, %s injected; %s failed.\n", plural(len(results), "scenario"), plural(faults, "fault"), plural(failed, "scenario"))

	for _, r := range results {
		fmt.Fprintf(b, "\n## %s\n\n", r.Scenario)
		fmt.Fprintf(b, "- Test: `%s`\n", r.Test)
		if showRun {
			fmt.Fprintf(b, "- Run: `%s`, started %s\n", r.run(command).command, r.run(command).started)
		}
		fmt.Fprintf(b, "- Fault: %s\n", r.Fault)
		fmt.Fprintf(b, "- During: %s\n", strings.Join(r.During, "; "))
		fmt.Fprintf(b, "- Injected: %s in %s, %s\n", plural(r.Faults, "fault"), plural(r.Iterations, "completed iteration"), seconds(r.Seconds))
		if r.Outcome == Passed {
			b.WriteString("- Held after every fault:\n")
		} else {
			b.WriteString("- **Failed**; see the test's log. Checked after every fault:\n")
		}
		for _, c := range r.Checks {
			fmt.Fprintf(b, "  - %s\n", c)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(b, "- Note: %s\n", n)
		}
	}
}

func renderLoad(b *strings.Builder, r Result, showRun bool, command string) {
	l := r.Load
	size := fmt.Sprintf("%s, %s, %s", plural(l.Objects, "PetSet"), plural(l.Clients, "client"), plural(l.Watches, "watch"))
	if l.Rounds > 1 {
		size += fmt.Sprintf(", %d rounds", l.Rounds)
	}
	fmt.Fprintf(b, "\n## %s: %s\n\n", r.Scenario, size)
	fmt.Fprintf(b, "- Test: `%s`\n", r.Test)
	if showRun {
		fmt.Fprintf(b, "- Run: `%s`, started %s\n", r.run(command).command, r.run(command).started)
	}
	fmt.Fprintf(b, "- Outcome: %s in %s\n", r.Outcome, seconds(r.Seconds))
	fmt.Fprintf(b, "- Responses with a 5xx code: %d\n", l.ServerErrors)
	fmt.Fprintf(b, "- Watch events received: %d by %s\n", l.WatchEvents, plural(l.Watches, "watch"))
	if r.Outcome == Passed {
		b.WriteString("- Held:\n")
	} else {
		b.WriteString("- **Failed**; see the test's log. Checked:\n")
	}
	for _, c := range r.Checks {
		fmt.Fprintf(b, "  - %s\n", c)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(b, "- Note: %s\n", n)
	}
	if len(l.Verbs) > 0 {
		b.WriteString("\n| verb | requests | p50 | p99 | responses |\n|---|---:|---:|---:|---|\n")
		for _, v := range l.Verbs {
			p50, p99 := millis(v.P50Ms), millis(v.P99Ms)
			if v.P50Ms == 0 && v.P99Ms == 0 {
				// Not timed (a watch stays open).
				p50, p99 = "–", "–"
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s |\n", v.Verb, v.Requests, p50, p99, codes(v.Codes))
		}
	}
	if len(l.Heap) > 0 {
		fmt.Fprintf(b, "\n| petset-apiserver heap (`%s`, after a GC) | MiB | change from %s |\n|---|---:|---:|\n", l.HeapMetric, l.Heap[0].Phase)
		for i, h := range l.Heap {
			change := ""
			if i > 0 && l.Heap[0].Bytes > 0 {
				change = fmt.Sprintf("%+.0f%%", 100*(h.Bytes/l.Heap[0].Bytes-1))
			}
			fmt.Fprintf(b, "| %s | %.1f | %s |\n", h.Phase, h.Bytes/(1<<20), change)
		}
	}
}

func millis(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

func codes(c map[string]int) string {
	keys := slices.Sorted(maps.Keys(c))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	if strings.HasSuffix(what, "ch") {
		return fmt.Sprintf("%s %ses", thousands(n), what)
	}
	return fmt.Sprintf("%s %ss", thousands(n), what)
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func seconds(s float64) string {
	if s >= 120 {
		return fmt.Sprintf("%.0f min", s/60)
	}
	return fmt.Sprintf("%.0f s", s)
}
