package grpo

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"
	"github.com/medbench/medbench/sampler"
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

// trainState is checkpoints/step-N/trainer_state.json.
type trainState struct {
	Step     int    `json:"step"`
	MaxSteps int    `json:"max_steps"`
	Seed     uint64 `json:"seed"`
}

// schedule is the fixed order of prompts: epoch-wise seeded permutations,
// PromptsPerStep at a time (a last partial batch is dropped).
func schedule(n, perStep, epochs int, seed uint64) [][]int {
	var out [][]int
	for ep := 0; ep < epochs; ep++ {
		perm := rand.New(rand.NewPCG(seed, uint64(ep))).Perm(n)
		for i := 0; i+perStep <= n; i += perStep {
			out = append(out, perm[i:i+perStep])
		}
	}
	return out
}

// sampleSeed derives completion i's sampling seed for one step.
func sampleSeed(seed uint64, step int, id string, i int) uint64 {
	return sampler.SeedFor(seed, fmt.Sprintf("grpo/%d/%s/%d", step, id, i), sampler.RequestSeed)
}

// session holds the ORT runner over the current weights and the engine.
type session struct {
	cfg    *Config
	eng    *Engine
	runner *qwen2vl.Runner
	cur    string // model dir the runner runs
}

func (s *session) openRunner(ctx context.Context, dir string, sampling runners.Sampling) error {
	if s.runner != nil {
		s.runner.Close()
		s.runner = nil
	}
	r, err := openPolicy(ctx, s.cfg.Open, dir, sampling, s.cfg.runnerDefaults())
	if err != nil {
		return err
	}
	s.runner, s.cur = r, dir
	return nil
}

func (c *Config) sampling() runners.Sampling {
	return runners.Sampling{DoSample: true, Temperature: c.Temperature, TopK: c.TopK, TopP: c.TopP,
		RepetitionPenalty: 1, MaxNewTokens: c.MaxCompletionLength, Seed: c.Seed}
}

// prepared is one prompt group ready for the engine.
type prepared struct {
	sample datasets.Item
	group  Group
	texts  []string
	term   []bool
}

// rollout samples G completions for each prompt through the ORT runner.
func (s *session) rollout(ctx context.Context, step int, samples []datasets.Item) ([]prepared, error) {
	c := s.cfg
	var reqs []runners.Request
	for _, sm := range samples {
		for i := 0; i < c.NumGenerations; i++ {
			id := sm.ID()
			reqs = append(reqs, sm.Request(c.Template, id+"#"+strconv.Itoa(i), sampleSeed(c.Seed, step, id, i)))
		}
	}
	res, err := s.runner.Generate(ctx, reqs)
	if err != nil {
		return nil, err
	}
	eos := s.runner.EOS()
	out := make([]prepared, len(samples))
	for p, sm := range samples {
		prep, err := s.runner.Prepare(reqs[p*c.NumGenerations])
		if err != nil {
			return nil, err
		}
		if len(prep.InputIDs) > c.MaxPromptLength {
			return nil, fmt.Errorf("grpo: sample %s: prompt of %d tokens exceeds max prompt length %d", sm.ID(), len(prep.InputIDs), c.MaxPromptLength)
		}
		g := Group{PixelValues: prep.PixelValues, GridTHW: prep.GridTHW, Positions: prep.PositionIDs, RopeDelta: prep.RopeDelta}
		for _, id := range prep.InputIDs {
			g.PromptIDs = append(g.PromptIDs, int64(id))
		}
		pr := prepared{sample: sm, group: g}
		for i := 0; i < c.NumGenerations; i++ {
			r := res[p*c.NumGenerations+i]
			if r.Err != nil {
				return nil, fmt.Errorf("grpo: sample %s: %w", sm.ID(), r.Err)
			}
			ids := r.TokenIDs
			n := CompletionLength(ids, eos...)
			ids = ids[:n]
			if len(ids) == 0 { // cannot happen with max_new_tokens ≥ 1; guard the engine
				return nil, fmt.Errorf("grpo: sample %s: empty completion", sm.ID())
			}
			comp := make([]int64, len(ids))
			for k, id := range ids {
				comp[k] = int64(id)
			}
			pr.group.Completions = append(pr.group.Completions, comp)
			pr.texts = append(pr.texts, r.Text)
			pr.term = append(pr.term, r.FinishReason == "eos")
		}
		out[p] = pr
	}
	return out, nil
}

