package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/grpo"
)

// TestCheckTrain checks a training log against golden rows keyed by metric
// and step: pass (exit 0), regression (1), missing metric (1), bad input (2).
func TestCheckTrain(t *testing.T) {
	dir := t.TempDir()
	ms := []grpo.Metrics{
		{"step": 1, "reward": 0.5, "kl": 0},
		{"step": 2, "reward": 0.75, "kl": 0.001},
		{"step": 2, "eval_accuracy": 0.9},
	}
	if err := grpo.WriteMetricsFile(filepath.Join(dir, grpo.MetricsFile), ms); err != nil {
		t.Fatal(err)
	}
	row := func(metric string, step int, v, tol float64) golden.Row {
		return golden.Row{Key: golden.Key{Model: "tiny", Dataset: "synth", Modality: "all", Prompt: "train", Policy: "strict", Metric: metric, Step: step},
			Value: v, Tolerance: golden.Tolerance{Kind: golden.KindAbsolute, Value: tol, Direction: golden.DirBoth},
			Provenance: golden.Provenance{Source: "test"}}
	}
	write := func(name string, rows ...golden.Row) string {
		tb := &golden.Table{Format: "medbench-golden", Version: 1, Rows: rows}
		p := filepath.Join(dir, name)
		if err := tb.Save(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass := write("pass.json", row("reward", 1, 0.5, 0), row("kl", 2, 0.001, 1e-9), row("eval_accuracy", 2, 0.85, 0.1))
	if code, out := runCaptured(t, "check", "--train", dir, "--golden", pass); code != 0 || !strings.Contains(out, "3 passed") {
		t.Errorf("passing training check: exit %d\n%s", code, out)
	}
	regress := write("regress.json", row("reward", 2, 0.9, 0.05))
	if code, out := runCaptured(t, "check", "--train", dir, "--golden", regress); code != 1 {
		t.Errorf("regressing training check: exit %d\n%s", code, out)
	}
	missing := write("missing.json", row("reward", 7, 0.5, 0.1))
	if code, out := runCaptured(t, "check", "--train", dir, "--golden", missing); code != 1 || !strings.Contains(out, "missing") {
		t.Errorf("missing step: exit %d\n%s", code, out)
	}
	if code, _ := runCaptured(t, "check", "--train", filepath.Join(dir, "nope"), "--golden", pass); code != 2 {
		t.Errorf("unreadable training dir: exit %d, want 2", code)
	}
	if code, _ := runCaptured(t, "check", "--train", dir, "--run", dir, "--golden", pass); code != 2 {
		t.Errorf("--run and --train together: exit %d, want 2", code)
	}
	_ = os.Remove(pass)
}
