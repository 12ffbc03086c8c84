package golden

import (
	"bytes"
	"encoding/xml"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/medbench/medbench/metrics"
)

func abs(v float64, dir string) Tolerance {
	return Tolerance{Kind: KindAbsolute, Value: v, Direction: dir}
}

func TestCheckRunMargins(t *testing.T) {
	// MRI 20 items, 15 correct, 18 parsed; CT 10 items, 4 correct, 10 parsed.
	run := makeRun("runX", 0, items("MRI", "complex", 0, 20, 15, 18), items("CT", "complex", 100, 10, 4, 10))
	tests := []struct {
		name   string
		r      Row
		value  float64
		status string
	}{
		{"abs both pass", row("M", "MRI", MetricAccuracy, 0.77, 20, abs(0.02, DirBoth)), 0.75, StatusPass},
		{"abs both edge", row("M", "MRI", MetricAccuracy, 0.80, 20, abs(0.05, DirBoth)), 0.75, StatusPass},
		{"abs both fail high", row("M", "MRI", MetricAccuracy, 0.70, 20, abs(0.02, DirBoth)), 0.75, StatusRegression},
		{"higher ok when better", row("M", "MRI", MetricAccuracy, 0.70, 20, abs(0.0, DirHigher)), 0.75, StatusPass},
		{"higher fails on drop", row("M", "MRI", MetricAccuracy, 0.80, 20, abs(0.04, DirHigher)), 0.75, StatusRegression},
		{"exact", row("M", "CT", MetricAccuracy, 0.4, 10, abs(0, DirBoth)), 0.4, StatusPass},
		{"relative pass", row("M", "CT", MetricAccuracy, 0.42, 10, Tolerance{Kind: KindRelative, Value: 0.05, Direction: DirHigher}), 0.4, StatusPass},       // 0.42·0.05 = 0.021 ≥ 0.02
		{"relative fail", row("M", "CT", MetricAccuracy, 0.43, 10, Tolerance{Kind: KindRelative, Value: 0.05, Direction: DirHigher}), 0.4, StatusRegression}, // 0.0215 < 0.03
		{"parse failure gated", row("M", "MRI", MetricParseFailureRate, 0.0, 20, abs(0.05, DirLower)), 0.1, StatusRegression},
		{"parse failure ok", row("M", "MRI", MetricParseFailureRate, 0.08, 20, abs(0.05, DirLower)), 0.1, StatusPass},
		{"error rate", row("M", "CT", MetricErrorRate, 0, 10, abs(0, DirLower)), 0, StatusPass},
		// mean = (0.75 + 0.4)/2 = 0.575, unweighted; pooled would be 19/30.
		{"mean unweighted", row("M", "mean", MetricAccuracy, 0.575, 30, abs(1e-9, DirBoth)), 0.575, StatusPass},
		{"missing modality", row("M", "Xray", MetricAccuracy, 0.5, 0, abs(1, DirBoth)), math.NaN(), StatusMissing},
		{"missing prompt", Row{Key: Key{Model: "M", Dataset: "D", Modality: "CT", Prompt: "simple", Policy: "strict", Metric: MetricAccuracy}, Value: 0.5, Tolerance: abs(1, DirBoth), Provenance: Provenance{Source: "t"}}, math.NaN(), StatusMissing},
		{"missing policy", Row{Key: Key{Model: "M", Dataset: "D", Modality: "CT", Prompt: "complex", Policy: "lenient", Metric: MetricAccuracy}, Value: 0.5, Tolerance: abs(1, DirBoth), Provenance: Provenance{Source: "t"}}, math.NaN(), StatusMissing},
		{"n mismatch", row("M", "CT", MetricAccuracy, 0.4, 300, abs(1, DirBoth)), 0.4, StatusMissing},
		{"training step", Row{Key: Key{Model: "M", Dataset: "D", Modality: "CT", Prompt: "complex", Policy: "strict", Metric: MetricAccuracy, Step: 10}, Value: 0.4, Tolerance: abs(1, DirBoth), Provenance: Provenance{Source: "t"}}, math.NaN(), StatusMissing},
	}
	for _, tt := range tests {
		vs, err := CheckRun(run, mkTable(tt.r), CheckOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		v := vs[0]
		if v.Status != tt.status || !(math.Abs(v.Value-tt.value) < 1e-12 || math.IsNaN(v.Value) && math.IsNaN(tt.value)) {
			t.Errorf("%s: status %s value %v (%s), want %s %v", tt.name, v.Status, v.Value, v.Detail, tt.status, tt.value)
		}
	}
}

func TestCheckRunNotWorse(t *testing.T) {
	nw := Tolerance{Kind: KindNotWorse, Alpha: 0.05, Direction: DirHigher}
	// Baseline: items 0..29 correct, 30..39 wrong. Candidate loses 6 of the
	// correct ones (items 0-5) and gains 1 (item 30): b=6, c=1.
	// One-sided p = P(X ≤ 1 | n=7) = 8/128 = 0.0625 ≥ 0.05 → pass.
	base := makeRun("base", 0, items("CT", "complex", 0, 40, 30, 40))
	cand := makeRun("cand", 0, items("CT", "complex", 0, 40, 30, 40))
	flip := func(r []int, to bool) {
		for _, i := range r {
			cand.Samples[i].Correct["strict"] = to
		}
	}
	flip([]int{0, 1, 2, 3, 4, 5}, false)
	flip([]int{30}, true)
	tb := mkTable(row("M", "CT", MetricAccuracy, 0.75, 40, nw))
	vs, err := CheckRun(cand, tb, CheckOptions{Baseline: base})
	if err != nil {
		t.Fatal(err)
	}
	// MDE for n = 40, ψ = 7/40 at two-sided 0.10, power 0.8 (mpmath):
	// 0.160220 → "16.0 pp".
	if v := vs[0]; v.Status != StatusPass || v.P == nil || math.Abs(*v.P-0.0625) > 1e-15 || v.Expected != 0.75 || v.Value != 25.0/40 || !strings.Contains(v.Detail, "MDE 16.0 pp") {
		t.Errorf("b=6,c=1: %+v (p %v)", v, *v.P)
	}
	// One more loss: b=7, c=1: p = 9/256 = 0.03515625 < 0.05 → regression.
	flip([]int{6}, false)
	vs, _ = CheckRun(cand, tb, CheckOptions{Baseline: base})
	if v := vs[0]; v.Status != StatusRegression || math.Abs(*v.P-9.0/256) > 1e-15 {
		t.Errorf("b=7,c=1: status %s p %v", v.Status, *v.P)
	}
	// Different item sets: paired on the intersection, and the detail says so.
	cand.Samples = cand.Samples[:35]
	vs, _ = CheckRun(cand, tb, CheckOptions{Baseline: base})
	if v := vs[0]; v.N != 35 || !strings.Contains(v.Detail, "35 common items") {
		t.Errorf("intersection: n %d detail %q", v.N, v.Detail)
	}
	// No baseline: input error.
	if _, err := CheckRun(cand, tb, CheckOptions{}); err == nil {
		t.Error("not_worse without baseline: no error")
	}
}

func TestCheckRunSelection(t *testing.T) {
	run := makeRun("r", 0, items("CT", "complex", 0, 10, 5, 10))
	tb := mkTable(row("A", "CT", MetricAccuracy, 0.5, 10, abs(0, DirBoth)), row("B", "CT", MetricAccuracy, 0.9, 10, abs(0, DirBoth)))
	if _, err := CheckRun(run, tb, CheckOptions{}); err == nil || !strings.Contains(err.Error(), "2 models (A, B)") {
		t.Errorf("ambiguous model: err %v", err)
	}
	vs, err := CheckRun(run, tb, CheckOptions{Model: "A"})
	if err != nil || len(vs) != 1 || vs[0].Status != StatusPass {
		t.Errorf("model A: %v %+v", err, vs)
	}
	if _, err := CheckRun(run, tb, CheckOptions{Model: "C"}); err == nil {
		t.Error("unknown model: no error")
	}
	bad := mkTable(row("A", "CT", "bleu", 0.5, 10, abs(0, DirBoth)))
	if _, err := CheckRun(run, bad, CheckOptions{}); err == nil || !strings.Contains(err.Error(), `metric "bleu"`) {
		t.Errorf("unknown metric: %v", err)
	}
	// A sample without a score under the policy counts as wrong (as in
	// metrics.Summarize); a policy no sample has is a missing cell.
	run.Samples[3].Correct = map[string]bool{}
	vs, _ = CheckRun(run, tb, CheckOptions{Model: "A"})
	if vs[0].Status != StatusRegression || vs[0].Value != 0.4 {
		t.Errorf("unscored sample: %+v", vs[0])
	}
}

func TestCheckValues(t *testing.T) {
	k := Key{Model: "M", Dataset: "D", Modality: "all", Metric: "reward", Step: 100}
	r := Row{Key: k, Value: 1.2, Tolerance: abs(0.1, DirHigher), Provenance: Provenance{Source: "t"}}
	r2 := r
	r2.Key.Step = 200
	tb := mkTable(r, r2)
	vs := CheckValues(map[Key]float64{k: 1.05}, tb)
	if vs[0].Status != StatusRegression || vs[1].Status != StatusMissing {
		t.Errorf("got %s, %s", vs[0].Status, vs[1].Status)
	}
	vs = CheckValues(map[Key]float64{k: 1.15}, tb)
	if vs[0].Status != StatusPass {
		t.Errorf("1.15 vs 1.2 −0.1: %s", vs[0].Status)
	}
}

func TestReports(t *testing.T) {
	p := 0.01
	vs := []Verdict{
		{Key: Key{Model: "M", Dataset: "D", Modality: "CT", Prompt: "complex", Policy: "strict", Metric: "accuracy"}, Value: 0.5, Expected: 0.5, N: 10, Tolerance: "exact", Status: StatusPass, Verified: true},
		{Key: Key{Model: "M", Dataset: "D", Modality: "MRI", Prompt: "complex", Policy: "strict", Metric: "accuracy"}, Value: 0.4, Expected: 0.6, N: 10, Tolerance: "not worse", P: &p, Status: StatusRegression, Detail: "a <b> & c"},
		{Key: Key{Model: "M", Dataset: "D", Modality: "Xray", Prompt: "complex", Policy: "strict", Metric: "accuracy"}, Value: math.NaN(), Expected: 0.6, Status: StatusMissing, Detail: "no Xray | samples"},
	}
	c := Count(vs)
	if c != (Counts{1, 1, 1}) || !c.Failed() || c.String() != "✓ 1 passed, ✗ 1 regression, 1 missing" {
		t.Errorf("counts %+v %q", c, c.String())
	}
	if s := Count(vs[:1]).String(); s != "✓ 1 passed, ✗ 0 regressions, 0 missing" {
		t.Errorf("pass line %q", s)
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, "medbench check", vs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Type string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit is not XML: %v\n%s", err, buf.String())
	}
	s := doc.Suites[0]
	if s.Tests != 3 || s.Failures != 2 || len(s.Cases) != 3 || s.Cases[0].Failure != nil || s.Cases[2].Failure.Type != StatusMissing {
		t.Errorf("JUnit structure: %+v", s)
	}
	buf.Reset()
	if err := WriteMarkdown(&buf, "check", vs); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	if strings.Count(md, "\n| M |") != 3 || !strings.Contains(md, `no Xray \| samples`) || !strings.Contains(md, "0.6000 (unverified)") {
		t.Errorf("markdown:\n%s", md)
	}
	buf.Reset()
	if err := WriteText(&buf, vs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "✗ regression") || !strings.Contains(buf.String(), "0.0100") || !strings.Contains(buf.String(), "* expected value not verified") {
		t.Errorf("text:\n%s", buf.String())
	}
	// The footnote is there only when a row is unverified.
	verified := slices.Clone(vs)
	for i := range verified {
		verified[i].Verified = true
	}
	buf.Reset()
	if err := WriteText(&buf, verified); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "not verified") || strings.Contains(buf.String(), "*") {
		t.Errorf("verified rows: footnote or mark printed:\n%s", buf.String())
	}
}

