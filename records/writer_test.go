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

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/runners"
)

func sptr(s string) *string { return &s }

func testManifest() Manifest {
	return Manifest{
		Medbench: "test",
		Dataset:  Dataset{Path: "d.json", SHA256: "abc", Selection: "seed-slices", Modalities: []string{"MRI"}, N: 3},
		Runner:   runners.Info{Name: "replay", Model: "", Files: map[string]string{"out.json": "123"}},
		Prompts:  []PromptInfo{{Name: "complex", Text: "{Question}"}},
		Policies: []string{"strict/v1"},
		Sampling: map[string]any{"do_sample": false, "max_new_tokens": 512},
		Seed:     7,
	}
}

func testSample(id int, out string) ScoredSample {
	s := ScoredSample{ID: itoa(id), Index: id, Modality: "MRI", Prompt: "complex", Solution: "D", Output: out,
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
	if err := w.Append([]ScoredSample{testSample(0, "<answer>D</answer>"), testSample(1, "x")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]ScoredSample{testSample(1, "again")}); err == nil {
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
	if err := w.Append([]ScoredSample{testSample(2, "<answer>D</answer>")}); err != nil {
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
	if err := w.Finish(sum, SeedFormats{"complex": answer.Tagged}); err != nil {
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
	if err := w.Append([]ScoredSample{testSample(1, "y")}); err != nil {
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

// resultFieldMutations changes each ResultFields entry of testManifest; the
// test below fails when a field is added to ResultFields without a case here.
var resultFieldMutations = map[string]func(*Manifest){
	"dataset.sha256":        func(m *Manifest) { m.Dataset.SHA256 = "def" },
	"dataset.images_sha256": func(m *Manifest) { m.Dataset.ImagesSHA256 = "img2" },
	"dataset.selection":     func(m *Manifest) { m.Dataset.Selection = "subset" },
	"dataset.modalities":    func(m *Manifest) { m.Dataset.Modalities = []string{"CT"} },
	"dataset.n":             func(m *Manifest) { m.Dataset.N = 4 },
	"prompts":               func(m *Manifest) { m.Prompts[0].Text = "other {Question}" },
	"policies":              func(m *Manifest) { m.Policies = []string{"strict/v1", "lenient/v1"} },
	"runner.name":           func(m *Manifest) { m.Runner.Name = "qwen2vl-onnx" },
	// Without file hashes the model is known only by its path.
	"runner.model":    func(m *Manifest) { m.Runner.Files = nil; m.Runner.Model = "other" },
	"runner.files":    func(m *Manifest) { m.Runner.Files = map[string]string{"out.json": "999"} },
	"runner.device":   func(m *Manifest) { m.Runner.Device = "cuda:0" },
	"runner.settings": func(m *Manifest) { m.Runner.Settings = map[string]any{"max_pixels": 1000, "threads": 0} },
	"sampling":        func(m *Manifest) { m.Sampling["max_new_tokens"] = 256 },
	"seed":            func(m *Manifest) { m.Seed = 8 },
}

func TestCompatibleWalksEveryResultField(t *testing.T) {
	base := testManifest()
	base.Dataset.ImagesSHA256 = "img1"
	base.Runner.Device = "cpu"
	base.Runner.Settings = map[string]any{"max_pixels": 401408, "threads": 0, "device_note": "x"}
	base.Config = map[string]any{}
	for _, k := range ResultConfigKeys {
		base.Config[k] = "v-" + k
	}
	clone := func() Manifest {
		var m Manifest
		b, _ := json.Marshal(base)
		json.Unmarshal(b, &m)
		return m
	}
	// Through a file, as on resume: numbers come back as float64.
	dir := t.TempDir()
	w, err := OpenWriter(dir, clone(), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	before, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	for _, f := range ResultFields(base) {
		mutate := resultFieldMutations[f.Name]
		if k, ok := strings.CutPrefix(f.Name, "config."); ok {
			mutate = func(m *Manifest) { m.Config[k] = "changed" }
		}
		if mutate == nil {
			t.Errorf("ResultFields has %s, but this test does not change it", f.Name)
			continue
		}
		m := clone()
		mutate(&m)
		if f.Name == "runner.model" {
			// the recorded run too has no file hashes
			m0 := clone()
			m0.Runner.Files = nil
			if err := Compatible(m0, m); err == nil || !strings.Contains(err.Error(), "field runner.model differs") {
				t.Errorf("runner.model: err = %v", err)
			}
			continue
		}
		_, err := OpenWriter(dir, m, true)
		if err == nil || !strings.Contains(err.Error(), "field "+f.Name) {
			t.Errorf("%s: err = %v", f.Name, err)
		}
	}
	after, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if !bytes.Equal(before, after) {
		t.Error("a refused resume rewrote manifest.json")
	}
	// The message names the innermost key and both values, uncut.
	m := clone()
	long := strings.Repeat("x", 300)
	m.Runner.Settings["max_pixels"] = long
	err = Compatible(clone(), m)
	if err == nil || !strings.Contains(err.Error(), "runner.settings.max_pixels differs: recorded 401408, now \""+long+"\"") {
		t.Errorf("mismatch message: %v", err)
	}
	m = clone()
	delete(m.Config, "max_pixels")
	if err := Compatible(clone(), m); err == nil || !strings.Contains(err.Error(), "config.max_pixels differs: recorded \"v-max_pixels\", now (absent)") {
		t.Errorf("dropped setting: %v", err)
	}

	// Not part of compatibility: host, times, the model path when the files'
	// hashes match (the same folder spelled differently), device notes.
	m = clone()
	m.Host.Hostname = "elsewhere"
	m.Started = time.Now()
	m.Runner.Model = "/some/absolute/spelling/of/the/model"
	m.Runner.Settings["device_note"] = "other note"
	m.Config["batch"] = 8
	w, err = OpenWriter(dir, m, true)
	if err != nil {
		t.Fatalf("compatible manifest refused: %v", err)
	}
	if got := w.Manifest(); got.Runner.Model != base.Runner.Model || got.Host.Hostname == "elsewhere" || len(got.Resumed) != 1 {
		t.Errorf("resume rewrote the recorded manifest: model %v host %q resumed %v", got.Runner.Model, got.Host.Hostname, got.Resumed)
	}
	w.Close()
	var onDisk Manifest
	if err := ReadJSON(filepath.Join(dir, ManifestFile), &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.Runner.Model != base.Runner.Model || onDisk.Host.Hostname == "elsewhere" || len(onDisk.Resumed) != 1 {
		t.Errorf("manifest.json after resume describes the new invocation: %+v", onDisk)
	}
}

func TestWriterLocksDirectory(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, testManifest(), false)
	if err != nil {
		t.Fatal(err)
	}
	// A second writer (fresh or resuming) is refused while the first lives.
	for _, resume := range []bool{false, true} {
		_, err := OpenWriter(dir, testManifest(), resume)
		if err == nil || !strings.Contains(err.Error(), "in use by another medbench process (pid "+itoa(os.Getpid())+")") {
			t.Errorf("resume=%v: second writer: %v", resume, err)
		}
	}
	if _, err := LockDir(dir); err == nil {
		t.Error("LockDir succeeded while a writer holds the directory")
	}
	if err := w.Append([]ScoredSample{testSample(0, "x")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(Summary{}, nil); err != nil {
		t.Fatal(err)
	}
	// Released by Finish (and by Close, below).
	w2, err := OpenWriter(dir, testManifest(), true)
	if err != nil {
		t.Fatalf("resume after finish: %v", err)
	}
	w2.Close()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatalf("lock after close: %v", err)
	}
	l.Unlock()
}

func TestReadSamplesRefusesDuplicateKeys(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, SamplesFile)
	var buf bytes.Buffer
	for _, s := range []ScoredSample{testSample(0, "a"), testSample(1, "b"), testSample(0, "c")} {
		b, _ := json.Marshal(s)
		buf.Write(append(b, '\n'))
	}
	os.WriteFile(p, buf.Bytes(), 0o644)
	WriteJSON(filepath.Join(dir, ManifestFile), testManifest())
	want := "line 3: sample complex/0 is already recorded on line 1"
	if _, _, err := ReadSamples(p); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadSamples: %v", err)
	}
	if _, err := ReadRun(dir); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadRun: %v", err)
	}
	if _, err := OpenWriter(dir, testManifest(), true); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("resume: %v", err)
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
	var samples []ScoredSample
	for i, r := range py.Results {
		s := ScoredSample{ID: itoa(i), Index: i, Modality: "MRI", Prompt: "complex", Solution: r.GroundTruth, Output: r.ModelOutput,
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
	if err := WriteSeedFile(path, samples, answer.Tagged); err != nil {
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
	s := []ScoredSample{
		{ID: "1", Index: 1, Prompt: "simple", Solution: "A", Output: "A.", Extractions: map[string]*string{"strict": nil}, Correct: map[string]bool{}},
		{ID: "0", Index: 0, Prompt: "simple", Solution: "B", Output: "B", Extractions: map[string]*string{"strict": sptr("B")}, Correct: map[string]bool{"strict": true}},
		{ID: "2", Index: 2, Prompt: "simple", Solution: "C", Error: "boom"},
	}
	o := SeedResults(s, answer.LetterOnly)
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
		batch := make([]ScoredSample, 8)
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
	samples := make([]ScoredSample, 900)
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
	if err := w.Append([]ScoredSample{testSample(0, "<answer>D</answer>"), failed, testSample(2, "<answer>A</answer>"), final}); err != nil {
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
	if err := w.Append([]ScoredSample{testSample(1, "<answer>B</answer>")}); err != nil {
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
