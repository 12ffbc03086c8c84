package grpo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
)

// Train runs GRPO. Each generation batch is one rollout (G completions per
// prompt from the ORT runner on the current weights), one scoring (rewards,
// group advantages, reference log-probs), then NumIterations optimizer
// steps, each an update (loss and gradients on the GoMLX engine, one AdamW
// step) followed by its log (metrics line, eval, checkpoint).
func Train(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	t := &trainRun{}
	defer t.close()
	if err := t.open(ctx, cfg); err != nil {
		return nil, err
	}
	if err := t.evalBefore(ctx); err != nil {
		return nil, err
	}
	for gen := t.step / t.cfg.NumIterations; t.step < t.stop; gen++ {
		t0 := time.Now()
		groups, err := t.rollout(ctx, gen, t.batch(gen))
		if err != nil {
			return nil, err
		}
		b, err := t.score(ctx, groups)
		if err != nil {
			return nil, err
		}
		for it := 0; it < t.cfg.NumIterations && t.step < t.stop; it++ {
			u, err := t.update(ctx, b, it)
			if err != nil {
				return nil, err
			}
			if err := t.log(ctx, b, u, t0); err != nil {
				return nil, err
			}
		}
		if stopRequested(t.cfg.Stop) && t.step < t.stop {
			return nil, interruptCheckpoint(t.eng, t.cfg.Out, t.step, t.maxSteps, t.cfg.Seed, true)
		}
		if err := t.openRunner(ctx, t.scratch, t.cfg.sampling()); err != nil {
			return nil, err
		}
	}
	return t.finish(ctx, start)
}

// trainRun is one GRPO run: its session (configuration, engine, rollout
// runner) and the state carried from step to step.
type trainRun struct {
	session
	cfgv  Config
	lock  *records.Lock
	funcs []RewardFunc
	// sched is the prompt order: one entry per generation batch.
	sched         [][]int
	stepsPerEpoch int
	// step is the last optimizer step taken; maxSteps the schedule's
	// length (the LR reaches 0 there) and stop where this run ends
	// (StopAfter).
	step, maxSteps, stop int
	// modelDir is the model the run starts from (the last checkpoint on
	// resume); scratch receives the weights after every step, for eval and
	// the next rollout.
	modelDir, scratch string
	metrics           *os.File
	numTokens         float64
	res               *Result
	// before is the per-sample eval correctness before training.
	before []bool
}

// open prepares a run: defaults and validation, the locked output folder
// with its manifest (checked against the previous one on resume), the
// prompt schedule, the engine (from the last checkpoint on resume), the
// rollout runner and metrics.jsonl (cut back to the checkpoint on resume).
func (t *trainRun) open(ctx context.Context, cfg Config) error {
	fillDefaults(&cfg, DefaultConfig())
	if err := cfg.validate(); err != nil {
		return err
	}
	t.cfgv = cfg
	t.cfg = &t.cfgv
	var err error
	if t.funcs, err = Rewards(cfg.Rewards); err != nil {
		return err
	}
	if t.lock, err = openOut(cfg.Out, "train grpo", cfg.Resume, true); err != nil {
		return err
	}
	t.sched = schedule(len(cfg.Samples), cfg.PromptsPerStep, max(cfg.Epochs, 1), cfg.Seed)
	t.stepsPerEpoch = len(cfg.Samples) / cfg.PromptsPerStep
	t.maxSteps = len(t.sched) * cfg.NumIterations
	if cfg.MaxSteps > 0 {
		for len(t.sched)*cfg.NumIterations < cfg.MaxSteps {
			t.sched = append(t.sched, schedule(len(cfg.Samples), cfg.PromptsPerStep, 1, cfg.Seed+uint64(len(t.sched)))...)
		}
		t.maxSteps = cfg.MaxSteps
	}
	t.stop = t.maxSteps
	if cfg.StopAfter > 0 {
		t.stop = min(t.stop, cfg.StopAfter)
	}
	modelSHA, err := dirSHA256(cfg.ModelDir)
	if err != nil {
		return err
	}
	settings := resultSettings(cfg, t.maxSteps, t.funcs, modelSHA, samplesSHA256(cfg.Samples), samplesSHA256(cfg.EvalSamples))
	if cfg.Resume {
		if err := checkResume(cfg.Out, settings); err != nil {
			return err
		}
	}
	if err := writeManifest(cfg, settings, cfg.Resume); err != nil {
		return err
	}
	// Resume from the last checkpoint.
	t.modelDir = cfg.ModelDir
	var optPath string
	if cfg.Resume {
		if st, dir, ok, err := lastCheckpoint(cfg.Out); err != nil {
			return err
		} else if ok {
			t.step, t.modelDir, optPath = st, dir, filepath.Join(dir, optimizerFile)
		}
	}
	if t.eng, err = NewEngine(EngineConfig{ModelDir: t.modelDir, RefModelDir: cfg.ModelDir, Reference: cfg.Beta > 0,
		Freeze: cfg.Freeze, Backend: cfg.Backend, WeightDecay: cfg.WeightDecay}); err != nil {
		return err
	}
	if optPath != "" {
		if err := t.eng.LoadOptimizer(optPath); err != nil {
			return err
		}
	}
	if err := t.openRunner(ctx, t.modelDir, cfg.sampling()); err != nil {
		return err
	}
	if t.metrics, t.numTokens, err = openMetrics(filepath.Join(cfg.Out, MetricsFile), t.step); err != nil {
		return err
	}
	t.scratch = filepath.Join(cfg.Out, ".current")
	t.res = &Result{McNemarP: nan()}
	return nil
}

