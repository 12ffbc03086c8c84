package grpo

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/datasets"
)

// TestUserConfig checks the meaning of a user's explicit zeros and the
// invalid-items count.
func TestUserConfig(t *testing.T) {
	items := []datasets.Item{
		{Index: 0, Record: datasets.Record{Problem: "Which?", Options: []string{"x", "y"}, Answer: "z"}},
		{Index: 1, Record: datasets.Record{Problem: "Which?", Options: []string{"x", "y"}, Answer: "x"}},
	}
	c := UserConfig(Config{Beta: 0, EpsilonLow: 0.3, Samples: items})
	if c.Beta >= 0 || c.EpsilonHigh != 0.3 {
		t.Errorf("beta %v epsilon high %v: want a disabled KL term and epsilon high = epsilon low 0.3", c.Beta, c.EpsilonHigh)
	}
	want := len(datasets.InvalidByIndex(datasets.CheckSamples(items, datasets.DefaultModalityMap())))
	if want == 0 || c.InvalidItems != want {
		t.Errorf("invalid items %d, want %d (> 0)", c.InvalidItems, want)
	}
	c = UserConfig(Config{Beta: 0.04, EpsilonLow: 0.2, EpsilonHigh: 0.28})
	if c.Beta != 0.04 || c.EpsilonHigh != 0.28 || c.InvalidItems != 0 {
		t.Errorf("stated values changed: beta %v epsilon high %v invalid %d", c.Beta, c.EpsilonHigh, c.InvalidItems)
	}
}

// TestImportTrainerStateTo writes the imported log into a folder it
// creates.
func TestImportTrainerStateTo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "new", "dir")
	p, n, err := ImportTrainerStateTo("testdata/trainer_state_medvlm_r1.json", out)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(out, MetricsFile) || n != 3 {
		t.Fatalf("wrote %d steps to %s, want 3 to %s", n, p, filepath.Join(out, MetricsFile))
	}
	ms, err := ReadMetrics(p)
	if err != nil || len(ms) != n {
		t.Fatalf("read back %d lines, %v", len(ms), err)
	}
	if _, _, err := ImportTrainerStateTo(filepath.Join(t.TempDir(), "missing.json"), out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing trainer state: %v", err)
	}
}
