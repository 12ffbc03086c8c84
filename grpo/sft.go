package grpo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// DefaultSFTCompletion is the completion SFT teaches by default: the
// think-then-answer format the format reward checks, with {answer} replaced
// by a letter.
const DefaultSFTCompletion = "<think>Find the bright lesion.</think>\n<answer>{answer}</answer>"

// SFTConfig configures supervised fine-tuning on given completions.
type SFTConfig struct {
	ModelDir string
	Samples  []datasets.Item
	Template datasets.Template // prompt template (default train)
	Out      string
	// Completion is the target text; "{answer}" is replaced by the
	// sample's answer letter (DefaultSFTCompletion).
	Completion string
	// Answers is "random" (a letter drawn uniformly from the sample's
	// options, per epoch: the model learns the format, not the answers),
	// "all" (every option letter once per prompt and epoch: the format with
	// an exactly uniform answer distribution, the best start for GRPO's
	// exploration) or "solution" (the correct letter).
	Answers string
	// Completions, when set, gives the full target text by sample id and
	// overrides Completion/Answers.
	Completions map[string]string

	Epochs      int     // 1
	Batch       int     // prompts per optimizer step (4)
	LR          float64 // 1e-3
	WeightDecay float64
	MaxGradNorm float64 // 1
	Seed        uint64
	MinPixels   int
	MaxPixels   int
	Threads     int
	ORTLib      string
	Backend     string
	Freeze      []string
	// Open opens the runner (nil: the Qwen2-VL ONNX runner with Threads,
	// ORTLib and the pixel bounds).
	Open Opener

	EvalSamples      []datasets.Item
	EvalTemplate     datasets.Template
	EvalMaxNewTokens int
	Log              io.Writer
	// Stop, when closed, ends training after the step in progress: the
	// model is written to checkpoints/step-N and SFT returns *Interrupted.
	Stop <-chan struct{}
}

