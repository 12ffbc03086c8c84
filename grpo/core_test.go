package grpo

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*(1+math.Abs(b))
}

func TestGroupAdvantagesHand(t *testing.T) {
	// Group [1,0,0,0]: mean 0.25, unbiased std sqrt(0.75/3) = 0.5.
	// Group [2,2,2,2]: std 0, advantages 0.
	r := []float64{1, 0, 0, 0, 2, 2, 2, 2}
	tests := []struct {
		scale ScaleRewards
		want  []float64
	}{
		{ScaleGroup, []float64{0.75 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, 0, 0, 0, 0}},
		{ScaleNone, []float64{0.75, -0.25, -0.25, -0.25, 0, 0, 0, 0}},
		// batch: mean 1.125, Σ(x−m)² = 0.015625+3·1.265625+4·0.765625 = 6.875 → std sqrt(6.875/7).
		{ScaleBatch, func() []float64 {
			s := math.Sqrt(6.875/7) + 1e-4
			return []float64{0.75 / s, -0.25 / s, -0.25 / s, -0.25 / s, 0, 0, 0, 0}
		}()},
	}
	for _, tc := range tests {
		t.Run(string(tc.scale), func(t *testing.T) {
			got, err := GroupAdvantages(r, 4, tc.scale)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if !near(got.A[i], tc.want[i], 1e-12) {
					t.Errorf("A[%d] = %v, want %v", i, got.A[i], tc.want[i])
				}
			}
			if got.FracZeroStd != 0.5 {
				t.Errorf("FracZeroStd = %v, want 0.5", got.FracZeroStd)
			}
			if !near(got.GroupStd[0], 0.5, 1e-12) || got.GroupStd[1] != 0 {
				t.Errorf("GroupStd = %v", got.GroupStd)
			}
		})
	}
}

// TestRewardStdMedVLMR1 reproduces the logged reward_std of MedVLM-R1's
// step 2 (trainer_state.json, docs/reference/medvlm-r1-seed.md#training-log):
// G = 6, 4 groups, one group with three 1s and three 0s → mean group std
// √0.3/4 = 0.136931.
func TestRewardStdMedVLMR1(t *testing.T) {
	r := make([]float64, 24)
	copy(r, []float64{1, 1, 1, 0, 0, 0})
	adv, err := GroupAdvantages(r, 6, ScaleGroup)
	if err != nil {
		t.Fatal(err)
	}
	if got := mean(adv.GroupStd); math.Abs(got-0.136931) > 5e-7 {
		t.Errorf("reward_std = %v, want 0.136931", got)
	}
}

func TestGroupAdvantagesErrors(t *testing.T) {
	for _, tc := range []struct {
		r []float64
		g int
		s ScaleRewards
	}{
		{[]float64{1, 2, 3}, 2, ScaleGroup},
		{[]float64{1, 2}, 1, ScaleGroup},
		{nil, 2, ScaleGroup},
		{[]float64{1, math.NaN()}, 2, ScaleGroup},
		{[]float64{1, 2}, 2, "mean"},
	} {
		if _, err := GroupAdvantages(tc.r, tc.g, tc.s); err == nil {
			t.Errorf("GroupAdvantages(%v, %d, %q): no error", tc.r, tc.g, tc.s)
		}
	}
}