// Train runs GRPO.
func Train(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	def := DefaultConfig()
	fillDefaults(&cfg, def)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	funcs, err := Rewards(cfg.Rewards)
	if err != nil {
		return nil, err
	}
	lock, err := openOut(cfg.Out, "train grpo", cfg.Resume, true)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	sched := schedule(len(cfg.Samples), cfg.PromptsPerStep, max(cfg.Epochs, 1), cfg.Seed)
	stepsPerEpoch := len(cfg.Samples) / cfg.PromptsPerStep
	maxSteps := len(sched) * cfg.NumIterations
	if cfg.MaxSteps > 0 {
		for len(sched)*cfg.NumIterations < cfg.MaxSteps {
			sched = append(sched, schedule(len(cfg.Samples), cfg.PromptsPerStep, 1, cfg.Seed+uint64(len(sched)))...)
		}
		maxSteps = cfg.MaxSteps
	}
	modelSHA, err := dirSHA256(cfg.ModelDir)
	if err != nil {
		return nil, err
	}
	settings := resultSettings(cfg, maxSteps, funcs, modelSHA, samplesSHA256(cfg.Samples), samplesSHA256(cfg.EvalSamples))
	if cfg.Resume {
		if err := checkResume(cfg.Out, settings); err != nil {
			return nil, err
		}
	}
	if err := writeManifest(cfg, settings, cfg.Resume); err != nil {
		return nil, err
	}
	// Resume from the last checkpoint.
	startStep, modelDir := 0, cfg.ModelDir
	var optPath string
	if cfg.Resume {
		if st, dir, ok, err := lastCheckpoint(cfg.Out); err != nil {
			return nil, err
		} else if ok {
			startStep, modelDir, optPath = st, dir, filepath.Join(dir, optimizerFile)
		}
	}
	eng, err := NewEngine(EngineConfig{ModelDir: modelDir, RefModelDir: cfg.ModelDir, Reference: cfg.Beta > 0,
		Freeze: cfg.Freeze, Backend: cfg.Backend, WeightDecay: cfg.WeightDecay})
	if err != nil {
		return nil, err
	}
	if optPath != "" {
		if err := eng.LoadOptimizer(optPath); err != nil {
			return nil, err
		}
	}
	s := &session{cfg: &cfg, eng: eng}
	defer func() {
		if s.runner != nil {
			s.runner.Close()
		}
	}()
	if err := s.openRunner(ctx, modelDir, cfg.sampling()); err != nil {
		return nil, err
	}
	metricsPath := filepath.Join(cfg.Out, MetricsFile)
	if err := truncateMetrics(metricsPath, startStep); err != nil {
		return nil, err
	}
	numTokens := 0.0
	if startStep > 0 {
		ms, err := ReadMetrics(metricsPath)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			numTokens = max(numTokens, m["num_tokens"])
		}
	}
	mf, err := os.OpenFile(metricsPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	defer mf.Close()

	res := &Result{McNemarP: nan()}
	var before []bool
	if len(cfg.EvalSamples) > 0 {
		acc, corr, err := s.eval(ctx, modelDir, "step-"+strconv.Itoa(startStep))
		if err != nil {
			return nil, err
		}
		res.EvalBefore, before = acc, corr
		if startStep == 0 {
			if err := WriteMetrics(mf, Metrics{"step": 0, "eval_accuracy": acc}); err != nil {
				return nil, err
			}
		}
		logf(cfg.Log, "step %d: eval accuracy %.4f\n", startStep, acc)
	}
	scratch := filepath.Join(cfg.Out, ".current")
	step := startStep
	stop := maxSteps
	if cfg.StopAfter > 0 {
		stop = min(stop, cfg.StopAfter)
	}
	for gen := startStep / cfg.NumIterations; step < stop; gen++ {
		t0 := time.Now()
		batch := make([]datasets.Item, len(sched[gen]))
		for i, j := range sched[gen] {
			batch[i] = cfg.Samples[j]
		}
		groups, err := s.rollout(ctx, gen, batch)
		if err != nil {
			return nil, err
		}
		// Rewards and advantages over the generation batch.
		var texts, sols []string
		var lens []int
		var term []bool
		for _, g := range groups {
			texts = append(texts, g.texts...)
			for range g.texts {
				sols = append(sols, g.sample.Record.Solution)
			}
			for _, c := range g.group.Completions {
				lens = append(lens, len(c))
				numTokens += float64(len(c) + len(g.group.PromptIDs))
			}
			term = append(term, g.term...)
		}
		perFunc, total, err := Score(funcs, texts, sols)
		if err != nil {
			return nil, err
		}
		adv, err := GroupAdvantages(total, cfg.NumGenerations, cfg.ScaleRewards)
		if err != nil {
			return nil, err
		}
		var refs [][][]float64
		if cfg.Beta > 0 {
			for _, g := range groups {
				r, err := eng.RefLogProbs(ctx, g.group)
				if err != nil {
					return nil, err
				}
				refs = append(refs, r)
			}
		}
		var old [][][]float64
		perMicro := cfg.PromptsPerStep / cfg.GradAccum
		for it := 0; it < cfg.NumIterations && step < stop; it++ {
			var seqs []Sequence
			entSum, entN := 0.0, 0
			lcfg := LossConfig{Type: cfg.LossType, Beta: max(cfg.Beta, 0), EpsilonLow: cfg.EpsilonLow,
				EpsilonHigh: cfg.EpsilonHigh, MaxCompletionLength: cfg.MaxCompletionLength}
			seqFor := func(gi, b int, lp []float64) Sequence {
				sq := Sequence{LogP: lp, Advantage: adv.A[gi*cfg.NumGenerations+b], Micro: gi / perMicro}
				if cfg.NumIterations > 1 && it > 0 {
					sq.OldLogP = old[gi][b]
				}
				if refs != nil {
					sq.RefLogP = refs[gi][b]
				}
				return sq
			}
			addEntropy := func(ent [][]float64) {
				for _, eb := range ent {
					for _, e := range eb {
						entSum += e
						entN++
					}
				}
			}
			if it == 0 {
				// On the policy that generated the batch the ratio is 1 and
				// the loss gradient needs only this pass's log-probs: one
				// fused forward+backward per group (BackwardOnPolicy); Loss
				// then gives the logged values from the same log-probs.
				var shape []Sequence
				for gi, g := range groups {
					for b, c := range g.group.Completions {
						shape = append(shape, seqFor(gi, b, make([]float64, len(c))))
					}
				}
				coefs, err := OnPolicy(shape, lcfg)
				if err != nil {
					return nil, err
				}
				for gi, g := range groups {
					lp, ent, err := eng.BackwardOnPolicy(ctx, g.group, coefs[gi*cfg.NumGenerations:(gi+1)*cfg.NumGenerations])
					if err != nil {
						return nil, err
					}
					old = append(old, lp)
					addEntropy(ent)
					for b := range lp {
						seqs = append(seqs, seqFor(gi, b, lp[b]))
					}
				}
			} else {
				for gi, g := range groups {
					lp, ent, err := eng.LogProbs(ctx, g.group)
					if err != nil {
						return nil, err
					}
					addEntropy(ent)
					for b := range lp {
						seqs = append(seqs, seqFor(gi, b, lp[b]))
					}
				}
			}
			loss, err := Loss(seqs, lcfg)
			if err != nil {
				return nil, err
			}
			if it > 0 {
				for gi, g := range groups {
					coef := loss.Grad[gi*cfg.NumGenerations : (gi+1)*cfg.NumGenerations]
					if _, err := eng.Backward(ctx, g.group, coef); err != nil {
						return nil, err
					}
				}
			}
			norm, err := eng.Step(ScheduledLR(cfg.LRScheduler, cfg.LR, step, maxSteps, cfg.WarmupSteps), cfg.MaxGradNorm)
			if err != nil {
				return nil, fmt.Errorf("grpo: step %d: %w", step+1, err)
			}
			step++
			st := StepStats{
				Step: step, Epoch: float64(step) / float64(stepsPerEpoch*cfg.NumIterations), Loss: loss.Loss, GradNorm: norm,
				LearningRate: ScheduledLR(cfg.LRScheduler, cfg.LR, step, maxSteps, cfg.WarmupSteps),
				Names:        names(funcs), Rewards: perFunc, GroupStd: adv.GroupStd, FracZeroStd: adv.FracZeroStd,
				Lengths: lens, Terminated: term, KL: loss.KL, ClipLow: loss.MicroClipLow, ClipHigh: loss.MicroClipHigh,
				ClipRegion: loss.ClipRegion, NumTokens: numTokens, StepTime: time.Since(t0).Seconds(),
			}
			if entN > 0 {
				st.Entropy = entSum / float64(entN)
			}
			m := st.Metrics()
			if err := eng.Save(scratch); err != nil {
				return nil, err
			}
			if cfg.EvalSteps > 0 && step%cfg.EvalSteps == 0 && step < stop && len(cfg.EvalSamples) > 0 {
				acc, _, err := s.eval(ctx, scratch, "step-"+strconv.Itoa(step))
				if err != nil {
					return nil, err
				}
				m["eval_accuracy"] = acc
				logf(cfg.Log, "step %d: eval accuracy %.4f\n", step, acc)
			}
			if err := WriteMetrics(mf, m); err != nil {
				return nil, err
			}
			logf(cfg.Log, "step %d/%d: reward %.3f (acc %.3f fmt %.3f) zero-std %.2f loss %.4f kl %.4f entropy %.3f grad %.3f len %.1f %.1fs\n",
				step, maxSteps, m["reward"], m["rewards/accuracy_reward"], m["rewards/format_reward"], m["frac_reward_zero_std"], m["loss"], m["kl"], m["entropy"], norm, m["completion_length"], st.StepTime)
			if cfg.SaveSteps > 0 && step%cfg.SaveSteps == 0 && step < stop {
				if err := saveCheckpoint(eng, filepath.Join(cfg.Out, "checkpoints", "step-"+strconv.Itoa(step)), trainState{step, maxSteps, cfg.Seed}); err != nil {
					return nil, err
				}
			}
		}
		if stopRequested(cfg.Stop) && step < stop {
			return nil, interruptCheckpoint(eng, cfg.Out, step, maxSteps, cfg.Seed, true)
		}
		if err := s.openRunner(ctx, scratch, cfg.sampling()); err != nil {
			return nil, err
		}
	}
	final := filepath.Join(cfg.Out, "final")
	if err := saveCheckpoint(eng, final, trainState{step, maxSteps, cfg.Seed}); err != nil {
		return nil, err
	}
	os.RemoveAll(scratch)
	res.Steps, res.FinalDir = step, final
	if len(cfg.EvalSamples) > 0 {
		acc, after, err := s.eval(ctx, final, "final")
		if err != nil {
			return nil, err
		}
		res.EvalAfter = acc
		if err := WriteMetrics(mf, Metrics{"step": float64(step), "eval_accuracy": acc}); err != nil {
			return nil, err
		}
		if len(before) == len(after) {
			b, c := 0, 0
			for i := range before {
				if before[i] && !after[i] {
					b++
				} else if !before[i] && after[i] {
					c++
				}
			}
			res.McNemarP = metrics.McNemarExact(b, c)
		}
		logf(cfg.Log, "final: eval accuracy %.4f (before %.4f, McNemar p %.3g)\n", acc, res.EvalBefore, res.McNemarP)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func names(funcs []RewardFunc) []string {
	out := make([]string, len(funcs))
	for i, f := range funcs {
		out[i] = f.Name
	}
	return out
}

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}

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

// eval scores EvalSamples greedily on a model dir with evaluate.Run (the
// `medbench eval` loop) into Out/eval/<name>, returning the strict-policy
// accuracy and per-sample correctness in sample order.
func (s *session) eval(ctx context.Context, dir, name string) (float64, []bool, error) {
	c := s.cfg
	r, err := openPolicy(ctx, c.Open, dir, runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: c.EvalMaxNewTokens, Seed: c.Seed}, c.runnerDefaults())
	if err != nil {
		return 0, nil, err
	}
	defer r.Close()
	out := filepath.Join(c.Out, "eval", name)
	os.RemoveAll(out)
	if _, err := evaluate.Run(ctx, evaluate.Config{
		Samples: c.EvalSamples, Prompts: []datasets.Template{c.EvalTemplate}, Runner: r, Batch: 8, OutDir: out,
		Manifest: records.Manifest{Seed: c.Seed, Command: []string{"medbench", "train", "eval", dir}},
		Policies: []metrics.Policy{metrics.Strict},
	}); err != nil {
		return 0, nil, err
	}
	return EvalAccuracy(out)
}

