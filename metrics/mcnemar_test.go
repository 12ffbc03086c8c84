package metrics

import (
	"math"
	"math/big"
	"testing"
)

// bigHalfCDF computes P(X ≤ k), X ~ Binomial(n, ½), exactly as a rational:
// Σ C(n, i) / 2ⁿ, independently of the float64 implementation.
func bigHalfCDF(k, n int) *big.Rat {
	sum := new(big.Int)
	c := big.NewInt(1) // C(n, 0)
	for i := 0; i <= k; i++ {
		sum.Add(sum, c)
		c.Mul(c, big.NewInt(int64(n-i)))
		c.Quo(c, big.NewInt(int64(i+1)))
	}
	den := new(big.Int).Lsh(big.NewInt(1), uint(n))
	return new(big.Rat).SetFrac(sum, den)
}

func ratFloat(r *big.Rat) float64 { f, _ := r.Float64(); return f }

func relErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestBinomHalfCDFAgainstBigRat(t *testing.T) {
	ns := []int{1, 2, 3, 7, 15, 16, 17, 35, 36, 80, 81, 100, 236, 500, 501, 999, 2500, 4100}
	for _, n := range ns {
		for _, k := range []int{0, 1, n / 10, n / 3, n/2 - 1, n / 2, n/2 + 1, n - 1, n} {
			if k < 0 || k > n {
				continue
			}
			want := ratFloat(bigHalfCDF(k, n))
			got := binomHalfCDF(k, n)
			// Lower tails to 1e-12 relative; upper tails (≥ ½) to 1e-12 absolute.
			tol := 1e-12
			if e := relErr(got, want); e > tol && math.Abs(got-want) > 1e-15 {
				t.Errorf("P(X ≤ %d | n=%d) = %.17g, want %.17g (rel err %.3g)", k, n, got, want, e)
			}
		}
	}
}

func TestBinomHalfPMFSumsToOne(t *testing.T) {
	for _, n := range []int{1, 10, 37, 333, 1200} {
		s := 0.0
		for x := 0; x <= n; x++ {
			s += binomHalfPMF(x, n)
		}
		if math.Abs(s-1) > 1e-13 {
			t.Errorf("n=%d: Σ pmf = %.17g", n, s)
		}
	}
}

func TestMcNemarExact(t *testing.T) {
	// want values: mpmath (40 digits) Σ C(n,i)/2ⁿ, or hand-derived sums.
	tests := []struct {
		b, c int
		want float64
	}{
		{0, 0, 1},                      // no discordant pairs
		{1, 0, 1},                      // 2·P(X≤0|1) = 2·½ = 1
		{0, 5, 0.0625},                 // 2·(1/32)
		{5, 0, 0.0625},                 // symmetric
		{1, 9, 0.021484375},            // 2·(1+10)/1024 = 22/1024
		{3, 3, 1},                      // 2·P(X≤3|6) = 2·42/64 > 1 → 1
		{10, 25, 0.016673847800120711}, // mpmath
		{150, 86, 3.7159361395714423e-05},
		{40, 60, 0.05688793364098079167},
		{2000, 2100, 0.12206497999113813964},
	}
	for _, tt := range tests {
		got := McNemarExact(tt.b, tt.c)
		if relErr(got, tt.want) > 1e-12 {
			t.Errorf("McNemarExact(%d, %d) = %.17g, want %.17g", tt.b, tt.c, got, tt.want)
		}
	}
	// Every table with b+c ≤ 60 against exact rationals.
	for n := 1; n <= 60; n++ {
		for b := 0; b <= n; b++ {
			c := n - b
			r := new(big.Rat).Mul(big.NewRat(2, 1), bigHalfCDF(min(b, c), n))
			want := math.Min(1, ratFloat(r))
			if got := McNemarExact(b, c); relErr(got, want) > 1e-12 {
				t.Errorf("McNemarExact(%d, %d) = %.17g, want %.17g", b, c, got, want)
			}
		}
	}
	if !math.IsNaN(McNemarExact(-1, 2)) {
		t.Error("negative count: want NaN")
	}
}

func TestMcNemarOneSided(t *testing.T) {
	tests := []struct {
		b, c int
		want float64
	}{
		{0, 0, 1},
		{0, 5, 1},                        // only gains: P(X ≥ 0) = 1
		{5, 0, 0.03125},                  // five losses, no gains: ½⁵
		{1, 0, 0.5},                      // one loss
		{3, 3, 0.65625},                  // P(X ≤ 3 | 6) = 42/64
		{9, 1, 0.0107421875},             // (1+10)/1024
		{150, 86, 1.857968069785721e-05}, // mpmath
		{40, 60, 0.98239989989114759202},
	}
	for _, tt := range tests {
		got := McNemarOneSided(tt.b, tt.c)
		if relErr(got, tt.want) > 1e-12 {
			t.Errorf("McNemarOneSided(%d, %d) = %.17g, want %.17g", tt.b, tt.c, got, tt.want)
		}
	}
	// One-sided is half the two-sided p when the losses dominate.
	for _, bc := range [][2]int{{12, 3}, {30, 10}, {200, 150}} {
		one, two := McNemarOneSided(bc[0], bc[1]), McNemarExact(bc[0], bc[1])
		if relErr(2*one, two) > 1e-12 {
			t.Errorf("(%d,%d): 2·one-sided %.17g ≠ two-sided %.17g", bc[0], bc[1], 2*one, two)
		}
	}
}

