package grpo

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"
)

// log records the optimizer step just taken: its metrics line (with the
// eval accuracy on eval steps; the weights are saved to scratch first, for
// that eval and the next rollout), its progress line, and a checkpoint
// when one is due. t0 is when the step's generation batch began.
func (t *trainRun) log(ctx context.Context, b *scored, u updated, t0 time.Time) error {
	cfg, step := t.cfg, t.step
	st := StepStats{
		Step: step, Epoch: float64(step) / float64(t.stepsPerEpoch*cfg.NumIterations), Loss: u.loss.Loss, GradNorm: u.norm,
		LearningRate: ScheduledLR(cfg.LRScheduler, cfg.LR, step, t.maxSteps, cfg.WarmupSteps),
		Names:        names(t.funcs), Rewards: b.perFunc, GroupStd: b.adv.GroupStd, FracZeroStd: b.adv.FracZeroStd,
		Lengths: b.lens, Terminated: b.term, KL: u.loss.KL, ClipLow: u.loss.MicroClipLow, ClipHigh: u.loss.MicroClipHigh,
		ClipRegion: u.loss.ClipRegion, NumTokens: t.numTokens, StepTime: time.Since(t0).Seconds(),
	}
	if u.entN > 0 {
		st.Entropy = u.entSum / float64(u.entN)
	}
	m := st.Metrics()
	if err := t.eng.Save(t.scratch); err != nil {
		return err
	}
	if cfg.EvalSteps > 0 && step%cfg.EvalSteps == 0 && step < t.stop && len(cfg.EvalSamples) > 0 {
		acc, _, err := t.eval(ctx, t.scratch, "step-"+strconv.Itoa(step))
		if err != nil {
			return err
		}
		m["eval_accuracy"] = acc
		logf(cfg.Log, "step %d: eval accuracy %.4f\n", step, acc)
	}
	if err := WriteMetrics(t.metrics, m); err != nil {
		return err
	}
	logf(cfg.Log, "step %d/%d: reward %.3f (acc %.3f fmt %.3f) zero-std %.2f loss %.4f kl %.4f entropy %.3f grad %.3f len %.1f %.1fs\n",
		step, t.maxSteps, m["reward"], m["rewards/accuracy_reward"], m["rewards/format_reward"], m["frac_reward_zero_std"], m["loss"], m["kl"], m["entropy"], u.norm, m["completion_length"], st.StepTime)
	if cfg.SaveSteps > 0 && step%cfg.SaveSteps == 0 && step < t.stop {
		if err := saveCheckpoint(t.eng, filepath.Join(cfg.Out, "checkpoints", "step-"+strconv.Itoa(step)), trainState{step, t.maxSteps, cfg.Seed}); err != nil {
			return err
		}
	}
	return nil
}

// names lists the reward functions' names.
func names(funcs []RewardFunc) []string {
	out := make([]string, len(funcs))
	for i, f := range funcs {
		out[i] = f.Name
	}
	return out
}

// logf writes a progress line to w (nil: silent).
func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}
