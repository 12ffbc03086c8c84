package grpo

import (
	"fmt"
	"math"
)

// LossType selects how per-token losses are aggregated (TRL's
// GRPOConfig.loss_type, definitions of TRL v0.22 GRPOTrainer._compute_loss).
type LossType string

const (
	// LossGRPO: mean over each sequence's tokens, then mean over sequences
	// (R1-V / MedVLM-R1; verl seq-mean-token-mean). Length-biased.
	LossGRPO LossType = "grpo"
	// LossBNPO: sum over the micro-batch's active tokens / their count.
	LossBNPO LossType = "bnpo"
	// LossDrGRPO: sum over the micro-batch's active tokens / (sequences ·
	// max_completion_length).
	LossDrGRPO LossType = "dr_grpo"
	// LossDAPO: sum over all active tokens of the accumulated batch / their
	// count (TRL's num_items_in_batch normalizer).
	LossDAPO LossType = "dapo"
)

// ParseLossType validates a loss type name.
func ParseLossType(s string) (LossType, error) {
	switch LossType(s) {
	case LossGRPO, LossBNPO, LossDrGRPO, LossDAPO:
		return LossType(s), nil
	}
	return "", fmt.Errorf("grpo: unknown loss type %q (grpo, bnpo, dr_grpo, dapo)", s)
}

// LossConfig holds the loss hyper-parameters.
type LossConfig struct {
	Type LossType
	// Beta weighs the k3 KL to the reference policy (0 disables it).
	Beta float64
	// EpsilonLow and EpsilonHigh bound the importance ratio in the clipped
	// surrogate min(ρA, clip(ρ, 1−εlow, 1+εhigh)A). With one update per
	// generation batch ρ ≡ 1 and the clip has no effect (R1-V has none).
	EpsilonLow, EpsilonHigh float64
	// MaxCompletionLength is dr_grpo's constant normalizer L.
	MaxCompletionLength int
}

// Sequence is one completion's per-token data, over its active tokens only
// (the completion mask: every token up to and including the first EOS).
type Sequence struct {
	// LogP are the current policy's log-probs of the completion tokens.
	LogP []float64
	// OldLogP are the log-probs under the policy that generated the batch;
	// nil means LogP itself (ratio exactly 1, TRL's detach()).
	OldLogP []float64
	// RefLogP are the frozen reference policy's log-probs (needed if Beta≠0).
	RefLogP []float64
	// Advantage is the completion's advantage, broadcast to its tokens.
	Advantage float64
	// Micro is the gradient-accumulation micro-batch (0..M−1) the sequence
	// belongs to.
	Micro int
}

// LossResult is the loss of one optimizer step and its gradient with
// respect to every per-token log-prob.
type LossResult struct {
	Loss float64
	// Grad[s][t] = ∂Loss/∂LogP[s][t].
	Grad [][]float64
	// KL is R1-V's logged kl: mean over sequences of each sequence's mean
	// per-token k3 KL (computed whenever reference log-probs are given, even
	// with Beta 0).
	KL float64
	// ClipLow, ClipHigh and ClipRegion are TRL's token fractions (over all
	// active tokens) of low-clipped (ρ<1−ε, A<0), high-clipped (ρ>1+ε, A>0)
	// and either.
	ClipLow, ClipHigh, ClipRegion float64
	// MicroClipLow and MicroClipHigh are the same fractions per micro-batch
	// (TRL logs their mean, min and max).
	MicroClipLow, MicroClipHigh []float64
}

// K3 is Schulman's k3 estimator of KL(π‖π_ref) for one token:
// exp(ref−logp) − (ref−logp) − 1 ≥ 0.
func K3(logp, ref float64) float64 {
	d := ref - logp
	return math.Exp(d) - d - 1
}

