package grpo

import (
	"github.com/medbench/medbench/datasets"
	"math"
	"testing"
)

func TestScheduledLR(t *testing.T) {
	// Hugging Face get_scheduler(name, num_warmup_steps=10,
	// num_training_steps=110) multipliers, from the closed forms:
	// cosine 0.5·(1+cos(π·(s−10)/100)).
	cases := []struct {
		kind LRScheduler
		step int
		want float64
	}{
		{LRLinear, 0, 0}, {LRLinear, 5, 0.5}, {LRLinear, 10, 1}, {LRLinear, 60, 0.5}, {LRLinear, 110, 0}, {LRLinear, 120, 0},
		{LRConstant, 0, 0}, {LRConstant, 5, 0.5}, {LRConstant, 10, 1}, {LRConstant, 60, 1}, {LRConstant, 110, 1},
		{LRCosine, 5, 0.5}, {LRCosine, 10, 1}, {LRCosine, 35, 0.8535533905932737}, {LRCosine, 60, 0.5},
		{LRCosine, 85, 0.14644660940672627}, {LRCosine, 110, 0},
		{"", 60, 0.5},
	}
	for _, c := range cases {
		if got := ScheduledLR(c.kind, 2, c.step, 110, 10); math.Abs(got-2*c.want) > 1e-12 {
			t.Errorf("ScheduledLR(%q, step %d) = %v, want %v", c.kind, c.step, got, 2*c.want)
		}
	}
}

func TestParseLRScheduler(t *testing.T) {
	for in, want := range map[string]LRScheduler{"": LRLinear, "linear": LRLinear, "constant": LRConstant, "cosine": LRCosine} {
		if got, err := ParseLRScheduler(in); err != nil || got != want {
			t.Errorf("ParseLRScheduler(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Cosine", "step", "constant_with_warmup "} {
		if _, err := ParseLRScheduler(in); err == nil {
			t.Errorf("ParseLRScheduler(%q): want an error", in)
		}
	}
	cfg := Config{ModelDir: "m", Out: "o", Samples: make([]datasets.Item, 1), NumGenerations: 2, PromptsPerStep: 1,
		GradAccum: 1, Epochs: 1, LR: 1, NumIterations: 1, MaxCompletionLength: 1, MaxPromptLength: 1, LRScheduler: LRCosine, LossType: LossGRPO, ScaleRewards: ScaleGroup}
	if err := cfg.validate(); err != nil {
		t.Fatalf("Config.validate: %v", err)
	}
	cfg.LRScheduler = "step"
	if err := cfg.validate(); err == nil {
		t.Error("Config.validate accepted lr scheduler \"step\"")
	}
}
