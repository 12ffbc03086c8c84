package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/bench"
	"github.com/medbench/medbench/reports"
)

// benchFixture writes the tiny fixture model and a synthetic dataset of 6
// records whose images are 56×56 (a multiple of 28 inside the pixel bounds,
// so that medbench and transformers.js feed the same number of image tokens).
func benchFixture(t *testing.T) (model, data string) {
	t.Helper()
	dir := t.TempDir()
	model = tinyFixture(t)
	code, out, errOut := cliRun(t, "dataset", "synth", "--out", filepath.Join(dir, "data"), "--n", "6", "--seed", "4",
		"--min-side", "56", "--max-side", "56", "--modes", "rgb,gray", "--formats", "png,jpeg")
	if code != 0 {
		t.Fatalf("dataset synth: exit %d: %s%s", code, out, errOut)
	}
	return model, filepath.Join(dir, "data", "dataset.json")
}

func readBenchReport(t *testing.T, path string) bench.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}

// TestBenchCLI runs `medbench bench` on the tiny fixture: one result per
// batch size with positive rates and exactly max-new-tokens generated per
// request; with transformers.js (when node and testtools/node_modules are
// installed) a peer result doing the same work and finite ratios against it.
// The file is what `medbench report --bench` reads.
func TestBenchCLI(t *testing.T) {
	model, data := benchFixture(t)
	_, tjsErr := bench.FindTestTools(".")
	peer := "tjs"
	if tjsErr != nil {
		peer = "none"
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	code, stdout, stderr := cliRun(t, "bench", "--model", model, "--data", data, "--n", "4", "--batch", "1,2",
		"--repeats", "2", "--warmup", "1", "--max-new-tokens", "4", "--threads", "1", "--peer", peer, "--out", out, "--profile", profile)
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(profile); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("--profile: want a gzip-compressed pprof file, got %d bytes (%v)", len(b), err)
	}
	for _, want := range []string{"TTFT ms p50/p90", "In runtime %", "Peak RSS MiB"} {
		if !strings.Contains(strings.ToUpper(stdout), strings.ToUpper(want)) {
			t.Errorf("bench output lacks %q:\n%s", want, stdout)
		}
	}
	rep := readBenchReport(t, out)
	wantResults := 2
	if peer == "tjs" {
		wantResults = 3
	}
	if len(rep.Results) != wantResults {
		t.Fatalf("%d results, want %d: %s", len(rep.Results), wantResults, stdout)
	}
	for i, b := range []int{1, 2} {
		r := rep.Results[i]
		if r.Batch != b || r.Requests != 4 || len(r.Passes) != 2 || r.Runner.Name != "qwen2vl-onnx" || r.Runner.Device != "cpu" {
			t.Errorf("result %d: %s batch %d, %d requests, %d passes, runner %s on %s", i, r.Name, r.Batch, r.Requests, len(r.Passes), r.Runner.Name, r.Runner.Device)
		}
		if th, _ := r.Runner.Settings["threads"].(float64); th != 1 {
			t.Errorf("%s: runner threads %v, want 1", r.Name, r.Runner.Settings["threads"])
		}
		if bd := r.Breakdown; bd == nil || bd.DecodeStepMS == nil || bd.DecodeStepMS.N != 2*(4/b)*3 || bd.RuntimePct.Median <= 0 || bd.RuntimePct.Median >= 100 {
			t.Errorf("%s: breakdown %+v: want 3 decode steps per call and a runtime share in (0, 100)", r.Name, bd)
		}
		p := r.Passes[1]
		// 4 requests of 4 forced tokens each; 4/b batches timed.
		if p.Samples != 4 || p.Errors != 0 || p.GeneratedTokens != 16 || p.PromptTokens <= 0 || len(p.BatchLatenciesMS) != 4/b {
			t.Errorf("%s: pass %+v", r.Name, p)
		}
		if r.SamplesPerSec.Median <= 0 || r.TokensPerSec.Median <= 0 || math.Abs(r.TokensPerSec.Median/r.SamplesPerSec.Median-4) > 1e-9 || r.P50MS <= 0 {
			t.Errorf("%s: samples/s %v tokens/s %v p50 %v", r.Name, r.SamplesPerSec, r.TokensPerSec, r.P50MS)
		}
		if !strings.Contains(stdout, r.Name) {
			t.Errorf("table lacks %s:\n%s", r.Name, stdout)
		}
	}
	if rep.Settings["max_new_tokens"] != 4.0 || rep.Settings["min_new_tokens"] != 4.0 || rep.Settings["equal_lengths"] != true || rep.Settings["threads"] != 1.0 {
		t.Errorf("settings %v", rep.Settings)
	}
	if len(rep.Results) == 3 {
		pr := rep.Results[2]
		if rep.Baseline != pr.Name || pr.Runner.Name != "transformers.js" || pr.Batch != 1 || len(pr.Passes) != 2 ||
			!strings.Contains(pr.Runner.Runtime, "onnxruntime-node") || pr.Runner.Settings["threads"] != 1.0 {
			t.Errorf("peer result %s (baseline %s), runner %+v", pr.Name, rep.Baseline, pr.Runner)
		}
		pp, mp := pr.Passes[0], rep.Results[0].Passes[0]
		if pp.Samples != 4 || pp.GeneratedTokens != 16 || pp.PromptTokens != mp.PromptTokens || pr.SamplesPerSec.Median <= 0 ||
			!(pp.GenerateSeconds > 0 && pp.GenerateSeconds < pp.Seconds) {
			t.Errorf("peer pass %+v, medbench prompt tokens %d", pp, mp.PromptTokens)
		}
		if !strings.Contains(stdout, pr.Name+": ") || !strings.Contains(stdout, "% of its timed request time is in generate()") {
			t.Errorf("generate() share of the peer missing:\n%s", stdout)
		}
		if len(rep.Notes) != 0 {
			t.Errorf("notes on equal work: %q", rep.Notes)
		}
		for _, r := range rep.Results[:2] {
			ratios := rep.Ratios[r.Name]
			if len(ratios) != 2 || ratios[0].Metric != "samples_per_sec" || !(ratios[0].Median > 0) || math.IsInf(ratios[0].Median, 0) {
				t.Errorf("%s ratios %+v", r.Name, ratios)
				continue
			}
			if want := r.SamplesPerSec.Median / pr.SamplesPerSec.Median; math.Abs(ratios[0].Median-want) > 1e-12*want {
				t.Errorf("%s: ratio %v, want %v", r.Name, ratios[0].Median, want)
			}
			if !strings.Contains(stdout, r.Name+" vs "+pr.Name) {
				t.Errorf("ratio line for %s missing:\n%s", r.Name, stdout)
			}
		}
	} else if len(rep.Ratios) != 0 || rep.Baseline != "" {
		t.Errorf("ratios without a peer: %v", rep.Ratios)
	}
	// `medbench report --bench` reads the file.
	in, err := reports.Build(context.Background(), reports.Options{Bench: out})
	if err != nil || len(in.Bench) != wantResults || in.Bench[0].SamplesPerSec != rep.Results[0].SamplesPerSec.Median {
		t.Errorf("report input from bench.json: %+v, %v", in, err)
	}
	if tjsErr != nil {
		t.Skipf("transformers.js peer part skipped (medbench part passed): %v", tjsErr)
	}
}

