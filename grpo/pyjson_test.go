package grpo

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportTrainerStatePythonNonFinite imports what Python's json writes
// for non-finite floats (NaN, Infinity, -Infinity) and checks that the
// values are kept, written back as Python writes them, and read again.
// Tokens inside strings are left alone.
func TestImportTrainerStatePythonNonFinite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "trainer_state.json")
	body := "\xef\xbb\xbf" + `{"best_metric": NaN, "log_history": [
  {"step": 1, "loss": NaN, "grad_norm": Infinity, "kl": -Infinity, "note": "NaN Infinity \" NaN", "reward": 0.5},
  {"step": 2, "loss": 0.25, "grad_norm": 1.5}
]}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := ImportTrainerState(p)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, ms []Metrics) {
		t.Helper()
		if len(ms) != 2 {
			t.Fatalf("%s: %d lines, want 2", what, len(ms))
		}
		m := ms[0]
		if !math.IsNaN(m["loss"]) || !math.IsInf(m["grad_norm"], 1) || !math.IsInf(m["kl"], -1) || m["reward"] != 0.5 {
			t.Errorf("%s: step 1: %v", what, m)
		}
		if _, ok := m["note"]; ok {
			t.Errorf("%s: string field read as a metric: %v", what, m)
		}
		if ms[1]["loss"] != 0.25 || ms[1]["grad_norm"] != 1.5 {
			t.Errorf("%s: step 2: %v", what, ms[1])
		}
	}
	check("import", ms)
	out := filepath.Join(dir, MetricsFile)
	if err := WriteMetricsFile(out, ms); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	line1 := strings.SplitN(string(b), "\n", 2)[0]
	for _, want := range []string{`"loss":NaN`, `"grad_norm":Infinity`, `"kl":-Infinity`} {
		if !strings.Contains(line1, want) {
			t.Errorf("metrics.jsonl line 1 %s lacks %s", line1, want)
		}
	}
	back, err := ReadMetrics(out)
	if err != nil {
		t.Fatal(err)
	}
	check("read back", back)

	// A syntax error names the file and the byte offset.
	os.WriteFile(p, []byte(`{"log_history": [{"step": 1, "loss": Nan}]}`), 0o644)
	if _, err := ImportTrainerState(p); err == nil || !strings.Contains(err.Error(), "byte offset") || !strings.Contains(err.Error(), "trainer_state.json") {
		t.Errorf("bad token: %v", err)
	}
}

func TestPyNonFiniteLeavesStringsAlone(t *testing.T) {
	in := `{"a":"NaN","b":"x\"Infinity","c":[NaN,-Infinity,Infinity]}`
	got := string(pyNonFinite([]byte(in)))
	if !strings.HasPrefix(got, `{"a":"NaN","b":"x\"Infinity","c":[`) || strings.Count(got, `\u0000python-float:`) != 3 {
		t.Errorf("pyNonFinite(%s) = %s", in, got)
	}
}

// TestMetricsBOM reads a metrics.jsonl that starts with a UTF-8 BOM.
func TestMetricsBOM(t *testing.T) {
	p := filepath.Join(t.TempDir(), MetricsFile)
	os.WriteFile(p, []byte("\xef\xbb\xbf{\"step\":1,\"loss\":2}\n"), 0o644)
	ms, err := ReadMetrics(p)
	if err != nil || len(ms) != 1 || ms[0]["loss"] != 2 {
		t.Fatalf("%v %v", ms, err)
	}
}
