package grpo

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"testing"
)

// TestOnPolicyMatchesLoss: the on-policy coefficients evaluated at the
// log-probs equal Loss's gradient (ratio 1) for every loss type, with and
// without KL and gradient accumulation.
func TestOnPolicyMatchesLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, lt := range []LossType{LossGRPO, LossBNPO, LossDrGRPO, LossDAPO} {
		for _, beta := range []float64{0, 0.04, 0.3} {
			for _, nMicro := range []int{1, 2} {
				var seqs []Sequence
				for i := range 6 {
					n := 1 + rng.IntN(9)
					s := Sequence{LogP: make([]float64, n), RefLogP: make([]float64, n), Advantage: rng.NormFloat64(), Micro: i * nMicro / 6}
					for k := range n {
						s.LogP[k] = -3 * rng.Float64()
						s.RefLogP[k] = s.LogP[k] + 0.5*rng.NormFloat64()
					}
					seqs = append(seqs, s)
				}
				cfg := LossConfig{Type: lt, Beta: beta, EpsilonLow: 0.2, EpsilonHigh: 0.28, MaxCompletionLength: 12}
				loss, err := Loss(seqs, cfg)
				if err != nil {
					t.Fatal(err)
				}
				coefs, err := OnPolicy(seqs, cfg)
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range seqs {
					for k, lp := range s.LogP {
						c := coefs[i]
						got := c.Lin[k] + c.KLW[k]*(1-math.Exp(c.Ref[k]-lp))
						if d := math.Abs(got - loss.Grad[i][k]); d > 1e-15 {
							t.Fatalf("%s β %g micro %d: seq %d token %d: coef %v, Loss grad %v", lt, beta, nMicro, i, k, got, loss.Grad[i][k])
						}
					}
				}
			}
		}
	}
	if _, err := OnPolicy(nil, LossConfig{Type: LossGRPO}); err == nil {
		t.Error("empty batch accepted")
	}
	if _, err := OnPolicy([]Sequence{{LogP: make([]float64, 2)}}, LossConfig{Type: LossGRPO, Beta: 0.1}); err == nil {
		t.Error("missing reference log-probs accepted with β > 0")
	}
}

// TestBackwardOnPolicy: one fused pass gives the log-probs of LogProbs and
// the gradient of LogProbs → Loss → Backward, on a policy that differs from
// its reference (so the KL term is live).
func TestBackwardOnPolicy(t *testing.T) {
	model, img, r := tinyRunner(t)
	ctx := context.Background()
	eos := r.EOS()[0]
	g, _ := groupFor(t, r, img, [][]int{{5, 17, 40, 9, eos}, {33, eos}, {100, 101, 102, 103, 104, 105, 106}, {7, 8, eos}})
	e, err := NewEngine(EngineConfig{ModelDir: model, Reference: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Move the policy away from the reference.
	if _, err := e.Backward(ctx, g, [][]float64{{1, 1, 1, 1, 1}, {-1, -1}, {1, 0, 1, 0, 1, 0, 1}, {0.5, 0.5, 0.5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Step(2e-3, 1); err != nil {
		t.Fatal(err)
	}
	ref, err := e.RefLogProbs(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	lp, ent, err := e.LogProbs(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	adv := []float64{1.2, -0.4, 0.3, -1.1}
	seqs := make([]Sequence, len(lp))
	for i := range lp {
		seqs[i] = Sequence{LogP: lp[i], RefLogP: ref[i], Advantage: adv[i], Micro: i / 2}
	}
	cfg := LossConfig{Type: LossGRPO, Beta: 0.2}
	loss, err := Loss(seqs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if loss.KL < 1e-4 {
		t.Fatalf("policy still equals the reference (kl %g)", loss.KL)
	}
	if _, err := e.Backward(ctx, g, loss.Grad); err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(e.grads)
	clear(e.grads)
	e.nAccum = 0
	coefs, err := OnPolicy(seqs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lp2, ent2, err := e.BackwardOnPolicy(ctx, g, coefs)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(lp, lp2); d > 1e-6 {
		t.Errorf("log-probs differ by %g", d)
	}
	if d := maxDiff(ent, ent2); d > 1e-6 {
		t.Errorf("entropies differ by %g", d)
	}
	if e.nAccum != 1 {
		t.Errorf("nAccum %d, want 1", e.nAccum)
	}
	var num, den float64
	for name, w := range want {
		got := e.grads[name]
		if len(got) != len(w) {
			t.Fatalf("%s: %d gradient values, want %d", name, len(got), len(w))
		}
		for j := range w {
			num += (got[j] - w[j]) * (got[j] - w[j])
			den += w[j] * w[j]
		}
	}
	if den == 0 || math.Sqrt(num/den) > 1e-5 {
		t.Errorf("fused gradient differs from the two-pass one: relative L2 %g (norm² %g)", math.Sqrt(num/den), den)
	}
	if _, _, err := e.BackwardOnPolicy(ctx, g, coefs[:2]); err == nil {
		t.Error("coefficient rows for the wrong number of completions accepted")
	}
}
