package ljpeg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refIDCT is the textbook 2-D inverse DCT (ITU-T T.81 A.3.3) in float64,
// level-shifted samples (before +128), not rounded.
func refIDCT(in *block) [blockSize]float64 {
	var out [blockSize]float64
	c := func(u int) float64 {
		if u == 0 {
			return 1 / math.Sqrt2
		}
		return 1
	}
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			s := 0.0
			for v := 0; v < 8; v++ {
				for u := 0; u < 8; u++ {
					s += c(u) * c(v) * float64(in[v*8+u]) *
						math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
				}
			}
			out[y*8+x] = s / 4
		}
	}
	return out
}

// TestIDCTAccuracy: jpeg_idct_islow is within one level of the exact IDCT
// (after rounding and clamping), and exact for DC-only blocks.
func TestIDCTAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for n := 0; n < 2000; n++ {
		var b block
		nz := 1 + rng.IntN(20)
		amp := []int32{8, 64, 300}[n%3]
		for k := 0; k < nz; k++ {
			i := rng.IntN(blockSize)
			if k == 0 {
				i = 0
			}
			b[i] = rng.Int32N(2*amp+1) - amp
		}
		if n%10 == 0 { // DC only
			b = block{0: b[0]}
		}
		ref := refIDCT(&b)
		got := b
		idct(&got)
		for i := range got {
			want := math.Max(-128, math.Min(127, math.Round(ref[i])))
			d := math.Abs(float64(got[i]) - want)
			if n%10 == 0 {
				// DC only: every sample is DC/8, rounded half up.
				want = math.Max(-128, math.Min(127, math.Floor(float64(b[0])/8+0.5)))
				d = math.Abs(float64(got[i]) - want)
			}
			if d > 1 || (n%10 == 0 && d != 0) {
				t.Fatalf("block %d sample %d: idct %d, exact %.3f (coefficients %v)", n, i, got[i], ref[i], b)
			}
		}
	}
}

// TestRangeLimit checks libjpeg's post-IDCT range-limit table semantics,
// including the wrap-around of out-of-range values (RANGE_MASK = 1023).
func TestRangeLimit(t *testing.T) {
	tests := []struct {
		in   int64
		want int32
	}{
		{0, 0}, {127, 127}, {128, 127}, {511, 127}, {512, -128}, {-1, -1}, {-128, -128},
		{-129, -128}, {-512, -128}, {-513, 127}, {1024, 0}, {1024 + 5, 5},
	}
	for _, tc := range tests {
		if got := rangeLimit(tc.in); got != tc.want {
			t.Errorf("rangeLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
