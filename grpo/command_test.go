package grpo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
)

func TestResultWriteSummary(t *testing.T) {
	var b bytes.Buffer
	(&Result{Steps: 3, FinalDir: "out/final", Elapsed: 1500 * time.Millisecond, McNemarP: math.NaN()}).WriteSummary(&b)
	if got := b.String(); got != "steps: 3\nfinal model: out/final\nelapsed: 1.5s\n" {
		t.Errorf("no eval: %q", got)
	}
	b.Reset()
	(&Result{Steps: 1, FinalDir: "f", EvalBefore: 0.25, EvalAfter: 0.5, McNemarP: 0.125}).WriteSummary(&b)
	if got := b.String(); !strings.HasSuffix(got, "eval accuracy: 0.2500 -> 0.5000 (exact McNemar p = 0.125)\n") {
		t.Errorf("eval: %q", got)
	}
}

func TestLoadSamples(t *testing.T) {
	dir := t.TempDir()
	p, err := datasets.SynthTask(context.Background(), "count", datasets.SynthOptions{Out: dir, N: 4, Seed: 1, Modalities: []string{datasets.CT}})
	if err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	s, err := LoadSamples(p, dir, 3, datasets.InvalidRefuse, &warn)
	if err != nil || len(s) != 3 || warn.Len() != 0 {
		t.Fatalf("LoadSamples = %d items, %v, warning %q", len(s), err, warn.String())
	}
	// An answer-key problem: refused, or used with a warning.
	var recs []map[string]any
	b, _ := os.ReadFile(p)
	json.Unmarshal(b, &recs)
	recs[0]["solution"] = "<answer> Z </answer>"
	b, _ = json.Marshal(recs)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, b, 0o644)
	if _, err := LoadSamples(bad, dir, 0, datasets.InvalidRefuse, &warn); err == nil || !strings.HasPrefix(err.Error(), "train: ") {
		t.Errorf("refuse: %v", err)
	}
	if s, err := LoadSamples(bad, dir, 0, datasets.InvalidScore, &warn); err != nil || len(s) != 4 || !strings.Contains(warn.String(), "1 record(s) with answer-key problems") {
		t.Errorf("score: %d items, %v, warning %q", len(s), err, warn.String())
	}
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte("[]"), 0o644)
	if _, err := LoadSamples(empty, dir, 0, datasets.InvalidRefuse, &warn); err == nil || err.Error() != empty+": no records" {
		t.Errorf("empty: %v", err)
	}
}

func TestLoadInputs(t *testing.T) {
	dir := t.TempDir()
	p, err := datasets.SynthTask(context.Background(), "count", datasets.SynthOptions{Out: dir, N: 4, Seed: 1, Modalities: []string{datasets.CT}})
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{Cmd: "train sft", Data: p, Limit: 2, EvalData: p, Template: "train", EvalTemplate: "complex", InvalidItems: datasets.InvalidRefuse}
	l, err := LoadInputs(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Samples) != 2 || len(l.EvalSamples) != 4 || l.Template.Name != "train" || l.EvalTemplate.Name != "complex" {
		t.Errorf("loaded %d, %d samples, templates %q, %q", len(l.Samples), len(l.EvalSamples), l.Template.Name, l.EvalTemplate.Name)
	}
	noEval := in
	noEval.EvalData = ""
	if l, err := LoadInputs(noEval); err != nil || l.EvalSamples != nil {
		t.Errorf("no eval data: %v", err)
	}
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		change func(*Inputs)
		want   string
	}{
		{func(i *Inputs) { i.EvalImages = missing }, "train sft: --eval-images " + missing + ": "},
		{func(i *Inputs) { i.Images = missing }, "train sft: --images " + missing + ": "},
		{func(i *Inputs) { i.Template = "nope" }, "--template: "},
		{func(i *Inputs) { i.EvalTemplate = "nope" }, "--eval-template: "},
	} {
		bad := in
		c.change(&bad)
		if _, err := LoadInputs(bad); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want prefix %q", bad, err, c.want)
		}
	}
}

func TestInterruptMessage(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&Interrupted{Step: 2, MaxSteps: 5, Checkpoint: "o/checkpoints/step-2", Resumable: true},
			"train grpo: interrupted after step 2 of 5; checkpoint written to o/checkpoints/step-2; continue with the same command plus --resume"},
		{fmt.Errorf("wrapped: %w", &Interrupted{Step: 1, MaxSteps: 3, Checkpoint: "c"}),
			"train grpo: interrupted after step 1 of 3; the model after that step is in c (sft has no --resume: run the command again, or continue from it with --model c)"},
		{fmt.Errorf("x: %w", context.Canceled),
			"train grpo: aborted; the checkpoints written so far are in o/checkpoints (train grpo continues from the last with --resume)"},
	} {
		if msg, ok := InterruptMessage("train grpo", "o", c.err); !ok || msg != c.want {
			t.Errorf("%v: %q, %v", c.err, msg, ok)
		}
	}
	if _, ok := InterruptMessage("train grpo", "o", errors.New("disk full")); ok {
		t.Error("a plain error is an interruption")
	}
}
