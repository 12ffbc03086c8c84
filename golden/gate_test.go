package golden

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
)

// TestToleranceBand: the band that reports draw is the interval the check
// accepts, closed at the expected value on a one-sided tolerance's free
// side, and a value just outside the margin fails CheckValues.
func TestToleranceBand(t *testing.T) {
	rel := func(v float64, dir string) Tolerance { return Tolerance{Kind: KindRelative, Value: v, Direction: dir} }
	tests := []struct {
		name   string
		tol    Tolerance
		v      float64
		lo, hi float64
	}{
		{"abs both", abs(0.25, DirBoth), 0.5, 0.25, 0.75},
		{"abs higher is better", abs(0.25, DirHigher), 0.5, 0.25, 0.5},
		{"abs lower is better", abs(0.25, DirLower), 0.5, 0.5, 0.75},
		{"relative of |expected|", rel(0.5, DirBoth), -0.5, -0.75, -0.25},
		{"exact", abs(0, DirBoth), 0.5, 0.5, 0.5},
		{"not_worse has none", Tolerance{Kind: KindNotWorse, Alpha: 0.05, Direction: DirHigher}, 0.5, 0.5, 0.5},
	}
	for _, tt := range tests {
		lo, hi := tt.tol.Band(tt.v)
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("%s: band [%v, %v], want [%v, %v]", tt.name, lo, hi, tt.lo, tt.hi)
		}
		if tt.tol.Kind == KindNotWorse {
			continue
		}
		k := Key{Model: "M", Dataset: "D", Modality: "CT", Prompt: "p", Policy: "strict", Metric: tt.name}
		r := Row{Key: k, Value: tt.v, Tolerance: tt.tol}
		for _, c := range []struct {
			x    float64
			want string
		}{{lo, StatusPass}, {hi, StatusPass}, {lo - 0.01, StatusRegression}, {hi + 0.01, StatusRegression}} {
			free := tt.tol.Direction == DirHigher && c.x > hi || tt.tol.Direction == DirLower && c.x < lo
			if free {
				c.want = StatusPass // a one-sided tolerance never fails on its better side
			}
			if v := CheckValues(map[Key]float64{k: c.x}, mkTable(r))[0]; v.Status != c.want {
				t.Errorf("%s: %v is %s (%s), want %s", tt.name, c.x, v.Status, v.Detail, c.want)
			}
		}
	}
}

