package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/replay"
)

func loadTestData(t *testing.T) []datasets.Item {
	t.Helper()
	samples, err := datasets.LoadJSON("testdata/dataset.json", "testdata")
	if err != nil {
		t.Fatal(err)
	}
	return samples
}

func tmpl(t *testing.T, name string) datasets.Template {
	t.Helper()
	tp, err := datasets.BuiltinTemplate(name)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// TestSeedAccuracyReproduced replays the seed's own output files (produced by
// the seed's scoring code, testdata/gen_seed_outputs.py, on every row of the
// golden table in docs/reference/medvlm-r1-seed.md#golden-table) and checks
// that the strict accuracy equals the seed's, for both prompt types, and that
// the seed-format files medbench writes are byte-identical to the seed's.
func TestSeedAccuracyReproduced(t *testing.T) {
	samples := loadTestData(t)
	r, err := replay.New([]string{"complex=testdata/seed_MRI_complex.json", "simple=testdata/seed_MRI_simple.json"})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	sum, err := evaluate.Run(context.Background(), evaluate.Config{
		Samples: samples, Prompts: []datasets.Template{tmpl(t, "simple"), tmpl(t, "complex")},
		Runner: r, Batch: 4, OutDir: out, SeedFiles: true,
		Manifest: records.Manifest{Dataset: records.Dataset{Path: "testdata/dataset.json", SHA256: "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, prompt := range []string{"simple", "complex"} {
		seed, err := records.ReadSeedFile("testdata/seed_MRI_" + prompt + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var cell *records.Cell
		for i, c := range sum.Cells {
			if c.Modality == "MRI" && c.Prompt == prompt && c.Policy == "strict" {
				cell = &sum.Cells[i]
			}
		}
		if cell == nil {
			t.Fatalf("no MRI/%s/strict cell in %+v", prompt, sum.Cells)
		}
		got := float64(cell.Correct) / float64(cell.N) * 100
		if got != seed.Accuracy || cell.N != len(seed.Results) {
			t.Errorf("%s: strict accuracy %v over %d, seed %v over %d", prompt, got, cell.N, seed.Accuracy, len(seed.Results))
		}
		want, _ := os.ReadFile("testdata/seed_MRI_" + prompt + ".json")
		have, err := os.ReadFile(filepath.Join(out, records.SeedFileName("MRI", prompt)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, want) {
			t.Errorf("%s: medbench's seed-format file differs from the seed's", prompt)
		}
	}
	if sum.Errors != 0 {
		t.Errorf("%d errors", sum.Errors)
	}
}

func TestReplaySamplesJSONL(t *testing.T) {
	samples := loadTestData(t)[:3]
	dir := t.TempDir()
	lines := []records.ScoredSample{
		{ID: "0", Prompt: "complex", Output: "<answer>B</answer>", TokenIDs: []int{1, 2, 3}, CompletionTokens: 3, LatencyMS: 12},
		{ID: "1", Prompt: "complex", Output: "x", Error: "image decode failed"},
	}
	var buf bytes.Buffer
	for _, s := range lines {
		b, _ := json.Marshal(s)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	buf.WriteString(`{"id":"2","prom`) // torn tail
	p := filepath.Join(dir, "samples.jsonl")
	os.WriteFile(p, buf.Bytes(), 0o644)
	r, err := replay.New([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Bind(samples); err != nil {
		t.Fatal(err)
	}
	reqs := []runners.Request{{ID: "0", Prompt: "complex"}, {ID: "1", Prompt: "complex"}, {ID: "2", Prompt: "complex"}, {ID: "0", Prompt: "simple"}}
	res, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Text != "<answer>B</answer>" || len(res[0].TokenIDs) != 3 || res[0].CompletionTokens != 3 || res[0].Latency != 12*time.Millisecond || res[0].Err != nil {
		t.Errorf("result 0: %+v", res[0])
	}
	if res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "image decode failed") {
		t.Errorf("recorded failure not replayed: %+v", res[1])
	}
	for _, i := range []int{2, 3} {
		if res[i].Err == nil || !strings.Contains(res[i].Err.Error(), "no recorded output") {
			t.Errorf("missing output %d: %+v", i, res[i])
		}
	}
	info := r.Info()
	if info.Name != "replay" || len(info.Files["samples.jsonl"]) != 64 {
		t.Errorf("info %+v", info)
	}
}

func TestReplayOrderFallbackAndErrors(t *testing.T) {
	samples := loadTestData(t)
	dir := t.TempDir()
	// Edit every question so that no record matches: pairing falls back to order.
	so, err := records.ReadSeedFile("testdata/seed_MRI_complex.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range so.Results {
		so.Results[i].Question = json.RawMessage(`{"question": "edited"}`)
	}
	b, _ := records.MarshalSeedOutput(*so)
	edited := filepath.Join(dir, "edited.json")
	os.WriteFile(edited, b, 0o644)
	r, err := replay.New([]string{edited})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Bind(samples); err != nil {
		t.Fatal(err)
	}
	res, _ := r.Generate(context.Background(), []runners.Request{{ID: "4", Prompt: "complex"}, {ID: "4", Prompt: "simple"}})
	if res[0].Text != so.Results[4].ModelOutput || res[1].Text != so.Results[4].ModelOutput {
		t.Errorf("order fallback: %+v", res)
	}
	// Counts differ: error naming the file.
	if err := r.Bind(samples[:5]); err == nil || !strings.Contains(err.Error(), "edited.json") {
		t.Errorf("Bind with mismatched counts: %v", err)
	}

	// Two unlabelled files holding the same samples are ambiguous per sample.
	r2, err := replay.New([]string{"testdata/seed_MRI_complex.json", "testdata/seed_MRI_simple.json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Bind(samples); err != nil {
		t.Fatal(err)
	}
	res, _ = r2.Generate(context.Background(), []runners.Request{{ID: "0", Prompt: "complex"}})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "PROMPT=FILE") {
		t.Errorf("ambiguous outputs: %+v", res[0])
	}
	// Unbound seed files.
	r3, _ := replay.New([]string{"testdata/seed_MRI_complex.json"})
	res, _ = r3.Generate(context.Background(), []runners.Request{{ID: "0", Prompt: "complex"}})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "Bind") {
		t.Errorf("unbound: %+v", res[0])
	}

	bad := map[string]string{
		"notjson.json":  "hello\nworld\n",
		"badseed.json":  `{"results": [{"question": {}, "ground_truth": "B"}]}`,
		"emptyid.jsonl": `{"prompt":"complex","output":"B"}` + "\n",
	}
	for name, content := range bad {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := replay.New([]string{p}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := replay.New([]string{filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := replay.New([]string{"complex=" + filepath.Join(dir, "x.jsonl")}); err == nil {
		t.Error("missing labelled file accepted")
	}
}

func TestReplayDelayHonoursCancel(t *testing.T) {
	r, err := replay.New([]string{"testdata/seed_MRI_complex.json"})
	if err != nil {
		t.Fatal(err)
	}
	r.SetDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Generate(ctx, []runners.Request{{ID: "0", Prompt: "complex"}}); err != context.DeadlineExceeded {
		t.Errorf("err = %v", err)
	}
}

var _ runners.Runner = (*replay.Runner)(nil)
var _ evaluate.Binder = (*replay.Runner)(nil)

// FuzzReplayLoad feeds arbitrary file content to New, Bind and Generate:
// errors are fine, panics are not, and every request gets one result.
func FuzzReplayLoad(f *testing.F) {
	for _, p := range []string{"testdata/seed_MRI_complex.json", "testdata/seed_MRI_simple.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"0","prompt":"complex","output":"<answer>B</answer>"}` + "\n" + `{"id":"1","pro`))
	f.Add([]byte(`{"results": [{"question": {"image": 3}, "model_output": "A"}]}`))
	samples, err := datasets.LoadJSON("testdata/dataset.json", "testdata")
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "out.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := replay.New([]string{p})
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := r.Bind(samples); err != nil {
			return
		}
		reqs := []runners.Request{{ID: "0", Prompt: "complex"}, {ID: "13", Prompt: "simple"}, {ID: "99", Prompt: "x"}}
		res, err := r.Generate(context.Background(), reqs)
		if err != nil || len(res) != len(reqs) {
			t.Fatalf("Generate: %d results, %v", len(res), err)
		}
	})
}

// TestReplayBOM: recorded outputs saved with a UTF-8 BOM (samples.jsonl and
// the seed's output format) are read.
func TestReplayBOM(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/seed_MRI_complex.json")
	if err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(dir, "seed.json")
	os.WriteFile(seed, append([]byte("\xef\xbb\xbf"), b...), 0o644)
	jl := filepath.Join(dir, "samples.jsonl")
	os.WriteFile(jl, []byte("\xef\xbb\xbf"+`{"id":"0","prompt":"simple","output":"A"}`+"\n"), 0o644)
	for _, p := range []string{seed, jl} {
		if _, err := replay.New([]string{p}); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
}
