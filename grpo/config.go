package grpo

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/runners"
)

// Config configures a GRPO run. Zero values take the defaults of
// DefaultConfig (MedVLM-R1's train_script.sh over TRL v0.14 GRPOConfig and
// Hugging Face TrainingArguments).
type Config struct {
	// ModelDir is the starting model directory (the layout `medbench eval` runs).
	ModelDir string
	// ModelSource, when the model came from the Hugging Face hub, records its
	// reference, commit and endpoint in train_manifest.json ("model_source").
	ModelSource map[string]any
	// Samples are the training prompts.
	Samples []datasets.Item
	// Template renders each problem (default: the seed's 8-space training template).
	Template datasets.Template
	// Out receives metrics.jsonl, checkpoints/step-N/, final/, eval/ and
	// train_manifest.json.
	Out string

	NumGenerations int // G, completions per prompt (4)
	PromptsPerStep int // prompts per optimizer step (2)
	GradAccum      int // micro-batches per optimizer step (2; divides PromptsPerStep)
	Epochs         int // passes over Samples (2)
	MaxSteps       int // stop after this many optimizer steps (0: Epochs)
	// StopAfter ends the run after this many steps without changing the
	// schedule (the LR still decays towards MaxSteps): a run's first steps,
	// exactly. The final model is still written.
	StopAfter int

	LR          float64 // peak learning rate (1e-6), linear decay to 0 at the last step
	WarmupSteps int
	// LRScheduler is the schedule after warmup ("": linear decay to 0).
	LRScheduler   LRScheduler
	Beta          float64 // KL weight (0.04); negative means 0
	WeightDecay   float64 // AdamW weight decay (0)
	MaxGradNorm   float64 // gradient clipping (1.0)
	LossType      LossType
	EpsilonLow    float64 // ε-clipping bounds (0.2, 0.2)
	EpsilonHigh   float64
	NumIterations int // updates per generation batch, μ (1)
	ScaleRewards  ScaleRewards
	Rewards       []string // reward function names (accuracy, format)

	MaxPromptLength     int // prompts longer than this are an error (512)
	MaxCompletionLength int // max new tokens per completion (512)
	MinPixels           int // image resize bounds (3136, 401408)
	MaxPixels           int
	Temperature         float64 // sampling: 1, top_k 50, top_p 1 (what the seed ran)
	TopK                int
	TopP                float64

	SaveSteps int // checkpoint every N steps (50; 0 = only final)
	EvalSteps int // eval every N steps (0 = only before and after)
	// EvalSamples are scored greedily with EvalTemplate before training,
	// every EvalSteps and at the end (none: no eval).
	EvalSamples      []datasets.Item
	EvalTemplate     datasets.Template
	EvalMaxNewTokens int

	Seed   uint64
	Resume bool
	// InvalidItems counts training records with answer-key problems that
	// the caller chose to train on (recorded in train_manifest.json).
	InvalidItems int
	Freeze       []string // initializer-name patterns not to train ("<session>/<name>")
	Threads      int      // ONNX Runtime intra-op threads (0: default)
	ORTLib       string   // ONNX Runtime library ("" = ortlib's search)
	Backend      string   // GoMLX backend ("" = DefaultBackend)
	// Open opens the rollout and eval runner (nil: the Qwen2-VL ONNX runner
	// with Threads, ORTLib and the pixel bounds).
	Open Opener
	// Log receives one progress line per step (nil: silent).
	Log io.Writer
	// Stop, when closed, ends training after the generation batch in
	// progress (one optimizer step unless NumIterations > 1): its
	// checkpoint is written and Train returns *Interrupted.
	Stop <-chan struct{}
}

// DefaultConfig returns MedVLM-R1's training settings (train_script.sh and
// the TRL/Trainer defaults, docs/reference/medvlm-r1-seed.md#grpo-settings):
// G 4, 1 prompt per device × gradient accumulation 2, 2 epochs, lr 1e-6
// linear, β 0.04, AdamW wd 0, clip 1.0, max prompt/completion 512, max
// pixels 401408, seed 42.
func DefaultConfig() Config {
	return Config{
		NumGenerations: 4, PromptsPerStep: 2, GradAccum: 2, Epochs: 2,
		LR: 1e-6, Beta: 0.04, MaxGradNorm: 1, LossType: LossGRPO, EpsilonLow: 0.2, EpsilonHigh: 0.2,
		NumIterations: 1, ScaleRewards: ScaleGroup, Rewards: DefaultRewardNames,
		MaxPromptLength: 512, MaxCompletionLength: 512, MinPixels: 3136, MaxPixels: 401408,
		Temperature: 1, TopK: 50, TopP: 1, SaveSteps: 50, EvalMaxNewTokens: 512, Seed: 42,
	}
}