func TestReadRunWarnings(t *testing.T) {
	r := makeRun("", 0, items("CT", "complex", 0, 4, 2, 4))
	r.Dir = filepath.Join(t.TempDir(), "run")
	dir := writeRun(t, r)
	// A torn last line and no summary.json: read, with two warnings.
	f, err := os.OpenFile(filepath.Join(dir, records.SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"9","mod`)
	f.Close()
	var warn bytes.Buffer
	run, err := ReadRun(dir, &warn)
	if err != nil || len(run.Samples) != 4 {
		t.Fatalf("torn run: %v", err)
	}
	for _, want := range []string{dir + ": samples.jsonl ends in a torn line", dir + " has no summary.json"} {
		if !strings.Contains(warn.String(), want) {
			t.Errorf("warnings lack %q:\n%s", want, warn.String())
		}
	}
	empty := writeRun(t, makeRun(filepath.Join(t.TempDir(), "empty"), 0))
	if _, err := ReadRun(empty, &warn); err == nil || !strings.Contains(err.Error(), empty+" has no samples") {
		t.Errorf("run without samples: %v", err)
	}
	if _, err := ReadRun(filepath.Join(t.TempDir(), "absent"), &warn); err == nil {
		t.Error("absent run read")
	}
}

func TestInvalidItemsNote(t *testing.T) {
	r := makeRun("runI", 0, items("CT", "complex", 0, 4, 2, 4))
	if n := InvalidItemsNote(r); n != "" {
		t.Errorf("clean run: %q", n)
	}
	r.Samples[1].Invalid, r.Samples[2].Invalid = "two answers", "two answers"
	if n := InvalidItemsNote(r); !strings.HasPrefix(n, "invalid_items: 2 item(s) of runI ") {
		t.Errorf("from the samples: %q", n)
	}
	r.Summary = &records.Summary{InvalidItems: 3}
	if n := InvalidItemsNote(r); !strings.HasPrefix(n, "invalid_items: 3 item(s)") {
		t.Errorf("from the summary: %q", n)
	}
}

func TestCheckRunDirAndWrite(t *testing.T) {
	run := makeRun("", 0, items("CT", "complex", 0, 10, 4, 10))
	run.Samples[0].Invalid = "no answer key"
	dir := writeRun(t, run)
	tab := mkTable(row("M", "CT", MetricAccuracy, 0.4, 10, abs(0, DirBoth)), row("M", "MRI", MetricAccuracy, 0.5, 10, abs(0, DirBoth)))
	gpath := filepath.Join(t.TempDir(), "g.json")
	if err := tab.Save(gpath); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	g, err := CheckRunDir(RunGate{Run: dir, Golden: gpath, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Verdicts) != 2 || g.Verdicts[0].Status != StatusPass || g.Verdicts[1].Status != StatusMissing || !g.Failed() {
		t.Errorf("verdicts %+v", g.Verdicts)
	}
	if !strings.Contains(warn.String(), "no summary.json") || !strings.HasPrefix(g.Warning, "invalid_items: 1 item(s)") {
		t.Errorf("warnings %q, note %q", warn.String(), g.Warning)
	}
	junit, summary := filepath.Join(t.TempDir(), "j.xml"), filepath.Join(t.TempDir(), "s.md")
	for range 2 { // the summary is appended to
		var out bytes.Buffer
		if err := g.Write(&out, junit, summary); err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.HasPrefix(s, "medbench check: "+dir+" against "+gpath+"\n") || !strings.Contains(s, "\nwarning: invalid_items: 1") {
			t.Errorf("text:\n%s", s)
		}
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	b, _ := os.ReadFile(junit)
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 1 || doc.Suites[0].Name != "medbench check g.json" || doc.Suites[0].Failures != 1 {
		t.Errorf("JUnit %v %+v", err, doc)
	}
	md, _ := os.ReadFile(summary)
	if strings.Count(string(md), "## medbench check: "+filepath.Base(dir)+" vs g.json") != 2 || strings.Count(string(md), "> **Warning:** invalid_items") != 2 {
		t.Errorf("summary:\n%s", md)
	}
	if err := g.Write(&bytes.Buffer{}, filepath.Join(t.TempDir(), "no", "dir", "j.xml"), ""); err == nil || !strings.Contains(err.Error(), "check: junit: ") {
		t.Errorf("unwritable JUnit: %v", err)
	}
	// A table with several models needs Model; the error names the run and the table.
	tab.Rows = append(tab.Rows, row("N", "CT", MetricAccuracy, 0.4, 10, abs(0, DirBoth)))
	if err := tab.Save(gpath); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckRunDir(RunGate{Run: dir, Golden: gpath, Warn: &warn}); err == nil || !strings.Contains(err.Error(), "check "+dir+" against "+gpath+": ") {
		t.Errorf("ambiguous model: %v", err)
	}
}

func TestCompareRunsFiles(t *testing.T) {
	a := makeRun(filepath.Join(t.TempDir(), "a"), 0, items("CT", "complex", 0, 30, 25, 30))
	b := makeRun(filepath.Join(t.TempDir(), "b"), 0, items("CT", "complex", 0, 30, 10, 30)) // 15 losses
	writeRun(t, a)
	writeRun(t, b)
	out := filepath.Join(t.TempDir(), "cmp")
	var w bytes.Buffer
	res, err := CompareRuns(context.Background(), &w, Pairing{A: a.Dir, B: b.Dir, Prompt: "complex", Top: 2, Out: out, Options: CompareOptions{Seed: 1, Resamples: 200}, Warn: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	s := w.String()
	for _, want := range []string{"Run comparison: A = " + a.Dir + ", B = " + b.Dir + " (prompt complex)\n", "Discordant items (15; first 2, B's losses first):",
		"only A right", "wrote " + filepath.Join(out, "compare.md")} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "only A right"); n != 2 {
		t.Errorf("%d discordant items printed, want 2", n)
	}
	var cj CompareJSON
	if jb, err := os.ReadFile(filepath.Join(out, "compare.json")); err != nil || json.Unmarshal(jb, &cj) != nil {
		t.Errorf("compare.json: %v", err)
	}
	for _, f := range []string{"compare.md", "discordant.md", "discordant.csv"} {
		if fb, err := os.ReadFile(filepath.Join(out, f)); err != nil || len(fb) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := res.Worse(); err == nil || !strings.Contains(err.Error(), "B is significantly worse than A on CT") {
		t.Errorf("Worse: %v", err)
	}
	// The prompt ablation within one run labels the arms by prompt; an
	// equal pair is not worse.
	both := makeRun(filepath.Join(t.TempDir(), "both"), 0, items("CT", "simple", 0, 10, 5, 10), items("CT", "complex", 0, 10, 5, 10))
	writeRun(t, both)
	w.Reset()
	res, err = CompareRuns(context.Background(), &w, Pairing{Run: both.Dir, PromptA: "simple", PromptB: "complex", Warn: &bytes.Buffer{}})
	if err != nil || res.A.Label != "simple" || res.B.Label != "complex" || res.Worse() != nil ||
		!strings.HasPrefix(w.String(), "Prompt ablation: simple vs complex (run both)\n") || strings.Contains(w.String(), "Discordant items") {
		t.Errorf("ablation: %v %+v\n%s", err, res, w.String())
	}
	if _, err := CompareRuns(context.Background(), &w, Pairing{A: a.Dir, B: filepath.Join(t.TempDir(), "absent"), Prompt: "complex", Warn: &bytes.Buffer{}}); err == nil {
		t.Error("absent arm compared")
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\n  b\tc", 10); got != "a b c" {
		t.Errorf("%q", got)
	}
	if got := oneLine("αβγδε", 3); got != "αβγ…" {
		t.Errorf("%q", got)
	}
}

func TestBlessAndCalibrateDirs(t *testing.T) {
	var dirs []string
	for i, k := range []int{6, 8} {
		dirs = append(dirs, writeRun(t, makeRun(filepath.Join(t.TempDir(), "s"), uint64(i), items("CT", "complex", 0, 10, k, 10))))
	}
	out := filepath.Join(t.TempDir(), "blessed.json")
	var warn bytes.Buffer
	bt, err := BlessDir(dirs[0], out, BlessOptions{Model: "M", Dataset: "D", Tolerance: abs(0, DirBoth), Source: "test"}, &warn)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := Load(out)
	if err != nil || len(saved.Rows) != len(bt.Rows) || len(bt.Rows) != 2 || saved.Rows[0].Value != 0.6 {
		t.Fatalf("blessed table %v: %+v", err, saved)
	}
	if !strings.Contains(warn.String(), "no summary.json") {
		t.Errorf("no warning about the missing summary: %q", warn.String())
	}
	cal := filepath.Join(t.TempDir(), "cal.json")
	ct, err := CalibrateDirs(dirs, cal, CalibrateOptions{Model: "M", Dataset: "D", Source: "test"}, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if saved, err = Load(cal); err != nil || len(saved.Rows) != len(ct.Rows) || math.Abs(saved.Rows[0].Value-0.7) > 1e-12 {
		t.Errorf("calibrated table %v: %+v", err, saved)
	}
	absent := filepath.Join(t.TempDir(), "absent")
	if _, err := CalibrateDirs([]string{dirs[0], absent}, filepath.Join(t.TempDir(), "x.json"), CalibrateOptions{Model: "M", Dataset: "D"}, &warn); err == nil {
		t.Error("calibrated over an absent run")
	}
	if _, err := BlessDir(dirs[0], out, BlessOptions{Dataset: "D"}, &warn); err == nil {
		t.Error("blessed without a model")
	}
}
