package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// synthSet writes a small quadrant dataset and returns its path.
func synthSet(t *testing.T, n int) string {
	t.Helper()
	p, err := SynthTask(context.Background(), TaskQuadrant, SynthOptions{Out: t.TempDir(), N: n, Seed: 5, MaxSide: 40})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateFileReports(t *testing.T) {
	ctx := context.Background()
	path := synthSet(t, 6)
	var w bytes.Buffer
	if err := ValidateFile(ctx, &w, path, ValidateOptions{Modalities: DefaultModalityMap()}); err != nil || w.String() != path+": ok\n" {
		t.Fatalf("clean text: %v %q", err, w.String())
	}
	w.Reset()
	if err := ValidateFile(ctx, &w, path, ValidateOptions{Modalities: DefaultModalityMap(), JSON: true}); err != nil ||
		!strings.Contains(w.String(), `"ok": true`) || !strings.Contains(w.String(), `"problems": []`) {
		t.Fatalf("clean json: %v %s", err, w.String())
	}

	// Two records go wrong: three problems in two records.
	var recs []map[string]any
	b, _ := os.ReadFile(path)
	json.Unmarshal(b, &recs)
	recs[1]["solution"] = "<answer> Z </answer>"
	recs[4]["options"] = []string{}
	recs[4]["subset"] = "nowhere"
	b, _ = json.Marshal(recs)
	os.WriteFile(path, b, 0o644)
	w.Reset()
	err := ValidateFile(ctx, &w, path, ValidateOptions{Modalities: DefaultModalityMap(), Images: ImageCheck{}})
	var pe *ProblemsError
	if !errors.As(err, &pe) || pe.Records != 2 || pe.Problems < 3 || pe.Path != path {
		t.Fatalf("problems: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != pe.Problems || !strings.HasPrefix(lines[0], path+": record 1: ") {
		t.Errorf("report:\n%s", w.String())
	}
	if _, err := os.Stat(path + ".missing"); err == nil {
		t.Fatal("unexpected file")
	}
	if err := ValidateFile(ctx, &w, path+".missing", ValidateOptions{}); err == nil || errors.As(err, &pe) {
		t.Errorf("unreadable file: %v, want a plain error", err)
	}
}

func TestWriteStatsAndModalityTable(t *testing.T) {
	path := synthSet(t, 6)
	var w bytes.Buffer
	if err := WriteStats(&w, path, StatsOptions{Selection: BySubset, Modalities: []string{"all"}}); err != nil {
		t.Fatal(err)
	}
	if out := w.String(); !strings.Contains(out, "MAJORITY LETTER %") || !strings.Contains(out, "seed slices vs subset selection") {
		t.Errorf("tables:\n%s", out)
	}
	w.Reset()
	if err := WriteStats(&w, path, StatsOptions{Selection: BySubset, Modalities: []string{"all"}, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var js struct {
		File  string `json:"file"`
		Stats Stats  `json:"stats"`
	}
	if err := json.Unmarshal(w.Bytes(), &js); err != nil || js.File != path || js.Stats.Total.N != 6 {
		t.Errorf("json: %v %s", err, w.String())
	}
	if err := WriteStats(&w, path, StatsOptions{Selection: BySubset, Modalities: []string{"PET"}}); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("absent modality: %v", err)
	}
	if got := optionsHist(map[int]int{2: 1, 4: 5}); got != "5×4 + 1×2" {
		t.Errorf("optionsHist = %q", got)
	}
	w.Reset()
	ModalityMap{"b": "CT", "a": "CT", "z": "MRI"}.WriteTable(&w)
	out := w.String()
	if iz, ia, ib := strings.Index(out, `"z"`), strings.Index(out, `"a"`), strings.Index(out, `"b"`); !(iz < ia && ia < ib) {
		t.Errorf("order (MRI before CT, subsets sorted):\n%s", out)
	}
}

func TestConvertAndSynthUsage(t *testing.T) {
	ctx := context.Background()
	var ue *UsageError
	for _, c := range [][2]string{{"a.json", "b.json"}, {"a.parquet", "b.PARQUET"}} {
		if err := Convert(ctx, c[0], c[1], ConvertOptions{}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "must end in .parquet") {
			t.Errorf("Convert(%s, %s): %v", c[0], c[1], err)
		}
	}
	if err := Convert(ctx, "a.parquet", "b.json", ConvertOptions{EmbedImages: true}); !errors.As(err, &ue) {
		t.Errorf("embedding into JSON: %v", err)
	}
	dir := t.TempDir()
	path := synthSet(t, 4)
	pq := filepath.Join(dir, "x.parquet")
	if err := Convert(ctx, path, pq, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(t.TempDir(), "x.json")
	if err := Convert(ctx, pq, back, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	if recs, err := ReadRecords(back); err != nil || len(recs) != 4 {
		t.Errorf("round trip: %d records, %v", len(recs), err)
	}
	if _, err := SynthTask(ctx, "where", SynthOptions{Out: dir, N: 1}); !errors.As(err, &ue) || err.Error() != `--task "where": want quadrant or count` {
		t.Errorf("unknown task: %v", err)
	}
	if p, err := SynthTask(ctx, TaskCount, SynthOptions{Out: filepath.Join(dir, "count"), N: 4, Seed: 1}); err != nil || filepath.Base(p) != "dataset.json" {
		t.Errorf("count task: %q %v", p, err)
	}
}

func TestCheckImagesRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	var ue *UsageError
	if err := CheckImagesRoot(""); err != nil {
		t.Errorf("empty root: %v", err)
	}
	if err := CheckImagesRoot(dir); err != nil {
		t.Errorf("folder: %v", err)
	}
	if err := CheckImagesRoot(filepath.Join(dir, "none")); !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "no such folder") {
		t.Errorf("missing: %v", err)
	}
	if err := CheckImagesRoot(file); !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "not a folder") {
		t.Errorf("file: %v", err)
	}
}

func TestCheckInvalid(t *testing.T) {
	items, err := Load(synthSet(t, 6), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	items[3].Record.Solution = "Z"
	mm := DefaultModalityMap()
	var ue *UsageError
	if _, err := CheckInvalid("eval", "d.json", "maybe", items, mm); !errors.As(err, &ue) {
		t.Errorf("unknown mode: %v", err)
	}
	if got, err := CheckInvalid("eval", "d.json", InvalidScore, items[:3], mm); got != nil || err != nil {
		t.Errorf("clean: %v %v", got, err)
	}
	got, err := CheckInvalid("eval", "d.json", InvalidScore, items, mm)
	if err != nil || len(got) != 1 || got[3] == "" {
		t.Errorf("score: %v %v", got, err)
	}
	_, err = CheckInvalid("train", "d.json", InvalidRefuse, items, mm)
	if err == nil || !strings.HasPrefix(err.Error(), "train: d.json: 1 record(s) have answer-key problems") || !strings.Contains(err.Error(), "\nd.json: record 3: ") {
		t.Errorf("refuse: %v", err)
	}
}
