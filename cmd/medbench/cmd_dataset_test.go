package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/datasets"
)

func synthDir(t *testing.T, n int) (string, string) {
	t.Helper()
	dir := t.TempDir()
	code, out, errOut := cliRun(t, "dataset", "synth", "--out", dir, "--n", itoaDS(n), "--seed", "7", "--max-side", "48")
	if code != 0 {
		t.Fatalf("synth exit %d: %s %s", code, out, errOut)
	}
	return dir, filepath.Join(dir, "dataset.json")
}

func itoaDS(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestDatasetSynthThenValidate(t *testing.T) {
	dir, p := synthDir(t, 15)
	code, out, errOut := cliRun(t, "dataset", "validate", p, "--images", dir)
	if code != 0 || !strings.Contains(out, "ok") || errOut != "" {
		t.Fatalf("validate of a fresh synth: exit %d, %q %q", code, out, errOut)
	}
	recs, err := datasets.ReadRecords(p)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)

	t.Run("missing image", func(t *testing.T) {
		img := datasets.JoinImagePath(dir, recs[3].Image[0])
		b, _ := os.ReadFile(img)
		os.Remove(img)
		defer os.WriteFile(img, b, 0o644)
		code, out, errOut := cliRun(t, "dataset", "validate", p)
		if code != 1 || !strings.Contains(out, "record 3: field \"image\"") || !strings.Contains(out, "missing") {
			t.Errorf("exit %d, stdout %q", code, out)
		}
		if !strings.Contains(errOut, "1 problem(s) in 1 record(s)") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("stderr %q", errOut)
		}
	})
	t.Run("wrong letter", func(t *testing.T) {
		bad := append([]datasets.Record(nil), recs...)
		bad[6].Solution = map[string]string{"A": "B", "B": "C", "C": "D", "D": "A"}[bad[6].Solution]
		q := filepath.Join(dir, "wrong.json")
		if err := datasets.WriteRecords(q, bad); err != nil {
			t.Fatal(err)
		}
		code, out, _ := cliRun(t, "dataset", "validate", q, "--format", "json")
		var doc struct {
			OK       bool
			Problems []datasets.Problem
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("json output %q: %v", out, err)
		}
		if code != 1 || doc.OK || len(doc.Problems) != 1 || doc.Problems[0].Index != 6 || doc.Problems[0].Field != "solution" {
			t.Errorf("exit %d, %+v", code, doc)
		}
	})
	t.Run("truncated JSON", func(t *testing.T) {
		q := filepath.Join(dir, "trunc.json")
		cut := strings.Index(string(raw), recs[9].Image[0])
		os.WriteFile(q, raw[:cut], 0o644)
		code, out, _ := cliRun(t, "dataset", "validate", q)
		if code != 1 || !strings.Contains(out, "record 9: truncated JSON") || !strings.Contains(out, "byte offset") {
			t.Errorf("exit %d, stdout %q", code, out)
		}
	})
}

func TestDatasetExit2(t *testing.T) {
	dir, p := synthDir(t, 6)
	notArray := filepath.Join(dir, "obj.json")
	os.WriteFile(notArray, []byte(`{"a": 1}`), 0o644)
	badMap := filepath.Join(dir, "map.json")
	os.WriteFile(badMap, []byte(`[1]`), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"dataset", "validate"}, "want one FILE argument"},
		{"absent file", []string{"dataset", "validate", filepath.Join(dir, "absent.json")}, "absent.json"},
		{"not an array", []string{"dataset", "validate", notArray}, "top level is an object"},
		{"bad format", []string{"dataset", "validate", p, "--format", "xml"}, "want text or json"},
		{"unknown flag", []string{"dataset", "validate", p, "--nope"}, "--nope"},
		{"bad modality map", []string{"dataset", "stats", p, "--modality-map", badMap}, "map.json"},
		{"stats no slice", []string{"dataset", "stats", p, "--select", "seed-slices", "--modalities", "Fundus"}, "no slice for Fundus"},
		{"stats short file", []string{"dataset", "stats", p, "--select", "seed-slices"}, "seed slice MRI"},
		{"bad selection", []string{"dataset", "stats", p, "--select", "random"}, "unknown selection"},
		{"convert same kind", []string{"dataset", "convert", p, filepath.Join(dir, "x.json")}, "must end in .parquet"},
		{"convert embed missing images", []string{"dataset", "convert", "../../datasets/testdata/seed3.json", filepath.Join(dir, "x.parquet"), "--embed-images", "--images", dir}, "record 0"},
		{"synth bad n", []string{"dataset", "synth", "--out", dir, "--n", "0"}, "N must be positive"},
		{"synth no out", []string{"dataset", "synth", "--n", "3"}, "out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cliRun(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine") {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
		})
	}
}

