package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
)

// evalSynth makes a synthetic dataset of n records with `medbench dataset synth`.
func evalSynth(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	code, out, errOut := cliRun(t, "dataset", "synth", "--out", dir, "--n", strconv.Itoa(n), "--seed", "3", "--max-side", "40")
	if code != 0 {
		t.Fatalf("dataset synth: exit %d: %s%s", code, out, errOut)
	}
	return filepath.Join(dir, "dataset.json")
}

// outputFor is the recorded model output used for record i: complex outputs
// cycle through strict-correct, lenient-only ("B." in the answer block) and
// wrong; simple outputs are the letter for even i, "letter." for odd i.
func outputFor(prompt string, i int, sol string) string {
	if prompt == "simple" {
		if i%2 == 0 {
			return sol
		}
		return sol + "."
	}
	switch i % 3 {
	case 0:
		return "<think>bright lesion</think>\n<answer>" + sol + "</answer>"
	case 1:
		return "<think>x</think><answer>" + sol + ".</answer>"
	}
	wrong := "A"
	if sol == "A" {
		wrong = "B"
	}
	return "<think>x</think><answer>" + wrong + "</answer>"
}

// writeOutputs writes a samples.jsonl of recorded outputs for every record
// under both prompts and returns its path and the expected strict/lenient
// correct counts per "modality/prompt".
func writeOutputs(t *testing.T, dataPath string) (string, map[string][2]int) {
	t.Helper()
	recs, err := datasets.ReadRecords(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	mm := datasets.DefaultModalityMap()
	path := filepath.Join(t.TempDir(), "outputs.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	want := map[string][2]int{}
	for _, prompt := range []string{"simple", "complex"} {
		for i, r := range recs {
			out := outputFor(prompt, i, r.Solution)
			if err := enc.Encode(records.ScoredSample{ID: strconv.Itoa(i), Index: i, Prompt: prompt, Output: out}); err != nil {
				t.Fatal(err)
			}
			mod, err := mm.Canonical(r.Subset)
			if err != nil {
				t.Fatal(err)
			}
			k := mod + "/" + prompt
			c := want[k]
			strictOK := (prompt == "simple" && i%2 == 0) || (prompt == "complex" && i%3 == 0)
			lenientOK := prompt == "simple" || i%3 != 2
			if strictOK {
				c[0]++
			}
			if lenientOK {
				c[1]++
			}
			want[k] = c
		}
	}
	return path, want
}

func readSummary(t *testing.T, dir string) records.Summary {
	t.Helper()
	var s records.Summary
	if err := records.ReadJSON(filepath.Join(dir, records.SummaryFile), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEvalReplayEndToEnd: dataset synth → eval --runner replay → summary.json,
// then the seed-format files it wrote are replayed again and give the same
// strict accuracy.
func TestEvalReplayEndToEnd(t *testing.T) {
	data := evalSynth(t, 18)
	outputs, want := writeOutputs(t, data)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := cliRun(t, "eval", "--data", data, "--runner", "replay", "--outputs", outputs,
		"--out", out, "--batch", "4", "--prompt", "simple,complex")
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(strings.ToLower(stdout), "accuracy %") || !strings.Contains(stderr, "samples/s") {
		t.Errorf("output:\n%s\nstderr:\n%s", stdout, stderr)
	}
	sum := readSummary(t, out)
	if sum.Samples != 36 || sum.Errors != 0 || len(sum.Cells) != 12 {
		t.Fatalf("summary: %d samples, %d errors, %d cells", sum.Samples, sum.Errors, len(sum.Cells))
	}
	for _, c := range sum.Cells {
		w := want[c.Modality+"/"+c.Prompt]
		exp := w[0]
		if c.Policy == "lenient" {
			exp = w[1]
		}
		if c.N != 6 || c.Correct != exp {
			t.Errorf("%s/%s/%s: %d/%d correct, want %d/6", c.Modality, c.Prompt, c.Policy, c.Correct, c.N, exp)
		}
	}
	run, err := records.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	m := run.Manifest
	if m.Runner.Name != "replay" || len(m.Dataset.SHA256) != 64 || m.Dataset.N != 18 || m.Host.CPUs == 0 || m.Finished.IsZero() || len(m.Command) < 3 {
		t.Errorf("manifest: %+v", m)
	}
	if _, err := records.ReadParquet(filepath.Join(out, records.ParquetFile)); err != nil {
		t.Error(err)
	}

	// Re-score the seed-format files just written, one modality.
	out2 := filepath.Join(t.TempDir(), "run2")
	code, stdout, stderr = cliRun(t, "eval", "--data", data, "--runner", "replay", "--modality", "CT",
		"--outputs", "complex="+filepath.Join(out, records.SeedFileName("CT", "complex"))+",simple="+filepath.Join(out, records.SeedFileName("CT", "simple")),
		"--out", out2, "--policy", "strict")
	if code != 0 {
		t.Fatalf("eval from seed files: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sum2 := readSummary(t, out2)
	for _, c := range sum2.Cells {
		seed, err := records.ReadSeedFile(filepath.Join(out, records.SeedFileName("CT", c.Prompt)))
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(c.Correct) / float64(c.N) * 100; got != seed.Accuracy || c.Correct != want["CT/"+c.Prompt][0] {
			t.Errorf("CT/%s: %v%% re-scored, seed file says %v%%", c.Prompt, got, seed.Accuracy)
		}
	}
}

// TestEvalParquetSource evaluates the same data as HF parquet with embedded
// images (by extension, and with --format) and gets the JSON run's summary.
func TestEvalParquetSource(t *testing.T) {
	data := evalSynth(t, 6)
	outputs, _ := writeOutputs(t, data)
	pq := filepath.Join(t.TempDir(), "data.bin")
	if code, _, stderr := cliRun(t, "dataset", "convert", "--embed-images", data, pq+".parquet"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	os.Rename(pq+".parquet", pq)
	ref := filepath.Join(t.TempDir(), "json")
	if code, _, stderr := cliRun(t, "eval", "--data", data, "--runner", "replay", "--outputs", outputs, "--out", ref); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(t.TempDir(), "pq")
	if code, _, stderr := cliRun(t, "eval", "--data", pq, "--format", "parquet", "--runner", "replay", "--outputs", outputs, "--out", out); code != 0 {
		t.Fatal(stderr)
	}
	a, b := readSummary(t, ref), readSummary(t, out)
	if !reflect.DeepEqual(a.Cells, b.Cells) || len(a.Cells) == 0 {
		t.Errorf("parquet summary differs:\n%+v\n%+v", b.Cells, a.Cells)
	}
	if code, _, stderr := cliRun(t, "eval", "--data", pq, "--runner", "replay", "--outputs", outputs, "--out", t.TempDir()); code != 2 || !strings.Contains(stderr, "data.bin") {
		t.Errorf("parquet read as JSON: exit %d, %q", code, stderr)
	}
}

func TestEvalUsageAndInputErrors(t *testing.T) {
	data := evalSynth(t, 6)
	outputs, _ := writeOutputs(t, data)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`[{"image": ["a.png"], "problem": "p", "solution": "A", "question": "q", "options": ["x", "y"], "answer": "x", "dataset": "d", "subset": "Nowhere"}]`), 0o644)
	corrupt := filepath.Join(t.TempDir(), "out.jsonl")
	os.WriteFile(corrupt, []byte("{\"id\":\"0\",\"prompt\":\"complex\"}\nnot json\n{}\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"no data", []string{"eval", "--out", "x"}, "data"},
		{"bad batch", []string{"eval", "--data", data, "--out", t.TempDir(), "--runner", "replay", "--outputs", outputs, "--batch", "0"}, "--batch 0"},
		{"bad prompt", []string{"eval", "--data", data, "--out", t.TempDir(), "--runner", "replay", "--outputs", outputs, "--prompt", "fancy"}, "fancy"},
		{"bad policy", []string{"eval", "--data", data, "--out", t.TempDir(), "--runner", "replay", "--outputs", outputs, "--policy", "fuzzy"}, "fuzzy"},
		{"bad runner", []string{"eval", "--data", data, "--out", t.TempDir(), "--runner", "vllm"}, "vllm"},
		{"replay without outputs", []string{"eval", "--data", data, "--out", t.TempDir(), "--runner", "replay"}, "--outputs"},
		{"missing data", []string{"eval", "--data", filepath.Join(t.TempDir(), "none.json"), "--out", t.TempDir(), "--runner", "replay", "--outputs", outputs}, "none.json"},
		{"unknown subset", []string{"eval", "--data", bad, "--out", t.TempDir(), "--runner", "replay", "--outputs", outputs}, "bad.json"},
		{"corrupt outputs", []string{"eval", "--data", data, "--out", t.TempDir(), "--runner", "replay", "--outputs", corrupt}, "out.jsonl line 2"},
		{"bad format", []string{"eval", "--data", data, "--out", t.TempDir(), "--format", "csv", "--runner", "replay", "--outputs", outputs}, "csv"},
		{"absent modality", []string{"eval", "--data", data, "--out", t.TempDir(), "--runner", "replay", "--outputs", outputs, "--modality", "Fundus"}, "Fundus"},
	}
	for _, c := range cases {
		code, _, stderr := cliRun(t, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q (want exit 2, one line containing %q)", c.name, code, stderr, c.want)
		}
	}
	// A second run into the same directory needs --resume.
	out := t.TempDir()
	if code, _, stderr := cliRun(t, "eval", "--data", data, "--out", out, "--runner", "replay", "--outputs", outputs); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := cliRun(t, "eval", "--data", data, "--out", out, "--runner", "replay", "--outputs", outputs); code != 2 || !strings.Contains(stderr, "--resume") {
		t.Errorf("rerun: exit %d, %q", code, stderr)
	}
	// Resuming with other prompts names the field.
	if code, _, stderr := cliRun(t, "eval", "--data", data, "--out", out, "--runner", "replay", "--outputs", outputs, "--resume", "--prompt", "complex"); code != 2 || !strings.Contains(stderr, "prompts differs") {
		t.Errorf("incompatible resume: exit %d, %q", code, stderr)
	}
	// A missing output is a per-sample failure, not a crash.
	partial := filepath.Join(t.TempDir(), "partial.jsonl")
	os.WriteFile(partial, []byte(`{"id":"0","prompt":"complex","output":"<answer>A</answer>"}`+"\n"), 0o644)
	out3 := filepath.Join(t.TempDir(), "p")
	if code, _, stderr := cliRun(t, "eval", "--data", data, "--out", out3, "--runner", "replay", "--outputs", partial, "--prompt", "complex", "--max-error-rate", "1"); code != 0 {
		t.Fatalf("partial outputs: exit %d %s", code, stderr)
	}
	if s := readSummary(t, out3); s.Errors != 5 || s.Samples != 6 {
		t.Errorf("partial outputs: %d errors of %d", s.Errors, s.Samples)
	}
}

// TestEvalSIGKILLResume kills `medbench eval` with SIGKILL mid-run, resumes
// it, and compares summary.json (minus its timestamp) with an uninterrupted
// run's. It builds the binary, so it is skipped with -short.
func TestEvalSIGKILLResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the medbench binary")
	}
	bin := buildMedbench(t)
	data := evalSynth(t, 30)
	outputs, _ := writeOutputs(t, data)
	args := func(out string, extra ...string) []string {
		return append([]string{"eval", "--data", data, "--runner", "replay", "--outputs", outputs, "--out", out, "--batch", "2"}, extra...)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if code, _, stderr := cliRun(t, args(ref)...); code != 0 {
		t.Fatal(stderr)
	}

	out := filepath.Join(t.TempDir(), "killed")
	samplesPath := filepath.Join(out, records.SamplesFile)
	n := killMidRun(t, bin, args(out, "--replay-delay", "25ms"), samplesPath, 12)
	if n >= 60 {
		t.Fatalf("run finished before the kill (%d samples)", n)
	}
	if _, err := os.Stat(filepath.Join(out, records.SummaryFile)); err == nil {
		t.Fatal("killed run has a summary")
	}
	// Also tear the last line, as a kill mid-write would.
	f, _ := os.OpenFile(samplesPath, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"29","index":29,"prompt":"comp`)
	f.Close()

	resume := exec.Command(bin, args(out, "--resume")...)
	if b, err := resume.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	got, want := readSummary(t, out), readSummary(t, ref)
	got.Created, want.Created = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resumed summary differs:\n got %+v\nwant %+v", got, want)
	}
	samples, torn, err := records.ReadSamples(samplesPath)
	if err != nil || torn || len(samples) != 60 {
		t.Fatalf("samples.jsonl after resume: %d, torn %v, err %v", len(samples), torn, err)
	}
	seen := map[string]bool{}
	for _, s := range samples {
		if seen[s.Key()] {
			t.Errorf("sample %s recorded twice", s.Key())
		}
		seen[s.Key()] = true
	}
	t.Logf("killed after %d of 60 samples", n)
}

// buildMedbench builds the medbench binary into a temporary directory.
func buildMedbench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "medbench")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// killMidRun starts bin with args, waits (at most 20 s) until the file at
// samplesPath holds at least lines lines, kills the process with SIGKILL and
// returns the number of lines then recorded.
func killMidRun(t *testing.T, bin string, args []string, samplesPath string, lines int) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for countLines(samplesPath) < lines {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("eval made no progress")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return countLines(samplesPath)
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		n++
	}
	return n
}

// TestEvalONNXFixture runs `medbench eval --runner onnx` on the tiny fixture
// model: the run record holds the generated token ids, token counts and
// latencies, and a sampled run's per-sample outputs do not depend on the
// batch size (per-sample seeds). Skipped when ONNX Runtime is not set up.
func TestEvalONNXFixture(t *testing.T) {
	model := tinyFixture(t)
	data := evalSynth(t, 6)
	runOnce := func(batch string) []records.ScoredSample {
		out := filepath.Join(t.TempDir(), "run")
		code, stdout, stderr := cliRun(t, "eval", "--data", data, "--model", model, "--out", out, "--batch", batch,
			"--prompt", "complex", "--limit", "1", "--do-sample", "--top-k", "20", "--max-new-tokens", "6", "--seed", "5", "--threads", "1")
		if code != 0 {
			t.Fatalf("eval --batch %s: exit %d\n%s\n%s", batch, code, stdout, stderr)
		}
		run, err := records.ReadRun(out)
		if err != nil {
			t.Fatal(err)
		}
		if run.Manifest.Runner.Name != "qwen2vl-onnx" || run.Manifest.Sampling["do_sample"] != true || run.Manifest.Seed != 5 {
			t.Errorf("manifest runner %v sampling %v seed %d", run.Manifest.Runner.Name, run.Manifest.Sampling, run.Manifest.Seed)
		}
		if len(run.Samples) != 3 {
			t.Fatalf("%d samples, want 3 (one per modality)", len(run.Samples))
		}
		for _, s := range run.Samples {
			if s.Error != "" || len(s.TokenIDs) == 0 || s.CompletionTokens != len(s.TokenIDs) || s.PromptTokens == 0 || s.LatencyMS <= 0 {
				t.Errorf("sample %s: error %q, %d token ids, completion %d, prompt %d, latency %v",
					s.Key(), s.Error, len(s.TokenIDs), s.CompletionTokens, s.PromptTokens, s.LatencyMS)
			}
		}
		return run.Samples
	}
	a, b := runOnce("1"), runOnce("3")
	for i := range a {
		if a[i].Key() != b[i].Key() || a[i].Seed != b[i].Seed {
			t.Fatalf("sample order or seed differs: %s/%d vs %s/%d", a[i].Key(), a[i].Seed, b[i].Key(), b[i].Seed)
		}
		if !reflect.DeepEqual(a[i].TokenIDs, b[i].TokenIDs) {
			t.Errorf("%s: batch 1 generated %v, batch 3 %v", a[i].Key(), a[i].TokenIDs, b[i].TokenIDs)
		}
	}
}
