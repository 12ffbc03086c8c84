package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
)

// TestModelExportImportEval: the tiny fixture exported to a Hugging Face
// checkpoint and imported back passes model inspect and gives the same
// eval outputs (text and token ids) as the original fixture.
func TestModelExportImportEval(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fixture model")
	}
	model := tinyFixture(t)
	hf := filepath.Join(t.TempDir(), "hf")
	if code, out, errOut := cliRun(t, "model", "export", "--from", model, "--out", hf, "--dtype", "fp32", "--max-shard-size", "300KB"); code != 0 {
		t.Fatalf("export: exit %d: %s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(hf, "model.safetensors.index.json")); err != nil {
		t.Errorf("300KB shards: %v", err)
	}
	imported := filepath.Join(t.TempDir(), "imported")
	if code, out, errOut := cliRun(t, "model", "import", "--from", hf, "--out", imported); code != 0 || !strings.Contains(out, "imported") {
		t.Fatalf("import: exit %d: %s%s", code, out, errOut)
	}
	if code, out, errOut := cliRun(t, "model", "inspect", imported); code != 0 || !strings.Contains(out, "layout: compatible") {
		t.Fatalf("inspect: exit %d: %s%s", code, out, errOut)
	}
	synth := t.TempDir()
	if code, out, errOut := cliRun(t, "dataset", "synth", "--out", synth, "--n", "6", "--seed", "4", "--max-side", "40"); code != 0 {
		t.Fatalf("dataset synth: exit %d: %s%s", code, out, errOut)
	}
	eval := func(m string) map[string]records.ScoredSample {
		run := filepath.Join(t.TempDir(), "run")
		if code, out, errOut := cliRun(t, "eval", "--data", filepath.Join(synth, "dataset.json"), "--model", m, "--out", run,
			"--max-new-tokens", "12", "--threads", "1"); code != 0 {
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
	a, b := eval(model), eval(imported)
	if len(a) < 6 || len(b) != len(a) {
		t.Fatalf("%d and %d samples", len(a), len(b))
	}
	for k, s := range a {
		r := b[k]
		if s.Error != "" || len(s.TokenIDs) == 0 || r.Output != s.Output || !equalInts(r.TokenIDs, s.TokenIDs) {
			t.Errorf("%s: fixture %q %v (%s), imported %q %v", k, s.Output, s.TokenIDs, s.Error, r.Output, r.TokenIDs)
		}
	}

	// Usage and input errors exit 2 with one line naming the problem.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"model", "import", "--from", hf, "--out", imported}, "not empty"},
		{[]string{"model", "import", "--from", hf, "--out", t.TempDir() + "/x", "--dtype", "q3"}, `unknown import dtype "q3"`},
		{[]string{"model", "import", "--from", model, "--out", t.TempDir() + "/x"}, "model.safetensors"},
		{[]string{"model", "export", "--from", model, "--out", t.TempDir() + "/x", "--max-shard-size", "lots"}, "shard size"},
		{[]string{"model", "export", "--from", model, "--out", t.TempDir() + "/x", "--dtype", "fp8"}, "unknown export dtype"},
		{[]string{"model", "export", "--from", hf, "--out", t.TempDir() + "/x"}, "decoder_model_merged.onnx"},
	} {
		code, _, errOut := cliRun(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
