package grpo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/datasets"
)

func synthSamples(t *testing.T, dir string, n int) []datasets.Item {
	t.Helper()
	path, err := datasets.Synth(context.Background(), datasets.SynthOptions{Out: filepath.Join(dir, "data"), N: n, Seed: 7,
		MinSide: 56, MaxSide: 56, Formats: []string{"png"}, Modes: []string{"gray"}, YesNoEvery: -1, Modalities: []string{"MRI"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := datasets.LoadJSON(path, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stripTime(ms []Metrics) []Metrics {
	for _, m := range ms {
		delete(m, "step_time")
	}
	return ms
}

func sameMetrics(t *testing.T, what string, a, b []Metrics) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d lines", what, len(a), len(b))
	}
	for i := range a {
		for k, v := range a[i] {
			if b[i][k] != v {
				t.Errorf("%s: step %d %s: %v vs %v", what, a[i].Step(), k, v, b[i][k])
			}
		}
		if len(a[i]) != len(b[i]) {
			t.Errorf("%s: step %d: %d vs %d metrics", what, a[i].Step(), len(a[i]), len(b[i]))
		}
	}
}

// TestTrainDeterministicResume: two runs with the same seed write identical
// metrics (step_time aside) and models; a run resumed from the step-1
// checkpoint reproduces step 2 exactly.
func TestTrainDeterministicResume(t *testing.T) {
	model, _ := tinyModel(t)
	dir := t.TempDir()
	samples := synthSamples(t, dir, 8)
	cfg := func(out string, resume bool) Config {
		return Config{ModelDir: model, Samples: samples, Out: out, NumGenerations: 3, PromptsPerStep: 2, GradAccum: 2,
			MaxSteps: 2, LR: 1e-3, MaxCompletionLength: 12, SaveSteps: 1, Seed: 5, Resume: resume, NumIterations: 1}
	}
	ctx := context.Background()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, out := range []string{a, b} {
		res, err := Train(ctx, cfg(out, false))
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != 2 {
			t.Fatalf("%d steps", res.Steps)
		}
	}
	ma, err := ReadMetrics(filepath.Join(a, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := ReadMetrics(filepath.Join(b, MetricsFile))
	sameMetrics(t, "rerun", stripTime(ma), stripTime(mb))
	if len(ma) != 2 || ma[0]["kl"] != 0 || ma[0]["learning_rate"] != LinearLR(1e-3, 1, 2, 0) {
		t.Errorf("metrics: %v", ma)
	}
	for _, k := range []string{"reward", "rewards/accuracy_reward", "reward/format_reward/mean", "completions/mean_length", "frac_reward_zero_std", "clip_ratio/region_mean", "entropy", "grad_norm"} {
		if _, ok := ma[1][k]; !ok {
			t.Errorf("metric %s missing", k)
		}
	}
	fa := initializer(t, filepath.Join(a, "final", "onnx", DecoderFile), "lm_head.weight")
	fb := initializer(t, filepath.Join(b, "final", "onnx", DecoderFile), "lm_head.weight")
	for i := range fa {
		if fa[i] != fb[i] {
			t.Fatalf("final weights differ at %d", i)
		}
	}
	// Identical runs write byte-identical checkpoints (optimizer.gob included).
	for _, ck := range []string{filepath.Join("checkpoints", "step-1"), "final"} {
		sameTree(t, filepath.Join(a, ck), filepath.Join(b, ck))
	}
	// Interrupt run b after step 1: drop its final model and step-2 line, resume.
	os.RemoveAll(filepath.Join(b, "final"))
	os.RemoveAll(filepath.Join(b, "checkpoints", "step-2"))
	if err := WriteMetricsFile(filepath.Join(b, MetricsFile), mb[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(ctx, cfg(b, true)); err != nil {
		t.Fatal(err)
	}
	mr, _ := ReadMetrics(filepath.Join(b, MetricsFile))
	sameMetrics(t, "resume", stripTime(ma), stripTime(mr))
}

// sameTree fails unless the two folders hold the same files with the same bytes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between identical runs (%s, %s)", rel, a, b)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("%s: %d files, %v", a, n, err)
	}
}
