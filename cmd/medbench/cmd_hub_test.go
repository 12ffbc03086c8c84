package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/hub/hubtest"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// hubEnv points the hub client at srv with a fresh cache; it returns the cache.
func hubEnv(t *testing.T, srv *hubtest.Server) string {
	t.Helper()
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("MEDBENCH_CACHE", t.TempDir())
	return cache
}

// serveDir publishes every file under dir as the repo's commit (branch main).
func serveDir(t *testing.T, srv *hubtest.Server, kind, id, label, dir string, gated bool) string {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	commit := hubtest.Commit(label)
	srv.SetRepo(kind, id, &hubtest.Repo{Gated: gated, Branches: map[string]string{"main": commit}, Commits: map[string]map[string][]byte{commit: files}})
	return commit
}

func TestModelAndDatasetDownloadCommands(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	cache := hubEnv(t, srv)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "config.json"), []byte(`{"a":1}`), 0o644)
	os.WriteFile(filepath.Join(src, "weights.safetensors"), []byte("weights"), 0o644)
	commit := serveDir(t, srv, "model", "org/m", "m1", src, true)
	dcommit := serveDir(t, srv, "dataset", "org/d", "d1", src, false)
	const token = "hf_cliSECRET42"
	srv.Token = token

	code, out, errOut := cliRun(t, "model", "download", "org/m", "--include", "*.json")
	if code != 2 || !strings.Contains(errOut, "HF_TOKEN") || !strings.Contains(errOut, "accept the licence") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("gated without token: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("HF_TOKEN", token)
	code, out, errOut = cliRun(t, "model", "download", "org/m", "--include", "*.json")
	want := filepath.Join(cache, "models--org--m", "snapshots", commit)
	if code != 0 || strings.TrimSpace(out) != want || strings.Contains(out+errOut, token) {
		t.Fatalf("model download: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(want, "config.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(want, "weights.safetensors")); !os.IsNotExist(err) {
		t.Fatal("--include ignored")
	}
	code, out, errOut = cliRun(t, "dataset", "download", "org/d", "--revision", dcommit)
	if code != 0 || strings.TrimSpace(out) != filepath.Join(cache, "datasets--org--d", "snapshots", dcommit) {
		t.Fatalf("dataset download: exit %d\n%s%s", code, out, errOut)
	}
	for _, args := range [][]string{{"model", "download"}, {"model", "download", "bad id"}, {"dataset", "download", "org/d@x", "--revision", "y"}} {
		if code, _, _ := cliRun(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := cliRun(t, "model", "download", "org/none"); code != 2 || !strings.Contains(errOut, "repo not found") {
		t.Errorf("missing repo: exit %d %s", code, errOut)
	}
}

// TestEvalHFModelMatchesLocalDir serves the tiny fixture as an
// onnx-community repo: eval --model hf:org/tiny gives the same outputs as
// eval on the folder, records the reference pinned to its commit and the
// endpoint, and a rerun makes no file transfer.
func TestEvalHFModelMatchesLocalDir(t *testing.T) {
	model := tinyFixture(t)
	srv := hubtest.New()
	defer srv.Close()
	hubEnv(t, srv)
	commit := serveDir(t, srv, "model", "org/tiny", "tiny-v1", model, false)
	data := evalSynth(t, 3)
	eval := func(m string) *records.Run {
		out := filepath.Join(t.TempDir(), "run")
		code, stdout, stderr := cliRun(t, "eval", "--data", data, "--model", m, "--out", out, "--prompt", "complex",
			"--limit", "1", "--max-new-tokens", "6", "--threads", "1")
		if code != 0 {
			t.Fatalf("eval --model %s: exit %d\n%s\n%s", m, code, stdout, stderr)
		}
		run, err := records.ReadRun(out)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	local, remote := eval(model), eval("hf:org/tiny")
	if len(local.Samples) == 0 || len(local.Samples) != len(remote.Samples) {
		t.Fatalf("%d vs %d samples", len(local.Samples), len(remote.Samples))
	}
	for i := range local.Samples {
		if !reflect.DeepEqual(local.Samples[i].TokenIDs, remote.Samples[i].TokenIDs) || local.Samples[i].Output != remote.Samples[i].Output {
			t.Errorf("%s: local %v, hub %v", local.Samples[i].Key(), local.Samples[i].TokenIDs, remote.Samples[i].TokenIDs)
		}
	}
	src, _ := remote.Manifest.Config["model_source"].(map[string]any)
	if src["commit"] != commit || src["endpoint"] != srv.URL || src["ref"] != "hf:org/tiny" || src["layout"] != "onnx" {
		t.Fatalf("manifest model_source %v", remote.Manifest.Config["model_source"])
	}
	if cmd := strings.Join(remote.Manifest.Command, " "); !strings.Contains(cmd, "--model=hf:org/tiny") {
		t.Fatalf("manifest command %s", cmd)
	}
	// Pinned to the commit: everything from the cache, no request.
	srv.Reset()
	pinned := eval("hf:org/tiny@" + commit)
	if n := len(srv.Requests()); n != 0 || !reflect.DeepEqual(pinned.Samples[0].TokenIDs, local.Samples[0].TokenIDs) {
		t.Fatalf("pinned rerun: %d requests", n)
	}
	// Offline: the branch resolves through refs/main, no request.
	t.Setenv("HF_HUB_OFFLINE", "1")
	offline := eval("hf:org/tiny")
	if n := len(srv.Requests()); n != 0 || offline.Manifest.Config["model_source"].(map[string]any)["commit"] != commit {
		t.Fatalf("offline: %d requests, source %v", n, offline.Manifest.Config["model_source"])
	}
	if code, _, errOut := cliRun(t, "model", "inspect", "hf:org/other"); code != 2 || !strings.Contains(errOut, "HF_HUB_OFFLINE") {
		t.Fatalf("offline, uncached: exit %d %s", code, errOut)
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	// model inspect accepts the reference too.
	code, out, errOut := cliRun(t, "model", "inspect", "hf:org/tiny@"+commit)
	if code != 0 || !strings.Contains(out, "compatible") {
		t.Fatalf("model inspect hf: exit %d\n%s%s", code, out, errOut)
	}
	b, _ := json.Marshal(remote.Manifest)
	if strings.Contains(string(b), "Bearer") {
		t.Fatal("manifest holds an authorization header")
	}
	// main moves to a new commit: the next run pins that one.
	os.WriteFile(filepath.Join(model, "README.md"), []byte("v2\n"), 0o644)
	commit2 := serveDir(t, srv, "model", "org/tiny", "tiny-v2", model, false)
	moved := eval("hf:org/tiny")
	if src := moved.Manifest.Config["model_source"].(map[string]any); src["commit"] != commit2 || commit2 == commit {
		t.Fatalf("after the move: %v", src)
	}
	if !reflect.DeepEqual(moved.Samples[0].TokenIDs, local.Samples[0].TokenIDs) {
		t.Fatal("same weights, different outputs")
	}
}

// TestHFModelInGenerateBenchAndTrain: the other commands that take a model
// directory accept hf: too.
func TestHFModelInGenerateBenchAndTrain(t *testing.T) {
	model, data := benchFixture(t)
	srv := hubtest.New()
	defer srv.Close()
	hubEnv(t, srv)
	commit := serveDir(t, srv, "model", "org/tiny", "tiny-v1", model, false)

	gen := func(m string) string {
		code, out, errOut := cliRun(t, "tools", "generate", "--model", m, "--text", "hello", "--max-new-tokens", "4", "--threads", "1")
		if code != 0 {
			t.Fatalf("tools generate --model %s: exit %d\n%s%s", m, code, out, errOut)
		}
		return out
	}
	if a, b := gen(model), gen("hf:org/tiny"); a != b || !strings.Contains(a, `"ids"`) {
		t.Fatalf("generate: local %q, hub %q", a, b)
	}

	out := filepath.Join(t.TempDir(), "bench.json")
	code, stdout, stderr := cliRun(t, "bench", "--model", "hf:org/tiny@"+commit, "--data", data, "--n", "2", "--batch", "1",
		"--repeats", "1", "--warmup", "0", "--max-new-tokens", "2", "--threads", "1", "--peer", "none", "--out", out)
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rep := readBenchReport(t, out)
	if src, _ := rep.Settings["model_source"].(map[string]any); src["commit"] != commit || src["revision"] != commit {
		t.Fatalf("bench settings %v", rep.Settings)
	}

	sft := filepath.Join(t.TempDir(), "sft")
	if code, o, e := cliRun(t, "train", "sft", "--model", "hf:org/tiny", "--data", data, "--limit", "2", "--batch", "2",
		"--out", sft, "--quiet"); code != 0 {
		t.Fatalf("train sft: exit %d\n%s%s", code, o, e)
	}
	if _, err := os.Stat(filepath.Join(sft, "final", "onnx", "decoder_model_merged.onnx")); err != nil {
		t.Fatal(err)
	}
	grpoOut := filepath.Join(t.TempDir(), "grpo")
	if code, o, e := cliRun(t, "train", "grpo", "--model", "hf:org/tiny", "--data", data, "--limit", "2", "--max-steps", "1",
		"--num-generations", "2", "--prompts-per-step", "1", "--grad-accum", "1", "--max-completion-length", "4", "--out", grpoOut, "--quiet"); code != 0 {
		t.Fatalf("train grpo: exit %d\n%s%s", code, o, e)
	}
	b, err := os.ReadFile(filepath.Join(grpoOut, "train_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tm struct {
		ModelSource map[string]any `json:"model_source"`
	}
	if err := json.Unmarshal(b, &tm); err != nil || tm.ModelSource["commit"] != commit || tm.ModelSource["ref"] != "hf:org/tiny" {
		t.Fatalf("train_manifest model_source %v (%v)", tm.ModelSource, err)
	}
}

// TestEvalHFCheckpointImportsOnce serves the tiny fixture exported as a
// sharded Hugging Face checkpoint: eval --model hf:org/ckpt downloads and
// imports it once (keyed by commit and dtype) and gives the same outputs as
// eval on the imported folder; a rerun pinned to the commit makes no request
// and no import.
func TestEvalHFCheckpointImportsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fixture model")
	}
	model := tinyFixture(t)
	hf := filepath.Join(t.TempDir(), "hf")
	if code, out, errOut := cliRun(t, "model", "export", "--from", model, "--out", hf, "--dtype", "fp32", "--max-shard-size", "300KB"); code != 0 {
		t.Fatalf("export: exit %d: %s%s", code, out, errOut)
	}
	srv := hubtest.New()
	defer srv.Close()
	hubEnv(t, srv)
	imports := filepath.Join(os.Getenv("MEDBENCH_CACHE"), "imports")
	commit := serveDir(t, srv, "model", "org/ckpt", "ckpt-v1", hf, false)
	data := evalSynth(t, 3)
	eval := func(m string) (*records.Run, string) {
		out := filepath.Join(t.TempDir(), "run")
		code, stdout, stderr := cliRun(t, "eval", "--data", data, "--model", m, "--out", out, "--prompt", "complex",
			"--max-new-tokens", "8", "--threads", "1")
		if code != 0 {
			t.Fatalf("eval --model %s: exit %d\n%s\n%s", m, code, stdout, stderr)
		}
		run, err := records.ReadRun(out)
		if err != nil {
			t.Fatal(err)
		}
		return run, stderr
	}
	remote, log := eval("hf:org/ckpt")
	importDir := filepath.Join(imports, "models--org--ckpt", commit, "fp32")
	src, _ := remote.Manifest.Config["model_source"].(map[string]any)
	if src["layout"] != "checkpoint" || src["import_dir"] != importDir || src["commit"] != commit || src["dtype"] != "fp32" ||
		!strings.Contains(log, "importing org/ckpt@"+commit) {
		t.Fatalf("model_source %v\n%s", src, log)
	}
	local, _ := eval(importDir)
	if len(local.Samples) != 3 || len(remote.Samples) != 3 {
		t.Fatalf("%d and %d samples", len(local.Samples), len(remote.Samples))
	}
	for i, s := range local.Samples {
		r := remote.Samples[i]
		if s.Error != "" || len(s.TokenIDs) == 0 || r.Output != s.Output || !reflect.DeepEqual(r.TokenIDs, s.TokenIDs) {
			t.Errorf("%s: imported folder %q %v, hf: %q %v", s.Key(), s.Output, s.TokenIDs, r.Output, r.TokenIDs)
		}
	}
	srv.Reset()
	_, log = eval("hf:org/ckpt@" + commit)
	if n := len(srv.Requests()); n != 0 || strings.Contains(log, "importing") {
		t.Fatalf("pinned rerun: %d requests\n%s", n, log)
	}
	// Another dtype is another import, beside the first.
	if code, out, errOut := cliRun(t, "model", "inspect", "hf:org/ckpt@"+commit, "--dtype", "fp16"); code != 0 || !strings.Contains(out, "compatible") {
		t.Fatalf("fp16: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(imports, "models--org--ckpt", commit, "fp16", "onnx", "decoder_model_merged_fp16.onnx")); err != nil {
		t.Fatal(err)
	}
}

// TestHFReferenceReproducesTransformers serves a checkpoint transformers'
// own save_pretrained wrote (testdata/hf/tiny-new-bf16: bf16, 3 shards, new
// tensor names) from the fake hub: tools generate --model hf:... downloads,
// imports and reproduces transformers' greedy ids for every golden case.
func TestHFReferenceReproducesTransformers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the imported model")
	}
	tinyFixture(t) // skips without ONNX Runtime
	srv := hubtest.New()
	defer srv.Close()
	hubEnv(t, srv)
	const hfDir = "../../testdata/hf"
	serveDir(t, srv, "model", "org/tiny-bf16", "bf16", filepath.Join(hfDir, "tiny-new-bf16"), false)
	f, err := os.Open(filepath.Join(hfDir, "tiny-new-bf16.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type golden struct {
		Image        *string `json:"image"`
		Text         string  `json:"text"`
		GeneratedIDs []int   `json:"generated_ids"`
		HF           struct {
			RepetitionPenalty float64 `json:"repetition_penalty"`
			MaxNewTokens      int     `json:"max_new_tokens"`
		} `json:"hf"`
	}
	var cases []golden
	var gen []runners.Case
	dec := json.NewDecoder(f)
	for dec.More() {
		var g golden
		if err := dec.Decode(&g); err != nil {
			t.Fatal(err)
		}
		c := runners.Case{Text: g.Text}
		if g.Image != nil {
			abs, _ := filepath.Abs(filepath.Join(hfDir, "cases", *g.Image))
			c.Image = abs
		}
		cases, gen = append(cases, g), append(gen, c)
	}
	if len(cases) < 8 || cases[0].HF.MaxNewTokens == 0 {
		t.Fatalf("%d golden cases", len(cases))
	}
	cf := filepath.Join(t.TempDir(), "cases.json")
	b, _ := json.Marshal(gen)
	if err := os.WriteFile(cf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cliRun(t, "tools", "generate", "--model", "hf:org/tiny-bf16", "--cases", cf, "--threads", "1",
		"--max-new-tokens", strconv.Itoa(cases[0].HF.MaxNewTokens), "--repetition-penalty", fmt.Sprint(cases[0].HF.RepetitionPenalty))
	if code != 0 || !strings.Contains(errOut, "checkpoint layout") {
		t.Fatalf("tools generate: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d outputs for %d cases", len(lines), len(cases))
	}
	for i, l := range lines {
		var got struct {
			IDs []int `json:"ids"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.IDs, cases[i].GeneratedIDs) {
			t.Errorf("case %d: hf: gives %v, transformers %v", i, got.IDs, cases[i].GeneratedIDs)
		}
	}
}
