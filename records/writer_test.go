package records

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sptr(s string) *string { return &s }

func testManifest() Manifest {
	return Manifest{
		Medbench: "test",
		Dataset:  Dataset{Path: "d.json", SHA256: "abc", Selection: "seed-slices", Modalities: []string{"MRI"}, N: 3},
		Runner:   map[string]any{"name": "replay", "model": "", "files": map[string]string{"out.json": "123"}},
		Prompts:  []PromptInfo{{Name: "complex", Text: "{Question}"}},
		Policies: []string{"strict/v1"},
		Sampling: map[string]any{"do_sample": false, "max_new_tokens": 512},
		Seed:     7,
	}
}

func testSample(id int, out string) Sample {
	s := Sample{ID: itoa(id), Index: id, Modality: "MRI", Prompt: "complex", Solution: "D", Output: out,
		Extractions: map[string]*string{"strict": nil}, Correct: map[string]bool{"strict": false}, LatencyMS: 1.5}
	if strings.Contains(out, "<answer>D</answer>") {
		s.Extractions["strict"] = sptr("D")
		s.Correct["strict"] = true
	}
	return s
}

// pct is the seed's correct_number / len(data) * 100 in float64 arithmetic.
func pct(k, n int) float64 { return float64(k) / float64(n) * 100 }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestWriterResumeTornTail(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, testManifest(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]Sample{testSample(0, "<answer>D</answer>"), testSample(1, "x")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]Sample{testSample(1, "again")}); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A second run in the same directory without --resume is refused.
	if _, err := OpenWriter(dir, testManifest(), false); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("reopen without resume: %v", err)
	}
	// Simulate a kill mid-write: half a JSON line at the end.
	sp := filepath.Join(dir, SamplesFile)
	f, _ := os.OpenFile(sp, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"2","index":2,"modality":"MRI","prom`)
	f.Close()
	if _, torn, err := ReadSamples(sp); err != nil || !torn {
		t.Fatalf("ReadSamples torn=%v err=%v", torn, err)
	}

	w, err = OpenWriter(dir, testManifest(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Done("complex/0") || !w.Done("complex/1") || w.Done("complex/2") {
		t.Fatalf("done keys wrong: %v", w.done)
	}
	if err := w.Append([]Sample{testSample(2, "<answer>D</answer>")}); err != nil {
		t.Fatal(err)
	}
	got, torn, err := ReadSamples(sp)
	if err != nil || torn || len(got) != 3 {
		t.Fatalf("after resume: %d samples, torn=%v, err=%v", len(got), torn, err)
	}
	for i, s := range got {
		if s.Index != i {
			t.Errorf("line %d holds index %d", i+1, s.Index)
		}
	}
	sum := Summary{Samples: 3, Cells: []Cell{{Modality: "MRI", Prompt: "complex", Policy: "strict", N: 3, Correct: 2}}}
	if err := w.Finish(sum, true); err != nil {
		t.Fatal(err)
	}
	run, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Summary == nil || run.Summary.Samples != 3 || run.Manifest.Finished.IsZero() || len(run.Manifest.Resumed) != 1 {
		t.Fatalf("run record: summary %+v manifest finished %v resumed %v", run.Summary, run.Manifest.Finished, run.Manifest.Resumed)
	}
	seed, err := ReadSeedFile(filepath.Join(dir, SeedFileName("MRI", "complex")))
	if err != nil {
		t.Fatal(err)
	}
	if len(seed.Results) != 3 || seed.Accuracy != pct(2, 3) {
		t.Fatalf("seed file: %d results, accuracy %v", len(seed.Results), seed.Accuracy)
	}
	rows, err := ReadParquet(filepath.Join(dir, ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0]["extracted_strict"] != "D" || rows[1]["extracted_strict"] != nil || rows[2]["correct_strict"] != true {
		t.Fatalf("parquet rows: %v", rows)
	}
}

func TestResumeCompleteLastLineWithoutNewline(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, testManifest(), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, _ := json.Marshal(testSample(0, "x"))
	os.WriteFile(filepath.Join(dir, SamplesFile), b, 0o644) // no trailing newline
	w, err = OpenWriter(dir, testManifest(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Done("complex/0") {
		t.Fatal("complete last line dropped")
	}
	if err := w.Append([]Sample{testSample(1, "y")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, torn, err := ReadSamples(filepath.Join(dir, SamplesFile))
	if err != nil || torn || len(got) != 2 {
		t.Fatalf("%d samples torn=%v err=%v", len(got), torn, err)
	}
}

func TestResumeRejectsCorruptMiddleLine(t *testing.T) {
	dir := t.TempDir()
	w, _ := OpenWriter(dir, testManifest(), false)
	w.Close()
	os.WriteFile(filepath.Join(dir, SamplesFile), []byte("{\"id\":\"0\"}\nnot json\n{\"id\":\"2\"}\n"), 0o644)
	_, err := OpenWriter(dir, testManifest(), true)
	if err == nil || !strings.Contains(err.Error(), "samples.jsonl line 2") {
		t.Fatalf("err = %v", err)
	}
}

func TestCompatible(t *testing.T) {
	cases := []struct {
		field  string
		mutate func(*Manifest)
	}{
		{"dataset.sha256", func(m *Manifest) { m.Dataset.SHA256 = "def" }},
		{"dataset.modalities", func(m *Manifest) { m.Dataset.Modalities = []string{"CT"} }},
		{"prompts", func(m *Manifest) { m.Prompts[0].Text = "other {Question}" }},
		{"policies", func(m *Manifest) { m.Policies = []string{"strict/v1", "lenient/v1"} }},
		{"runner.model", func(m *Manifest) { m.Runner["model"] = "other" }},
		{"runner.files", func(m *Manifest) { m.Runner["files"] = map[string]string{"out.json": "999"} }},
		{"sampling", func(m *Manifest) { m.Sampling["max_new_tokens"] = 256 }},
		{"seed", func(m *Manifest) { m.Seed = 8 }},
	}
	// Through a file, as on resume: numbers come back as float64.
	dir := t.TempDir()
	w, err := OpenWriter(dir, testManifest(), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	for _, c := range cases {
		m := testManifest()
		c.mutate(&m)
		_, err := OpenWriter(dir, m, true)
		if err == nil || !strings.Contains(err.Error(), "field "+c.field+" differs") {
			t.Errorf("%s: err = %v", c.field, err)
		}
	}
	m := testManifest()
	m.Host.Hostname = "elsewhere" // not part of compatibility
	m.Started = time.Now()
	if w, err := OpenWriter(dir, m, true); err != nil {
		t.Errorf("compatible manifest refused: %v", err)
	} else {
		w.Close()
	}
}

func TestSeedFileMatchesPython(t *testing.T) {
	want, err := os.ReadFile("testdata/seed_py.json")
	if err != nil {
		t.Fatal(err)
	}
	py, err := ReadSeedFile("testdata/seed_py.json")
	if err != nil {
		t.Fatal(err)
	}
	var samples []Sample
	for i, r := range py.Results {
		s := Sample{ID: itoa(i), Index: i, Modality: "MRI", Prompt: "complex", Solution: r.GroundTruth, Output: r.ModelOutput,
			Extractions: map[string]*string{"strict": r.ExtractedAnswer},
			Correct:     map[string]bool{"strict": r.ExtractedAnswer != nil && *r.ExtractedAnswer == r.GroundTruth}}
		s.Record = reorderCompact(t, r.Question)
		samples = append(samples, s)
	}
	// Write in reverse order: the file is in dataset-index order.
	for i, j := 0, len(samples)-1; i < j; i, j = i+1, j-1 {
		samples[i], samples[j] = samples[j], samples[i]
	}
	path := filepath.Join(t.TempDir(), "seed.json")
	if err := WriteSeedFile(path, samples); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Errorf("seed file differs from Python's json.dump:\n got %s\nwant %s", got, want)
	}
}

// reorderCompact stores the record as medbench does: the datasets.Record
// field order, compact, UTF-8, HTML characters unescaped.
func reorderCompact(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	type rec struct {
		Image    []string `json:"image"`
		Problem  string   `json:"problem"`
		Solution string   `json:"solution"`
		Question string   `json:"question"`
		Options  []string `json:"options"`
		Answer   string   `json:"answer"`
		Dataset  string   `json:"dataset"`
		Subset   string   `json:"subset"`
	}
	var r rec
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.Encode(r)
	return bytes.TrimSpace(out.Bytes())
}

func TestPyFloat(t *testing.T) {
	cases := map[float64]string{100: "100.0", 0: "0.0", 66.66666666666666: "66.66666666666666", 78.22: "78.22",
		1e16: "1e+16", 1.5e-05: "1.5e-05", 0.0001: "0.0001", 33.0: "33.0"}
	for f, want := range cases {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestParseSeedOutputErrors(t *testing.T) {
	cases := map[string]string{
		`[]`:              "not a seed output file",
		`{"accuracy": 1}`: `no "results" array`,
		`{"results": [{"question": "x", "model_output": "A"}]}`:                  `results[0]: "question" is not the record object`,
		`{"results": [{"question": {}, "model_output": "A"}, {"question": {}}]}`: `results[1]: no "model_output"`,
	}
	for in, want := range cases {
		_, err := ParseSeedOutput("f.json", []byte(in))
		if err == nil || !strings.Contains(err.Error(), "f.json") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func TestSeedResultsSimple(t *testing.T) {
	s := []Sample{
		{ID: "1", Index: 1, Prompt: "simple", Solution: "A", Output: "A.", Extractions: map[string]*string{"strict": nil}, Correct: map[string]bool{}},
		{ID: "0", Index: 0, Prompt: "simple", Solution: "B", Output: "B", Extractions: map[string]*string{"strict": sptr("B")}, Correct: map[string]bool{"strict": true}},
		{ID: "2", Index: 2, Prompt: "simple", Solution: "C", Error: "boom"},
	}
	o := SeedResults(s)
	if o.Accuracy != pct(1, 3) {
		t.Errorf("accuracy %v", o.Accuracy)
	}
	got := []any{o.Results[0].ExtractedAnswer, o.Results[1].ExtractedAnswer, o.Results[2].ExtractedAnswer}
	if *o.Results[0].ExtractedAnswer != "B" || *o.Results[1].ExtractedAnswer != "A." || o.Results[2].ExtractedAnswer != nil {
		t.Errorf("extracted answers %v", got)
	}
	if !reflect.DeepEqual(o.Results[1].ModelOutput, "A.") {
		t.Error("model_output")
	}
}

func FuzzReadSamples(f *testing.F) {
	b, _ := json.Marshal(testSample(0, "<answer>D</answer>"))
	f.Add(append(b, '\n'))
	f.Add(append(append(b, '\n'), b[:10]...))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte("{\"id\":1}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, SamplesFile)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		samples, _, err := ReadSamples(path)
		if err != nil && samples != nil {
			t.Fatal("samples returned with an error")
		}
		// Resume recovery must not panic and leave a readable, untorn file.
		if rs, err := recoverSamples(path); err == nil {
			again, torn, err := ReadSamples(path)
			if err != nil || torn || len(again) != len(rs) {
				t.Fatalf("after recovery: %d vs %d samples, torn=%v, err=%v", len(again), len(rs), torn, err)
			}
		}
		if _, err := ParseSeedOutput("f", data); err != nil && !strings.HasPrefix(err.Error(), "records: f") {
			t.Fatalf("error not naming the file: %v", err)
		}
	})
}

func BenchmarkAppendBatch8(b *testing.B) {
	w, err := OpenWriter(b.TempDir(), testManifest(), false)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	id := 0
	for b.Loop() {
		batch := make([]Sample, 8)
		for i := range batch {
			batch[i] = testSample(id, "<think>x</think><answer>D</answer>")
			id++
		}
		if err := w.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteParquet900(b *testing.B) {
	samples := make([]Sample, 900)
	for i := range samples {
		samples[i] = testSample(i, "<think>x</think><answer>D</answer>")
		samples[i].TokenIDs = make([]int, 64)
	}
	path := filepath.Join(b.TempDir(), ParquetFile)
	for b.Loop() {
		if err := WriteParquet(path, samples); err != nil {
			b.Fatal(err)
		}
	}
}

// A resume retries transiently failed samples: they leave samples.jsonl for
// retried.jsonl, are not Done, and their retry is recorded once; a sample
// that failed for its own reasons stays.
func TestResumeRetriesFailedSamples(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, testManifest(), false)
	if err != nil {
		t.Fatal(err)
	}
	failed := testSample(1, "")
	failed.Error, failed.Transient = "openai: sample 1: 3 attempt(s): HTTP 503", true
	final := testSample(3, "")
	final.Error = "qwen2vl: sample 3: bad image" // not transient: kept
	if err := w.Append([]Sample{testSample(0, "<answer>D</answer>"), failed, testSample(2, "<answer>A</answer>"), final}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, err = OpenWriter(dir, testManifest(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Done("complex/0") || w.Done("complex/1") || !w.Done("complex/2") || !w.Done("complex/3") || len(w.Samples()) != 3 {
		t.Fatalf("after resume: done 0/1/2 = %v/%v/%v, %d samples", w.Done("complex/0"), w.Done("complex/1"), w.Done("complex/2"), len(w.Samples()))
	}
	retried, _, err := ReadSamples(filepath.Join(dir, RetriedFile))
	if err != nil || len(retried) != 1 || retried[0].Error != failed.Error {
		t.Fatalf("retried.jsonl: %v, %v", retried, err)
	}
	if err := w.Append([]Sample{testSample(1, "<answer>B</answer>")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, _, err := ReadSamples(filepath.Join(dir, SamplesFile))
	if err != nil || len(got) != 4 {
		t.Fatalf("samples.jsonl: %d samples, %v", len(got), err)
	}
	for _, s := range got {
		if s.Transient {
			t.Errorf("sample %s still failed in samples.jsonl", s.Key())
		}
	}
}