// SFT trains the model to produce the given completions (token-mean
// cross-entropy over completion tokens, EOS included), with AdamW, linear
// decay and gradient clipping, and writes Out/final plus metrics.jsonl.
func SFT(ctx context.Context, cfg SFTConfig) (*Result, error) {
	start := time.Now()
	if cfg.Epochs == 0 {
		cfg.Epochs = 1
	}
	if cfg.Batch == 0 {
		cfg.Batch = 4
	}
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	if cfg.MaxGradNorm == 0 {
		cfg.MaxGradNorm = 1
	}
	if cfg.Completion == "" {
		cfg.Completion = DefaultSFTCompletion
	}
	if cfg.Answers == "" {
		cfg.Answers = "random"
	}
	if cfg.Template.Text == "" {
		cfg.Template, _ = datasets.BuiltinTemplate("train")
	}
	if cfg.EvalTemplate.Text == "" {
		cfg.EvalTemplate, _ = datasets.BuiltinTemplate("complex")
	}
	if cfg.EvalMaxNewTokens == 0 {
		cfg.EvalMaxNewTokens = 64
	}
	switch {
	case cfg.ModelDir == "" || cfg.Out == "":
		return nil, fmt.Errorf("grpo: sft: model and output folders are required")
	case len(cfg.Samples) == 0:
		return nil, fmt.Errorf("grpo: sft: no samples")
	case cfg.Answers != "random" && cfg.Answers != "solution" && cfg.Answers != "all":
		return nil, fmt.Errorf("grpo: sft: answers %q: want random, all or solution", cfg.Answers)
	case cfg.Epochs < 1 || cfg.Batch < 1 || cfg.LR < 0:
		return nil, fmt.Errorf("grpo: sft: epochs, batch and learning rate must be positive")
	case cfg.Completions == nil && !strings.Contains(cfg.Completion, "{answer}"):
		return nil, fmt.Errorf("grpo: sft: completion %q has no {answer} placeholder", cfg.Completion)
	}
	lock, err := openOut(cfg.Out, "train sft", false, false)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	eng, err := NewEngine(EngineConfig{ModelDir: cfg.ModelDir, Freeze: cfg.Freeze, Backend: cfg.Backend, WeightDecay: cfg.WeightDecay})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	r, err := openPolicy(ctx, cfg.Open, cfg.ModelDir, runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 1},
		qwen2vl.Config{Threads: cfg.Threads, ORTLib: cfg.ORTLib, MinPixels: cfg.MinPixels, MaxPixels: cfg.MaxPixels})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	eos := r.EOS()
	if len(eos) == 0 {
		return nil, fmt.Errorf("grpo: sft: model %s has no EOS id", cfg.ModelDir)
	}
	tok := r.Tokenizer()
	// Prepare every prompt once.
	groups := make([]Group, len(cfg.Samples))
	for i, sm := range cfg.Samples {
		p, err := r.Prepare(sm.Request(cfg.Template, sm.ID(), 0))
		if err != nil {
			return nil, err
		}
		groups[i] = promptGroup(p)
	}
	targets := func(ep, i int) ([]string, error) {
		sm := cfg.Samples[i]
		if cfg.Completions != nil {
			t, ok := cfg.Completions[sm.ID()]
			if !ok {
				return nil, fmt.Errorf("grpo: sft: no completion for sample %s", sm.ID())
			}
			return []string{t}, nil
		}
		n := len(sm.Record.Options)
		var letters []string
		switch cfg.Answers {
		case "solution":
			letters = []string{sm.Record.Solution}
		case "random":
			if n == 0 {
				return nil, fmt.Errorf("grpo: sft: sample %s has no options to draw a letter from", sm.ID())
			}
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(ep)<<32|uint64(i)))
			letters = []string{datasets.Letter(rng.IntN(n))}
		case "all":
			if n == 0 {
				return nil, fmt.Errorf("grpo: sft: sample %s has no options", sm.ID())
			}
			for k := 0; k < n; k++ {
				letters = append(letters, datasets.Letter(k))
			}
		}
		out := make([]string, len(letters))
		for k, l := range letters {
			out[k] = strings.ReplaceAll(cfg.Completion, "{answer}", l)
		}
		return out, nil
	}
	sched := schedule(len(cfg.Samples), min(cfg.Batch, len(cfg.Samples)), cfg.Epochs, cfg.Seed)
	maxSteps := len(sched)
	perEpoch := maxSteps / cfg.Epochs
	mf, err := os.Create(filepath.Join(cfg.Out, MetricsFile))
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	defer mf.Close()
	s := &session{cfg: &Config{Out: cfg.Out, Threads: cfg.Threads, ORTLib: cfg.ORTLib, MinPixels: cfg.MinPixels, MaxPixels: cfg.MaxPixels, Open: cfg.Open,
		EvalSamples: cfg.EvalSamples, EvalTemplate: cfg.EvalTemplate, EvalMaxNewTokens: cfg.EvalMaxNewTokens, Seed: cfg.Seed}, eng: eng}
	res := &Result{McNemarP: nan()}
	if len(cfg.EvalSamples) > 0 {
		if res.EvalBefore, _, err = s.eval(ctx, cfg.ModelDir, "step-0"); err != nil {
			return nil, err
		}
		if err := WriteMetrics(mf, Metrics{"step": 0, "eval_accuracy": res.EvalBefore}); err != nil {
			return nil, err
		}
	}
	for step, idx := range sched {
		t0 := time.Now()
		ep := step / max(perEpoch, 1)
		batch := make([]Group, len(idx))
		var logps [][]float64
		for j, i := range idx {
			texts, err := targets(ep, i)
			if err != nil {
				return nil, err
			}
			g := groups[i]
			g.Completions = nil
			for _, text := range texts {
				ids := tok.Encode(text)
				comp := make([]int64, 0, len(ids)+1)
				for _, id := range ids {
					comp = append(comp, int64(id))
				}
				comp = append(comp, int64(eos[0]))
				g.Completions = append(g.Completions, comp)
				logps = append(logps, make([]float64, len(comp))) // the loss gradient does not depend on them
			}
			batch[j] = g
		}
		_, grad, err := SFTLoss(logps)
		if err != nil {
			return nil, err
		}
		nll, ntok, row := 0.0, 0, 0
		for _, g := range batch {
			lp, err := eng.Backward(ctx, g, grad[row:row+len(g.Completions)])
			if err != nil {
				return nil, err
			}
			row += len(g.Completions)
			for _, l := range lp {
				for _, v := range l {
					nll -= v
					ntok++
				}
			}
		}
		norm, err := eng.Step(LinearLR(cfg.LR, step, maxSteps, 0), cfg.MaxGradNorm)
		if err != nil {
			return nil, fmt.Errorf("grpo: sft step %d: %w", step+1, err)
		}
		m := Metrics{"step": float64(step + 1), "loss": nll / float64(ntok), "grad_norm": norm,
			"learning_rate": LinearLR(cfg.LR, step+1, maxSteps, 0), "epoch": float64(step+1) / float64(max(perEpoch, 1)),
			"step_time": time.Since(t0).Seconds()}
		if err := WriteMetrics(mf, m); err != nil {
			return nil, err
		}
		logf(cfg.Log, "sft step %d/%d: loss %.4f grad %.3f %.1fs\n", step+1, maxSteps, m["loss"], norm, m["step_time"])
		if stopRequested(cfg.Stop) && step+1 < maxSteps {
			return nil, interruptCheckpoint(eng, cfg.Out, step+1, maxSteps, cfg.Seed, false)
		}
	}
	final := filepath.Join(cfg.Out, "final")
	if err := saveCheckpoint(eng, final, trainState{maxSteps, maxSteps, cfg.Seed}); err != nil {
		return nil, err
	}
	res.Steps, res.FinalDir = maxSteps, final
	if len(cfg.EvalSamples) > 0 {
		if res.EvalAfter, _, err = s.eval(ctx, final, "final"); err != nil {
			return nil, err
		}
		if err := WriteMetrics(mf, Metrics{"step": float64(maxSteps), "eval_accuracy": res.EvalAfter}); err != nil {
			return nil, err
		}
		logf(cfg.Log, "sft final: eval accuracy %.4f (before %.4f)\n", res.EvalAfter, res.EvalBefore)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
