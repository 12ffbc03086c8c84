package metrics

import (
	"math"
	"math/big"
	"testing"
)

// pairs builds paired outcome vectors with the given counts of
// (A right, B right), (A right, B wrong), (A wrong, B right), (both wrong).
func pairs(both, loss, gain, neither int) (a, b []bool) {
	add := func(k int, x, y bool) {
		for range k {
			a, b = append(a, x), append(b, y)
		}
	}
	add(both, true, true)
	add(loss, true, false)
	add(gain, false, true)
	add(neither, false, false)
	return a, b
}

func TestPairedBootstrapDeltaAndDeterminism(t *testing.T) {
	a, b := pairs(600, 90, 135, 75) // n = 900
	d1, lo1, hi1 := PairedBootstrap(a, b, 10000, 7, 0.95)
	d2, lo2, hi2 := PairedBootstrap(a, b, 10000, 7, 0.95)
	if d1 != d2 || lo1 != lo2 || hi1 != hi2 {
		t.Fatalf("same seed, different results: (%v %v %v) vs (%v %v %v)", d1, lo1, hi1, d2, lo2, hi2)
	}
	if want := 45.0 / 900; math.Abs(d1-want) > 1e-15 {
		t.Errorf("delta = %v, want %v", d1, want)
	}
	if !(lo1 < d1 && d1 < hi1) {
		t.Errorf("interval [%v, %v] does not contain delta %v", lo1, hi1, d1)
	}
	_, lo3, hi3 := PairedBootstrap(a, b, 10000, 8, 0.95)
	if lo3 == lo1 && hi3 == hi1 {
		t.Log("note: seeds 7 and 8 gave identical bounds (possible with discrete deltas)")
	}
}

// The percentile interval of the paired bootstrap approaches the normal
// interval δ ± z·sd(d)/√n, where the per-item difference d ∈ {−1,0,1} has
// variance (b+c)/n − δ² (computed by hand here, not by the bootstrap).
func TestPairedBootstrapMatchesNormalApproximation(t *testing.T) {
	tests := []struct{ both, loss, gain, neither int }{
		{600, 90, 135, 75},
		{150, 40, 20, 90},
		{250, 25, 25, 0},
	}
	for _, tt := range tests {
		a, b := pairs(tt.both, tt.loss, tt.gain, tt.neither)
		n := float64(len(a))
		delta := float64(tt.gain-tt.loss) / n
		sd := math.Sqrt(float64(tt.gain+tt.loss)/n - delta*delta)
		half := 1.959963984540054 * sd / math.Sqrt(n)
		_, lo, hi := PairedBootstrap(a, b, 20000, 42, 0.95)
		// Monte-Carlo + discreteness (1/n) + skew allowance: 0.15·half + 2/n.
		tol := 0.15*half + 2/n
		if math.Abs(lo-(delta-half)) > tol || math.Abs(hi-(delta+half)) > tol {
			t.Errorf("%+v: bootstrap [%.4f, %.4f], normal [%.4f, %.4f] (tol %.4f)", tt, lo, hi, delta-half, delta+half, tol)
		}
	}
}

// For a small table the bootstrap distribution is known exactly: the
// resampled numbers of losses L and gains G are multinomial, and the
// resampled delta is (G−L)/n. The bootstrap quantiles must land within one
// grid step (1/n) of the exact distribution's quantiles.
func TestPairedBootstrapExactDistribution(t *testing.T) {
	const n = 12
	a, b := pairs(5, 2, 4, 1)     // pl = 2/12, pg = 4/12
	pmf := make(map[int]*big.Rat) // s = G − L
	fact := func(k int) *big.Int { return new(big.Int).MulRange(1, int64(max(k, 1))) }
	for l := 0; l <= n; l++ {
		for g := 0; g+l <= n; g++ {
			z := n - l - g
			coef := new(big.Int).Quo(fact(n), new(big.Int).Mul(fact(l), new(big.Int).Mul(fact(g), fact(z))))
			num := new(big.Int).Mul(coef, new(big.Int).Mul(
				new(big.Int).Exp(big.NewInt(2), big.NewInt(int64(l)), nil),
				new(big.Int).Mul(new(big.Int).Exp(big.NewInt(4), big.NewInt(int64(g)), nil),
					new(big.Int).Exp(big.NewInt(6), big.NewInt(int64(z)), nil))))
			den := new(big.Int).Exp(big.NewInt(n), big.NewInt(n), nil)
			r := new(big.Rat).SetFrac(num, den)
			if pmf[g-l] == nil {
				pmf[g-l] = new(big.Rat)
			}
			pmf[g-l].Add(pmf[g-l], r)
		}
	}
	quant := func(q float64) float64 { // smallest s with P(S ≤ s) ≥ q
		cum := 0.0
		for s := -n; s <= n; s++ {
			if p, ok := pmf[s]; ok {
				cum += ratFloat(p)
			}
			if cum >= q {
				return float64(s) / n
			}
		}
		return 1
	}
	_, lo, hi := PairedBootstrap(a, b, 50000, 1, 0.90)
	if wlo, whi := quant(0.05), quant(0.95); math.Abs(lo-wlo) > 1.0/n+1e-12 || math.Abs(hi-whi) > 1.0/n+1e-12 {
		t.Errorf("bootstrap 90%% interval [%v, %v], exact quantiles [%v, %v]", lo, hi, wlo, whi)
	}
}

func TestPairedBootstrapEdgeCases(t *testing.T) {
	// All correct in both: no variation at all.
	a, b := pairs(50, 0, 0, 0)
	if d, lo, hi := PairedBootstrap(a, b, 10000, 1, 0.95); d != 0 || lo != 0 || hi != 0 {
		t.Errorf("all correct: (%v, %v, %v), want zeros", d, lo, hi)
	}
	// n = 1.
	if d, lo, hi := PairedBootstrap([]bool{false}, []bool{true}, 100, 1, 0.95); d != 1 || lo != 1 || hi != 1 {
		t.Errorf("n=1 gain: (%v, %v, %v), want (1, 1, 1)", d, lo, hi)
	}
	for _, c := range []struct {
		a, b []bool
		r    int
		conf float64
	}{
		{nil, nil, 100, 0.95},
		{[]bool{true}, []bool{true, false}, 100, 0.95},
		{[]bool{true}, []bool{true}, 0, 0.95},
		{[]bool{true}, []bool{true}, 100, 1},
	} {
		if d, lo, hi := PairedBootstrap(c.a, c.b, c.r, 1, c.conf); !math.IsNaN(d) || !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("invalid input %+v: got (%v, %v, %v), want NaNs", c, d, lo, hi)
		}
	}
}

func TestQuantileSorted(t *testing.T) {
	xs := []float64{1, 2, 3, 4}
	// R: quantile(1:4, c(0, .25, .5, 1), type = 7) = 1, 1.75, 2.5, 4.
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 1.75}, {0.5, 2.5}, {1, 4}} {
		if got := quantileSorted(xs, c.q); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func BenchmarkPairedBootstrap900x10k(b *testing.B) {
	x, y := pairs(600, 90, 135, 75)
	for b.Loop() {
		PairedBootstrap(x, y, 10000, 1, 0.95)
	}
}
