package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
)

// PairedBootstrap estimates the accuracy difference acc(b) − acc(a) of two
// systems scored on the same items (a[i] and b[i] are the outcomes of item
// i) and its percentile bootstrap interval at confidence conf (e.g. 0.95).
// Each of the resamples draws len(a) items with replacement, keeping pairs
// together, from a PCG generator seeded with seed, so results are
// reproducible; the interval bounds are the (1−conf)/2 and (1+conf)/2
// quantiles of the resampled differences (linear interpolation between
// order statistics, Hyndman–Fan type 7). Use at least 10,000 resamples for
// a 95% interval. It returns NaN for all three values when the slices are
// empty or of different lengths, resamples < 1 or conf is outside (0, 1).
func PairedBootstrap(a, b []bool, resamples int, seed uint64, conf float64) (delta, lo, hi float64) {
	n := len(a)
	if n == 0 || len(b) != n || resamples < 1 || !(conf > 0 && conf < 1) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	// Per-item difference b−a in {−1, 0, +1}.
	d := make([]int8, n)
	sum := 0
	for i := range n {
		d[i] = int8(b2i(b[i]) - b2i(a[i]))
		sum += int(d[i])
	}
	delta = float64(sum) / float64(n)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	stats := make([]float64, resamples)
	un := uint64(n)
	for r := range stats {
		s := 0
		for range n {
			s += int(d[rng.Uint64N(un)])
		}
		stats[r] = float64(s) / float64(n)
	}
	slices.Sort(stats)
	lo = quantileSorted(stats, (1-conf)/2)
	hi = quantileSorted(stats, (1+conf)/2)
	return delta, lo, hi
}

// quantileSorted returns the q-quantile of sorted xs by linear interpolation
// between order statistics (Hyndman–Fan type 7, R's default).
func quantileSorted(xs []float64, q float64) float64 {
	h := q * float64(len(xs)-1)
	i := int(math.Floor(h))
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