// close releases what open acquired, in reverse order.
func (t *trainRun) close() {
	if t.metrics != nil {
		t.metrics.Close()
	}
	if t.runner != nil {
		t.runner.Close()
	}
	t.eng.Close()
	if t.lock != nil {
		t.lock.Unlock()
	}
}

// batch returns generation batch gen's prompts.
func (t *trainRun) batch(gen int) []datasets.Item {
	out := make([]datasets.Item, len(t.sched[gen]))
	for i, j := range t.sched[gen] {
		out[i] = t.cfg.Samples[j]
	}
	return out
}

// evalBefore scores the starting model (a fresh run logs it as step 0).
func (t *trainRun) evalBefore(ctx context.Context) error {
	if len(t.cfg.EvalSamples) == 0 {
		return nil
	}
	acc, corr, err := t.eval(ctx, t.modelDir, "step-"+strconv.Itoa(t.step))
	if err != nil {
		return err
	}
	t.res.EvalBefore, t.before = acc, corr
	if t.step == 0 {
		if err := WriteMetrics(t.metrics, Metrics{"step": 0, "eval_accuracy": acc}); err != nil {
			return err
		}
	}
	logf(t.cfg.Log, "step %d: eval accuracy %.4f\n", t.step, acc)
	return nil
}

// finish writes the final model and scores it against the starting one.
func (t *trainRun) finish(ctx context.Context, start time.Time) (*Result, error) {
	cfg, res := t.cfg, t.res
	final := filepath.Join(cfg.Out, "final")
	if err := saveCheckpoint(t.eng, final, trainState{t.step, t.maxSteps, cfg.Seed}); err != nil {
		return nil, err
	}
	os.RemoveAll(t.scratch)
	res.Steps, res.FinalDir = t.step, final
	if len(cfg.EvalSamples) > 0 {
		acc, after, err := t.eval(ctx, final, "final")
		if err != nil {
			return nil, err
		}
		res.EvalAfter = acc
		if err := WriteMetrics(t.metrics, Metrics{"step": float64(t.step), "eval_accuracy": acc}); err != nil {
			return nil, err
		}
		if len(t.before) == len(after) {
			b, c := 0, 0
			for i := range t.before {
				if t.before[i] && !after[i] {
					b++
				} else if !t.before[i] && after[i] {
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

// openMetrics opens metrics.jsonl for appending after step (emptied for a
// fresh run, cut back to step on resume) and returns the number of tokens
// seen up to step.
func openMetrics(path string, step int) (*os.File, float64, error) {
	if err := truncateMetrics(path, step); err != nil {
		return nil, 0, err
	}
	numTokens := 0.0
	if step > 0 {
		ms, err := ReadMetrics(path)
		if err != nil {
			return nil, 0, err
		}
		for _, m := range ms {
			numTokens = max(numTokens, m["num_tokens"])
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("grpo: %w", err)
	}
	return f, numTokens, nil
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
