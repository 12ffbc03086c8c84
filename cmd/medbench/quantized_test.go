package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners/fixture"
)

// TestModelImportQuantized: a checkpoint imported with --dtype q4 and q8
// writes the files the runner expects (inspect detects them and finds the
// layout compatible), and eval on it gives exactly the outputs of
// `model fixture --dtype q4|q8` with the same weights: the import quantizes
// the same float32 values the same way.
func TestModelImportQuantized(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fixture model")
	}
	model := tinyFixture(t)
	hf := filepath.Join(t.TempDir(), "hf")
	if code, out, errOut := cliRun(t, "model", "export", "--from", model, "--out", hf, "--dtype", "fp32"); code != 0 {
		t.Fatalf("export: exit %d: %s%s", code, out, errOut)
	}
	synth := t.TempDir()
	if code, out, errOut := cliRun(t, "dataset", "synth", "--out", synth, "--n", "4", "--seed", "4", "--max-side", "40"); code != 0 {
		t.Fatalf("dataset synth: exit %d: %s%s", code, out, errOut)
	}
	eval := func(m, dtype string) map[string]records.ScoredSample {
		run := filepath.Join(t.TempDir(), "run")
		if code, out, errOut := cliRun(t, "eval", "--data", filepath.Join(synth, "dataset.json"), "--model", m, "--dtype", dtype,
			"--out", run, "--max-new-tokens", "8", "--threads", "1"); code != 0 {
			t.Fatalf("eval %s: exit %d: %s%s", m, code, out, errOut)
		}
		f, err := os.Open(filepath.Join(run, "samples.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got := map[string]records.ScoredSample{}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var s records.ScoredSample
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			got[s.Key()] = s
		}
		return got
	}
	for _, dt := range []string{"q4", "q8"} {
		imported := filepath.Join(t.TempDir(), "imported-"+dt)
		if code, out, errOut := cliRun(t, "model", "import", "--from", hf, "--out", imported, "--dtype", dt); code != 0 {
			t.Fatalf("import %s: exit %d: %s%s", dt, code, out, errOut)
		}
		suffix, _ := fixture.Suffix(dt)
		if _, err := os.Stat(filepath.Join(imported, "onnx", "decoder_model_merged"+suffix+".onnx")); err != nil {
			t.Fatalf("import %s: %v", dt, err)
		}
		code, out, errOut := cliRun(t, "model", "inspect", imported)
		if code != 0 || !strings.Contains(out, "layout: compatible with the medbench Qwen2-VL runner ("+dt+")") {
			t.Fatalf("inspect %s: exit %d: %s%s", dt, code, out, errOut)
		}
		direct := filepath.Join(t.TempDir(), "fixture-"+dt)
		if err := fixture.Write(context.Background(), direct, fixture.Options{Preset: "tiny", DType: dt, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		a, b := eval(direct, dt), eval(imported, dt)
		if len(a) < 4 || len(b) != len(a) {
			t.Fatalf("%s: %d and %d samples", dt, len(a), len(b))
		}
		for k, s := range a {
			r := b[k]
			if s.Error != "" || len(s.TokenIDs) == 0 || r.Output != s.Output || !equalInts(r.TokenIDs, s.TokenIDs) {
				t.Errorf("%s %s: fixture %q %v (%s), imported %q %v", dt, k, s.Output, s.TokenIDs, s.Error, r.Output, r.TokenIDs)
			}
		}
	}
}
