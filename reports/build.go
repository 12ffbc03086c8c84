package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/medbench/medbench/bench"
	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/grpo"
	"github.com/medbench/medbench/internal/utf8bom"
	"github.com/medbench/medbench/records"
)

// Options names the inputs of a report (the flags of `medbench report`).
type Options struct {
	// Runs are run record directories; the first is the baseline of the
	// run-vs-run comparisons. Names label them (default: directory names).
	Runs, Names []string
	// Train is a training output directory holding metrics.jsonl.
	Train string
	// TrainGolden is the training run's golden table (checked, and drawn on
	// the curves); TrainModel and TrainDataset select its rows.
	TrainGolden, TrainModel, TrainDataset string
	// Bench is a bench results file (bench.json of medbench bench).
	Bench string
	// Golden is the golden table that CheckRun (default: the last run) is
	// checked against; Model and Dataset select its rows.
	Golden, CheckRun, Model, Dataset string
	// Prompts is the prompt ablation within the first run as "A,B" (default
	// simple,complex when both ran); Prompt the prompt compared across runs
	// (default: complex if both runs hold it, else simple, else the first
	// shared one).
	Prompts, Prompt string
	// Policy scores the comparisons; Seed seeds their paired bootstrap.
	Policy string
	Seed   uint64
	// Title and Version head the report.
	Title, Version string
	// Gallery is the number of gallery samples per modality (0 or negative:
	// none).
	Gallery int
	// Out is the output directory of Generate.
	Out string
}

// Generate builds the report input from the files opts names and writes
// the report into opts.Out.
func Generate(ctx context.Context, opts Options) (*Output, error) {
	in, err := Build(ctx, opts)
	if err != nil {
		return nil, err
	}
	return Write(ctx, *in, opts.Out)
}