// EvalAccuracy reads a run record's strict-policy accuracy and per-sample
// correctness (ordered by sample index).
func EvalAccuracy(runDir string) (float64, []bool, error) {
	samples, _, err := records.ReadSamples(filepath.Join(runDir, "samples.jsonl"))
	if err != nil {
		return 0, nil, err
	}
	if len(samples) == 0 {
		return 0, nil, fmt.Errorf("grpo: %s: no samples", runDir)
	}
	sort.SliceStable(samples, func(i, j int) bool { return samples[i].Index < samples[j].Index })
	corr := make([]bool, len(samples))
	n := 0
	for i, sm := range samples {
		corr[i] = sm.Correct[metrics.Strict.Name()]
		if corr[i] {
			n++
		}
	}
	return float64(n) / float64(len(samples)), corr, nil
}

const (
	optimizerFile = "optimizer.gob"
	stateFile     = "trainer_state.json"
)

func saveCheckpoint(e *Engine, dir string, st trainState) error {
	if err := e.Save(dir); err != nil {
		return err
	}
	if err := e.SaveOptimizer(filepath.Join(dir, optimizerFile)); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, stateFile), b, 0o644); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}

// lastCheckpoint finds Out/checkpoints/step-N with the largest N.
func lastCheckpoint(out string) (step int, dir string, ok bool, err error) {
	ents, err := os.ReadDir(filepath.Join(out, "checkpoints"))
	if os.IsNotExist(err) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("grpo: %w", err)
	}
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "step-%d", &n); err != nil || !e.IsDir() {
			continue
		}
		d := filepath.Join(out, "checkpoints", e.Name())
		if _, err := os.Stat(filepath.Join(d, stateFile)); err != nil {
			continue // incomplete
		}
		if n > step {
			step, dir, ok = n, d, true
		}
	}
	return step, dir, ok, nil
}