// Loss computes the GRPO loss of one optimizer step over the given
// sequences and its gradient with respect to each per-token log-prob:
// per token l = −min(ρA, clip(ρ)A) + β·k3 with ρ = exp(logp − old), then
// aggregated by cfg.Type. For grpo, bnpo and dr_grpo each micro-batch's loss
// is divided by the number of micro-batches (TRL divides by
// gradient_accumulation_steps); dapo normalizes by the token count of the
// whole step.
func Loss(seqs []Sequence, cfg LossConfig) (LossResult, error) {
	nMicro, err := checkBatch(seqs, cfg)
	if err != nil {
		return LossResult{}, err
	}
	weights, err := tokenWeights(seqs, nMicro, cfg)
	if err != nil {
		return LossResult{}, err
	}
	totalTok := 0
	microTok := make([]int, nMicro)
	for _, s := range seqs {
		microTok[s.Micro] += len(s.LogP)
		totalTok += len(s.LogP)
	}
	res := LossResult{Grad: make([][]float64, len(seqs)), MicroClipLow: make([]float64, nMicro), MicroClipHigh: make([]float64, nMicro)}
	var low, high, region int
	microLow := make([]int, nMicro)
	microHigh := make([]int, nMicro)
	for i, s := range seqs {
		n := len(s.LogP)
		weight := weights[i]
		g := make([]float64, n)
		klSum := 0.0
		hasRef := len(s.RefLogP) == n && n > 0
		A := s.Advantage
		for t, lp := range s.LogP {
			old := lp
			if s.OldLogP != nil {
				old = s.OldLogP[t]
			}
			rho := math.Exp(lp - old)
			clipped := min(max(rho, 1-cfg.EpsilonLow), 1+cfg.EpsilonHigh)
			un, cl := rho*A, clipped*A
			l := -min(un, cl)
			// d(−min(ρA, clip(ρ)A))/dlogp: the clipped branch has zero
			// gradient outside the bounds; on ties (inside the bounds) both
			// branches carry −ρA.
			var dl float64
			if un <= cl {
				dl = -rho * A
			}
			if hasRef {
				ref := s.RefLogP[t]
				kl := K3(lp, ref)
				klSum += kl
				if cfg.Beta != 0 {
					l += cfg.Beta * kl
					dl += cfg.Beta * (1 - math.Exp(ref-lp))
				}
			}
			res.Loss += weight * l
			g[t] = weight * dl
			isLow := rho < 1-cfg.EpsilonLow && A < 0
			isHigh := rho > 1+cfg.EpsilonHigh && A > 0
			if isLow {
				low++
				microLow[s.Micro]++
			}
			if isHigh {
				high++
				microHigh[s.Micro]++
			}
			if isLow || isHigh {
				region++
			}
		}
		res.Grad[i] = g
		if n > 0 {
			res.KL += klSum / float64(n)
		}
	}
	res.KL /= float64(len(seqs))
	if totalTok > 0 {
		res.ClipLow = float64(low) / float64(totalTok)
		res.ClipHigh = float64(high) / float64(totalTok)
		res.ClipRegion = float64(region) / float64(totalTok)
	}
	for m := range nMicro {
		if microTok[m] > 0 {
			res.MicroClipLow[m] = float64(microLow[m]) / float64(microTok[m])
			res.MicroClipHigh[m] = float64(microHigh[m]) / float64(microTok[m])
		}
	}
	return res, nil
}

// checkBatch validates a step's sequences against cfg and returns the
// number of micro-batches.
func checkBatch(seqs []Sequence, cfg LossConfig) (nMicro int, err error) {
	if len(seqs) == 0 {
		return 0, fmt.Errorf("grpo: loss of an empty batch")
	}
	for i, s := range seqs {
		if s.Micro < 0 {
			return 0, fmt.Errorf("grpo: sequence %d: negative micro-batch %d", i, s.Micro)
		}
		nMicro = max(nMicro, s.Micro+1)
		if s.OldLogP != nil && len(s.OldLogP) != len(s.LogP) {
			return 0, fmt.Errorf("grpo: sequence %d: %d old log-probs for %d tokens", i, len(s.OldLogP), len(s.LogP))
		}
		if cfg.Beta != 0 && len(s.RefLogP) != len(s.LogP) {
			return 0, fmt.Errorf("grpo: sequence %d: %d reference log-probs for %d tokens", i, len(s.RefLogP), len(s.LogP))
		}
	}
	if cfg.Type == LossDrGRPO && cfg.MaxCompletionLength <= 0 {
		return 0, fmt.Errorf("grpo: dr_grpo needs a positive max completion length")
	}
	if cfg.EpsilonLow < 0 || cfg.EpsilonHigh < 0 {
		return 0, fmt.Errorf("grpo: negative epsilon (%g, %g)", cfg.EpsilonLow, cfg.EpsilonHigh)
	}
	return nMicro, nil
}

