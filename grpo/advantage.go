package grpo

import (
	"fmt"
	"math"
)

// ScaleRewards selects how group advantages are scaled (TRL's
// GRPOConfig.scale_rewards).
type ScaleRewards string

const (
	// ScaleGroup divides by the group's unbiased std + 1e-4 (GRPO, R1-V, MedVLM-R1).
	ScaleGroup ScaleRewards = "group"
	// ScaleBatch divides by the unbiased std of the whole generation batch + 1e-4.
	ScaleBatch ScaleRewards = "batch"
	// ScaleNone does not scale (Dr. GRPO).
	ScaleNone ScaleRewards = "none"
)

// ParseScaleRewards validates a scale_rewards name.
func ParseScaleRewards(s string) (ScaleRewards, error) {
	switch ScaleRewards(s) {
	case ScaleGroup, ScaleBatch, ScaleNone:
		return ScaleRewards(s), nil
	}
	return "", fmt.Errorf("grpo: unknown scale_rewards %q (group, batch, none)", s)
}

// AdvantageEps is the constant added to the std (R1-V and TRL: 1e-4).
const AdvantageEps = 1e-4

// Advantages is the result of GroupAdvantages.
type Advantages struct {
	// A holds one advantage per completion, in the order of the rewards.
	A []float64
	// GroupStd holds the unbiased std of each group's rewards (logged as
	// reward_std, averaged over groups, whatever the scaling).
	GroupStd []float64
	// FracZeroStd is the fraction of groups whose rewards are all equal
	// (TRL's frac_reward_zero_std; such groups carry no gradient).
	FracZeroStd float64
}

// GroupAdvantages computes GRPO advantages for rewards laid out
// prompt-major: rewards[g*G+i] is completion i of prompt group g. It follows
// TRL v0.22 GRPOTrainer._generate_and_score_completions: A = r − mean_group,
// divided by (std + 1e-4) where std is the group's (group) or the batch's
// (batch) unbiased standard deviation, or not divided (none). With
// ScaleGroup it is exactly R1-V's (MedVLM-R1's) computation.
func GroupAdvantages(rewards []float64, G int, scale ScaleRewards) (Advantages, error) {
	if G < 2 {
		return Advantages{}, fmt.Errorf("grpo: advantages need a group size of at least 2, got %d", G)
	}
	if len(rewards) == 0 || len(rewards)%G != 0 {
		return Advantages{}, fmt.Errorf("grpo: %d rewards is not a positive multiple of the group size %d", len(rewards), G)
	}
	for i, r := range rewards {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return Advantages{}, fmt.Errorf("grpo: reward %d is %v", i, r)
		}
	}
	nGroups := len(rewards) / G
	out := Advantages{A: make([]float64, len(rewards)), GroupStd: make([]float64, nGroups)}
	batchStd := unbiasedStd(rewards)
	zero := 0
	for g := 0; g < nGroups; g++ {
		grp := rewards[g*G : (g+1)*G]
		m := mean(grp)
		s := unbiasedStd(grp)
		out.GroupStd[g] = s
		if allEqual(grp) {
			zero++
		}
		for i, r := range grp {
			a := r - m
			switch scale {
			case ScaleGroup:
				a /= s + AdvantageEps
			case ScaleBatch:
				a /= batchStd + AdvantageEps
			case ScaleNone:
			default:
				return Advantages{}, fmt.Errorf("grpo: unknown scale_rewards %q", scale)
			}
			out.A[g*G+i] = a
		}
	}
	out.FracZeroStd = float64(zero) / float64(nGroups)
	return out, nil
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// unbiasedStd is torch.std: sqrt(Σ(x−mean)²/(n−1)); 0 for n < 2 (torch
// returns NaN there; callers never pass n < 2 for groups).
func unbiasedStd(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	m := mean(x)
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)-1))
}

func allEqual(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}