// Build reads the runs, training log, bench results and golden tables that
// opts names, checks the golden tables and computes the paired comparisons.
func Build(ctx context.Context, opts Options) (*Input, error) {
	in := &Input{Title: opts.Title, Version: opts.Version, RunNames: opts.Names, GalleryPerModality: opts.Gallery}
	if opts.Gallery == 0 {
		in.GalleryPerModality = -1
	}
	for _, d := range opts.Runs {
		r, err := records.ReadRun(d)
		if err != nil {
			return nil, err
		}
		in.Runs = append(in.Runs, r)
	}
	if len(in.Runs) == 0 && opts.Train == "" && opts.Bench == "" {
		return nil, fmt.Errorf("report: give at least one of --run, --train, --bench")
	}
	if opts.Golden != "" {
		if err := addRunGolden(in, opts); err != nil {
			return nil, err
		}
	}
	if len(in.Runs) > 0 {
		if err := addComparisons(ctx, in, opts); err != nil {
			return nil, err
		}
	}
	if opts.Train != "" {
		if err := addTrain(in, opts); err != nil {
			return nil, err
		}
	}
	if opts.Bench != "" {
		if err := addBench(in, opts.Bench); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// runLabel is run i's label: its --name, else its directory name.
func runLabel(in *Input, i int) string {
	if i < len(in.RunNames) && in.RunNames[i] != "" {
		return in.RunNames[i]
	}
	return filepath.Base(filepath.Clean(in.Runs[i].Dir))
}

// addRunGolden checks the last run (or opts.CheckRun) against opts.Golden
// and marks the table's accuracy rows on the plots.
func addRunGolden(in *Input, opts Options) error {
	if len(in.Runs) == 0 {
		return fmt.Errorf("report: --golden needs a --run to check")
	}
	t, err := golden.Load(opts.Golden)
	if err != nil {
		return err
	}
	last := in.Runs[len(in.Runs)-1]
	var base *records.Run
	if len(in.Runs) > 1 {
		base = in.Runs[0]
	}
	checked := runLabel(in, len(in.Runs)-1)
	if opts.CheckRun != "" {
		if last, err = records.ReadRun(opts.CheckRun); err != nil {
			return err
		}
		base, checked = nil, filepath.Base(filepath.Clean(opts.CheckRun))
	}
	vs, err := golden.CheckRun(last, t, golden.CheckOptions{Baseline: base, Model: opts.Model, Dataset: opts.Dataset})
	if err != nil {
		return err
	}
	check := fmt.Sprintf("run %s against %s", checked, filepath.Base(opts.Golden))
	for _, v := range vs {
		in.Verdicts = append(in.Verdicts, VerdictRow{Check: check,
			Cell:  fmt.Sprintf("%s / %s / %s / %s", v.Key.Modality, v.Key.Prompt, v.Key.Policy, v.Key.Metric),
			Value: v.Value, Expected: v.Expected, Tolerance: v.Tolerance, P: v.P, Status: v.Status, Detail: v.Detail})
	}
	if opts.CheckRun != "" {
		return nil // the table describes another run's data: no marks on these runs' plots
	}
	for _, r := range t.Rows {
		if r.Metric != "accuracy" || (opts.Model != "" && r.Model != opts.Model) || (opts.Dataset != "" && r.Dataset != opts.Dataset) {
			continue
		}
		lo, hi := r.Tolerance.Band(r.Value)
		in.Golden = append(in.Golden, GoldenMark{Modality: r.Modality, Prompt: r.Prompt, Policy: r.Policy,
			Value: r.Value, Low: lo, High: hi, Label: r.Model})
	}
	return nil
}

// addComparisons adds the prompt ablation within the first run and each
// later run compared with the first.
func addComparisons(ctx context.Context, in *Input, opts Options) error {
	co := golden.CompareOptions{Policy: opts.Policy, Seed: opts.Seed}
	first := in.Runs[0]
	pa, pb := "simple", "complex"
	explicit := opts.Prompts != ""
	if explicit {
		parts := strings.Split(opts.Prompts, ",")
		if len(parts) != 2 {
			return fmt.Errorf("report: --prompts wants two prompts A,B, got %q", opts.Prompts)
		}
		pa, pb = strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
	}
	if explicit || (hasPrompt(first, pa) && hasPrompt(first, pb)) {
		cmp, err := golden.Compare(ctx, golden.Side{Run: first, Prompt: pa, Label: pa}, golden.Side{Run: first, Prompt: pb, Label: pb}, co)
		if err != nil {
			return err
		}
		in.Comparisons = append(in.Comparisons, fromComparison(fmt.Sprintf("Prompt ablation in %s: %s vs %s (%s scoring)", runLabel(in, 0), pa, pb, co.Policy), cmp, first))
	}
	for i := 1; i < len(in.Runs); i++ {
		p := opts.Prompt
		if p == "" {
			p = commonPrompt(first, in.Runs[i])
		}
		if p == "" {
			return fmt.Errorf("report: runs %s and %s share no prompt", first.Dir, in.Runs[i].Dir)
		}
		cmp, err := golden.Compare(ctx, golden.Side{Run: first, Prompt: p, Label: runLabel(in, 0)}, golden.Side{Run: in.Runs[i], Prompt: p, Label: runLabel(in, i)}, co)
		if err != nil {
			return err
		}
		in.Comparisons = append(in.Comparisons, fromComparison(fmt.Sprintf("%s vs %s (%s prompt, %s scoring)", runLabel(in, 0), runLabel(in, i), p, co.Policy), cmp, first))
	}
	return nil
}

// addTrain reads the training log, and with opts.TrainGolden its golden
// bands, marks and verdicts.
func addTrain(in *Input, opts Options) error {
	ms, err := grpo.ReadMetrics(filepath.Join(opts.Train, grpo.MetricsFile))
	if err != nil {
		return err
	}
	tl := &TrainLog{Name: filepath.Base(filepath.Clean(opts.Train)), Bands: map[string][2]float64{}}
	for _, m := range ms {
		tl.Steps = append(tl.Steps, map[string]float64(m))
	}
	in.Train = tl
	if opts.TrainGolden == "" {
		return nil
	}
	t, err := golden.Load(opts.TrainGolden)
	if err != nil {
		return err
	}
	if t, err = t.Select(opts.TrainModel, opts.TrainDataset); err != nil {
		return fmt.Errorf("%s: %w", opts.TrainGolden, err)
	}
	for _, r := range t.Rows {
		if r.Tolerance.Kind == golden.KindNotWorse {
			continue
		}
		lo, hi := r.Tolerance.Band(r.Value)
		if r.Step == 0 {
			tl.Bands[r.Metric] = [2]float64{lo, hi}
		} else {
			tl.Marks = append(tl.Marks, TrainGoldenMark{Metric: r.Metric, Step: float64(r.Step), Value: r.Value, Low: lo, High: hi})
		}
	}
	vs, err := grpo.CheckTrain(opts.Train, opts.TrainGolden, opts.TrainModel, opts.TrainDataset)
	if err != nil {
		return err
	}
	check := fmt.Sprintf("training log %s against %s", tl.Name, filepath.Base(opts.TrainGolden))
	for _, v := range vs {
		cell := v.Key.Metric
		if v.Key.Step > 0 {
			cell = fmt.Sprintf("%s @ step %d", v.Key.Metric, v.Key.Step)
		}
		in.Verdicts = append(in.Verdicts, VerdictRow{Check: check, Cell: cell, Value: v.Value, Expected: v.Expected,
			Tolerance: v.Tolerance, P: v.P, Status: v.Status, Detail: v.Detail})
	}
	return nil
}

// addBench reads the bench results file (bench.json of medbench bench).
func addBench(in *Input, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var rep bench.Report
	if err := json.Unmarshal(utf8bom.Trim(b), &rep); err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	for _, r := range rep.Results {
		in.Bench = append(in.Bench, BenchRow{Name: r.Name, SamplesPerSec: r.SamplesPerSec.Median, TokensPerSec: r.TokensPerSec.Median,
			LatencyP50MS: r.P50MS, LatencyP90MS: r.P90MS, SpreadPct: r.SamplesPerSec.SpreadPct, Device: r.Runner.Device,
			Machine: fmt.Sprintf("%s/%s %d CPUs", r.Machine.OS, r.Machine.Arch, r.Machine.CPUs)})
	}
	return nil
}

func hasPrompt(r *records.Run, p string) bool {
	for _, s := range r.Samples {
		if s.Prompt == p {
			return true
		}
	}
	return false
}

// commonPrompt is the prompt compared across runs a and b: complex if both
// hold it, else simple, else the first of a's prompts that b holds ("" for
// none).
func commonPrompt(a, b *records.Run) string {
	for _, p := range []string{"complex", "simple"} {
		if hasPrompt(a, p) && hasPrompt(b, p) {
			return p
		}
	}
	for _, s := range a.Samples {
		if hasPrompt(b, s.Prompt) {
			return s.Prompt
		}
	}
	return ""
}

// fromComparison converts a golden.Comparison; images of discordant samples
// are looked up in run (the A side).
func fromComparison(title string, c *golden.Comparison, run *records.Run) Comparison {
	images := map[string]string{}
	for _, s := range run.Samples {
		images[s.Modality+"/"+s.ID] = s.Image
	}
	rc := Comparison{Title: title, A: c.A, B: c.B}
	if c.Intersection() {
		rc.Note = fmt.Sprintf("Compared on the intersection of the two sample sets (%d items only in %s, %d only in %s excluded).", c.OnlyA, c.A, c.OnlyB, c.B)
	}
	for _, r := range append(append([]golden.CompareRow(nil), c.Rows...), c.Pooled) {
		rc.Rows = append(rc.Rows, DeltaRow{Modality: r.Modality, N: r.N, AccA: r.AccA, AccB: r.AccB, Delta: r.Delta, Lo: r.Lo, Hi: r.Hi,
			B: r.B, C: r.C, P: r.P, PHolm: r.PHolm, MDE: r.MDE, Verdict: r.Verdict})
	}
	for _, d := range c.Discordant {
		rc.Discordant = append(rc.Discordant, Discordant{ID: d.ID, Modality: d.Modality, Question: d.Question, Image: images[d.Modality+"/"+d.ID],
			OutputA: d.OutputA, OutputB: d.OutputB, CorrectA: d.CorrectA, CorrectB: d.CorrectB, Solution: d.Solution})
	}
	return rc
}