// tokenWeights returns, per sequence, ∂Loss/∂l of each of its tokens' loss
// l under cfg.Type: the aggregation weight, which depends only on the
// sequences' lengths and micro-batches.
func tokenWeights(seqs []Sequence, nMicro int, cfg LossConfig) ([]float64, error) {
	microSeqs := make([]int, nMicro)
	microTok := make([]int, nMicro)
	totalTok := 0
	for _, s := range seqs {
		microSeqs[s.Micro]++
		microTok[s.Micro] += len(s.LogP)
		totalTok += len(s.LogP)
	}
	for m, n := range microSeqs {
		if n == 0 {
			return nil, fmt.Errorf("grpo: micro-batch %d of %d is empty", m, nMicro)
		}
	}
	w := make([]float64, len(seqs))
	for i, s := range seqs {
		n := len(s.LogP)
		switch cfg.Type {
		case LossGRPO:
			if n > 0 {
				w[i] = 1 / float64(n) / float64(microSeqs[s.Micro]) / float64(nMicro)
			}
		case LossBNPO:
			w[i] = 1 / math.Max(float64(microTok[s.Micro]), 1) / float64(nMicro)
		case LossDrGRPO:
			w[i] = 1 / float64(microSeqs[s.Micro]*cfg.MaxCompletionLength) / float64(nMicro)
		case LossDAPO:
			w[i] = 1 / math.Max(float64(totalTok), 1)
		default:
			return nil, fmt.Errorf("grpo: unknown loss type %q", cfg.Type)
		}
	}
	return w, nil
}

// OnPolicyCoefs are the inputs of Engine.BackwardOnPolicy for one sequence:
// on the policy that generated the batch (ratio exactly 1) the loss
// gradient of token t is Lin[t] + KLW[t]·(1 − exp(Ref[t] − logp[t])), so the
// engine can form it from the log-probs of its own forward pass.
type OnPolicyCoefs struct {
	Lin, KLW, Ref []float64
}

// OnPolicy returns the OnPolicyCoefs of each sequence for cfg, given only
// lengths (len(LogP) — the values are not read), advantages, micro-batches
// and reference log-probs (needed when Beta ≠ 0). Loss on the same
// sequences with their log-probs filled in has Grad equal to the
// coefficients evaluated at those log-probs (tested).
func OnPolicy(seqs []Sequence, cfg LossConfig) ([]OnPolicyCoefs, error) {
	nMicro, err := checkBatch(seqs, cfg)
	if err != nil {
		return nil, err
	}
	w, err := tokenWeights(seqs, nMicro, cfg)
	if err != nil {
		return nil, err
	}
	out := make([]OnPolicyCoefs, len(seqs))
	for i, s := range seqs {
		n := len(s.LogP)
		c := OnPolicyCoefs{Lin: make([]float64, n), KLW: make([]float64, n), Ref: make([]float64, n)}
		for t := range n {
			c.Lin[t] = -w[i] * s.Advantage
			if cfg.Beta != 0 {
				c.KLW[t] = w[i] * cfg.Beta
				c.Ref[t] = s.RefLogP[t]
			}
		}
		out[i] = c
	}
	return out, nil
}

// CompletionLength returns the number of active completion tokens: every
// token up to and including the first EOS (all of them when none is an EOS),
// as R1-V's completion_mask.
func CompletionLength(ids []int, eos ...int) int {
	for i, id := range ids {
		for _, e := range eos {
			if id == e {
				return i + 1
			}
		}
	}
	return len(ids)
}

// SFTLoss is the mean negative log-likelihood over all given tokens (the
// token-mean cross-entropy of a causal LM) and its gradient −1/N per token.
func SFTLoss(logp [][]float64) (loss float64, grad [][]float64, err error) {
	n := 0
	for _, s := range logp {
		n += len(s)
	}
	if n == 0 {
		return 0, nil, fmt.Errorf("grpo: SFT loss over zero tokens")
	}
	grad = make([][]float64, len(logp))
	for i, s := range logp {
		grad[i] = make([]float64, len(s))
		for t, lp := range s {
			loss -= lp
			grad[i][t] = -1 / float64(n)
		}
	}
	return loss / float64(n), grad, nil
}