func TestMcNemarChi2(t *testing.T) {
	// Agresti, Categorical Data Analysis: presidential approval, b=150, c=86.
	// Uncorrected z² = 64²/236 = 17.356; corrected (64−1)²/236 = 3969/236.
	tests := []struct {
		b, c    int
		stat, p float64
	}{
		{150, 86, 3969.0 / 236, 4.1145622813459450894e-05}, // p: mpmath erfc(√(x/2))
		{86, 150, 3969.0 / 236, 4.1145622813459450894e-05},
		{0, 0, 0, 1},
		{4, 4, 0, 1}, // b = c: no correction, statistic 0
		{5, 4, 0, 1}, // |b−c| = 1: corrected to 0
		{0, 1, 0, 1},
		{0, 2, 0.5, 0.47950012218695346},    // (2−1)²/2; p = erfc(½)
		{10, 0, 8.1, 0.0044265258579198324}, // 81/10
	}
	for _, tt := range tests {
		s, p := McNemarChi2(tt.b, tt.c)
		if relErr(s, tt.stat) > 1e-14 || relErr(p, tt.p) > 1e-9 {
			t.Errorf("McNemarChi2(%d, %d) = (%.17g, %.17g), want (%.17g, %.17g)", tt.b, tt.c, s, p, tt.stat, tt.p)
		}
	}
}

func TestDiscordant(t *testing.T) {
	a := []bool{true, true, false, false, true}
	b := []bool{true, false, true, false, false}
	if gb, gc := Discordant(a, b); gb != 2 || gc != 1 {
		t.Errorf("Discordant = (%d, %d), want (2, 1)", gb, gc)
	}
}

func TestHolm(t *testing.T) {
	tests := []struct {
		in, want []float64
	}{
		// Sorted 0.005, 0.01, 0.03, 0.04 → 0.02, 0.03, 0.06, max(0.06, 0.04).
		{[]float64{0.01, 0.04, 0.03, 0.005}, []float64{0.03, 0.06, 0.06, 0.02}},
		{[]float64{0.5}, []float64{0.5}},
		{[]float64{0.4, 0.6}, []float64{0.8, 0.8}},
		{[]float64{0.9, 0.01, 0.02}, []float64{0.9, 0.03, 0.04}},
		{[]float64{}, []float64{}},
		{[]float64{0.3, 0.3, 0.3}, []float64{0.9, 0.9, 0.9}},
		{[]float64{0.6, 0.5}, []float64{1, 1}},
	}
	for _, tt := range tests {
		got := Holm(tt.in)
		for i := range tt.want {
			if math.Abs(got[i]-tt.want[i]) > 1e-15 {
				t.Errorf("Holm(%v) = %v, want %v", tt.in, got, tt.want)
				break
			}
		}
	}
	got := Holm([]float64{0.01, math.NaN(), 0.02})
	if !math.IsNaN(got[1]) || math.Abs(got[0]-0.02) > 1e-15 || math.Abs(got[2]-0.02) > 1e-15 {
		t.Errorf("Holm with NaN = %v, want [0.02 NaN 0.02]", got)
	}
}

func TestNormalQuantile(t *testing.T) {
	tests := []struct{ p, want float64 }{
		{0.5, 0},
		{0.975, 1.959963984540053855604},
		{0.025, -1.959963984540053855604},
		{0.8, 0.841621233572914363804},
		{0.995, 2.575829303548900761},
		{1e-10, -6.3613409024040562},
	}
	for _, tt := range tests {
		if got := NormalQuantile(tt.p); math.Abs(got-tt.want) > 1e-12*math.Max(1, math.Abs(tt.want)) {
			t.Errorf("NormalQuantile(%v) = %.17g, want %.17g", tt.p, got, tt.want)
		}
	}
	for _, p := range []float64{0, 1, -1, math.NaN()} {
		if !math.IsNaN(NormalQuantile(p)) {
			t.Errorf("NormalQuantile(%v) not NaN", p)
		}
	}
}

func BenchmarkMcNemarExact(b *testing.B) {
	for b.Loop() {
		McNemarExact(120, 180)
	}
}
