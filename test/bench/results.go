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
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Groups of metrics.
const (
	GroupLatency    = "latency"
	GroupCPU        = "cpu"
	GroupBulk       = "bulk"
	GroupMemory     = "memory"
	GroupController = "controller"
)

// Groups lists the groups in the order they are reported.
var Groups = []string{GroupLatency, GroupCPU, GroupBulk, GroupMemory, GroupController}

// Results are the raw figures of one run and how they were obtained.
type Results struct {
	Meta    Meta         `json:"meta"`
	Options Options      `json:"options"`
	Targets []TargetInfo `json:"targets"`
	Metrics []*Metric    `json:"metrics"`
	// Notes record what the run left out or had to retry.
	Notes []string `json:"notes,omitempty"`
}

// Metric is one figure measured for several targets in several rounds.
type Metric struct {
	Group string `json:"group"`
	Name  string `json:"name"`
	Unit  string `json:"unit"`
	// LowerIsBetter tells how to read the figure and its ratios.
	LowerIsBetter bool `json:"lowerIsBetter"`
	// Detail marks a figure reported in the detail tables only.
	Detail  bool     `json:"detail,omitempty"`
	Samples []Sample `json:"samples"`
	// Summary is computed from Samples when the results are written.
	Summary []TargetSummary `json:"summary,omitempty"`
}

// Sample is a metric's value for one target in one round.
type Sample struct {
	Target string  `json:"target"`
	Round  int     `json:"round"`
	Value  float64 `json:"value"`
}