func TestCheckRunParseFailureGate(t *testing.T) {
	// MRI: 20 items, 18 parsed (rate 0.1); CT: 10 items, all parsed.
	run := makeRun("r", 0, items("MRI", "complex", 0, 20, 15, 18), items("CT", "complex", 100, 10, 4, 10))
	tb := mkTable(row("M", "MRI", MetricAccuracy, 0.75, 20, abs(0, DirBoth)), row("M", "CT", MetricAccuracy, 0.4, 10, abs(0, DirBoth)),
		row("M", "CT", MetricParseFailureRate, 0.5, 10, abs(0, DirLower)))
	vs, err := CheckRun(run, tb, CheckOptions{MaxParseFailureRate: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	// 3 rows + one gate for MRI (CT already has a parse-failure row).
	if len(vs) != 4 || vs[3].Key.Modality != "MRI" || vs[3].Key.Metric != MetricParseFailureRate || vs[3].Status != StatusRegression || vs[3].Value != 0.1 {
		t.Fatalf("verdicts %+v", vs)
	}
	vs, _ = CheckRun(run, tb, CheckOptions{MaxParseFailureRate: 0.1})
	if vs[3].Status != StatusPass {
		t.Errorf("rate 0.1 ≤ 0.1: %s", vs[3].Status)
	}
}

// The cells check computes agree with metrics.Summarize, the eval engine's
// summary, including failed samples and samples without a policy entry.
func TestCellsAgreeWithSummarize(t *testing.T) {
	run := makeRun("r", 0, items("MRI", "complex", 0, 17, 9, 14), items("CT", "complex", 100, 11, 3, 8), items("CT", "simple", 100, 11, 6, 11))
	run.Samples[2].Error = "runner: out of memory"
	delete(run.Samples[20].Correct, "strict")
	delete(run.Samples[20].Extractions, "strict")
	ix, err := indexRun(run)
	if err != nil {
		t.Fatal(err)
	}
	cells := metrics.Summarize(run.Samples)
	if len(cells) != 3 {
		t.Fatalf("%d cells", len(cells))
	}
	for _, c := range cells {
		acc, err := ix.cell(c.Modality, c.Prompt, c.Policy, MetricAccuracy)
		if err != nil {
			t.Fatal(err)
		}
		pfr, _ := ix.cell(c.Modality, c.Prompt, c.Policy, MetricParseFailureRate)
		er, _ := ix.cell(c.Modality, c.Prompt, c.Policy, MetricErrorRate)
		if acc.n != c.N || acc.value != c.Accuracy || pfr.value != c.ParseFailureRate || er.value != float64(c.Errors)/float64(c.N) {
			t.Errorf("%s/%s/%s: golden (n %d, acc %v, pfr %v, err %v) vs Summarize %+v", c.Modality, c.Prompt, c.Policy, acc.n, acc.value, pfr.value, er.value, c)
		}
	}
}

func TestCheckRunWilsonDetail(t *testing.T) {
	// 81 of 263 right: Wilson 95% [0.2553, 0.3662], computed by hand from
	// centre (p + z²/2n)/(1 + z²/n) and half-width z/(1 + z²/n)·√(p(1−p)/n
	// + z²/4n²).
	run := makeRun("r", 0, items("CT", "complex", 0, 263, 81, 263))
	vs, err := CheckRun(run, mkTable(row("M", "CT", MetricAccuracy, 0.3, 263, abs(0.05, DirBoth))), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vs[0].Detail, "95% CI [0.2553, 0.3662]") {
		t.Errorf("detail %q", vs[0].Detail)
	}
}
