package grpo

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/runners/fixture"
	"github.com/medbench/medbench/runners/ortlib"
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

func TestTaskExperiment(t *testing.T) {
	if os.Getenv("GRPO_EXP") == "" {
		t.Skip("GRPO_EXP not set")
	}
	if _, err := ortlib.Init(""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := fixture.Write(ctx, model, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	var path string
	var err error
	if os.Getenv("QUADRANT") == "" {
		path, err = SynthBrightness(filepath.Join(dir, "data"), envInt("N", 48), 7)
	} else {
		path, err = datasets.Synth(ctx, datasets.SynthOptions{Out: filepath.Join(dir, "data"), N: envInt("N", 48), Seed: 7,
			MinSide: 56, MaxSide: 56, Formats: []string{"png"}, Modes: []string{"gray"}, YesNoEvery: -1, Modalities: []string{"MRI"}})
	}
	if err != nil {
		t.Fatal(err)
	}
	all, err := datasets.LoadJSON(path, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("QUADRANT") != "" && os.Getenv("SHUFFLED") == "" {
		if all, err = CanonicalOptions(all, datasets.QuadrantOptions); err != nil {
			t.Fatal(err)
		}
	}
	nEval := envInt("NEVAL", 16)
	train, eval := all[nEval:], all[:nEval]
	tmpl, _ := datasets.BuiltinTemplate("train")
	etmpl, _ := datasets.BuiltinTemplate("complex")
	sres, err := SFT(ctx, SFTConfig{ModelDir: model, Samples: train, Template: tmpl, Out: filepath.Join(dir, "sft"),
		Epochs: envInt("SFT_EPOCHS", 2), Batch: 4, Answers: envStr("SFT_ANSWERS", "all"), LR: envFloat("SFT_LR", 3e-3), Seed: 1, Log: testLog{t},
		EvalSamples: eval, EvalTemplate: etmpl, EvalMaxNewTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sft: %+v", sres)
	gres, err := Train(ctx, Config{ModelDir: sres.FinalDir, Samples: train, Template: tmpl, Out: filepath.Join(dir, "grpo"),
		NumGenerations: envInt("G", 4), PromptsPerStep: envInt("PPS", 4), GradAccum: 1, MaxSteps: envInt("STEPS", 20),
		LR: envFloat("LR", 1e-3), WarmupSteps: envInt("WARMUP", 0), Beta: envFloat("BETA", 0.04), MaxCompletionLength: 24, Seed: 1, Log: testLog{t},
		EvalSamples: eval, EvalTemplate: etmpl, EvalMaxNewTokens: 24, EvalSteps: envInt("EVAL_STEPS", 0), SaveSteps: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("grpo: %+v", gres)
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }
