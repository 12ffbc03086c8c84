package grpo

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportTrainerStateMedVLMR1 imports the first three logged steps of
// MedVLM-R1's released trainer_state.json (testdata, values in
// docs/reference/medvlm-r1-seed.md#training-log) and checks them against the
// algorithm's own definitions.
func TestImportTrainerStateMedVLMR1(t *testing.T) {
	ms, err := ImportTrainerState("testdata/trainer_state_medvlm_r1.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("%d lines, want 3", len(ms))
	}
	for i, m := range ms {
		step := i + 1
		if m.Step() != step {
			t.Errorf("line %d: step %d", i, m.Step())
		}
		// The logged LR is the linear schedule with max_steps 800.
		if !near(m["learning_rate"], LinearLR(1e-6, step, 800, 0), 1e-9) {
			t.Errorf("step %d: lr %v", step, m["learning_rate"])
		}
		// Both schemes.
		if m["completions/mean_length"] != m["completion_length"] || m["reward/accuracy_reward/mean"] != m["rewards/accuracy_reward"] ||
			m["reward/format_reward/mean"] != m["rewards/format_reward"] {
			t.Errorf("step %d: aliases missing: %v", step, m)
		}
		// reward = Σ per-function means (to the 5 digits logged).
		if math.Abs(m["reward"]-m["rewards/accuracy_reward"]-m["rewards/format_reward"]) > 1e-5 {
			t.Errorf("step %d: reward %v ≠ accuracy + format", step, m["reward"])
		}
		// epoch = step / 400 steps per epoch.
		if !near(m["epoch"], float64(step)/400, 1e-12) {
			t.Errorf("step %d: epoch %v", step, m["epoch"])
		}
	}
	if ms[0]["grad_norm"] != 4.3187 || ms[1]["kl"] != 0.000407 {
		t.Errorf("values changed: %v", ms[:2])
	}
	// Round trip through metrics.jsonl.
	p := filepath.Join(t.TempDir(), MetricsFile)
	if err := WriteMetricsFile(p, ms); err != nil {
		t.Fatal(err)
	}
	back, err := ReadMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 3 || back[2]["reward_std"] != 0.435286 {
		t.Errorf("round trip: %v", back)
	}
}

func TestImportTrainerStateMerge(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ts.json")
	os.WriteFile(p, []byte(`{"log_history":[{"step":2,"loss":0.5,"reward/acc/mean":0.25,"completions/mean_length":7},
{"step":2,"eval_accuracy":0.8,"note":"x"},{"step":1,"loss":1}]}`), 0o644)
	ms, err := ImportTrainerState(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Step() != 1 || ms[1]["eval_accuracy"] != 0.8 || ms[1]["rewards/acc"] != 0.25 || ms[1]["completion_length"] != 7 {
		t.Errorf("merged: %v", ms)
	}
	for name, body := range map[string]string{
		"nolog":   `{"epoch":1}`,
		"nostep":  `{"log_history":[{"loss":1}]}`,
		"badstep": `{"log_history":[{"step":1.5}]}`,
		"json":    `{"log_history":[`,
	} {
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := ImportTrainerState(p); err == nil || !strings.Contains(err.Error(), "ts.json") {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
}

func TestStepStatsMetrics(t *testing.T) {
	s := StepStats{
		Step: 3, Epoch: 0.5, Loss: -0.1, GradNorm: 2, LearningRate: 1e-3,
		Names:    []string{"accuracy_reward", "format_reward"},
		Rewards:  [][]float64{{1, 0, 0.5, 0}, {1, 1, 0, 0}},
		GroupStd: []float64{0.5, 0.25}, FracZeroStd: 0,
		Lengths: []int{4, 6, 10, 10}, Terminated: []bool{true, true, false, false},
		ClipLow: []float64{0, 0.5}, ClipHigh: []float64{0.25, 0.75}, ClipRegion: 0.3,
	}
	m := s.Metrics()
	want := map[string]float64{
		"step": 3, "reward": 0.875, "rewards/accuracy_reward": 0.375, "reward/accuracy_reward/mean": 0.375,
		"rewards/format_reward": 0.5, "reward/format_reward/std": math.Sqrt(1.0 / 3), "reward_std": 0.375,
		"completion_length": 7.5, "completions/mean_length": 7.5, "completions/min_length": 4, "completions/max_length": 10,
		"completions/clipped_ratio": 0.5, "completions/mean_terminated_length": 5, "completions/max_terminated_length": 6,
		"clip_ratio/low_mean": 0.25, "clip_ratio/low_min": 0, "clip_ratio/high_mean": 0.5, "clip_ratio/high_max": 0.75,
		"clip_ratio/region_mean": 0.3, "learning_rate": 1e-3, "grad_norm": 2, "loss": -0.1, "epoch": 0.5,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || !near(got, v, 1e-12) {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
}

func TestMetricsIO(t *testing.T) {
	dir := t.TempDir()
	// parseMetrics reads b as the metrics file name holds it.
	parseMetrics := func(name string, b []byte) ([]Metrics, error) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return ReadMetrics(p)
	}
	var buf bytes.Buffer
	if err := WriteMetrics(&buf, Metrics{"step": 1, "loss": math.NaN()}); err == nil {
		t.Error("NaN accepted")
	}
	WriteMetrics(&buf, Metrics{"step": 1, "loss": 2, "a": 1})
	if got := buf.String(); got != "{\"a\":1,\"loss\":2,\"step\":1}\n" {
		t.Errorf("line %q", got)
	}
	buf.WriteString(`{"step":2,"lo`) // torn tail
	ms, err := parseMetrics("m.jsonl", buf.Bytes())
	if err != nil || len(ms) != 1 {
		t.Errorf("torn tail: %v %v", ms, err)
	}
	if _, err := parseMetrics("m.jsonl", []byte("{bad\n{\"step\":1}\n")); err == nil || !strings.Contains(err.Error(), "m.jsonl line 1") {
		t.Errorf("bad line: %v", err)
	}
	if _, err := parseMetrics("m.jsonl", []byte("{\"loss\":1}\n")); err == nil {
		t.Error("line without step accepted")
	}
}
