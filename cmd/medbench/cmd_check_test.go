package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/records"
)

// statsItem is one synthetic sample for CLI tests.
type statsItem struct {
	mod, prompt string
	id          int
	correct     bool
}

// statsItems makes n items of a modality/prompt, the first k correct. Ids
// are unique across modalities (dataset indices): MRI from 0, CT from 1000,
// Xray from 2000.
func statsItems(mod, prompt string, n, k int) []statsItem {
	base := map[string]int{"MRI": 0, "CT": 1000, "Xray": 2000}[mod]
	out := make([]statsItem, n)
	for i := range out {
		out[i] = statsItem{mod: mod, prompt: prompt, id: base + i, correct: i < k}
	}
	return out
}

// statsWriteRun writes a run record (manifest, samples, summary) to a new
// directory under t.TempDir().
func statsWriteRun(t *testing.T, name string, seed uint64, groups ...[]statsItem) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := records.Manifest{SchemaVersion: records.SchemaVersion, Medbench: "test", Policies: []string{"strict/v1"}, Seed: seed}
	mb, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, records.ManifestFile), mb, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, records.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, g := range groups {
		for _, it := range g {
			ans := "B"
			if it.correct {
				ans = "A"
			}
			s := records.ScoredSample{ID: strconv.Itoa(it.id), Index: it.id, Modality: it.mod, Prompt: it.prompt,
				Solution: "A", Question: "Which? " + strconv.Itoa(it.id), Output: "<answer>" + ans + "</answer>",
				Extractions: map[string]*string{"strict": &ans}, Correct: map[string]bool{"strict": it.correct}}
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Close()
	sb, _ := json.Marshal(records.Summary{SchemaVersion: records.SchemaVersion})
	if err := os.WriteFile(filepath.Join(dir, records.SummaryFile), sb, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// statsGolden writes a golden file with accuracy rows (modality → value,
// n) under an absolute tolerance in the higher-is-better direction.
func statsGolden(t *testing.T, tol float64, cells map[string][2]float64) string {
	t.Helper()
	var rows []string
	for _, mod := range []string{"MRI", "CT", "Xray", "mean"} {
		c, ok := cells[mod]
		if !ok {
			continue
		}
		rows = append(rows, `{"model":"fixture","dataset":"synthetic","modality":"`+mod+`","prompt":"complex","policy":"strict","metric":"accuracy","value":`+
			strconv.FormatFloat(c[0], 'g', -1, 64)+`,"n":`+strconv.Itoa(int(c[1]))+
			`,"tolerance":{"kind":"absolute","value":`+strconv.FormatFloat(tol, 'g', -1, 64)+`,"direction":"higher_is_better"},"provenance":{"source":"test","verified":true}}`)
	}
	p := filepath.Join(t.TempDir(), "golden.json")
	doc := `{"format":"medbench-golden","version":1,"rows":[` + strings.Join(rows, ",") + `]}`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCaptured runs the CLI in-process and returns its exit code and stdout.
func runCaptured(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errOut := cliRun(t, args...)
	os.Stderr.WriteString(errOut)
	return code, out
}

type junitDoc struct {
	Suites []struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestCheckExitCodes(t *testing.T) {
	// MRI 20 items 15 right (0.75); CT 20 items 10 right (0.5); mean 0.625.
	runDir := statsWriteRun(t, "run", 1, statsItems("MRI", "complex", 20, 15), statsItems("CT", "complex", 20, 10))
	passing := statsGolden(t, 0.02, map[string][2]float64{"MRI": {0.76, 20}, "CT": {0.5, 20}, "mean": {0.625, 40}})
	regressing := statsGolden(t, 0.02, map[string][2]float64{"MRI": {0.80, 20}, "CT": {0.5, 20}})
	missing := statsGolden(t, 0.02, map[string][2]float64{"MRI": {0.75, 20}, "Xray": {0.5, 20}})
	broken := filepath.Join(t.TempDir(), "broken.json")
	os.WriteFile(broken, []byte(`{"format":"medbench-golden","version":1,"rows":[{"model":"x"`), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		cases  int // JUnit testcases expected (-1: no JUnit)
		failed int
	}{
		{"pass", []string{"--golden", passing}, 0, 3, 0},
		{"parse gate adds a case per accuracy cell", []string{"--golden", passing, "--max-parse-failure", "0.5"}, 0, 6, 0},
		{"regression", []string{"--golden", regressing}, 1, 2, 1},
		{"missing cell fails", []string{"--golden", missing}, 1, 2, 1},
		{"broken golden", []string{"--golden", broken}, 2, -1, 0},
		{"no such golden", []string{"--golden", filepath.Join(t.TempDir(), "nope.json")}, 2, -1, 0},
	}
	for _, tt := range tests {
		junit := filepath.Join(t.TempDir(), "junit.xml")
		summary := filepath.Join(t.TempDir(), "summary.md")
		args := append([]string{"check", "--run", runDir, "--junit", junit, "--summary", summary}, tt.args...)
		code, out := runCaptured(t, args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d\n%s", tt.name, code, tt.code, out)
			continue
		}
		if tt.cases < 0 {
			continue
		}
		b, err := os.ReadFile(junit)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var doc junitDoc
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: JUnit does not parse: %v", tt.name, err)
		}
		if len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != tt.cases || doc.Suites[0].Failures != tt.failed {
			t.Errorf("%s: JUnit %+v, want %d cases %d failures", tt.name, doc, tt.cases, tt.failed)
		}
		md, _ := os.ReadFile(summary)
		if !strings.Contains(string(md), "## medbench check") || !strings.Contains(out, "passed,") {
			t.Errorf("%s: summary/stdout incomplete:\n%s\n%s", tt.name, md, out)
		}
	}
	// Usage and input errors: exit 2.
	for _, args := range [][]string{
		{"check"},
		{"check", "--run", runDir},
		{"check", "--run", filepath.Join(t.TempDir(), "absent"), "--golden", passing},
		{"check", "--run", runDir, "--golden", passing, "--model", "other"},
		{"check", "--run", runDir, "--golden", passing, "extra-arg"},
		{"check", "--run", runDir, "--golden", passing, "--max-parse-failure", "2"},
	} {
		if code, _ := runCaptured(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestCheckNotWorseBaseline(t *testing.T) {
	base := statsWriteRun(t, "base", 1, statsItems("CT", "complex", 40, 30))
	worse := statsWriteRun(t, "worse", 2, statsItems("CT", "complex", 40, 20)) // 10 losses, 0 gains: p = 2⁻¹⁰
	same := statsWriteRun(t, "same", 3, statsItems("CT", "complex", 40, 29))   // 1 loss: p = ½
	g := filepath.Join(t.TempDir(), "nw.json")
	os.WriteFile(g, []byte(`{"format":"medbench-golden","version":1,"rows":[{"model":"fixture","dataset":"synthetic","modality":"CT","prompt":"complex","policy":"strict","metric":"accuracy","value":0.75,"n":40,"tolerance":{"kind":"not_worse","alpha":0.05,"direction":"higher_is_better"},"provenance":{"source":"test","verified":true}}]}`), 0o644)
	if code, out := runCaptured(t, "check", "--run", worse, "--golden", g, "--baseline", base); code != 1 || !strings.Contains(out, "0.0010") {
		t.Errorf("10 losses: exit %d\n%s", code, out)
	}
	if code, out := runCaptured(t, "check", "--run", same, "--golden", g, "--baseline", base); code != 0 {
		t.Errorf("1 loss: exit %d\n%s", code, out)
	}
	if code, _ := runCaptured(t, "check", "--run", same, "--golden", g); code != 2 {
		t.Errorf("no baseline: exit %d, want 2", code)
	}
}

func TestCheckBlessAndCalibrate(t *testing.T) {
	runDir := statsWriteRun(t, "fixture-run", 1, statsItems("MRI", "complex", 10, 7), statsItems("CT", "complex", 10, 4))
	out := filepath.Join(t.TempDir(), "fixture.json")
	if code, o := runCaptured(t, "check", "bless", "--run", runDir, "--out", out, "--model", "fixture", "--dataset", "synthetic"); code != 0 {
		t.Fatalf("bless: exit %d\n%s", code, o)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), `"generated_by": "medbench check bless --run `) {
		t.Errorf("bless output lacks generated_by:\n%s", b)
	}
	if code, o := runCaptured(t, "check", "--run", runDir, "--golden", out); code != 0 {
		t.Errorf("blessed run vs its golden: exit %d\n%s", code, o)
	}
	// A different run fails the exact golden.
	other := statsWriteRun(t, "other", 2, statsItems("MRI", "complex", 10, 8), statsItems("CT", "complex", 10, 4))
	if code, _ := runCaptured(t, "check", "--run", other, "--golden", out); code != 1 {
		t.Errorf("changed run vs exact golden: exit %d, want 1", code)
	}
	if code, _ := runCaptured(t, "check", "bless", "--run", runDir, "--out", out, "--model", "m", "--dataset", "d", "--tolerance", "bogus"); code != 2 {
		t.Errorf("bad tolerance: exit %d, want 2", code)
	}
	// Calibrate over three seeds: MRI 7, 8, 9 of 10 → mean 0.8, σ 0.1, tolerance 0.28.
	var dirs []string
	for i, k := range []int{7, 8, 9} {
		dirs = append(dirs, statsWriteRun(t, "s"+strconv.Itoa(i), uint64(i), statsItems("MRI", "complex", 10, k)))
	}
	cal := filepath.Join(t.TempDir(), "cal.json")
	if code, o := runCaptured(t, "check", "calibrate", "--runs", strings.Join(dirs, ","), "--out", cal, "--model", "fixture", "--dataset", "synthetic"); code != 0 {
		t.Fatalf("calibrate: exit %d\n%s", code, o)
	}
	var tb struct {
		Rows []struct {
			Metric    string  `json:"metric"`
			Value     float64 `json:"value"`
			Tolerance struct {
				Value float64 `json:"value"`
			} `json:"tolerance"`
		} `json:"rows"`
	}
	cb, _ := os.ReadFile(cal)
	if err := json.Unmarshal(cb, &tb); err != nil || len(tb.Rows) != 2 || tb.Rows[0].Metric != "accuracy" ||
		tb.Rows[0].Value < 0.8-1e-12 || tb.Rows[0].Value > 0.8+1e-12 || tb.Rows[0].Tolerance.Value < 0.28-1e-12 || tb.Rows[0].Tolerance.Value > 0.28+1e-12 {
		t.Errorf("calibrated table: %v\n%s", err, cb)
	}
	work := t.TempDir()
	for _, args := range [][]string{
		{"--runs", dirs[0]}, // one run
		{"--runs", strings.Join(dirs, ","), "--repeat", "3"}, // both modes
		{"--repeat", "3", "--work", work},                    // no eval arguments
		{"--repeat", "1", "--work", work, "--", "--do-sample"},
		{"--repeat", "3", "--", "--do-sample"},                            // no --work
		{"--repeat", "3", "--work", work, "--", "--seed", "4"},            // calibrate sets the seed
		{"--repeat", "3", "--work", work, "--", "--out=x", "--do-sample"}, // and the output
		{"--runs", strings.Join(dirs, ","), "stray"},
	} {
		a := append([]string{"check", "calibrate", "--out", cal, "--model", "m", "--dataset", "d"}, args...)
		if code, _ := runCaptured(t, a...); code != 2 {
			t.Errorf("calibrate %v: exit %d, want 2", args, code)
		}
	}
}

// TestCheckEndToEndFixture runs the whole gate on real run records of the
// tiny fixture model (ONNX Runtime): eval with both prompts, bless, check
// (exit 0), compare --prompts simple,complex, and calibrate --repeat running
// eval itself with two seeds. Skipped when ONNX Runtime is not set up.
func TestCheckEndToEndFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fixture model")
	}
	model := tinyFixture(t)
	synth := t.TempDir()
	if code, out := runCaptured(t, "dataset", "synth", "--out", synth, "--n", "9", "--seed", "4", "--max-side", "40"); code != 0 {
		t.Fatalf("dataset synth: exit %d\n%s", code, out)
	}
	data := filepath.Join(synth, "dataset.json")
	evalArgs := []string{"--data", data, "--model", model, "--limit", "2", "--do-sample", "--top-k", "20",
		"--max-new-tokens", "5", "--threads", "1", "--policy", "strict"}
	runDir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"eval", "--out", runDir, "--seed", "7", "--prompt", "simple,complex"}, evalArgs...)
	if code, out := runCaptured(t, args...); code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, out)
	}
	g := filepath.Join(t.TempDir(), "fixture-synthetic.json")
	if code, out := runCaptured(t, "check", "bless", "--run", runDir, "--out", g, "--model", "fixture", "--dataset", "synthetic"); code != 0 {
		t.Fatalf("bless: exit %d\n%s", code, out)
	}
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, out := runCaptured(t, "check", "--run", runDir, "--golden", g, "--junit", junit)
	if code != 0 || !strings.Contains(out, "✓ 16 passed, ✗ 0 regressions, 0 missing") {
		// 2 prompts × 1 policy × 2 metrics × (3 modalities + mean) = 16 cells.
		t.Fatalf("check of the blessed run: exit %d\n%s", code, out)
	}
	b, _ := os.ReadFile(junit)
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites[0].Cases) != 16 {
		t.Errorf("JUnit: %v, %+v", err, doc)
	}
	code, out = runCaptured(t, "compare", "--run", runDir, "--prompts", "simple,complex", "--resamples", "2000")
	if code != 0 || !strings.Contains(out, "Prompt ablation: simple vs complex") || !strings.Contains(out, "McNemar p") {
		t.Errorf("compare: exit %d\n%s", code, out)
	}
	cal := filepath.Join(t.TempDir(), "noise.json")
	args = append([]string{"check", "calibrate", "--repeat", "2", "--work", t.TempDir(), "--out", cal,
		"--model", "fixture", "--dataset", "synthetic", "--floor", "0.01", "--", "--prompt", "complex"}, evalArgs...)
	if code, out := runCaptured(t, args...); code != 0 {
		t.Fatalf("calibrate --repeat: exit %d\n%s", code, out)
	}
	tb, err := golden.Load(cal)
	if err != nil {
		t.Fatal(err)
	}
	// complex × strict × 2 metrics × (3 modalities + mean).
	if len(tb.Rows) != 8 || !strings.Contains(tb.GeneratedBy, "--repeat 2") {
		t.Errorf("calibrated table: %d rows, generated_by %q", len(tb.Rows), tb.GeneratedBy)
	}
	for _, r := range tb.Rows {
		if r.Tolerance.Value < 0.01 || !strings.Contains(r.Provenance.Note, "mean of 2 runs") {
			t.Errorf("%s: tolerance %v note %q", r.Key, r.Tolerance.Value, r.Provenance.Note)
		}
	}
}

