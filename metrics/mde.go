package metrics

import "math"

// MDE returns the minimum detectable difference in paired accuracy: the
// smallest |acc(B) − acc(A)| that a two-sided McNemar test at level alpha
// detects with the given power on n paired items whose discordance rate
// (fraction of items on which the two systems disagree, ψ = p₁₀ + p₀₁) is
// discordance. It inverts Connor's (1987) normal-approximation sample size
// for McNemar's test,
//
//	n = ( z₁₋α/₂·√ψ + z_power·√(ψ − δ²) )² / δ²,
//
// solving for δ on (0, ψ] by bisection (the left-hand side decreases in δ).
// It returns +Inf when no difference up to ψ (the largest difference ψ
// allows) is detectable, including when discordance is 0, and NaN for n < 1,
// discordance outside [0, 1], alpha outside (0, 1) or power outside
// [0.5, 1).
func MDE(n int, discordance, alpha, power float64) float64 {
	if n < 1 || !(discordance >= 0 && discordance <= 1) || !(alpha > 0 && alpha < 1) || !(power >= 0.5 && power < 1) {
		return math.NaN()
	}
	psi := discordance
	if psi == 0 {
		return math.Inf(1)
	}
	za := NormalQuantile(1 - alpha/2)
	zb := NormalQuantile(power)
	sn := math.Sqrt(float64(n))
	f := func(d float64) float64 {
		return sn*d - za*math.Sqrt(psi) - zb*math.Sqrt(math.Max(0, psi-d*d))
	}
	if f(psi) < 0 {
		return math.Inf(1)
	}
	lo, hi := 0.0, psi
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if f(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// ConnorN returns Connor's (1987) sample size (not rounded) for detecting a
// paired difference delta with discordance rate psi by a two-sided McNemar
// test at level alpha with the given power; the inverse of MDE. It returns
// NaN when the inputs are out of range (0 < |delta| ≤ psi ≤ 1).
func ConnorN(delta, psi, alpha, power float64) float64 {
	delta = math.Abs(delta)
	if !(delta > 0 && delta <= psi && psi <= 1) || !(alpha > 0 && alpha < 1) || !(power > 0 && power < 1) {
		return math.NaN()
	}
	za := NormalQuantile(1 - alpha/2)
	zb := NormalQuantile(power)
	s := za*math.Sqrt(psi) + zb*math.Sqrt(psi-delta*delta)
	return s * s / (delta * delta)
}
