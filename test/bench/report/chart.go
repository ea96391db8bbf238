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

package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/petsets/petset/test/bench"
)

// chartRow is one metric of the chart.
type chartRow struct {
	label  string
	ratios map[string]float64
}

// chartRows picks the figures the chart shows: p50 and p99 latency per
// verb, the CPU time per request of each verb, every bulk figure, the memory of the API server and its
// controller, and every controller figure.
func chartRows(res *bench.Results) []chartRow {
	var rows []chartRow
	for _, m := range res.Metrics {
		if m.Detail {
			continue
		}
		switch m.Group {
		case bench.GroupLatency:
			if !strings.HasSuffix(m.Name, " p50") && !strings.HasSuffix(m.Name, " p99") {
				continue
			}
		case bench.GroupMemory:
			if !strings.Contains(m.Name, "API server + its controller") {
				continue
			}
		}
		row := chartRow{label: chartLabel(m), ratios: map[string]float64{}}
		for _, s := range m.Summary {
			if s.Ratio != nil && s.Ratio.Median > 0 {
				row.ratios[s.Target] = s.Ratio.Median
			}
		}
		if len(row.ratios) > 0 {
			rows = append(rows, row)
		}
	}
	return rows
}

func chartLabel(m *bench.Metric) string {
	switch m.Group {
	case bench.GroupLatency:
		return m.Name + " latency"
	case bench.GroupCPU:
		return m.Name + " CPU time"
	case bench.GroupMemory:
		name, _, _ := strings.Cut(m.Name, ":")
		return "memory: " + name
	case bench.GroupController:
		return "controller " + m.Name
	}
	return m.Name
}

// WriteChart draws the ratio of every PetSet target (and the CRD) to the
// StatefulSet anchor, metric by metric, as horizontal bars on a log2
// scale: bars to the left are smaller figures than the anchor's, to the
// right larger ones. It writes a PNG to path.
func WriteChart(res *bench.Results, path string) error {
	rows := chartRows(res)
	if len(rows) == 0 {
		return fmt.Errorf("no ratios to draw")
	}
	var targets []string
	for _, key := range bench.ReportOrder {
		if key == bench.Anchor {
			continue
		}
		for _, r := range rows {
			if _, ok := r.ratios[key]; ok {
				targets = append(targets, key)
				break
			}
		}
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Ratio to %s (median of %d rounds), log scale", bench.TargetName(bench.Anchor), res.Options.Rounds)
	p.X.Label.Text = "target / StatefulSet (left of 1× smaller, right larger; see each row's unit in the tables for which way is better)"

	// Rows from the top: the first metric gets the highest Y.
	labels := make([]string, len(rows))
	for i, r := range rows {
		labels[len(rows)-1-i] = r.label
	}
	lo, hi := -1.0, 1.0
	const barWidth = vg.Length(7)
	legend := map[string]bool{}
	maxBars := 1
	for i, r := range rows {
		y := float64(len(rows) - 1 - i)
		// The bars of a row are centred on its label, whichever targets
		// it has.
		var present []string
		for _, key := range targets {
			if _, ok := r.ratios[key]; ok {
				present = append(present, key)
			}
		}
		maxBars = max(maxBars, len(present))
		for j, key := range present {
			v := r.ratios[key]
			l := math.Log2(v)
			lo, hi = math.Min(lo, l), math.Max(hi, l)
			offset := (vg.Length(j) - vg.Length(len(present)-1)/2) * barWidth
			bar, err := plotter.NewBarChart(plotter.Values{l}, barWidth)
			if err != nil {
				return fmt.Errorf("drawing the bar of %s, %s: %w", key, r.label, err)
			}
			bar.Horizontal = true
			bar.XMin = y
			bar.Offset = -offset
			bar.Color = plotutil.Color(slices.Index(targets, key))
			bar.LineStyle.Width = 0
			p.Add(bar)
			if !legend[key] {
				legend[key] = true
			}
			lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: l, Y: y}}, Labels: []string{fmt.Sprintf(" %.2f×", v)}})
			if err != nil {
				return fmt.Errorf("labelling the bar of %s, %s: %w", key, r.label, err)
			}
			for k := range lbl.TextStyle {
				lbl.TextStyle[k].Font.Size = vg.Points(6)
				lbl.TextStyle[k].YAlign = draw.YCenter
			}
			lbl.Offset = vg.Point{X: 2, Y: -offset}
			p.Add(lbl)
		}
	}
	for i, key := range targets {
		swatch, err := plotter.NewBarChart(plotter.Values{0}, barWidth)
		if err != nil {
			return fmt.Errorf("drawing the legend: %w", err)
		}
		swatch.Color = plotutil.Color(i)
		swatch.LineStyle.Width = 0
		p.Legend.Add(bench.TargetName(key), swatch)
	}
	one, err := plotter.NewLine(plotter.XYs{{X: 0, Y: -0.5}, {X: 0, Y: float64(len(rows)) - 0.5}})
	if err != nil {
		return fmt.Errorf("drawing the 1× line: %w", err)
	}
	one.LineStyle.Color = color.Gray{Y: 80}
	one.LineStyle.Width = vg.Points(0.75)
	p.Add(one)

	p.NominalY(labels...)
	// Room above the first row for the legend.
	p.Y.Min, p.Y.Max = -0.7, float64(len(rows))-0.5+float64(len(targets))*0.35
	lo, hi = math.Floor(lo)-0.25, math.Ceil(hi)+0.6
	p.X.Min, p.X.Max = lo, hi
	var ticks []plot.Tick
	for e := math.Ceil(lo); e <= math.Floor(hi); e++ {
		ticks = append(ticks, plot.Tick{Value: e, Label: ratioLabel(e)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true

	height := vg.Length(len(rows))*vg.Length(maxBars)*barWidth*1.6 + 2*vg.Inch
	if err := p.Save(9*vg.Inch, height, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func ratioLabel(exp float64) string {
	v := math.Pow(2, exp)
	if v >= 1 {
		return fmt.Sprintf("%g×", v)
	}
	return fmt.Sprintf("1/%g×", 1/v)
}
