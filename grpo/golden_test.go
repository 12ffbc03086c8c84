package grpo

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/golden"
)

// goldenPath is the committed table of the tiny run's first steps. It is
// generated, never hand-edited:
//
//	MEDBENCH_GRPO_BLESS=1 go test ./grpo -run TestGoldenTiny
const goldenPath = "../golden/grpo-tiny.json"

// goldenSteps is how many first steps the table pins.
const goldenSteps = 3

// Golden row keys: the model, and the datasets of tinyRun, of the
// accuracy-rise task (TestAccuracyRise's defaults) and of medbench demo.
const (
	goldenModel       = "fixture-tiny-seed1"
	goldenTinyDataset = "synth-count-24-seed7"
	goldenTaskDataset = "synth-count-480-seed7-task"
	goldenDemoDataset = "synth-count-demo-train400-seed11-test96-seed12"
)

// bandRows are the final-accuracy bands of the accuracy-rise task and of
// the demo: eval accuracy at their last step (200) must stay ≥ 0.80 (the
// task's bar); the value is the measured one.
func bandRows() []golden.Row {
	row := func(dataset, source string) golden.Row {
		return golden.Row{
			Key:       golden.Key{Model: goldenModel, Dataset: dataset, Modality: "train", Prompt: "short", Policy: "grpo", Metric: "eval_accuracy", Step: 200},
			Value:     1.0,
			Tolerance: golden.Tolerance{Kind: golden.KindAbsolute, Value: 0.2, Direction: golden.DirHigher},
			Provenance: golden.Provenance{Source: source, Verified: true,
				Note: "band: final eval accuracy >= 0.80 (the accuracy-rise bar); value measured on the 2-core dev VM, 2026-11-27"},
		}
	}
	return []golden.Row{
		row(goldenTaskDataset, "make grpo-task (TestAccuracyRise defaults, 80 eval items): 0.15 -> 1.0 on the random-norm fixture, 2026-12-08 (0.1875 -> 1.0 before)"),
		row(goldenDemoDataset, "medbench demo, train/grpo (96 eval items, short prompt): 0.3125 -> 1.0"),
	}
}

// tinyRun is the deterministic tiny configuration behind golden/grpo-tiny.json:
// the tiny fixture (seed 1), 24 SynthCount prompts (seed 7), SFT on
// the format with every answer letter (1 epoch, lr 3e-3), then GRPO with
// G 4, 2 prompts per step in 2 micro-batches, lr 1e-3 decaying over 50
// steps, β 0.04, completions of at most 24 tokens, seed 1, stopped after
// goldenSteps steps.
func tinyRun(t *testing.T, stopAfter int) (out string, ms []Metrics) {
	t.Helper()
	model, _ := tinyModel(t)
	dir := t.TempDir()
	path, err := datasets.SynthCount(t.Context(), filepath.Join(dir, "data"), 24, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := datasets.LoadJSON(path, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sres, err := SFT(ctx, SFTConfig{ModelDir: model, Samples: samples, Out: filepath.Join(dir, "sft"), Answers: "all",
		Epochs: 1, Batch: 4, LR: 3e-3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "grpo")
	if _, err := Train(ctx, Config{ModelDir: sres.FinalDir, Samples: samples, Out: out, NumGenerations: 4, PromptsPerStep: 2,
		GradAccum: 2, MaxSteps: 50, StopAfter: stopAfter, LR: 1e-3, Beta: 0.04, MaxCompletionLength: 24, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ms, err = ReadMetrics(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return out, ms
}

// goldenTolerance: discrete metrics (rewards, lengths, fractions, the LR)
// must match exactly; continuous ones within float noise across CPUs.
func goldenTolerance(metric string) golden.Tolerance {
	switch metric {
	case "loss", "kl":
		return golden.Tolerance{Kind: golden.KindAbsolute, Value: 1e-5, Direction: golden.DirBoth}
	case "grad_norm", "entropy":
		return golden.Tolerance{Kind: golden.KindRelative, Value: 1e-3, Direction: golden.DirBoth}
	}
	return golden.Tolerance{Kind: golden.KindAbsolute, Value: 1e-9, Direction: golden.DirBoth}
}

var goldenMetrics = []string{
	"reward", "reward_std", "rewards/accuracy_reward", "rewards/format_reward", "frac_reward_zero_std",
	"completion_length", "completions/clipped_ratio", "learning_rate", "epoch", "loss", "kl", "grad_norm", "entropy",
}

// TestGoldenTiny reruns the first steps of the tiny configuration and checks
// them against golden/grpo-tiny.json with CheckTrain (MEDBENCH_GRPO_BLESS=1
// regenerates the table instead).
func TestGoldenTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny fixture (~30 s)")
	}
	out, ms := tinyRun(t, goldenSteps)
	if os.Getenv("MEDBENCH_GRPO_BLESS") != "" {
		by := StepMetrics(ms)
		tab := &golden.Table{Format: golden.FormatID, Version: golden.Version,
			Description: "GRPO on the tiny fixture: exact metrics of the first steps (grpo.tinyRun)",
			GeneratedBy: "MEDBENCH_GRPO_BLESS=1 go test ./grpo -run TestGoldenTiny"}
		for step := 1; step <= goldenSteps; step++ {
			names := append([]string(nil), goldenMetrics...)
			sort.Strings(names)
			for _, m := range names {
				v, ok := by[step][m]
				if !ok {
					t.Fatalf("step %d has no %s", step, m)
				}
				tab.Rows = append(tab.Rows, golden.Row{
					Key:   golden.Key{Model: goldenModel, Dataset: goldenTinyDataset, Modality: "train", Prompt: "train", Policy: "grpo", Metric: m, Step: step},
					Value: v, Tolerance: goldenTolerance(m),
					Provenance: golden.Provenance{Source: "medbench grpo tinyRun, deterministic (seeded sampling, sequential GoMLX ops)", Verified: true},
				})
			}
		}
		tab.Rows = append(tab.Rows, bandRows()...)
		if err := tab.Save(goldenPath); err != nil {
			t.Fatal(err)
		}
		return
	}
	vs, err := CheckTrain(out, goldenPath, goldenModel, goldenTinyDataset)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != goldenSteps*len(goldenMetrics) {
		t.Errorf("%d verdicts", len(vs))
	}
	for _, v := range vs {
		if v.Failed() {
			t.Errorf("%s: %v, golden %v (%s): %s", v.Key, v.Value, v.Expected, v.Tolerance, v.Detail)
		}
	}
}
