package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestComparePromptsCLI(t *testing.T) {
	// simple: 10 of 30 right per modality; complex: 20 of 30 (a superset):
	// per modality b = 0, c = 10, exact p = 2⁻⁹ = 0.001953125.
	runDir := statsWriteRun(t, "both", 1,
		statsItems("MRI", "simple", 30, 10), statsItems("MRI", "complex", 30, 20),
		statsItems("CT", "simple", 30, 10), statsItems("CT", "complex", 30, 20))
	out := filepath.Join(t.TempDir(), "cmp")
	code, stdout := runCaptured(t, "compare", "--run", runDir, "--prompts", "simple,complex", "--out", out, "--top", "3")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, want := range []string{"Prompt ablation: simple vs complex", "MRI", "CT", "0.0020", "complex better", "Discordant items (20; first 3"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(filepath.Join(out, "discordant.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 21 || recs[0][8] != "output_simple" || recs[1][4] != "true" {
		t.Errorf("discordant.csv: %v, %d records %v", err, len(recs), recs[:min(2, len(recs))])
	}
	for _, name := range []string{"compare.md", "discordant.md"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || len(b) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCompareRunsCLI(t *testing.T) {
	a := statsWriteRun(t, "a", 1, statsItems("CT", "complex", 40, 30))
	b := statsWriteRun(t, "b", 2, statsItems("CT", "complex", 35, 15)) // 15 losses on the 35 shared items
	code, stdout := runCaptured(t, "compare", "--a", a, "--b", b)
	if code != 0 || !strings.Contains(stdout, "intersection (35 items)") || !strings.Contains(stdout, "B worse") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
	if code, _ := runCaptured(t, "compare", "--a", a, "--b", b, "--fail-on-worse"); code != 1 {
		t.Errorf("--fail-on-worse: exit %d, want 1", code)
	}
	for _, args := range [][]string{
		{"compare"},
		{"compare", "--a", a},
		{"compare", "--run", a, "--prompts", "simple"},
		{"compare", "--run", a, "--prompts", "simple,complex"}, // no simple samples
		{"compare", "--a", a, "--b", b, "--alpha", "0"},
		{"compare", "--a", a, "--b", b, "--prompt", "simple"},
	} {
		if code, _ := runCaptured(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
