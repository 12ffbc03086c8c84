package grpo

import (
	"fmt"
	"math"
	"sort"
)

// LinearLR is Hugging Face's get_linear_schedule_with_warmup: the learning
// rate after `step` scheduler steps, rising linearly over `warmup` steps and
// then decaying linearly to 0 at maxSteps. The update of optimizer step k
// (1-based) uses LinearLR(lr0, k−1, ...); HF logs LinearLR(lr0, k, ...) as
// that step's learning_rate (MedVLM-R1 step 1: 1e-6·(1−1/800) = 9.9875e-07).
func LinearLR(lr0 float64, step, maxSteps, warmup int) float64 {
	if step < warmup {
		return lr0 * float64(step) / float64(max(1, warmup))
	}
	return lr0 * max(0, float64(maxSteps-step)/float64(max(1, maxSteps-warmup)))
}

// GradNorm is the global L2 norm over all gradients.
func GradNorm(grads map[string][]float64) float64 {
	keys := sortedKeys(grads)
	s := 0.0
	for _, k := range keys {
		for _, g := range grads[k] {
			s += g * g
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales the gradients in place so that their global L2 norm
// is at most maxNorm, as torch.nn.utils.clip_grad_norm_ (coefficient
// maxNorm/(norm+1e-6), applied only when below 1). It returns the norm before
// clipping, which is what Hugging Face logs as grad_norm. maxNorm ≤ 0
// disables clipping.
func ClipGradNorm(grads map[string][]float64, maxNorm float64) float64 {
	norm := GradNorm(grads)
	if maxNorm <= 0 {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef < 1 {
		for _, g := range grads {
			for i := range g {
				g[i] *= coef
			}
		}
	}
	return norm
}

// AdamW is torch.optim.AdamW (decoupled weight decay, bias-corrected
// moments), the optimizer of the Hugging Face Trainer. Its moments are kept
// in float64; parameters are float32 as in the model files.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	// Step counts the updates applied so far.
	Step int
	// M and V are the first and second moments, by parameter name.
	M, V map[string][]float64
}

// NewAdamW returns AdamW with Hugging Face's defaults: betas (0.9, 0.999),
// eps 1e-8, the given weight decay (the Trainer's default is 0).
func NewAdamW(weightDecay float64) *AdamW {
	return &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, M: map[string][]float64{}, V: map[string][]float64{}}
}

// Update applies one AdamW step with learning rate lr to every parameter
// that has a gradient.
func (o *AdamW) Update(params map[string][]float32, grads map[string][]float64, lr float64) error {
	for _, k := range sortedKeys(grads) {
		if len(params[k]) != len(grads[k]) {
			return fmt.Errorf("grpo: adamw: parameter %q has %d values but %d gradients", k, len(params[k]), len(grads[k]))
		}
	}
	o.Step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Step))
	for _, k := range sortedKeys(grads) {
		g, p := grads[k], params[k]
		m, v := o.M[k], o.V[k]
		if m == nil {
			m, v = make([]float64, len(g)), make([]float64, len(g))
			o.M[k], o.V[k] = m, v
		}
		for i := range g {
			w := float64(p[i])
			w *= 1 - lr*o.WeightDecay
			m[i] = o.Beta1*m[i] + (1-o.Beta1)*g[i]
			v[i] = o.Beta2*v[i] + (1-o.Beta2)*g[i]*g[i]
			denom := math.Sqrt(v[i])/math.Sqrt(bc2) + o.Eps
			w -= lr / bc1 * m[i] / denom
			p[i] = float32(w)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