// fixtureGolden is the committed golden table of the tiny fixture model on
// the synthetic set; TestFixtureGolden regenerates it when MEDBENCH_BLESS=1.
const fixtureGolden = "../../golden/fixture-synthetic.json"

// TestFixtureGolden evaluates the tiny fixture model (seed 1, fp32) on a
// 30-item synthetic set (seed 4) with greedy decoding, both prompts and both
// policies, and checks the run against golden/fixture-synthetic.json with
// `medbench check` (exact values). With MEDBENCH_BLESS=1 it rewrites the
// golden file with `medbench check bless` instead:
//
//	MEDBENCH_BLESS=1 go test ./cmd/medbench -run TestFixtureGolden
func TestFixtureGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fixture model")
	}
	model := tinyFixture(t)
	synth := t.TempDir()
	if code, out := runCaptured(t, "dataset", "synth", "--out", synth, "--n", "30", "--seed", "4", "--max-side", "40"); code != 0 {
		t.Fatalf("dataset synth: exit %d\n%s", code, out)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	if code, out := runCaptured(t, "eval", "--data", filepath.Join(synth, "dataset.json"), "--model", model, "--out", runDir,
		"--prompt", "simple,complex", "--policy", "strict,lenient", "--max-new-tokens", "16", "--threads", "1"); code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, out)
	}
	// The RGBA conversion is part of the run's configuration.
	if run, err := records.ReadRun(runDir); err != nil {
		t.Fatal(err)
	} else if settings := run.Manifest.Runner.Settings; run.Manifest.Config["rgba"] != "white" || settings["rgba"] != "white" {
		t.Errorf("manifest config.rgba %v, runner.settings.rgba %v; want white (the default)", run.Manifest.Config["rgba"], settings["rgba"])
	}
	if os.Getenv("MEDBENCH_BLESS") == "1" {
		if code, out := runCaptured(t, "check", "bless", "--run", runDir, "--out", fixtureGolden, "--model", "fixture-tiny",
			"--dataset", "synthetic-30", "--source", "medbench eval of the tiny fixture (seed 1) on dataset synth --n 30 --seed 4, greedy, 16 new tokens"); code != 0 {
			t.Fatalf("bless: exit %d\n%s", code, out)
		}
		tb, err := golden.Load(fixtureGolden)
		if err != nil {
			t.Fatal(err)
		}
		// Record how the run itself is made, not only the bless step.
		tb.GeneratedBy = "MEDBENCH_BLESS=1 go test ./cmd/medbench -run TestFixtureGolden (fixture tiny seed 1 fp32; dataset synth --n 30 --seed 4 --max-side 40; " +
			"eval --prompt simple,complex --policy strict,lenient --max-new-tokens 16; check bless)"
		if err := tb.Save(fixtureGolden); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", fixtureGolden)
		return
	}
	if code, out := runCaptured(t, "check", "--run", runDir, "--golden", fixtureGolden); code != 0 {
		t.Fatalf("the fixture run no longer matches %s (exit %d). If the change is intended, regenerate it with\n"+
			"  MEDBENCH_BLESS=1 go test ./cmd/medbench -run TestFixtureGolden\n%s", fixtureGolden, code, out)
	}
}

