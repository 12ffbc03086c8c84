package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
)

// corruptAnswerKeys rewrites records 0-3 of a dataset file with the four
// answer-key faults eval must not score silently.
func corruptAnswerKeys(t *testing.T, data string) {
	t.Helper()
	recs, err := datasets.ReadRecords(data)
	if err != nil {
		t.Fatal(err)
	}
	recs[0].Solution = strings.ToLower(recs[0].Solution)                               // lowercase letter
	recs[1].Solution = string(rune('A' + len(recs[1].Options)))                        // outside the options
	recs[2].Solution = map[bool]string{true: "B", false: "A"}[recs[2].Solution == "A"] // contradicts the answer text
	recs[3].Options = []string{}                                                       // empty options
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEvalInvalidItems(t *testing.T) {
	data := evalSynth(t, 12)
	outputs, _ := writeOutputs(t, data)
	corruptAnswerKeys(t, data)
	args := func(out string, extra ...string) []string {
		return append([]string{"eval", "--data", data, "--runner", "replay", "--outputs", outputs, "--out", out, "--prompt", "simple,complex"}, extra...)
	}

	// Default: refused, exit 2, one line per problem naming file and record.
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := cliRun(t, args(out)...)
	if code != exitUsage {
		t.Fatalf("bad answer keys: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, rec := range []string{"record 0: field \"solution\"", "record 1: field \"solution\"", "record 2: field \"solution\"", "record 3: field \"options\": empty list"} {
		if !strings.Contains(stderr, data+": "+rec) {
			t.Errorf("refusal does not list %q:\n%s", rec, stderr)
		}
	}
	if !strings.Contains(stderr, "4 record(s) have answer-key problems") || !strings.Contains(stderr, "--invalid-items score") {
		t.Errorf("refusal:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, records.SamplesFile)); err == nil {
		t.Error("a refused eval wrote samples")
	}
	if code, _, stderr := cliRun(t, args(out, "--invalid-items", "maybe")...); code != exitUsage || !strings.Contains(stderr, "--invalid-items \"maybe\"") {
		t.Errorf("bad --invalid-items: exit %d %s", code, stderr)
	}

	// --invalid-items score: scored, marked and counted everywhere.
	code, stdout, stderr = cliRun(t, args(out, "--invalid-items", "score")...)
	if code != 0 {
		t.Fatalf("--invalid-items score: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "4 invalid item(s) scored") {
		t.Errorf("eval output does not mention the invalid items:\n%s", stdout)
	}
	sum := readSummary(t, out)
	if sum.InvalidItems != 4 {
		t.Errorf("summary invalid_items = %d, want 4", sum.InvalidItems)
	}
	run, err := records.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Manifest.Config["invalid_items"] != "score" {
		t.Errorf("manifest config invalid_items = %v", run.Manifest.Config["invalid_items"])
	}
	for _, s := range run.Samples {
		if (s.Index < 4) != (s.Invalid != "") {
			t.Errorf("sample %s: invalid %q", s.Key(), s.Invalid)
		}
	}
	// Lowercase "a".."d" never equals an extracted letter: the seed scores it wrong.
	for _, s := range run.Samples {
		if s.Index == 0 && s.Correct["strict"] {
			t.Errorf("sample %s with a lowercase solution scored correct", s.Key())
		}
	}
	g := filepath.Join(t.TempDir(), "g.json")
	if code, o, e := cliRun(t, "check", "bless", "--run", out, "--out", g, "--model", "m", "--dataset", "d"); code != 0 {
		t.Fatalf("bless: %d %s %s", code, o, e)
	}
	md := filepath.Join(t.TempDir(), "summary.md")
	code, stdout, stderr = cliRun(t, "check", "--run", out, "--golden", g, "--summary", md)
	if code != 0 {
		t.Fatalf("check: exit %d %s %s", code, stdout, stderr)
	}
	mdText, _ := os.ReadFile(md)
	if !strings.Contains(string(mdText), "invalid_items: 4 item(s)") || !strings.Contains(stdout, "invalid_items: 4 item(s)") {
		t.Errorf("check does not show invalid_items:\nstdout %s\nmarkdown %s", stdout, mdText)
	}
	rep := filepath.Join(t.TempDir(), "report")
	if code, o, e := cliRun(t, "report", "--run", out, "--out", rep); code != 0 {
		t.Fatalf("report: %d %s %s", code, o, e)
	}
	repMD, _ := os.ReadFile(filepath.Join(rep, "report.md"))
	if !strings.Contains(string(repMD), "Invalid items scored") {
		t.Errorf("report.md does not show invalid items:\n%s", repMD)
	}
}

// TestReadersRefuseDuplicateSamples mixes a second copy of a sample into a
// finished run record (what two writers on one --out produced before the
// lock): check, compare, report, replay and resume all refuse it, naming the
// key and both lines.
func TestReadersRefuseDuplicateSamples(t *testing.T) {
	data := evalSynth(t, 6)
	outputs, _ := writeOutputs(t, data)
	out := filepath.Join(t.TempDir(), "run")
	evalArgs := []string{"eval", "--data", data, "--runner", "replay", "--outputs", outputs, "--out", out, "--prompt", "simple,complex"}
	if code, o, e := cliRun(t, evalArgs...); code != 0 {
		t.Fatalf("eval: %d %s %s", code, o, e)
	}
	g := filepath.Join(t.TempDir(), "g.json")
	if code, o, e := cliRun(t, "check", "bless", "--run", out, "--out", g, "--model", "m", "--dataset", "d"); code != 0 {
		t.Fatalf("bless: %d %s %s", code, o, e)
	}
	sp := filepath.Join(out, records.SamplesFile)
	b, _ := os.ReadFile(sp)
	first := strings.SplitAfter(string(b), "\n")[0]
	if err := os.WriteFile(sp, append(b, first...), 0o644); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(b), "\n") + 1
	want := "line " + itoaDS(n) + ": sample simple/0 is already recorded on line 1"
	for name, args := range map[string][]string{
		"check":   {"check", "--run", out, "--golden", g},
		"compare": {"compare", "--run", out, "--prompts", "simple,complex"},
		"report":  {"report", "--run", out, "--out", filepath.Join(t.TempDir(), "rep")},
		"replay":  {"eval", "--data", data, "--runner", "replay", "--outputs", sp, "--out", filepath.Join(t.TempDir(), "r2")},
		"resume":  append(evalArgs, "--resume"),
	} {
		code, o, e := cliRun(t, args...)
		if code != exitUsage || !strings.Contains(e, want) {
			t.Errorf("%s: exit %d, want 2 naming the duplicate (%s)\n%s%s", name, code, want, o, e)
		}
	}
}

// TestCheckRefusesBadGolden: golden values out of range and malformed golden
// files are input errors (exit 2) with one line naming the row or the shape.
func TestCheckRefusesBadGolden(t *testing.T) {
	data := evalSynth(t, 6)
	outputs, _ := writeOutputs(t, data)
	out := filepath.Join(t.TempDir(), "run")
	if code, o, e := cliRun(t, "eval", "--data", data, "--runner", "replay", "--outputs", outputs, "--out", out, "--prompt", "complex"); code != 0 {
		t.Fatalf("eval: %d %s %s", code, o, e)
	}
	row := `{"model":"m","dataset":"d","modality":"MRI","prompt":"complex","policy":"strict","metric":"accuracy","value":%s,"n":2,%s"provenance":{"source":"s","verified":false}}`
	tol := `"tolerance":{"kind":"absolute","value":0.1,"direction":"both"},`
	table := func(rows ...string) string {
		return `{"format":"medbench-golden","version":1,"rows":[` + strings.Join(rows, ",") + `]}`
	}
	for name, c := range map[string]struct{ file, want string }{
		"percent":        {table(fmtRow(row, "50", tol)), "row 1 (m/d/MRI/complex/strict/accuracy): value 50 of accuracy is outside [0, 1]"},
		"negative":       {table(fmtRow(row, "-0.5", tol)), "value -0.5 of accuracy is outside [0, 1]"},
		"no tolerance":   {table(fmtRow(row, "0.5", "")), "row 1 (m/d/MRI/complex/strict/accuracy): no tolerance"},
		"empty file":     {"", "empty file"},
		"array":          {"[]", "the top level is a JSON array"},
		"rows object":    {`{"format":"medbench-golden","version":1,"rows":{}}`, `field "rows" is an object; want an array`},
		"huge tolerance": {table(fmtRow(row, "0.5", `"tolerance":{"kind":"absolute","value":50,"direction":"both"},`)), "admits every value in [0, 1]"},
	} {
		g := filepath.Join(t.TempDir(), "g.json")
		os.WriteFile(g, []byte(c.file), 0o644)
		code, o, e := cliRun(t, "check", "--run", out, "--golden", g)
		lines := strings.Split(strings.TrimSpace(e), "\n")
		if code != exitUsage || !strings.Contains(e, c.want) || len(lines) != 1 || !strings.Contains(e, g) {
			t.Errorf("%s: exit %d, want 2 and one line naming %s and containing %q\n%s%s", name, code, g, c.want, o, e)
		}
	}
}

func fmtRow(format, value, tol string) string {
	return strings.Replace(strings.Replace(format, "%s", value, 1), "%s", tol, 1)
}

// TestTrainRefusals: train grpo and sft refuse bad answer keys (exit 2,
// listing them) unless told to score them, and a used --out without --resume.
func TestTrainRefusals(t *testing.T) {
	data := evalSynth(t, 6)
	corruptAnswerKeys(t, data)
	model := filepath.Join(t.TempDir(), "no-model") // never reached
	for _, sub := range []string{"grpo", "sft"} {
		out := filepath.Join(t.TempDir(), sub)
		code, o, e := cliRun(t, "train", sub, "--model", model, "--data", data, "--out", out, "--quiet")
		if code != exitUsage || !strings.Contains(e, "train: "+data+": 4 record(s) have answer-key problems") ||
			!strings.Contains(e, data+": record 1: field \"solution\"") {
			t.Errorf("train %s with bad answer keys: exit %d\n%s%s", sub, code, o, e)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("train %s: refused run created %s", sub, out)
		}
		// Told to score them: the answer keys pass (with a warning), and the
		// used output folder is what stops it now.
		os.MkdirAll(filepath.Join(out, "checkpoints", "step-1"), 0o755)
		code, o, e = cliRun(t, "train", sub, "--model", model, "--data", data, "--out", out, "--quiet", "--invalid-items", "score")
		if code != exitUsage || !strings.Contains(e, "invalid_items: 4 record(s)") || !strings.Contains(e, "output folder is not empty") {
			t.Errorf("train %s --invalid-items score into a used folder: exit %d\n%s%s", sub, code, o, e)
		}
	}
}
