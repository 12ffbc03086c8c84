package grpo

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
)

func TestResultWriteSummary(t *testing.T) {
	var b bytes.Buffer
	(&Result{Steps: 3, FinalDir: "out/final", Elapsed: 1500 * time.Millisecond, McNemarP: math.NaN()}).WriteSummary(&b)
	if got := b.String(); got != "steps: 3\nfinal model: out/final\nelapsed: 1.5s\n" {
		t.Errorf("no eval: %q", got)
	}
	b.Reset()
	(&Result{Steps: 1, FinalDir: "f", EvalBefore: 0.25, EvalAfter: 0.5, McNemarP: 0.125}).WriteSummary(&b)
	if got := b.String(); !strings.HasSuffix(got, "eval accuracy: 0.2500 -> 0.5000 (exact McNemar p = 0.125)\n") {
		t.Errorf("eval: %q", got)
	}
}

func TestLoadSamples(t *testing.T) {
	dir := t.TempDir()
	p, err := datasets.SynthTask(context.Background(), "count", datasets.SynthOptions{Out: dir, N: 4, Seed: 1, Modalities: []string{datasets.CT}})
	if err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	s, err := LoadSamples(p, dir, 3, datasets.InvalidRefuse, &warn)
	if err != nil || len(s) != 3 || warn.Len() != 0 {
		t.Fatalf("LoadSamples = %d items, %v, warning %q", len(s), err, warn.String())
	}
	// An answer-key problem: refused, or used with a warning.
	var recs []map[string]any
	b, _ := os.ReadFile(p)
	json.Unmarshal(b, &recs)
	recs[0]["solution"] = "<answer> Z </answer>"
	b, _ = json.Marshal(recs)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, b, 0o644)
	if _, err := LoadSamples(bad, dir, 0, datasets.InvalidRefuse, &warn); err == nil || !strings.HasPrefix(err.Error(), "train: ") {
		t.Errorf("refuse: %v", err)
	}
	if s, err := LoadSamples(bad, dir, 0, datasets.InvalidScore, &warn); err != nil || len(s) != 4 || !strings.Contains(warn.String(), "1 record(s) with answer-key problems") {
		t.Errorf("score: %d items, %v, warning %q", len(s), err, warn.String())
	}
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte("[]"), 0o644)
	if _, err := LoadSamples(empty, dir, 0, datasets.InvalidRefuse, &warn); err == nil || err.Error() != empty+": no records" {
		t.Errorf("empty: %v", err)
	}
}