// TestCheckPaperTable checks runs shaped like the paper's against the
// shipped golden/medvlm-r1-paper.json: 286, 211, 207 of 300 right (95.33,
// 70.33, 69.00 %) pass for MedVLM-R1; the zero-shot Qwen2-VL-2B counts
// (185, 152, 159) pass for Qwen2-VL-2B and fail MedVLM-R1's rows.
func TestCheckPaperTable(t *testing.T) {
	const paper = "../../golden/medvlm-r1-paper.json"
	r1 := statsWriteRun(t, "r1", 0, statsItems("MRI", "complex", 300, 286), statsItems("CT", "complex", 300, 211), statsItems("Xray", "complex", 300, 207))
	qwen := statsWriteRun(t, "qwen", 0, statsItems("MRI", "complex", 300, 185), statsItems("CT", "complex", 300, 152), statsItems("Xray", "complex", 300, 159))
	tests := []struct {
		run, model string
		code       int
		summary    string
	}{
		{r1, "MedVLM-R1", 0, "✓ 4 passed, ✗ 0 regressions, 0 missing"},
		{qwen, "Qwen2-VL-2B", 0, "✓ 4 passed, ✗ 0 regressions, 0 missing"},
		{qwen, "MedVLM-R1", 1, "✓ 0 passed, ✗ 4 regressions, 0 missing"},
	}
	for _, tt := range tests {
		code, out := runCaptured(t, "check", "--run", tt.run, "--golden", paper, "--model", tt.model)
		if code != tt.code || !strings.Contains(out, tt.summary) {
			t.Errorf("%s vs %s: exit %d\n%s", filepath.Base(tt.run), tt.model, code, out)
		}
	}
	// The table holds two models: --model is required.
	if code, _ := runCaptured(t, "check", "--run", r1, "--golden", paper); code != 2 {
		t.Errorf("no --model: exit %d, want 2", code)
	}
}