type goldenCase struct {
	Name       string    `json:"name"`
	G          int       `json:"G"`
	Scale      string    `json:"scale"`
	Rewards    []float64 `json:"rewards"`
	Advantages []float64 `json:"advantages"`
	LossType   string    `json:"loss_type"`
	Beta       float64   `json:"beta"`
	EpsLow     float64   `json:"eps_low"`
	EpsHigh    float64   `json:"eps_high"`
	MaxLen     int       `json:"max_completion_length"`
	Seqs       []struct {
		LogP  []float64 `json:"logp"`
		Ref   []float64 `json:"ref"`
		Old   []float64 `json:"old"`
		Adv   float64   `json:"adv"`
		Micro int       `json:"micro"`
	} `json:"seqs"`
	Loss float64 `json:"loss"`
	KL   float64 `json:"kl"`
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	b, err := os.ReadFile("testdata/loss_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func (c goldenCase) inputs() ([]Sequence, LossConfig) {
	seqs := make([]Sequence, len(c.Seqs))
	for i, s := range c.Seqs {
		seqs[i] = Sequence{LogP: s.LogP, OldLogP: s.Old, RefLogP: s.Ref, Advantage: s.Adv, Micro: s.Micro}
	}
	return seqs, LossConfig{Type: LossType(c.LossType), Beta: c.Beta, EpsilonLow: c.EpsLow, EpsilonHigh: c.EpsHigh, MaxCompletionLength: c.MaxLen}
}

// TestLossGolden compares advantages, loss and KL with the independent
// Python transcription of TRL/R1-V (testdata/ref_loss.py).
func TestLossGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			adv, err := GroupAdvantages(c.Rewards, c.G, ScaleRewards(c.Scale))
			if err != nil {
				t.Fatal(err)
			}
			for i := range adv.A {
				if !near(adv.A[i], c.Advantages[i], 1e-12) {
					t.Errorf("A[%d] = %v, want %v", i, adv.A[i], c.Advantages[i])
				}
			}
			seqs, cfg := c.inputs()
			res, err := Loss(seqs, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !near(res.Loss, c.Loss, 1e-12) {
				t.Errorf("%s loss = %v, want %v", c.LossType, res.Loss, c.Loss)
			}
			if !near(res.KL, c.KL, 1e-12) {
				t.Errorf("kl = %v, want %v", res.KL, c.KL)
			}
		})
	}
}

