package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/bench"
	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/grpo"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/reports"

	"github.com/medbench/medbench/internal/utf8bom"
)

func init() { register(reportCommand) }

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "write report.pdf, report.md, plots/*.png|svg and tables/*.csv|html from run records",
		Description: `Builds a report from one or more run directories (medbench eval --out), an
optional training directory (medbench train ... --out, or train import), bench
results (medbench bench --out FILE) and a golden table.

With several --run, the first is the baseline: each later run is compared with
it (paired, per modality), and the accuracy-across-runs plot shows them in the
order given (e.g. checkpoints). A run that holds two prompts also gets the
prompt ablation (--prompts, default simple,complex when both are present).
With --golden, the last run is checked against the table (verdict page) and
golden values are drawn over the accuracy bars.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "run", Usage: "run directory (repeatable; the first is the baseline)"},
			&cli.StringSliceFlag{Name: "name", Usage: "label for each --run, in order (default: directory names)"},
			&cli.StringFlag{Name: "train", Usage: "training directory holding metrics.jsonl"},
			&cli.StringFlag{Name: "train-golden", Usage: "golden table of the training run: checked (a verdict on page 1) and drawn on the curves"},
			&cli.StringFlag{Name: "train-model", Usage: "--train-golden model to select (when the table holds several)"},
			&cli.StringFlag{Name: "train-dataset", Usage: "--train-golden dataset to select (when the table holds several)"},
			&cli.StringFlag{Name: "bench", Usage: "bench results file (bench.json from medbench bench)"},
			&cli.StringFlag{Name: "golden", Usage: "golden table to check the last run (or --check-run) against and to mark on plots"},
			&cli.StringFlag{Name: "check-run", Usage: "run `DIR` to check against --golden (default: the last --run; it need not be a --run)"},
			&cli.StringFlag{Name: "model", Usage: "golden table model to select (when the table holds several)"},
			&cli.StringFlag{Name: "dataset", Usage: "golden table dataset to select (when the table holds several)"},
			&cli.StringFlag{Name: "prompts", Usage: "prompt ablation within the first run, as A,B (default simple,complex when both ran)"},
			&cli.StringFlag{Name: "prompt", Usage: "prompt whose samples are compared across runs (default: complex if present, else the first)"},
			&cli.StringFlag{Name: "policy", Value: "strict", Usage: "scoring policy for comparisons"},
			&cli.IntFlag{Name: "gallery", Value: 3, Usage: "gallery samples per modality (negative: none)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "paired-bootstrap seed"},
			&cli.StringFlag{Name: "title", Value: "medbench report", Usage: "report title"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output directory"},
		},
		Action: func(c *cli.Context) error {
			in, err := buildReportInput(c.Context, reportArgs{
				Runs: c.StringSlice("run"), Names: c.StringSlice("name"), Train: c.String("train"), TrainGolden: c.String("train-golden"),
				Bench: c.String("bench"), Golden: c.String("golden"), Model: c.String("model"), Dataset: c.String("dataset"),
				Prompts: c.String("prompts"), Prompt: c.String("prompt"), Policy: c.String("policy"), Seed: c.Uint64("seed"),
				Title: c.String("title"), Gallery: c.Int("gallery"), CheckRun: c.String("check-run"),
				TrainModel: c.String("train-model"), TrainDataset: c.String("train-dataset"),
			})
			if err != nil {
				return inputErr(err)
			}
			out, err := reports.Write(c.Context, *in, c.String("out"))
			if err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "report: %s (%d pages)\nmarkdown: %s\nplots: %d in %s\ntables: %d in %s\n",
				out.PDF, out.Pages, out.Markdown, len(out.Plots), filepath.Join(c.String("out"), "plots"), len(out.Tables), filepath.Join(c.String("out"), "tables"))
			return nil
		},
	}
}

type reportArgs struct {
	Runs, Names                                       []string
	Train, TrainGolden, Bench, Golden, Model, Dataset string
	Prompts, Prompt, Policy, Title                    string
	CheckRun, TrainModel, TrainDataset                string
	Seed                                              uint64
	Gallery                                           int
}

// buildReportInput reads the inputs and computes verdicts and comparisons.
func buildReportInput(ctx context.Context, a reportArgs) (*reports.Input, error) {
	in := &reports.Input{Title: a.Title, Version: version, RunNames: a.Names, GalleryPerModality: a.Gallery}
	if a.Gallery == 0 {
		in.GalleryPerModality = -1
	}
	for _, d := range a.Runs {
		r, err := records.ReadRun(d)
		if err != nil {
			return nil, err
		}
		in.Runs = append(in.Runs, r)
	}
	if len(in.Runs) == 0 && a.Train == "" && a.Bench == "" {
		return nil, fmt.Errorf("report: give at least one of --run, --train, --bench")
	}
	label := func(i int) string {
		if i < len(a.Names) && a.Names[i] != "" {
			return a.Names[i]
		}
		return filepath.Base(filepath.Clean(in.Runs[i].Dir))
	}
	if a.Golden != "" {
		if len(in.Runs) == 0 {
			return nil, fmt.Errorf("report: --golden needs a --run to check")
		}
		t, err := golden.Load(a.Golden)
		if err != nil {
			return nil, err
		}
		last := in.Runs[len(in.Runs)-1]
		var base *records.Run
		if len(in.Runs) > 1 {
			base = in.Runs[0]
		}
		checked := label(len(in.Runs) - 1)
		if a.CheckRun != "" {
			if last, err = records.ReadRun(a.CheckRun); err != nil {
				return nil, err
			}
			base, checked = nil, filepath.Base(filepath.Clean(a.CheckRun))
		}
		vs, err := golden.CheckRun(last, t, golden.CheckOptions{Baseline: base, Model: a.Model, Dataset: a.Dataset})
		if err != nil {
			return nil, err
		}
		check := fmt.Sprintf("run %s against %s", checked, filepath.Base(a.Golden))
		for _, v := range vs {
			in.Verdicts = append(in.Verdicts, reports.VerdictRow{Check: check,
				Cell:  fmt.Sprintf("%s / %s / %s / %s", v.Key.Modality, v.Key.Prompt, v.Key.Policy, v.Key.Metric),
				Value: v.Value, Expected: v.Expected, Tolerance: v.Tolerance, P: v.P, Status: v.Status, Detail: v.Detail})
		}
		for _, r := range t.Rows {
			if a.CheckRun != "" {
				break // the table describes another run's data: no marks on these runs' plots
			}
			if r.Metric != "accuracy" || (a.Model != "" && r.Model != a.Model) || (a.Dataset != "" && r.Dataset != a.Dataset) {
				continue
			}
			lo, hi := toleranceBand(r.Value, r.Tolerance)
			in.Golden = append(in.Golden, reports.GoldenMark{Modality: r.Modality, Prompt: r.Prompt, Policy: r.Policy,
				Value: r.Value, Low: lo, High: hi, Label: r.Model})
		}
	}
	opts := golden.CompareOptions{Policy: a.Policy, Seed: a.Seed}
	if len(in.Runs) > 0 {
		// Prompt ablation within the first run.
		pa, pb := "simple", "complex"
		explicit := a.Prompts != ""
		if explicit {
			parts := strings.Split(a.Prompts, ",")
			if len(parts) != 2 {
				return nil, fmt.Errorf("report: --prompts wants two prompts A,B, got %q", a.Prompts)
			}
			pa, pb = strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		}
		if explicit || (hasPrompt(in.Runs[0], pa) && hasPrompt(in.Runs[0], pb)) {
			cmp, err := golden.Compare(ctx, golden.Side{Run: in.Runs[0], Prompt: pa, Label: pa}, golden.Side{Run: in.Runs[0], Prompt: pb, Label: pb}, opts)
			if err != nil {
				return nil, err
			}
			in.Comparisons = append(in.Comparisons, toReportComparison(fmt.Sprintf("Prompt ablation in %s: %s vs %s (%s scoring)", label(0), pa, pb, opts.Policy), cmp, in.Runs[0]))
		}
		for i := 1; i < len(in.Runs); i++ {
			p := a.Prompt
			if p == "" {
				p = commonPrompt(in.Runs[0], in.Runs[i])
			}
			if p == "" {
				return nil, fmt.Errorf("report: runs %s and %s share no prompt", in.Runs[0].Dir, in.Runs[i].Dir)
			}
			cmp, err := golden.Compare(ctx, golden.Side{Run: in.Runs[0], Prompt: p, Label: label(0)}, golden.Side{Run: in.Runs[i], Prompt: p, Label: label(i)}, opts)
			if err != nil {
				return nil, err
			}
			in.Comparisons = append(in.Comparisons, toReportComparison(fmt.Sprintf("%s vs %s (%s prompt, %s scoring)", label(0), label(i), p, opts.Policy), cmp, in.Runs[0]))
		}
	}
	if a.Train != "" {
		ms, err := grpo.ReadMetrics(filepath.Join(a.Train, grpo.MetricsFile))
		if err != nil {
			return nil, err
		}
		tl := &reports.TrainLog{Name: filepath.Base(filepath.Clean(a.Train)), Bands: map[string][2]float64{}}
		for _, m := range ms {
			tl.Steps = append(tl.Steps, map[string]float64(m))
		}
		if a.TrainGolden != "" {
			t, err := golden.Load(a.TrainGolden)
			if err != nil {
				return nil, err
			}
			if t, err = t.Select(a.TrainModel, a.TrainDataset); err != nil {
				return nil, fmt.Errorf("%s: %w", a.TrainGolden, err)
			}
			for _, r := range t.Rows {
				if r.Tolerance.Kind == golden.KindNotWorse {
					continue
				}
				lo, hi := toleranceBand(r.Value, r.Tolerance)
				if r.Step == 0 {
					tl.Bands[r.Metric] = [2]float64{lo, hi}
				} else {
					tl.Marks = append(tl.Marks, reports.TrainGoldenMark{Metric: r.Metric, Step: float64(r.Step), Value: r.Value, Low: lo, High: hi})
				}
			}
			vs, err := grpo.CheckTrain(a.Train, a.TrainGolden, a.TrainModel, a.TrainDataset)
			if err != nil {
				return nil, err
			}
			check := fmt.Sprintf("training log %s against %s", filepath.Base(filepath.Clean(a.Train)), filepath.Base(a.TrainGolden))
			for _, v := range vs {
				cell := v.Key.Metric
				if v.Key.Step > 0 {
					cell = fmt.Sprintf("%s @ step %d", v.Key.Metric, v.Key.Step)
				}
				in.Verdicts = append(in.Verdicts, reports.VerdictRow{Check: check, Cell: cell, Value: v.Value, Expected: v.Expected,
					Tolerance: v.Tolerance, P: v.P, Status: v.Status, Detail: v.Detail})
			}
		}
		in.Train = tl
	}
	if a.Bench != "" {
		b, err := os.ReadFile(a.Bench)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		var rep bench.Report
		if err := json.Unmarshal(utf8bom.Trim(b), &rep); err != nil {
			return nil, fmt.Errorf("report: %s: %w", a.Bench, err)
		}
		for _, r := range rep.Results {
			in.Bench = append(in.Bench, reports.BenchRow{Name: r.Name, SamplesPerSec: r.SamplesPerSec.Median, TokensPerSec: r.TokensPerSec.Median,
				LatencyP50MS: r.P50MS, LatencyP90MS: r.P90MS, SpreadPct: r.SamplesPerSec.SpreadPct, Device: r.Runner.Device,
				Machine: fmt.Sprintf("%s/%s %d CPUs", r.Machine.OS, r.Machine.Arch, r.Machine.CPUs)})
		}
	}
	return in, nil
}

// toleranceBand is the interval a tolerance accepts around v.
func toleranceBand(v float64, t golden.Tolerance) (lo, hi float64) {
	d := 0.0
	switch t.Kind {
	case golden.KindAbsolute:
		d = t.Value
	case golden.KindRelative:
		d = math.Abs(v) * t.Value
	default:
		return v, v
	}
	lo, hi = v-d, v+d
	switch t.Direction {
	case golden.DirHigher:
		hi = v
	case golden.DirLower:
		lo = v
	}
	return lo, hi
}

func hasPrompt(r *records.Run, p string) bool {
	for _, s := range r.Samples {
		if s.Prompt == p {
			return true
		}
	}
	return false
}

func commonPrompt(a, b *records.Run) string {
	first := ""
	for _, p := range []string{"complex", "simple"} {
		if hasPrompt(a, p) && hasPrompt(b, p) {
			return p
		}
	}
	for _, s := range a.Samples {
		if hasPrompt(b, s.Prompt) {
			first = s.Prompt
			break
		}
	}
	return first
}

// toReportComparison converts a golden.Comparison; images of discordant
// samples are looked up in run (the A side).
func toReportComparison(title string, c *golden.Comparison, run *records.Run) reports.Comparison {
	images := map[string]string{}
	for _, s := range run.Samples {
		images[s.Modality+"/"+s.ID] = s.Image
	}
	rc := reports.Comparison{Title: title, A: c.A, B: c.B}
	if c.Intersection() {
		rc.Note = fmt.Sprintf("Compared on the intersection of the two sample sets (%d items only in %s, %d only in %s excluded).", c.OnlyA, c.A, c.OnlyB, c.B)
	}
	for _, r := range append(append([]golden.CompareRow(nil), c.Rows...), c.Pooled) {
		rc.Rows = append(rc.Rows, reports.DeltaRow{Modality: r.Modality, N: r.N, AccA: r.AccA, AccB: r.AccB, Delta: r.Delta, Lo: r.Lo, Hi: r.Hi,
			B: r.B, C: r.C, P: r.P, PHolm: r.PHolm, MDE: r.MDE, Verdict: r.Verdict})
	}
	for _, d := range c.Discordant {
		rc.Discordant = append(rc.Discordant, reports.Discordant{ID: d.ID, Modality: d.Modality, Question: d.Question, Image: images[d.Modality+"/"+d.ID],
			OutputA: d.OutputA, OutputB: d.OutputB, CorrectA: d.CorrectA, CorrectB: d.CorrectB, Solution: d.Solution})
	}
	return rc
}
