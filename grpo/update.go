package grpo

import (
	"context"
	"fmt"
)

// updated is what one optimizer step computed.
type updated struct {
	loss LossResult
	// norm is the gradient norm before clipping.
	norm float64
	// entSum and entN sum the per-token entropies of the step's pass.
	entSum float64
	entN   int
}

// update is optimizer step it of a generation batch: the policy's
// log-probs and the loss gradient on every group (the first iteration in
// one fused pass, BackwardOnPolicy; later ones score the batch, then
// back-propagate Loss's coefficients), then one clipped AdamW step at the
// scheduled learning rate.
func (t *trainRun) update(ctx context.Context, b *scored, it int) (updated, error) {
	cfg, eng := t.cfg, t.eng
	G := cfg.NumGenerations
	perMicro := cfg.PromptsPerStep / cfg.GradAccum
	var u updated
	var seqs []Sequence
	lcfg := LossConfig{Type: cfg.LossType, Beta: max(cfg.Beta, 0), EpsilonLow: cfg.EpsilonLow,
		EpsilonHigh: cfg.EpsilonHigh, MaxCompletionLength: cfg.MaxCompletionLength}
	seqFor := func(gi, k int, lp []float64) Sequence {
		sq := Sequence{LogP: lp, Advantage: b.adv.A[gi*G+k], Micro: gi / perMicro}
		if cfg.NumIterations > 1 && it > 0 {
			sq.OldLogP = b.old[gi][k]
		}
		if b.refs != nil {
			sq.RefLogP = b.refs[gi][k]
		}
		return sq
	}
	addEntropy := func(ent [][]float64) {
		for _, eb := range ent {
			for _, e := range eb {
				u.entSum += e
				u.entN++
			}
		}
	}
	if it == 0 {
		// On the policy that generated the batch the ratio is 1 and the
		// loss gradient needs only this pass's log-probs: one fused
		// forward+backward per group (BackwardOnPolicy); Loss then gives
		// the logged values from the same log-probs.
		var shape []Sequence
		for gi, g := range b.groups {
			for k, c := range g.group.Completions {
				shape = append(shape, seqFor(gi, k, make([]float64, len(c))))
			}
		}
		coefs, err := OnPolicy(shape, lcfg)
		if err != nil {
			return u, err
		}
		for gi, g := range b.groups {
			lp, ent, err := eng.BackwardOnPolicy(ctx, g.group, coefs[gi*G:(gi+1)*G])
			if err != nil {
				return u, err
			}
			b.old = append(b.old, lp)
			addEntropy(ent)
			for k := range lp {
				seqs = append(seqs, seqFor(gi, k, lp[k]))
			}
		}
	} else {
		for gi, g := range b.groups {
			lp, ent, err := eng.LogProbs(ctx, g.group)
			if err != nil {
				return u, err
			}
			addEntropy(ent)
			for k := range lp {
				seqs = append(seqs, seqFor(gi, k, lp[k]))
			}
		}
	}
	var err error
	if u.loss, err = Loss(seqs, lcfg); err != nil {
		return u, err
	}
	if it > 0 {
		for gi, g := range b.groups {
			if _, err := eng.Backward(ctx, g.group, u.loss.Grad[gi*G:(gi+1)*G]); err != nil {
				return u, err
			}
		}
	}
	if u.norm, err = eng.Step(ScheduledLR(cfg.LRScheduler, cfg.LR, t.step, t.maxSteps, cfg.WarmupSteps), cfg.MaxGradNorm); err != nil {
		return u, fmt.Errorf("grpo: step %d: %w", t.step+1, err)
	}
	t.step++
	return u, nil
}