// TestLossGradFiniteDiff checks ∂Loss/∂logp against central differences on
// every golden case (away from the clip boundaries, where the loss is
// smooth).
func TestLossGradFiniteDiff(t *testing.T) {
	const h = 1e-6
	for _, c := range loadGolden(t) {
		seqs, cfg := c.inputs()
		res, err := Loss(seqs, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range seqs {
			for j := range seqs[i].LogP {
				orig := seqs[i].LogP[j]
				if seqs[i].OldLogP != nil {
					rho := math.Exp(orig - seqs[i].OldLogP[j])
					if math.Abs(rho-(1-cfg.EpsilonLow)) < 1e-4 || math.Abs(rho-(1+cfg.EpsilonHigh)) < 1e-4 {
						continue
					}
				}
				// OldLogP nil means "detached current": hold it fixed.
				if seqs[i].OldLogP == nil {
					seqs[i].OldLogP = append([]float64(nil), seqs[i].LogP...)
					defer func(i int) { seqs[i].OldLogP = nil }(i)
				}
				seqs[i].LogP[j] = orig + h
				up, _ := Loss(seqs, cfg)
				seqs[i].LogP[j] = orig - h
				down, _ := Loss(seqs, cfg)
				seqs[i].LogP[j] = orig
				fd := (up.Loss - down.Loss) / (2 * h)
				if math.Abs(fd-res.Grad[i][j]) > 1e-7 {
					t.Errorf("%s seq %d tok %d: grad %v, finite difference %v", c.Name, i, j, res.Grad[i][j], fd)
				}
			}
		}
	}
}

// TestLossStepZero: with old = current (one update per generation batch)
// and reference = current (step 0), the ratio is 1, the KL is 0 and the
// grpo loss equals −mean(A) over sequences (0 for whole groups).
func TestLossStepZero(t *testing.T) {
	adv, _ := GroupAdvantages([]float64{2, 1, 0, 0}, 4, ScaleGroup)
	lps := [][]float64{{-1, -2}, {-0.5}, {-3, -1, -2}, {-0.1, -0.2}}
	seqs := make([]Sequence, 4)
	for i := range seqs {
		seqs[i] = Sequence{LogP: lps[i], RefLogP: lps[i], Advantage: adv.A[i]}
	}
	res, err := Loss(seqs, LossConfig{Type: LossGRPO, Beta: 0.04, EpsilonLow: 0.2, EpsilonHigh: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Loss) > 1e-15 || res.KL != 0 || res.ClipRegion != 0 {
		t.Errorf("loss %v kl %v clip %v, want 0 0 0", res.Loss, res.KL, res.ClipRegion)
	}
	// Gradient of the policy term: −A/(n·B) per token.
	if g := res.Grad[0][0]; !near(g, -adv.A[0]/2/4, 1e-12) {
		t.Errorf("grad[0][0] = %v, want %v", g, -adv.A[0]/8)
	}
}

func TestClipRatios(t *testing.T) {
	// ρ = e^{0.5} > 1.2 with A > 0: high-clipped; ρ = e^{-0.5} < 0.8 with A < 0: low-clipped.
	seqs := []Sequence{
		{LogP: []float64{-1, -1}, OldLogP: []float64{-1.5, -1}, Advantage: 1},
		{LogP: []float64{-1, -1}, OldLogP: []float64{-0.5, -1}, Advantage: -1, Micro: 1},
	}
	res, err := Loss(seqs, LossConfig{Type: LossBNPO, EpsilonLow: 0.2, EpsilonHigh: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if res.ClipHigh != 0.25 || res.ClipLow != 0.25 || res.ClipRegion != 0.5 {
		t.Errorf("clip low/high/region = %v %v %v, want .25 .25 .5", res.ClipLow, res.ClipHigh, res.ClipRegion)
	}
	if res.MicroClipHigh[0] != 0.5 || res.MicroClipLow[1] != 0.5 {
		t.Errorf("micro clip = %v %v", res.MicroClipLow, res.MicroClipHigh)
	}
	// Clipped tokens carry no gradient.
	if res.Grad[0][0] != 0 || res.Grad[1][0] != 0 {
		t.Errorf("clipped tokens have gradient %v %v", res.Grad[0][0], res.Grad[1][0])
	}
	// bnpo: per micro-batch (2 tokens each) /2 micro-batches → ∂/∂logp = −A/2/2 = −0.25 for the unclipped token of seq 0.
	if !near(res.Grad[0][1], -0.25, 1e-12) {
		t.Errorf("grad = %v, want -0.25", res.Grad[0][1])
	}
}

func TestLossErrors(t *testing.T) {
	ok := Sequence{LogP: []float64{-1}, RefLogP: []float64{-1}}
	for name, tc := range map[string]struct {
		seqs []Sequence
		cfg  LossConfig
	}{
		"empty":       {nil, LossConfig{Type: LossGRPO}},
		"type":        {[]Sequence{ok}, LossConfig{Type: "ppo"}},
		"ref":         {[]Sequence{{LogP: []float64{-1}}}, LossConfig{Type: LossGRPO, Beta: 0.1}},
		"old":         {[]Sequence{{LogP: []float64{-1}, OldLogP: []float64{1, 2}}}, LossConfig{Type: LossGRPO}},
		"micro gap":   {[]Sequence{ok, {LogP: []float64{-1}, RefLogP: []float64{-1}, Micro: 2}}, LossConfig{Type: LossGRPO}},
		"dr_grpo L":   {[]Sequence{ok}, LossConfig{Type: LossDrGRPO}},
		"neg micro":   {[]Sequence{{LogP: []float64{-1}, Micro: -1}}, LossConfig{Type: LossGRPO}},
		"neg epsilon": {[]Sequence{ok}, LossConfig{Type: LossGRPO, EpsilonLow: -1}},
	} {
		if _, err := Loss(tc.seqs, tc.cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCompletionLength(t *testing.T) {
	for _, tc := range []struct {
		ids  []int
		want int
	}{
		{[]int{5, 6, 9, 9}, 3},
		{[]int{9}, 1},
		{[]int{5, 6}, 2},
		{[]int{5, 8, 9}, 2},
		{nil, 0},
	} {
		if got := CompletionLength(tc.ids, 9, 8); got != tc.want {
			t.Errorf("CompletionLength(%v) = %d, want %d", tc.ids, got, tc.want)
		}
	}
}

func TestSFTLoss(t *testing.T) {
	loss, grad, err := SFTLoss([][]float64{{-1, -2}, {-3}})
	if err != nil {
		t.Fatal(err)
	}
	if loss != 2 || grad[1][0] != -1.0/3 {
		t.Errorf("loss %v grad %v", loss, grad)
	}
	if _, _, err := SFTLoss([][]float64{{}}); err == nil {
		t.Error("no error on zero tokens")
	}
}

func TestLinearLRMedVLMR1(t *testing.T) {
	// trainer_state.json of MedVLM-R1: logged learning_rate at steps 1..3, max_steps 800.
	for step, want := range map[int]float64{1: 9.9875e-07, 2: 9.975e-07, 3: 9.9625e-07, 800: 0, 0: 1e-6} {
		if got := LinearLR(1e-6, step, 800, 0); !near(got, want, 1e-12) {
			t.Errorf("LinearLR(step %d) = %v, want %v", step, got, want)
		}
	}
	if got := LinearLR(1, 5, 110, 10); got != 0.5 {
		t.Errorf("warmup: %v, want 0.5", got)
	}
	if got := LinearLR(1, 60, 110, 10); got != 0.5 {
		t.Errorf("decay after warmup: %v, want 0.5", got)
	}
}

func TestClipGradNorm(t *testing.T) {
	g := map[string][]float64{"a": {3}, "b": {4}}
	if n := ClipGradNorm(g, 1); n != 5 {
		t.Errorf("norm %v, want 5", n)
	}
	if !near(g["a"][0], 3/(5+1e-6), 1e-12) || !near(g["b"][0], 4/(5+1e-6), 1e-12) {
		t.Errorf("clipped %v", g)
	}
	g = map[string][]float64{"a": {0.3}, "b": {0.4}}
	ClipGradNorm(g, 1)
	if g["a"][0] != 0.3 {
		t.Errorf("small gradient changed: %v", g)
	}
}

func TestAdamWHand(t *testing.T) {
	// torch.optim.AdamW, lr 0.1, wd 0.01, betas (0.9, 0.999), eps 1e-8.
	// Step 1: p=1, g=0.5 → p·(1−0.001)=0.999; m=0.05, v=0.00025; m̂=0.5, v̂=0.25 → p −= 0.1·0.5/(0.5+1e-8).
	// Step 2: g=−1 → p·0.999; m=0.045−0.1=−0.055, v=0.00024975+0.001=0.00124975;
	//         m̂=−0.055/0.19, v̂=0.00124975/0.001999 → p −= 0.1·m̂/(sqrt(v̂)+1e-8).
	o := NewAdamW(0.01)
	p := map[string][]float32{"w": {1}}
	if err := o.Update(p, map[string][]float64{"w": {0.5}}, 0.1); err != nil {
		t.Fatal(err)
	}
	want := 0.999 - 0.1*0.5/(0.5+1e-8)
	if !near(float64(p["w"][0]), want, 1e-7) {
		t.Fatalf("step 1: %v, want %v", p["w"][0], want)
	}
	o.Update(p, map[string][]float64{"w": {-1}}, 0.1)
	mh := -0.055 / 0.19
	vh := 0.00124975 / (1 - 0.999*0.999)
	want2 := float64(float32(want))*0.999 - 0.1*mh/(math.Sqrt(vh)+1e-8)
	if !near(float64(p["w"][0]), want2, 1e-6) {
		t.Errorf("step 2: %v, want %v", p["w"][0], want2)
	}
	if err := o.Update(p, map[string][]float64{"w": {1, 2}}, 0.1); err == nil {
		t.Error("no error on size mismatch")
	}
}
