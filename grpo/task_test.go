package grpo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners/fixture"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// taskTemplateText is the accuracy-rise task's short instruction (also the
// demo's template): the seed's templates spend ~100 tokens on instructions
// that every rollout and backward pass pays for, while the format reward
// only needs the tags named.
// taskTemplateText is the built-in short template (datasets.ShortText).
const taskTemplateText = datasets.ShortText

// taskCompletion is the task's SFT completion: the format with a short think
// text, so that rollouts stay short; {answer} is the letter SFT's Answers
// mode picks (never the correct one on purpose).
const taskCompletion = "<think>Count.</think>\n<answer>{answer}</answer>"

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestAccuracyRise is the accuracy-rise task: SFT teaches the tiny fixture
// the answer format with every letter (so it knows the format, not the
// answers), then GRPO must learn to read the image. It asserts eval accuracy
// from chance to ≥ 80%, a rising reward curve, a significant exact McNemar
// test and a wall time under 10 minutes. It takes minutes, so it runs only
// with MEDBENCH_GRPO_TASK=1; TASK_* variables override the demo settings
// (TASK_SEED and TASK_DATA_SEED change the training and data seeds;
// TASK_DATA=quadrant uses datasets.Synth's quadrant question with
// canonical option order instead of SynthCount; TASK_TEMPLATE=seed uses the
// seed's train/complex templates instead of the short one).
//
// Default (measured on the 2-core machine, see the README's training
// section): 400 training and 80 eval items, G 8 × 4 prompts per step, lr
// 3e-4 constant after 5 warmup steps, β 0.2, 200 steps, short template.
// With 8 generations per prompt most groups keep a reward spread while the
// policy is still guessing; larger learning rates (5e-4, 1e-3) collapse the
// letter distribution before the image is read.
func TestAccuracyRise(t *testing.T) {
	if os.Getenv("MEDBENCH_GRPO_TASK") == "" {
		t.Skip("set MEDBENCH_GRPO_TASK=1 to run the accuracy-rise task (minutes)")
	}
	if _, err := ortlib.Init(""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx := context.Background()
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := fixture.Write(ctx, model, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	n, nEval := envInt("TASK_N", 480), envInt("TASK_NEVAL", 80)
	seed := uint64(envInt("TASK_SEED", 1)) // SFT and GRPO seed (sampling, batch order)
	var path string
	var err error
	if envStr("TASK_DATA", "count") == "quadrant" {
		path, err = datasets.Synth(ctx, datasets.SynthOptions{Out: filepath.Join(dir, "data"), N: n, Seed: 7,
			MinSide: 56, MaxSide: 56, Formats: []string{"png"}, Modes: []string{"gray"}, YesNoEvery: -1, Modalities: []string{"MRI"}})
	} else {
		path, err = datasets.SynthCount(t.Context(), filepath.Join(dir, "data"), n, uint64(envInt("TASK_DATA_SEED", 7)), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	all, err := datasets.LoadJSON(path, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if envStr("TASK_DATA", "count") == "quadrant" {
		if all, err = CanonicalOptions(all, datasets.QuadrantOptions); err != nil {
			t.Fatal(err)
		}
	}
	train, eval := all[nEval:], all[:nEval]
	tmpl, _ := datasets.BuiltinTemplate("train")
	etmpl, _ := datasets.BuiltinTemplate("complex")
	if envStr("TASK_TEMPLATE", "short") == "short" {
		// One short instruction for SFT, GRPO and eval: every rollout and
		// backward pass pays for the prompt's tokens.
		tmpl = datasets.Template{Name: "short", Text: taskTemplateText}
		etmpl = tmpl
	}
	sftN := len(train)
	if n := envInt("TASK_SFT_N", 0); n > 0 && n < sftN {
		sftN = n
	}
	sres, err := SFT(ctx, SFTConfig{ModelDir: model, Samples: train[:sftN], Template: tmpl, Out: filepath.Join(dir, "sft"),
		Epochs: envInt("TASK_SFT_EPOCHS", 1), Batch: 4, Answers: envStr("TASK_SFT_ANSWERS", "all"), Completion: envStr("TASK_COMPLETION", taskCompletion), LR: envFloat("TASK_SFT_LR", 3e-3),
		Seed: seed, Log: testLog{t}, EvalSamples: eval, EvalTemplate: etmpl, EvalMaxNewTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "grpo")
	res, err := Train(ctx, Config{ModelDir: sres.FinalDir, Samples: train, Template: tmpl, Out: out,
		NumGenerations: envInt("TASK_G", 8), PromptsPerStep: envInt("TASK_PPS", 4), GradAccum: 1, MaxSteps: envInt("TASK_STEPS", 200),
		LR: envFloat("TASK_LR", 3e-4), LRScheduler: LRScheduler(envStr("TASK_SCHED", "constant")), WarmupSteps: envInt("TASK_WARMUP", 5), Beta: envFloat("TASK_BETA", 0.2), LossType: LossType(envStr("TASK_LOSS", "grpo")), ScaleRewards: ScaleRewards(envStr("TASK_SCALE", "group")),
		MaxCompletionLength: 24, Seed: seed, Log: testLog{t}, EvalSamples: eval, EvalTemplate: etmpl, EvalMaxNewTokens: 24,
		EvalSteps: envInt("TASK_EVAL_STEPS", 20)})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	ms, err := ReadMetrics(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var rewards []float64
	var curve strings.Builder
	for _, m := range ms {
		if r, ok := m["reward"]; ok {
			rewards = append(rewards, r)
		}
		if a, ok := m["eval_accuracy"]; ok {
			fmt.Fprintf(&curve, " step %d: eval %.3f;", m.Step(), a)
		}
	}
	k := max(len(rewards)/5, 1)
	first, last := mean(rewards[:k]), mean(rewards[len(rewards)-k:])
	t.Logf("eval accuracy %.3f -> %.3f (McNemar p %.3g); reward first/last 20%%: %.3f -> %.3f; %s elapsed %s",
		res.EvalBefore, res.EvalAfter, res.McNemarP, first, last, curve.String(), elapsed)
	if res.EvalAfter < 0.8 {
		t.Errorf("final eval accuracy %.3f < 0.80", res.EvalAfter)
	}
	if last <= first {
		t.Errorf("reward curve not rising: %.3f -> %.3f", first, last)
	}
	if !(res.McNemarP < 0.05) {
		t.Errorf("McNemar p %.3g not significant", res.McNemarP)
	}
	if elapsed > 10*time.Minute {
		t.Errorf("took %s > 10 min", elapsed)
	}
	// With the default settings, the training log also passes its golden
	// band (what `medbench check --train` gates in CI).
	if !taskOverridden() {
		vs, err := CheckTrain(out, goldenPath, goldenModel, goldenTaskDataset)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.Failed() {
				t.Errorf("golden %s: %v, expected %v (%s): %s %s", v.Key, v.Value, v.Expected, v.Tolerance, v.Status, v.Detail)
			}
		}
	}
}

// taskOverridden reports whether a TASK_* variable changes the task's
// settings.
func taskOverridden() bool {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TASK_") {
			return true
		}
	}
	return false
}
