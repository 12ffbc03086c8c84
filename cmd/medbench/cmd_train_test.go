package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/grpo"
	"github.com/medbench/medbench/records"
)

// TestTrainCLI runs `medbench train sft`, `train grpo` (with eval) and then
// `medbench eval` on the trained final/ model: the eval run reproduces the
// trainer's final eval accuracy and outputs exactly. It also converts
// MedVLM-R1's trainer_state excerpt with `train import`.
func TestTrainCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny fixture")
	}
	dir := t.TempDir()
	model := tinyFixture(t)
	train, err := datasets.SynthCount(t.Context(), filepath.Join(dir, "train"), 8, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := datasets.SynthCount(t.Context(), filepath.Join(dir, "eval"), 6, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	sft := filepath.Join(dir, "sft")
	if code := run([]string{"medbench", "train", "sft", "--model", model, "--data", train, "--out", sft, "--answers", "all",
		"--lr", "3e-3", "--quiet"}); code != 0 {
		t.Fatalf("train sft: exit %d", code)
	}
	out := filepath.Join(dir, "grpo")
	if code := run([]string{"medbench", "train", "grpo", "--model", filepath.Join(sft, "final"), "--data", train, "--out", out,
		"--max-steps", "2", "--lr", "1e-3", "--num-generations", "3", "--prompts-per-step", "2", "--grad-accum", "1",
		"--max-completion-length", "16", "--eval-data", eval, "--eval-max-new-tokens", "16", "--save-steps", "1", "--quiet"}); code != 0 {
		t.Fatalf("train grpo: exit %d", code)
	}
	for _, p := range []string{"metrics.jsonl", "train_manifest.json", "final/onnx/decoder_model_merged.onnx", "final/tokenizer.json",
		"checkpoints/step-1/optimizer.gob", "eval/final/samples.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("missing %s", p)
		}
	}
	ev := filepath.Join(dir, "evalrun")
	if code := run([]string{"medbench", "eval", "--runner", "onnx", "--model", filepath.Join(out, "final"), "--data", eval,
		"--prompt", "complex", "--policy", "strict", "--max-new-tokens", "16", "--out", ev}); code != 0 {
		t.Fatalf("eval: exit %d", code)
	}
	accT, corrT, err := grpo.EvalAccuracy(filepath.Join(out, "eval", "final"))
	if err != nil {
		t.Fatal(err)
	}
	accE, corrE, err := grpo.EvalAccuracy(ev)
	if err != nil {
		t.Fatal(err)
	}
	if accT != accE || len(corrT) != len(corrE) {
		t.Errorf("trainer's final eval accuracy %v, medbench eval %v", accT, accE)
	}
	st, _, _ := records.ReadSamples(filepath.Join(out, "eval", "final", "samples.jsonl"))
	se, _, _ := records.ReadSamples(filepath.Join(ev, "samples.jsonl"))
	outputs := map[int]string{}
	for _, s := range st {
		outputs[s.Index] = s.Output
	}
	for _, s := range se {
		if outputs[s.Index] != s.Output {
			t.Errorf("sample %d: trainer eval %q, medbench eval %q", s.Index, outputs[s.Index], s.Output)
		}
	}
	imp := filepath.Join(dir, "imported")
	if code := run([]string{"medbench", "train", "import", "--trainer-state", "../../grpo/testdata/trainer_state_medvlm_r1.json", "--out", imp}); code != 0 {
		t.Fatalf("train import: exit %d", code)
	}
	ms, err := grpo.ReadMetrics(filepath.Join(imp, grpo.MetricsFile))
	if err != nil || len(ms) != 3 {
		t.Errorf("imported %d lines, %v", len(ms), err)
	}
	for _, args := range [][]string{
		{"medbench", "train", "grpo", "--model", model, "--data", train, "--out", out, "--loss-type", "ppo"},
		{"medbench", "train", "grpo", "--model", model, "--data", filepath.Join(dir, "nope.json"), "--out", out},
		{"medbench", "train", "import", "--trainer-state", filepath.Join(dir, "nope.json"), "--out", imp},
		{"medbench", "train", "sft", "--model", model, "--data", train, "--out", sft, "--completion", "no placeholder"},
	} {
		if code := run(args); code != 2 {
			t.Errorf("%v: exit %d, want 2", args[2:], code)
		}
	}
}