// TestBenchPeerFailures: a peer process that fails or answers too few cases
// stops the bench with a one-line error (exit 2). A fake node stands in.
func TestBenchPeerFailures(t *testing.T) {
	model, data := benchFixture(t)
	tt, err := bench.FindTestTools(".")
	if err != nil {
		t.Skipf("needs testtools/%s and node_modules: %v", bench.TJSScript, err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body, msg string
	}{
		{"crash", "echo 'tjs-bench: model exploded' >&2; exit 2", "model exploded"},
		{"short", `echo '{"ids":[1,2,3,4],"ms":5}'`, "printed 1 results for 2 cases"},
		{"garbage", "echo 'not json'", "stdout line 1"},
	} {
		node := filepath.Join(dir, tc.name)
		script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo v0.0.0; exit 0; fi\n" + tc.body + "\n"
		if err := os.WriteFile(node, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := cliRun(t, "bench", "--model", model, "--data", data, "--n", "2", "--batch", "1", "--repeats", "1",
			"--max-new-tokens", "2", "--threads", "1", "--testtools", tt, "--node", node, "--out", filepath.Join(dir, tc.name+".json"))
		// Progress lines come first; the error is the one last line.
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != exitUsage || !strings.HasPrefix(last, "medbench: bench: ") || !strings.Contains(last, tc.msg) || strings.Count(stderr, "medbench: ") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want %d with %q", tc.name, code, stderr, exitUsage, tc.msg)
		}
		if _, err := os.Stat(filepath.Join(dir, tc.name+".json")); err == nil {
			t.Errorf("%s: results written although the peer failed", tc.name)
		}
	}
}

// TestBenchNotes: --min-new-tokens below --max-new-tokens is noted
// in the file, and --n above the data size measures what there is.
func TestBenchNotes(t *testing.T) {
	model, data := benchFixture(t)
	out := filepath.Join(t.TempDir(), "bench.json")
	code, stdout, stderr := cliRun(t, "bench", "--model", model, "--data", data, "--n", "9", "--batch", "3", "--modality", "MRI,CT",
		"--repeats", "2", "--warmup", "0", "--max-new-tokens", "3", "--min-new-tokens", "1", "--threads", "1", "--peer", "none", "--out", out)
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rep := readBenchReport(t, out)
	if len(rep.Results) != 1 || rep.Results[0].Requests != 4 || len(rep.Results[0].Passes) != 2 || rep.Results[0].SamplesPerSec.N != 2 {
		t.Fatalf("results %+v", rep.Results)
	}
	if len(rep.Notes) != 2 || !strings.Contains(rep.Notes[0], "fewer than --n 9") || !strings.Contains(rep.Notes[1], "--min-new-tokens 1 < --max-new-tokens 3") {
		t.Errorf("notes %q", rep.Notes)
	}
	if !strings.Contains(stdout, "note: ") {
		t.Errorf("notes not printed:\n%s", stdout)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d.json")
	os.WriteFile(data, []byte(`[]`), 0o644)
	for _, tc := range []struct {
		args []string
		msg  string
		code int
	}{
		{[]string{"--batch", "0"}, "--batch 0", exitUsage},
		{[]string{"--batch", "2,2"}, "--batch 2 given twice", exitUsage},
		{[]string{"--n", "0"}, "--n 0", exitUsage},
		{[]string{"--repeats", "0"}, "--repeats 0", exitUsage},
		{[]string{"--warmup", "-1"}, "--warmup -1", exitUsage},
		{[]string{"--max-new-tokens", "4", "--min-new-tokens", "5"}, "--min-new-tokens 5", exitUsage},
		{[]string{"--peer", "vllm"}, `--peer "vllm"`, exitUsage},
		{[]string{"--device", "cuda:1", "--peer", "tjs"}, "use --peer none", exitUsage},
		{[]string{"--prompt", "fancy"}, "unknown prompt", exitUsage},
		{[]string{"--prompt", "x=" + filepath.Join(dir, "none.txt")}, "none.txt", exitUsage},
		{[]string{"extra"}, "unexpected arguments", exitUsage},
		{[]string{"--data", filepath.Join(dir, "missing.json")}, "missing.json", exitUsage},
	} {
		args := append([]string{"bench", "--model", dir, "--data", data, "--peer", "none"}, tc.args...)
		code, _, stderr := cliRun(t, args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

// TestBenchPeerMissing: --peer tjs without a testtools folder is a usage
// error naming the fix, before any measurement.
func TestBenchPeerMissing(t *testing.T) {
	model, data := benchFixture(t)
	code, _, stderr := cliRun(t, "bench", "--model", model, "--data", data, "--n", "1", "--batch", "1", "--repeats", "1",
		"--testtools", t.TempDir(), "--out", filepath.Join(t.TempDir(), "b.json"))
	if code != exitUsage || !strings.Contains(stderr, "make testtools") || !strings.Contains(stderr, "--peer none") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
