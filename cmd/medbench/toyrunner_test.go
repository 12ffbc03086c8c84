package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/openai"
	"github.com/medbench/medbench/runners/qwen2vl"
	"github.com/medbench/medbench/runners/replay"
)

// toyDriver is a runner defined only in this test: it answers --toy-answer
// (the bare letter for the simple prompt, an answer block otherwise) and
// reports --max-new-tokens generated token ids, at most 3.
func toyDriver() runners.Driver {
	return runners.Driver{
		Name:    "toy",
		Usage:   "answers --toy-answer",
		Flags:   []cli.Flag{&cli.StringFlag{Name: "toy-answer", Value: "A", Usage: "toy: the letter every answer gives"}},
		Samples: true,
		Open: func(_ context.Context, o runners.Options) (runners.Runner, error) {
			return toyRunner{answer: o.Flags.String("toy-answer"), maxNew: o.Sampling.MaxNewTokens}, nil
		},
		Config: func(v runners.Values) map[string]any { return map[string]any{"toy_answer": v.String("toy-answer")} },
	}
}

type toyRunner struct {
	answer string
	maxNew int
}

func (r toyRunner) Generate(_ context.Context, reqs []runners.Request) ([]runners.Result, error) {
	out := make([]runners.Result, len(reqs))
	for i, q := range reqs {
		text := "<think>" + q.Text + "</think><answer>" + r.answer + "</answer>"
		if q.Prompt == "simple" {
			text = r.answer
		}
		ids := []int{1, 2, 3}[:min(3, r.maxNew)]
		out[i] = runners.Result{ID: q.ID, Text: text, TokenIDs: ids, PromptTokens: len(q.Text), CompletionTokens: len(ids), FinishReason: "length"}
	}
	return out, nil
}

func (r toyRunner) Info() runners.Info {
	return runners.Info{Name: "toy", Model: "toy-model", Settings: map[string]any{"answer": r.answer}}
}

func (toyRunner) Close() error { return nil }

// TestToyRunner: a runner added with one registration line is accepted by
// eval (a complete run record), bench (one bench.json row per batch size)
// and tools generate (its text), through the command line.
func TestToyRunner(t *testing.T) {
	reg := runners.NewRegistry(qwen2vl.Driver(), openai.Driver(), replay.Driver(), toyDriver())
	medbench := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		app := newApp(reg)
		app.Writer, app.ErrWriter = &out, &errOut
		if err := app.Run(append([]string{"medbench"}, args...)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	data := evalSynth(t, 6)
	dir := t.TempDir()

	// eval
	run := filepath.Join(dir, "run")
	medbench("eval", "--data", data, "--out", run, "--runner", "toy", "--toy-answer", "B", "--prompt", "simple,complex", "--max-new-tokens", "2")
	rec, err := records.ReadRun(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Samples) != 12 || rec.Summary == nil || rec.Summary.Samples != 12 {
		t.Fatalf("run record: %d samples, summary %+v", len(rec.Samples), rec.Summary)
	}
	right := 0
	for _, s := range rec.Samples {
		if s.Solution == "B" {
			right++
		}
		want := "<answer>B</answer>"
		if s.Prompt == "simple" {
			want = "B"
		}
		if !strings.HasSuffix(s.Output, want) || len(s.TokenIDs) != 2 || s.Correct["strict"] != (s.Solution == "B") {
			t.Errorf("sample %s/%s: output %q, ids %v, solution %q, correct %v", s.Prompt, s.ID, s.Output, s.TokenIDs, s.Solution, s.Correct)
		}
	}
	if right == 0 || right == len(rec.Samples) {
		t.Errorf("%d of %d samples have solution B: the check above tells nothing", right, len(rec.Samples))
	}
	m := rec.Manifest
	if m.Runner.Name != "toy" || m.Runner.Settings["answer"] != "B" || m.Config["runner"] != "toy" || m.Config["toy_answer"] != "B" || m.Sampling["max_new_tokens"] != float64(2) {
		t.Errorf("manifest runner %+v, config %v, sampling %v", m.Runner, m.Config, m.Sampling)
	}

	// bench
	benchOut := filepath.Join(dir, "bench.json")
	table := medbench("bench", "--runner", "toy", "--data", data, "--peer", "none", "--n", "4", "--batch", "1,2",
		"--repeats", "2", "--warmup", "0", "--max-new-tokens", "2", "--out", benchOut)
	rep := readBenchReport(t, benchOut)
	if len(rep.Results) != 2 {
		t.Fatalf("bench: %d results:\n%s", len(rep.Results), table)
	}
	for i, r := range rep.Results {
		if want := []string{"medbench batch=1", "medbench batch=2"}[i]; r.Name != want || r.Runner.Name != "toy" || len(r.Passes) != 2 || r.Passes[0].GeneratedTokens != 8 {
			t.Errorf("bench result %d: %s, runner %s, passes %+v", i, r.Name, r.Runner.Name, r.Passes)
		}
		if !strings.Contains(table, r.Name) {
			t.Errorf("bench table lacks %s:\n%s", r.Name, table)
		}
	}

	// tools generate
	line := medbench("tools", "generate", "--runner", "toy", "--toy-answer", "C", "--text", "which organ?")
	var got struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(line), &got); err != nil || got.Text != "<think>which organ?</think><answer>C</answer>" || len(got.IDs) != 3 {
		t.Errorf("tools generate: %q (%v)", line, err)
	}

	// The binary's own registry does not know the toy runner.
	code, _, stderr := cliRun(t, "tools", "generate", "--runner", "toy", "--text", "x")
	if code != exitUsage || !strings.Contains(stderr, `--runner "toy": want onnx or openai`) {
		t.Errorf("default registry: exit %d, %s", code, stderr)
	}
}