func TestDatasetUnknownSubset(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("../../datasets/testdata/seed3.json")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "d.json")
	os.WriteFile(p, []byte(strings.Replace(string(raw), `"X-Ray"`, `"Endoscopy"`, 1)), 0o644)
	code, _, errOut := cliRun(t, "dataset", "stats", p)
	if code != 2 || !strings.Contains(errOut, "record 2") || !strings.Contains(errOut, `unknown subset "Endoscopy"`) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	m := filepath.Join(dir, "map.json")
	os.WriteFile(m, []byte(`{"Endoscopy": "Endoscopy"}`), 0o644)
	code, out, errOut := cliRun(t, "dataset", "stats", p, "--modality-map", m)
	if code != 0 || !strings.Contains(out, "Endoscopy") {
		t.Errorf("with map: exit %d %s %s", code, out, errOut)
	}
	// The flag also works before the subcommand.
	code, out, errOut = cliRun(t, "dataset", "--modality-map", m, "stats", p)
	if code != 0 || !strings.Contains(out, "Endoscopy") {
		t.Errorf("with map on the parent: exit %d %s %s", code, out, errOut)
	}
}

func TestDatasetStats(t *testing.T) {
	_, p := synthDir(t, 15)
	code, out, errOut := cliRun(t, "dataset", "stats", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"MRI", "CT", "Xray", "4×4 + 1×2", "RANDOM GUESS %", "seed slices vs subset selection"} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
	code, out, _ = cliRun(t, "dataset", "stats", p, "--format", "json", "--modalities", "CT")
	var doc struct {
		Stats           datasets.Stats
		SelectionsAgree bool `json:"selections_agree"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	// 4 quadrant items and 1 yes/no item: 100*(4/4+1/2)/5 = 30%.
	if len(doc.Stats.ByModality) != 1 || doc.Stats.ByModality[0].Modality != "CT" || doc.Stats.ByModality[0].RandomGuessPct != 30 || doc.SelectionsAgree {
		t.Errorf("%+v", doc)
	}
}

func TestDatasetConvertRoundTrip(t *testing.T) {
	dir, p := synthDir(t, 6)
	pq := filepath.Join(t.TempDir(), "d.parquet")
	if code, _, errOut := cliRun(t, "dataset", "convert", p, pq, "--images", dir, "--embed-images"); code != 0 {
		t.Fatalf("to parquet: %s", errOut)
	}
	if code, out, errOut := cliRun(t, "dataset", "validate", pq); code != 0 {
		t.Fatalf("validate parquet: %d %s %s", code, out, errOut)
	}
	outDir := t.TempDir()
	back := filepath.Join(outDir, "back.json")
	if code, _, errOut := cliRun(t, "dataset", "convert", pq, back); code != 0 {
		t.Fatalf("to json: %s", errOut)
	}
	if code, out, errOut := cliRun(t, "dataset", "validate", back); code != 0 {
		t.Fatalf("validate round trip: %d %s %s", code, out, errOut)
	}
	a, _ := datasets.ReadRecords(p)
	b, _ := datasets.ReadRecords(back)
	if len(a) != len(b) || a[2].Problem != b[2].Problem || filepath.Base(a[2].Image[0]) != filepath.Base(b[2].Image[0]) {
		t.Errorf("round trip changed records")
	}
}

func TestDatasetModalities(t *testing.T) {
	code, out, _ := cliRun(t, "dataset", "modalities")
	if code != 0 || !strings.Contains(out, `"MR (Mag-netic Resonance Imaging)"`) || !strings.Contains(out, `"OCT (Optical Coherence Tomography"`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