// UserConfig returns c with its settings read as a user states them (the
// flags of `medbench train grpo`, whose defaults are DefaultConfig's), where
// 0 is a value rather than "default": a Beta of 0 disables the KL term and
// its reference model, and an EpsilonHigh of 0 means EpsilonLow (TRL's
// epsilon_high default). InvalidItems is set to the number of training
// records with answer-key problems.
func UserConfig(c Config) Config {
	if c.EpsilonHigh == 0 {
		c.EpsilonHigh = c.EpsilonLow
	}
	if c.Beta == 0 {
		c.Beta = -1 // Config's 0 is the default 0.04; negative means none
	}
	c.InvalidItems = len(datasets.InvalidByIndex(datasets.CheckSamples(c.Samples, datasets.DefaultModalityMap())))
	return c
}

// validate rejects settings no run can use.
func (c *Config) validate() error {
	switch {
	case c.ModelDir == "" || c.Out == "":
		return fmt.Errorf("grpo: model and output folders are required")
	case len(c.Samples) == 0:
		return fmt.Errorf("grpo: no training samples")
	case c.NumGenerations < 2:
		return fmt.Errorf("grpo: num generations %d: need at least 2 for group advantages", c.NumGenerations)
	case c.PromptsPerStep < 1 || c.GradAccum < 1 || c.PromptsPerStep%c.GradAccum != 0:
		return fmt.Errorf("grpo: prompts per step (%d) must be a positive multiple of gradient accumulation (%d)", c.PromptsPerStep, c.GradAccum)
	case c.PromptsPerStep > len(c.Samples):
		return fmt.Errorf("grpo: %d prompts per step but only %d samples", c.PromptsPerStep, len(c.Samples))
	case c.Epochs < 1 && c.MaxSteps < 1:
		return fmt.Errorf("grpo: need epochs or max steps")
	case c.LR <= 0:
		return fmt.Errorf("grpo: learning rate must be positive")
	case c.NumIterations < 1:
		return fmt.Errorf("grpo: num iterations must be at least 1")
	case c.MaxCompletionLength < 1 || c.MaxPromptLength < 1:
		return fmt.Errorf("grpo: max prompt and completion lengths must be positive")
	}
	if _, err := ParseLossType(string(c.LossType)); err != nil {
		return err
	}
	if _, err := ParseLRScheduler(string(c.LRScheduler)); err != nil {
		return err
	}
	if _, err := ParseScaleRewards(string(c.ScaleRewards)); err != nil {
		return err
	}
	return nil
}

// Result summarizes a finished run.
type Result struct {
	Steps int
	// EvalBefore and EvalAfter are the greedy eval accuracies (fractions)
	// before training and of the final model; McNemarP the exact McNemar p
	// of their per-sample correctness (NaN without eval).
	EvalBefore, EvalAfter float64
	McNemarP              float64
	FinalDir              string
	Elapsed               time.Duration
}

// sampling is the rollout runner's sampling configuration.
func (c *Config) sampling() runners.Sampling {
	return runners.Sampling{DoSample: true, Temperature: c.Temperature, TopK: c.TopK, TopP: c.TopP,
		RepetitionPenalty: 1, MaxNewTokens: c.MaxCompletionLength, Seed: c.Seed}
}

// fillDefaults sets c's zero fields to d's values.
func fillDefaults(c *Config, d Config) {
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	setInt(&c.NumGenerations, d.NumGenerations)
	setInt(&c.PromptsPerStep, d.PromptsPerStep)
	setInt(&c.GradAccum, d.GradAccum)
	if c.MaxSteps == 0 {
		setInt(&c.Epochs, d.Epochs)
	}
	setF(&c.LR, d.LR)
	setF(&c.Beta, d.Beta)
	setF(&c.MaxGradNorm, d.MaxGradNorm)
	setF(&c.EpsilonLow, d.EpsilonLow)
	setF(&c.EpsilonHigh, d.EpsilonHigh)
	setInt(&c.NumIterations, d.NumIterations)
	setInt(&c.MaxPromptLength, d.MaxPromptLength)
	setInt(&c.MaxCompletionLength, d.MaxCompletionLength)
	setInt(&c.MinPixels, d.MinPixels)
	setInt(&c.MaxPixels, d.MaxPixels)
	setF(&c.Temperature, d.Temperature)
	setInt(&c.TopK, d.TopK)
	setF(&c.TopP, d.TopP)
	setInt(&c.EvalMaxNewTokens, d.EvalMaxNewTokens)
	if c.LossType == "" {
		c.LossType = d.LossType
	}
	if c.ScaleRewards == "" {
		c.ScaleRewards = d.ScaleRewards
	}
	if len(c.Rewards) == 0 {
		c.Rewards = d.Rewards
	}
	if c.Template.Text == "" {
		c.Template, _ = datasets.BuiltinTemplate("train")
	}
	if c.EvalTemplate.Text == "" {
		c.EvalTemplate, _ = datasets.BuiltinTemplate("complex")
	}
}

func nan() float64 { return math.NaN() }

// sched is the scheduler name a manifest records ("" is linear).
func sched(k LRScheduler) LRScheduler {
	if k == "" {
		return LRLinear
	}
	return k
}
