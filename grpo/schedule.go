package grpo

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// LRScheduler names the learning-rate schedule after warmup, as TRL's
// lr_scheduler_type (Hugging Face get_scheduler).
type LRScheduler string

const (
	// LRLinear decays linearly to 0 at the last step (Hugging Face's
	// default, and MedVLM-R1's).
	LRLinear LRScheduler = "linear"
	// LRConstant holds the peak rate after warmup (Hugging Face's
	// constant_with_warmup; with no warmup steps it is "constant").
	LRConstant LRScheduler = "constant"
	// LRCosine follows half a cosine from the peak to 0 at the last step
	// (get_cosine_schedule_with_warmup, num_cycles 0.5).
	LRCosine LRScheduler = "cosine"
)

// ParseLRScheduler validates a scheduler name ("" is linear).
func ParseLRScheduler(s string) (LRScheduler, error) {
	switch LRScheduler(s) {
	case "":
		return LRLinear, nil
	case LRLinear, LRConstant, LRCosine:
		return LRScheduler(s), nil
	}
	return "", fmt.Errorf("grpo: unknown learning-rate scheduler %q (linear, constant, cosine)", s)
}

// ScheduledLR is the learning rate after `step` scheduler steps under
// schedule kind: a linear warmup over `warmup` steps, then kind's shape
// towards maxSteps. LinearLR is ScheduledLR(LRLinear, ...); an unknown kind
// is treated as linear (validate with ParseLRScheduler).
func ScheduledLR(kind LRScheduler, lr0 float64, step, maxSteps, warmup int) float64 {
	if step < warmup {
		return lr0 * float64(step) / float64(max(1, warmup))
	}
	switch kind {
	case LRConstant:
		return lr0
	case LRCosine:
		progress := float64(step-warmup) / float64(max(1, maxSteps-warmup))
		return lr0 * max(0, 0.5*(1+math.Cos(math.Pi*progress)))
	}
	return LinearLR(lr0, step, maxSteps, warmup)
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
