package metrics

import "math"

// This file holds the numerical building blocks of medbench's paired
// statistics: the binomial(n, ½) probability mass and tails behind the exact
// McNemar test, and the standard normal quantile used by MDE.

// binomHalfPMF returns P(X = x) for X ~ Binomial(n, ½), computed with
// Loader's saddle-point expansion (the algorithm of R's dbinom), which keeps
// full relative precision for n in the millions where the naive product of
// a binomial coefficient and 2⁻ⁿ would overflow or cancel.
func binomHalfPMF(x, n int) float64 {
	if x < 0 || x > n {
		return 0
	}
	if x == 0 || x == n {
		return math.Ldexp(1, -n)
	}
	fx, fn := float64(x), float64(n)
	np := fn / 2
	lc := stirlerr(fn) - stirlerr(fx) - stirlerr(fn-fx) - bd0(fx, np) - bd0(fn-fx, np)
	lf := math.Log(2*math.Pi) + math.Log(fx) + math.Log1p(-fx/fn)
	return math.Exp(lc - 0.5*lf)
}

// stirlerr returns log(n!) − log(√(2πn)·(n/e)ⁿ), the error of Stirling's
// approximation, for integer n ≥ 1.
func stirlerr(n float64) float64 {
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	if n <= 15 {
		lg, _ := math.Lgamma(n + 1)
		return lg - (n+0.5)*math.Log(n) + n - 0.5*math.Log(2*math.Pi)
	}
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	default:
		return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
	}
}

// bd0 returns x·log(x/np) + np − x, evaluated without cancellation when x is
// close to np (Loader 2000).
func bd0(x, np float64) float64 {
	if math.Abs(x-np) < 0.1*(x+np) {
		v := (x - np) / (x + np)
		s := (x - np) * v
		ej := 2 * x * v
		v *= v
		for j := 1; j < 1000; j++ {
			ej *= v
			s1 := s + ej/float64(2*j+1)
			if s1 == s {
				return s1
			}
			s = s1
		}
		return s
	}
	return x*math.Log(x/np) + np - x
}

// binomHalfCDF returns P(X ≤ k) for X ~ Binomial(n, ½).
func binomHalfCDF(k, n int) float64 {
	switch {
	case k < 0:
		return 0
	case k >= n:
		return 1
	case 2*k > n:
		// By symmetry P(X ≤ k) = 1 − P(X ≤ n−k−1), and n−k−1 < n/2.
		return 1 - binomHalfLowerTail(n-k-1, n)
	}
	return binomHalfLowerTail(k, n)
}

// binomHalfLowerTail sums P(X = i) for i = k, k−1, …, 0 with k ≤ n/2, where
// the terms decrease away from k: starting from the largest term and using
// the ratio P(X=i−1)/P(X=i) = i/(n−i+1) keeps every term to full precision.
func binomHalfLowerTail(k, n int) float64 {
	t := binomHalfPMF(k, n)
	sum := t
	for i := k; i > 0 && t > 0; i-- {
		t *= float64(i) / float64(n-i+1)
		sum += t
		if t < sum*1e-18 {
			break
		}
	}
	return math.Min(sum, 1)
}

// NormalQuantile returns the p-quantile of the standard normal distribution
// (z with Φ(z) = p), for 0 < p < 1. It starts from −√2·erfcinv(2p) and
// polishes it with Newton steps on Φ(z) = ½·erfc(−z/√2) in the lower tail
// (the upper tail by symmetry), because math.Erfcinv alone is only accurate
// to about 1e-9 in the tails. It returns NaN outside (0, 1).
func NormalQuantile(p float64) float64 {
	if !(p > 0 && p < 1) {
		return math.NaN()
	}
	if p > 0.5 {
		return -NormalQuantile(1 - p)
	}
	z := -math.Sqrt2 * math.Erfcinv(2*p)
	for range 3 {
		cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
		pdf := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
		if pdf == 0 {
			break
		}
		step := (cdf - p) / pdf
		z -= step
		if math.Abs(step) <= 1e-16*math.Max(1, math.Abs(z)) {
			break
		}
	}
	return z
}

// Chi2Survival1 returns P(χ²₁ ≥ x), the upper tail of the chi-square
// distribution with one degree of freedom.
func Chi2Survival1(x float64) float64 {
	if x <= 0 {
		return 1
	}
	return math.Erfc(math.Sqrt(x / 2))
}
