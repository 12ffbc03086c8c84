package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/medbench/medbench/records"
)

// item describes one synthetic sample: its outcome under "strict" and
// whether an answer was extracted.
type item struct {
	mod, prompt string
	id          int
	correct     bool
	parsed      bool
}

// items makes n items of a modality/prompt, the first k correct, the first
// parsed parsed (parsed ≥ k).
func items(mod, prompt string, first, n, k, parsed int) []item {
	var out []item
	for i := range n {
		out = append(out, item{mod: mod, prompt: prompt, id: first + i, correct: i < k, parsed: i < parsed})
	}
	return out
}

func toSample(it item) records.ScoredSample {
	letter := "A"
	ext := map[string]*string{"strict": nil}
	if it.parsed {
		e := "B"
		if it.correct {
			e = letter
		}
		ext["strict"] = &e
	}
	out := "<answer>?</answer>"
	if it.parsed {
		out = "<think>…</think><answer>" + *ext["strict"] + "</answer>"
	}
	return records.ScoredSample{
		ID: strconv.Itoa(it.id), Index: it.id, Modality: it.mod, Prompt: it.prompt,
		Solution: letter, Question: "Q" + strconv.Itoa(it.id) + "?", Output: out,
		Extractions: ext, Correct: map[string]bool{"strict": it.correct},
	}
}

// makeRun returns an in-memory run; writeRun also writes it to a directory.
func makeRun(dir string, seed uint64, its ...[]item) *records.Run {
	r := &records.Run{Dir: dir, Manifest: records.Manifest{SchemaVersion: 1, Policies: []string{"strict/v1", "lenient/v1"}, Seed: seed}}
	for _, group := range its {
		for _, it := range group {
			r.Samples = append(r.Samples, toSample(it))
		}
	}
	return r
}

func writeRun(t *testing.T, r *records.Run) string {
	t.Helper()
	if r.Dir == "" {
		r.Dir = t.TempDir()
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mb, _ := json.Marshal(r.Manifest)
	if err := os.WriteFile(filepath.Join(r.Dir, records.ManifestFile), mb, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(r.Dir, records.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, s := range r.Samples {
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	return r.Dir
}

func row(model, mod, metric string, value float64, n int, tol Tolerance) Row {
	return Row{Key: Key{Model: model, Dataset: "D", Modality: mod, Prompt: "complex", Policy: "strict", Metric: metric},
		Value: value, N: n, Tolerance: tol, Provenance: Provenance{Source: "test"}}
}

func mkTable(rows ...Row) *Table { return &Table{Format: FormatID, Version: Version, Rows: rows} }