// truncateMetrics keeps the lines of steps ≤ step (resume) or empties the
// file (fresh run).
func truncateMetrics(path string, step int) error {
	if step == 0 {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return fmt.Errorf("grpo: %w", err)
		}
		return nil
	}
	ms, err := ReadMetrics(path)
	if err != nil {
		return err
	}
	var keep []Metrics
	for _, m := range ms {
		if m.Step() <= step {
			keep = append(keep, m)
		}
	}
	return WriteMetricsFile(path, keep)
}

// optState is the serialized AdamW state. The moments are stored as
// parallel slices in parameter-name order, so that the same state always
// encodes to the same bytes (gob writes a map in Go's randomized iteration
// order). M and V are the maps of checkpoints written before that change,
// still read.
type optState struct {
	Step   int
	M, V   map[string][]float64
	Names  []string
	Ms, Vs [][]float64
}

// SaveOptimizer writes the AdamW state (gob), byte-reproducibly.
func (e *Engine) SaveOptimizer(path string) error {
	return saveOptState(path, e.opt)
}

func saveOptState(path string, opt *AdamW) error {
	st := optState{Step: opt.Step}
	for name := range opt.M {
		st.Names = append(st.Names, name)
	}
	sort.Strings(st.Names)
	for _, name := range st.Names {
		st.Ms = append(st.Ms, opt.M[name])
		st.Vs = append(st.Vs, opt.V[name])
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return fmt.Errorf("grpo: %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}

// LoadOptimizer restores the AdamW state written by SaveOptimizer.
func (e *Engine) LoadOptimizer(path string) error {
	st, err := loadOptState(path)
	if err != nil {
		return err
	}
	for _, p := range e.params {
		if m, ok := st.M[p.name]; ok && len(m) != len(e.paramValues(p)) {
			return fmt.Errorf("grpo: %s: optimizer state of %s has %d values, model has %d", path, p.name, len(m), len(e.paramValues(p)))
		}
	}
	e.opt.Step, e.opt.M, e.opt.V = st.Step, st.M, st.V
	return nil
}

// loadOptState reads either encoding of optState into its maps.
func loadOptState(path string) (optState, error) {
	var st optState
	f, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("grpo: %w", err)
	}
	defer f.Close()
	if err := gob.NewDecoder(f).Decode(&st); err != nil {
		return st, fmt.Errorf("grpo: %s: %w", path, err)
	}
	if len(st.Names) > 0 {
		if len(st.Ms) != len(st.Names) || len(st.Vs) != len(st.Names) {
			return st, fmt.Errorf("grpo: %s: %d parameter names but %d/%d moment vectors", path, len(st.Names), len(st.Ms), len(st.Vs))
		}
		st.M, st.V = make(map[string][]float64, len(st.Names)), make(map[string][]float64, len(st.Names))
		for i, n := range st.Names {
			st.M[n], st.V[n] = st.Ms[i], st.Vs[i]
		}
	}
	if st.M == nil {
		st.M, st.V = map[string][]float64{}, map[string][]float64{}
	}
	return st, nil
}

// sched is the scheduler name a manifest records ("" is linear).
func sched(k LRScheduler) LRScheduler {
	if k == "" {
		return LRLinear
	}
	return k
}
