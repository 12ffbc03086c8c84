package reports

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/grpo"
	"github.com/medbench/medbench/records"
)

// saveRun writes run's manifest, samples and summary into run.Dir.
func saveRun(t *testing.T, run *records.Run) string {
	t.Helper()
	save := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(run.Dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	save(records.ManifestFile, run.Manifest)
	save(records.SummaryFile, run.Summary)
	var lines []string
	for _, s := range run.Samples {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(filepath.Join(run.Dir, records.SamplesFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return run.Dir
}

func saveTable(t *testing.T, rows ...golden.Row) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "g.json")
	if err := (&golden.Table{Format: golden.FormatID, Version: golden.Version, Rows: rows}).Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func accRow(model, mod, metric string, step int, v float64, tol golden.Tolerance) golden.Row {
	return golden.Row{Key: golden.Key{Model: model, Dataset: "D", Modality: mod, Prompt: "complex", Policy: "strict", Metric: metric, Step: step},
		Value: v, Tolerance: tol, Provenance: golden.Provenance{Source: "test"}}
}

// TestBuildRunsGoldenComparisons: two runs holding both prompts give the
// prompt ablation of the first and the first-vs-second comparison; the
// golden table checks the last run and marks its accuracy rows with the
// band golden.Tolerance.Band accepts.
func TestBuildRunsGoldenComparisons(t *testing.T) {
	dir := t.TempDir()
	before := makeRun(t, filepath.Join(dir, "before"), 10, map[string]float64{"complex": 0.3, "simple": 0.25}, 1)
	a := saveRun(t, before)
	after := makeRun(t, filepath.Join(dir, "after"), 10, map[string]float64{"complex": 0.85, "simple": 0.6}, 2)
	for i := range after.Samples { // the same items: the same images
		after.Samples[i].Image = before.Samples[i].Image
	}
	b := saveRun(t, after)
	hb := golden.Tolerance{Kind: golden.KindAbsolute, Value: 0.25, Direction: golden.DirHigher}
	g := saveTable(t, accRow("M", "MRI", "accuracy", 0, 0.75, hb), accRow("M", "CT", "parse_failure_rate", 0, 0, hb),
		accRow("N", "CT", "accuracy", 0, 0.5, golden.Tolerance{Kind: golden.KindRelative, Value: 0.2, Direction: golden.DirBoth}))
	in, err := Build(context.Background(), Options{Runs: []string{a, b}, Names: []string{"", "ckpt"}, Golden: g, Model: "M",
		Policy: "strict", Seed: 1, Title: "t", Version: "v", Gallery: 0})
	if err != nil {
		t.Fatal(err)
	}
	if in.GalleryPerModality != -1 || in.Title != "t" || in.Version != "v" || len(in.Runs) != 2 {
		t.Errorf("input %+v", in)
	}
	if len(in.Comparisons) != 2 || in.Comparisons[0].Title != "Prompt ablation in before: simple vs complex (strict scoring)" ||
		in.Comparisons[1].Title != "before vs ckpt (complex prompt, strict scoring)" {
		t.Fatalf("comparisons %+v", in.Comparisons)
	}
	if c := in.Comparisons[1]; c.A != "before" || c.B != "ckpt" || len(c.Rows) != 4 || c.Rows[3].Modality != "all" {
		t.Errorf("run comparison %s/%s, rows %+v", c.A, c.B, c.Rows)
	}
	images := map[string]string{}
	for _, s := range in.Runs[0].Samples {
		images[s.Modality+"/"+s.ID] = s.Image
	}
	withImage := 0
	for _, d := range in.Comparisons[1].Discordant {
		if d.Image != images[d.Modality+"/"+d.ID] {
			t.Errorf("discordant %s/%s: image %q, want the A side's %q", d.Modality, d.ID, d.Image, images[d.Modality+"/"+d.ID])
		}
		if d.Image != "" {
			withImage++
		}
	}
	if len(in.Comparisons[1].Discordant) == 0 || withImage == 0 {
		t.Errorf("%d discordant items, %d with images", len(in.Comparisons[1].Discordant), withImage)
	}
	// Model M: 2 rows checked against the last run, one accuracy mark.
	if len(in.Verdicts) != 2 || in.Verdicts[0].Check != "run ckpt against g.json" || in.Verdicts[0].Cell != "MRI / complex / strict / accuracy" {
		t.Errorf("verdicts %+v", in.Verdicts)
	}
	if len(in.Golden) != 1 || in.Golden[0] != (GoldenMark{Modality: "MRI", Prompt: "complex", Policy: "strict", Value: 0.75, Low: 0.5, High: 0.75, Label: "M"}) {
		t.Errorf("golden marks %+v", in.Golden)
	}
	// --check-run: the verdicts name it, and the table marks no plot.
	in, err = Build(context.Background(), Options{Runs: []string{a}, Golden: g, Model: "N", CheckRun: b, Prompts: "complex, simple", Policy: "strict", Gallery: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Golden) != 0 || len(in.Verdicts) != 1 || in.Verdicts[0].Check != "run after against g.json" || in.GalleryPerModality != 2 {
		t.Errorf("check-run: marks %+v verdicts %+v", in.Golden, in.Verdicts)
	}
	if len(in.Comparisons) != 1 || in.Comparisons[0].Title != "Prompt ablation in before: complex vs simple (strict scoring)" {
		t.Errorf("explicit prompts: %+v", in.Comparisons)
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	a := saveRun(t, makeRun(t, filepath.Join(dir, "a"), 4, map[string]float64{"complex": 0.5, "simple": 0.5}, 1))
	other := makeRun(t, filepath.Join(dir, "other"), 4, map[string]float64{"complex": 0.5}, 2)
	for i, smp := range other.Samples {
		other.Samples[i].Prompt = map[string]string{"complex": "x", "simple": "y"}[smp.Prompt]
	}
	o := saveRun(t, other)
	badBench := filepath.Join(dir, "bench.json")
	os.WriteFile(badBench, []byte(`{"results": [`), 0o644)
	for _, tt := range []struct {
		name string
		opts Options
		want string
	}{
		{"nothing", Options{}, "report: give at least one of --run, --train, --bench"},
		{"golden without run", Options{Bench: badBench, Golden: "g.json"}, "report: --golden needs a --run to check"},
		{"prompts", Options{Runs: []string{a}, Prompts: "simple"}, `report: --prompts wants two prompts A,B, got "simple"`},
		{"no shared prompt", Options{Runs: []string{a, o}}, "report: runs " + a + " and " + o + " share no prompt"},
		{"absent run", Options{Runs: []string{filepath.Join(dir, "absent")}}, "absent"},
		{"bad bench", Options{Bench: badBench}, "report: " + badBench + ": "},
		{"absent bench", Options{Bench: filepath.Join(dir, "nope.json")}, "nope.json"},
		{"absent training log", Options{Train: filepath.Join(dir, "train")}, grpo.MetricsFile},
	} {
		if _, err := Build(context.Background(), tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestBuildTrainAndBench: a training log with its golden table gives the
// curves' bands (step 0 rows) and marks (step rows) and the training
// verdicts; bench.json gives one row per result.
func TestBuildTrainAndBench(t *testing.T) {
	train := filepath.Join(t.TempDir(), "grpo-run")
	if err := os.MkdirAll(train, 0o755); err != nil {
		t.Fatal(err)
	}
	ms := []grpo.Metrics{{"step": 1, "reward": 0.5}, {"step": 2, "reward": 0.9}, {"step": 2, "eval_accuracy": 0.875}}
	if err := grpo.WriteMetricsFile(filepath.Join(train, grpo.MetricsFile), ms); err != nil {
		t.Fatal(err)
	}
	both := golden.Tolerance{Kind: golden.KindAbsolute, Value: 0.25, Direction: golden.DirBoth}
	tg := saveTable(t, accRow("tiny", "all", "reward", 0, 0.75, both), accRow("tiny", "all", "eval_accuracy", 2, 0.5, both),
		accRow("tiny", "all", "reward", 2, 0.5, golden.Tolerance{Kind: golden.KindNotWorse, Alpha: 0.05, Direction: golden.DirHigher}))
	bj := filepath.Join(t.TempDir(), "bench.json")
	os.WriteFile(bj, []byte("\uFEFF"+`{"results":[{"name":"cpu b=1","runner":{"device":"cpu"},"samples_per_sec":{"median":1.5,"spread_pct":2},
		"tokens_per_sec":{"median":30},"latency_p50_ms":800,"latency_p90_ms":900,"machine":{"os":"linux","arch":"amd64","cpus":2}}]}`), 0o644)
	in, err := Build(context.Background(), Options{Train: train, TrainGolden: tg, Bench: bj})
	if err != nil {
		t.Fatal(err)
	}
	tl := in.Train
	if tl == nil || tl.Name != "grpo-run" || len(tl.Steps) != 3 || tl.Steps[2]["eval_accuracy"] != 0.875 {
		t.Fatalf("train log %+v", tl)
	}
	if len(tl.Bands) != 1 || tl.Bands["reward"] != [2]float64{0.5, 1} {
		t.Errorf("bands %v", tl.Bands)
	}
	if len(tl.Marks) != 1 || tl.Marks[0] != (TrainGoldenMark{Metric: "eval_accuracy", Step: 2, Value: 0.5, Low: 0.25, High: 0.75}) {
		t.Errorf("marks %+v", tl.Marks)
	}
	if len(in.Verdicts) != 3 || in.Verdicts[1].Check != "training log grpo-run against g.json" || in.Verdicts[1].Cell != "eval_accuracy @ step 2" ||
		in.Verdicts[0].Cell != "reward" || in.Verdicts[0].Status != golden.StatusMissing || in.Verdicts[1].Status != golden.StatusRegression {
		t.Errorf("verdicts %+v", in.Verdicts)
	}
	want := BenchRow{Name: "cpu b=1", SamplesPerSec: 1.5, TokensPerSec: 30, LatencyP50MS: 800, LatencyP90MS: 900, SpreadPct: 2, Device: "cpu", Machine: "linux/amd64 2 CPUs"}
	if len(in.Bench) != 1 || in.Bench[0] != want {
		t.Errorf("bench %+v", in.Bench)
	}
}

func TestCommonPrompt(t *testing.T) {
	run := func(prompts ...string) *records.Run {
		r := &records.Run{}
		for _, p := range prompts {
			r.Samples = append(r.Samples, records.ScoredSample{Prompt: p})
		}
		return r
	}
	for _, tt := range []struct {
		a, b *records.Run
		want string
	}{
		{run("simple", "complex"), run("complex", "simple"), "complex"},
		{run("simple", "complex"), run("simple"), "simple"},
		{run("x", "y", "simple"), run("y", "x"), "x"},
		{run("x"), run("y"), ""},
	} {
		if got := commonPrompt(tt.a, tt.b); got != tt.want {
			t.Errorf("commonPrompt(%v, %v) = %q, want %q", tt.a.Samples, tt.b.Samples, got, tt.want)
		}
	}
}
