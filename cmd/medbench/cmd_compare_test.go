package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/metrics"
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

// TestCompareJSONCLI: compare --out writes compare.json beside compare.md
// with the same cells: n, b, c and the McNemar p of each Markdown row.
func TestCompareJSONCLI(t *testing.T) {
	runDir := statsWriteRun(t, "both", 1,
		statsItems("MRI", "simple", 30, 10), statsItems("MRI", "complex", 30, 20),
		statsItems("CT", "simple", 20, 5), statsItems("CT", "complex", 20, 15))
	out := filepath.Join(t.TempDir(), "cmp")
	if code, stdout := runCaptured(t, "compare", "--run", runDir, "--prompts", "simple,complex", "--out", out); code != 0 {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "compare.json"))
	if err != nil {
		t.Fatal(err)
	}
	var j golden.CompareJSON
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "compare.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(md), "\n") {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| Modality") {
			rows = append(rows, l)
		}
	}
	if j.SchemaVersion != golden.CompareJSONVersion || j.A != "simple" || j.B != "complex" || len(j.Cells) != 3 || len(rows) != 3 {
		t.Fatalf("compare.json %+v; %d Markdown rows", j, len(rows))
	}
	want := []struct {
		mod     string
		n, b, c int
	}{{"MRI", 30, 0, 10}, {"CT", 20, 0, 10}, {"all", 50, 0, 20}}
	for i, w := range want {
		cell := j.Cells[i]
		if cell.Modality != w.mod || cell.N != w.n || cell.B != w.b || cell.C != w.c || cell.P != metrics.McNemarExact(w.b, w.c) || cell.Verdict != "better" {
			t.Errorf("cell %d: %+v, want %+v", i, cell, w)
		}
		cs := strings.Split(rows[i], " | ")
		if cs[1] != strconv.Itoa(cell.N) || cs[6] != strconv.Itoa(cell.B) || cs[7] != strconv.Itoa(cell.C) || !strings.Contains(rows[i], "complex better") {
			t.Errorf("row %d %q disagrees with %+v", i, rows[i], cell)
		}
	}
}