// TargetSummary summarizes a metric for one target over the rounds.
type TargetSummary struct {
	Target string  `json:"target"`
	Rounds int     `json:"rounds"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Ratio is the target's value divided by the anchor's of the same
	// round, summarized over the rounds; nil for the anchor.
	Ratio *RatioSummary `json:"ratio,omitempty"`
}

// RatioSummary is the median and the range of the per-round ratios.
type RatioSummary struct {
	Rounds int     `json:"rounds"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Meta describes the machine and the run.
type Meta struct {
	Date     time.Time `json:"date"`
	Duration string    `json:"duration"`
	Command  string    `json:"command"`
	// Source is git describe of the checkout the servers were built from.
	Source string `json:"source,omitempty"`
	// Via is "make" when make ran the command.
	Via        string `json:"via,omitempty"`
	GoVersion  string `json:"goVersion"`
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpuModel"`
	MemoryMiB  int64  `json:"memoryMiB"`
	Kernel     string `json:"kernel,omitempty"`
	LoadBefore string `json:"loadAverageBefore,omitempty"`
	LoadAfter  string `json:"loadAverageAfter,omitempty"`
	// Versions of the servers, from their /version.
	KubeVersion   string `json:"kubeVersion,omitempty"`
	PetSetVersion string `json:"petSetVersion,omitempty"`
}

// metric returns the metric group/name, adding it on first use.
func (r *Results) metric(group, name, unit string, lowerIsBetter bool) *Metric {
	for _, m := range r.Metrics {
		if m.Group == group && m.Name == name {
			return m
		}
	}
	m := &Metric{Group: group, Name: name, Unit: unit, LowerIsBetter: lowerIsBetter}
	r.Metrics = append(r.Metrics, m)
	return m
}

func (r *Results) add(group, name, unit string, lowerIsBetter bool, target string, round int, value float64) {
	m := r.metric(group, name, unit, lowerIsBetter)
	m.Samples = append(m.Samples, Sample{Target: target, Round: round, Value: value})
}

func (r *Results) addDetail(group, name, unit string, lowerIsBetter bool, target string, round int, value float64) {
	m := r.metric(group, name, unit, lowerIsBetter)
	m.Detail = true
	m.Samples = append(m.Samples, Sample{Target: target, Round: round, Value: value})
}

func (r *Results) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Summarize computes every metric's summary from its samples.
func (r *Results) Summarize() {
	for _, m := range r.Metrics {
		m.Summary = m.summarize()
	}
}

// MetricTargets returns the targets that have samples, in report order.
func (m *Metric) MetricTargets() []string {
	var out []string
	for _, key := range ReportOrder {
		for _, s := range m.Samples {
			if s.Target == key {
				out = append(out, key)
				break
			}
		}
	}
	return out
}

func (m *Metric) summarize() []TargetSummary {
	anchor := map[int]float64{}
	for _, s := range m.Samples {
		if s.Target == Anchor {
			anchor[s.Round] = s.Value
		}
	}
	var out []TargetSummary
	for _, target := range m.MetricTargets() {
		var values, ratios []float64
		for _, s := range m.Samples {
			if s.Target != target {
				continue
			}
			values = append(values, s.Value)
			if a, ok := anchor[s.Round]; ok && target != Anchor && a != 0 {
				ratios = append(ratios, s.Value/a)
			}
		}
		ts := TargetSummary{
			Target: target,
			Rounds: len(values),
			Median: Median(values),
			Min:    slices.Min(values),
			Max:    slices.Max(values),
		}
		if len(ratios) > 0 {
			ts.Ratio = &RatioSummary{Rounds: len(ratios), Median: Median(ratios), Min: slices.Min(ratios), Max: slices.Max(ratios)}
		}
		out = append(out, ts)
	}
	return out
}

// Find returns the summary of target, if the metric has one.
func (m *Metric) Find(target string) (TargetSummary, bool) {
	for _, s := range m.Summary {
		if s.Target == target {
			return s, true
		}
	}
	return TargetSummary{}, false
}

// WriteJSON writes the results, summarized, to path.
func (r *Results) WriteJSON(path string) error {
	r.Summarize()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ReadJSON reads results written by WriteJSON.
func ReadJSON(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	r := &Results{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	r.Summarize()
	return r, nil
}

// GroupMetrics returns the metrics of group, the detail ones last.
func (r *Results) GroupMetrics(group string, detail bool) []*Metric {
	var out []*Metric
	for _, m := range r.Metrics {
		if m.Group == group && m.Detail == detail {
			out = append(out, m)
		}
	}
	return out
}

// GroupTargets returns the targets that appear in any metric of group.
func (r *Results) GroupTargets(group string) []string {
	seen := map[string]bool{}
	for _, m := range r.Metrics {
		if m.Group != group {
			continue
		}
		for _, t := range m.MetricTargets() {
			seen[t] = true
		}
	}
	var out []string
	for _, key := range ReportOrder {
		if seen[key] {
			out = append(out, key)
		}
	}
	return out
}

// FormatValue formats a figure with a precision that suits its size.
func FormatValue(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// FormatSummary formats a median and its range: "12.3 (11.8–13.1)", or the
// median alone for a single round.
func FormatSummary(median, lo, hi float64, n int) string {
	if n <= 1 {
		return FormatValue(median)
	}
	return fmt.Sprintf("%s (%s–%s)", FormatValue(median), FormatValue(lo), FormatValue(hi))
}

// FormatRatio formats a ratio summary as "1.08× (0.97–1.20)".
func FormatRatio(r *RatioSummary) string {
	if r == nil {
		return ""
	}
	if r.Rounds <= 1 {
		return fmt.Sprintf("%.2f×", r.Median)
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", r.Median, r.Min, r.Max)
}

// PrintTable prints every group's figures and ratios to w.
func (r *Results) PrintTable(w io.Writer) {
	r.Summarize()
	for _, group := range Groups {
		for _, detail := range []bool{false, true} {
			metrics := r.GroupMetrics(group, detail)
			if len(metrics) == 0 {
				continue
			}
			targets := r.GroupTargets(group)
			title := group
			if detail {
				title += " (detail)"
			}
			fmt.Fprintf(w, "\n== %s: median (min–max) over rounds; ratio = target / %s of the same round\n", title, TargetName(Anchor))
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			header := []string{"metric", "unit"}
			for _, t := range targets {
				header = append(header, TargetName(t))
			}
			for _, t := range targets {
				if t != Anchor {
					header = append(header, TargetName(t)+" ratio")
				}
			}
			fmt.Fprintln(tw, strings.Join(header, "\t"))
			for _, m := range metrics {
				row := []string{m.Name, m.Unit + better(m)}
				for _, t := range targets {
					s, ok := m.Find(t)
					if !ok {
						row = append(row, "–")
						continue
					}
					row = append(row, FormatSummary(s.Median, s.Min, s.Max, s.Rounds))
				}
				for _, t := range targets {
					if t == Anchor {
						continue
					}
					s, _ := m.Find(t)
					row = append(row, FormatRatio(s.Ratio))
				}
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			}
			tw.Flush()
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func better(m *Metric) string {
	if m.LowerIsBetter {
		return " ↓"
	}
	return " ↑"
}
