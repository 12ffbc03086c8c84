package bench

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
)

// Print writes the report: the results table, the ratios, where the time
// went and the notes.
func Print(w io.Writer, rep *Report, s Settings) {
	threads := "ORT default"
	if s.Threads > 0 {
		threads = strconv.Itoa(s.Threads)
	}
	fmt.Fprintf(w, "%v requests, prompt %s, %d..%d new tokens (greedy), %s on %s, intra-op threads %s (both sides), %d timed passes after %d warmup\n",
		rep.Settings["requests"], s.Prompt.Name, s.MinNew, s.MaxNew, s.DType, s.Device, threads, s.Repeats, s.Warmup)
	if len(rep.Results) > 0 {
		m := rep.Results[0].Machine
		fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s\n", m.OS, m.Arch, m.CPUs, m.Go)
	}
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.AppendHeader(table.Row{"Configuration", "Samples/s median [min–max]", "Tokens/s median", "Decode tok/s median [min–max]", "Spread %", "p50 ms", "p90 ms", "RSS +MiB", "Load avg 1m"})
	for _, r := range rep.Results {
		load := "n/a"
		if r.Load != nil {
			load = fmt.Sprintf("%.2f→%.2f", r.Load.Before[0], r.Load.After[0])
		}
		decode, mem := "n/a", ""
		if d := r.DecodeTokensPerSec; d.N > 0 {
			decode = fmt.Sprintf("%.2f [%.2f–%.2f]", d.Median, d.Min, d.Max)
		}
		if r.Memory != nil {
			mem = fmt.Sprintf("%.0f", r.Memory.AddedMiB)
		}
		t.AppendRow(table.Row{r.Name,
			fmt.Sprintf("%.3f [%.3f–%.3f]", r.SamplesPerSec.Median, r.SamplesPerSec.Min, r.SamplesPerSec.Max),
			fmt.Sprintf("%.1f", r.TokensPerSec.Median), decode, fmt.Sprintf("%.1f", r.SamplesPerSec.SpreadPct),
			fmt.Sprintf("%.1f", r.P50MS), fmt.Sprintf("%.1f", r.P90MS), mem, load})
	}
	t.SetStyle(table.StyleLight)
	t.Render()
	for _, r := range rep.Results {
		ratios, ok := rep.Ratios[r.Name]
		if !ok {
			continue
		}
		parts := make([]string, 0, len(ratios))
		for _, x := range ratios {
			parts = append(parts, fmt.Sprintf("%s %.2f× [%.2f–%.2f]", x.Metric, x.Median, x.Low, x.High))
		}
		fmt.Fprintf(w, "%s vs %s: %s\n", r.Name, rep.Baseline, strings.Join(parts, ", "))
	}
	printBreakdown(w, rep)
	for _, r := range rep.Results {
		var gen, all float64
		for _, p := range r.Passes {
			gen, all = gen+p.GenerateSeconds, all+p.Seconds
		}
		if gen > 0 && all > 0 {
			fmt.Fprintf(w, "%s: %.0f%% of its timed request time is in generate(); the rest is image read, preprocessing, tokenization and decoding\n", r.Name, 100*gen/all)
		}
	}
	if len(s.Variants) > 1 {
		fmt.Fprintln(w, "RSS +MiB: resident memory the variant added when it was opened and warmed up (variants are opened in turn, in one process)")
		if n := len(rep.Results); n > 0 {
			var peak float64
			for _, r := range rep.Results {
				if r.Memory != nil {
					peak = max(peak, r.Memory.PeakMiB)
				}
			}
			if peak > 0 {
				fmt.Fprintf(w, "process peak RSS after loading every variant: %.0f MiB\n", peak)
			}
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "results in %s\n", s.Out)
}

// printBreakdown prints where each configuration's time went (runners that
// keep a profile): latencies, the share inside ONNX Runtime's Run calls and
// the harness's own share, and peak memory.
func printBreakdown(w io.Writer, rep *Report) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	header := table.Row{"Configuration", "TTFT ms p50/p90", "Prefill ms p50/p90", "Decode ms/token p50/p90", "In runtime %", "Harness %", "of which prepare/sampling %", "Peak RSS MiB"}
	device := slices.ContainsFunc(rep.Results, func(r *Result) bool { return r.PeakDeviceBytes > 0 })
	if device {
		header = append(header, "Peak device MiB")
	}
	t.AppendHeader(header)
	rows := 0
	q := func(x *Quantiles) string {
		if x == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f / %.1f", x.P50, x.P90)
	}
	for _, r := range rep.Results {
		rss := "—"
		if r.PeakRSSBytes > 0 {
			rss = fmt.Sprintf("%.0f", float64(r.PeakRSSBytes)/(1<<20))
		}
		dev := "—"
		if r.PeakDeviceBytes > 0 {
			dev = fmt.Sprintf("%.0f", float64(r.PeakDeviceBytes)/(1<<20))
		}
		withDevice := func(row table.Row) table.Row {
			if device {
				row = append(row, dev)
			}
			return row
		}
		b := r.Breakdown
		if b == nil {
			if r.PeakRSSBytes > 0 {
				t.AppendRow(withDevice(table.Row{r.Name, "—", "—", "—", "—", "—", "—", rss}))
				rows++
			}
			continue
		}
		t.AppendRow(withDevice(table.Row{r.Name, q(b.FirstTokenMS), q(b.PrefillMS), q(b.DecodeStepMS),
			fmt.Sprintf("%.1f [%.1f–%.1f]", b.RuntimePct.Median, b.RuntimePct.Min, b.RuntimePct.Max),
			fmt.Sprintf("%.1f [%.1f–%.1f]", b.HarnessPct.Median, b.HarnessPct.Min, b.HarnessPct.Max),
			fmt.Sprintf("%.1f / %.1f", b.PreparePct.Median, b.SamplingPct.Median), rss}))
		rows++
	}
	if rows > 0 {
		t.SetStyle(table.StyleLight)
		t.Render()
	}
}
