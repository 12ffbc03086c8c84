package golden

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
)

func TestBlessThenCheck(t *testing.T) {
	run := makeRun("fixture-run", 3,
		items("MRI", "complex", 0, 12, 7, 11), items("CT", "complex", 100, 9, 2, 9),
		items("MRI", "simple", 0, 12, 9, 12), items("CT", "simple", 100, 9, 5, 8))
	tb, err := Bless(run, BlessOptions{Model: "fixture", Dataset: "synthetic", Source: "medbench check bless", GeneratedBy: "medbench check bless --run R"})
	if err != nil {
		t.Fatal(err)
	}
	// 2 prompts × 1 policy × 2 metrics × (2 modalities + mean).
	if len(tb.Rows) != 12 {
		t.Fatalf("%d rows, want 12", len(tb.Rows))
	}
	want := map[string]float64{
		"MRI/complex/accuracy": 7.0 / 12, "CT/complex/accuracy": 2.0 / 9, "mean/complex/accuracy": (7.0/12 + 2.0/9) / 2,
		"MRI/complex/parse_failure_rate": 1.0 / 12, "CT/simple/parse_failure_rate": 1.0 / 9,
	}
	for _, r := range tb.Rows {
		if w, ok := want[r.Modality+"/"+r.Prompt+"/"+r.Metric]; ok && math.Abs(r.Value-w) > 1e-15 {
			t.Errorf("%s = %v, want %v", r.Key, r.Value, w)
		}
		if r.Tolerance != (Tolerance{Kind: KindAbsolute, Direction: DirBoth}) {
			t.Errorf("%s: tolerance %+v, want exact", r.Key, r.Tolerance)
		}
	}
	// Saved and reloaded, the same run passes every cell exactly.
	p := filepath.Join(t.TempDir(), "fixture.json")
	if err := tb.Save(p); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := CheckRun(run, back, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := Count(vs); c.Passed != 12 || c.Failed() {
		t.Errorf("blessed run vs itself: %s", c)
	}
	// One flipped answer breaks exactly the cells it belongs to:
	// MRI/complex accuracy and the complex mean.
	run.Samples[0].Correct["strict"] = false
	vs, _ = CheckRun(run, back, CheckOptions{})
	var failed []string
	for _, v := range vs {
		if v.Failed() {
			failed = append(failed, v.Key.Modality+"/"+v.Key.Prompt+"/"+v.Key.Metric)
		}
	}
	if strings.Join(failed, ",") != "MRI/complex/accuracy,mean/complex/accuracy" {
		t.Errorf("failed cells %v", failed)
	}
	// Non-zero tolerances take the metric's natural direction.
	tb, _ = Bless(run, BlessOptions{Model: "f", Dataset: "s", Source: "x", Tolerance: Tolerance{Kind: KindAbsolute, Value: 0.01}})
	for _, r := range tb.Rows {
		if want := NaturalDirection(r.Metric); r.Tolerance.Direction != want {
			t.Errorf("%s: direction %s, want %s", r.Key, r.Tolerance.Direction, want)
		}
	}
	if _, err := Bless(run, BlessOptions{Dataset: "s", Source: "x"}); err == nil {
		t.Error("bless without a model name succeeded")
	}
}

func TestCalibrate(t *testing.T) {
	// CT accuracy 5/10, 6/10, 7/10: mean 0.6, σ = 0.1, tolerance 2.8σ = 0.28.
	var runs []*records.Run
	for i, k := range []int{5, 6, 7} {
		runs = append(runs, makeRun("seed"+string(rune('0'+i)), uint64(i), items("CT", "complex", 0, 10, k, 10)))
	}
	tb, err := Calibrate(runs, CalibrateOptions{Model: "M", Dataset: "D", Source: "calibrate", Floor: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	var acc, pfr *Row
	for i := range tb.Rows {
		switch tb.Rows[i].Metric {
		case MetricAccuracy:
			acc = &tb.Rows[i]
		case MetricParseFailureRate:
			pfr = &tb.Rows[i]
		}
	}
	if acc == nil || math.Abs(acc.Value-0.6) > 1e-15 || math.Abs(acc.Tolerance.Value-0.28) > 1e-12 || acc.Tolerance.Direction != DirHigher || acc.N != 10 {
		t.Errorf("accuracy row %+v", acc)
	}
	// No spread in the parse-failure rate: the floor applies.
	if pfr == nil || pfr.Value != 0 || pfr.Tolerance.Value != 0.01 || pfr.Tolerance.Direction != DirLower {
		t.Errorf("parse-failure row %+v", pfr)
	}
	if !strings.Contains(acc.Provenance.Note, "σ=0.1") {
		t.Errorf("note %q", acc.Provenance.Note)
	}
	// A run at the lower repeatability limit passes; below it fails.
	vs, _ := CheckRun(makeRun("new", 9, items("CT", "complex", 0, 10, 4, 10)), tb, CheckOptions{})
	if vs[0].Status != StatusPass { // 0.4 ≥ 0.6 − 0.28
		t.Errorf("0.4: %s", vs[0].Status)
	}
	vs, _ = CheckRun(makeRun("new", 9, items("CT", "complex", 0, 10, 3, 10)), tb, CheckOptions{})
	if vs[0].Status != StatusRegression {
		t.Errorf("0.3: %s", vs[0].Status)
	}
	if _, err := Calibrate(runs[:1], CalibrateOptions{Model: "M", Dataset: "D", Source: "c"}); err == nil {
		t.Error("one run: no error")
	}
	runs[2] = makeRun("short", 2, items("CT", "complex", 0, 9, 7, 9))
	if _, err := Calibrate(runs, CalibrateOptions{Model: "M", Dataset: "D", Source: "c"}); err == nil || !strings.Contains(err.Error(), "n=9") {
		t.Errorf("n mismatch: %v", err)
	}
}
