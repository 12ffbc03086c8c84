package metrics

import "math"

// McNemar's test for paired binary outcomes. Two systems are scored on the
// same n items; only the discordant pairs carry information:
//
//	b = items system A got right and system B got wrong
//	c = items system A got wrong and system B got right
//
// Under H0 (equal accuracy) each discordant pair is equally likely to fall
// either way, so b ~ Binomial(b+c, ½).

// McNemarExact returns the two-sided exact McNemar p-value,
// min(1, 2·P(X ≤ min(b, c))) with X ~ Binomial(b+c, ½). It is 1 when
// b = c = 0 (no discordant pairs: no evidence of a difference) and NaN for
// negative counts.
func McNemarExact(b, c int) float64 {
	if b < 0 || c < 0 {
		return math.NaN()
	}
	n := b + c
	if n == 0 {
		return 1
	}
	return math.Min(1, 2*binomHalfCDF(min(b, c), n))
}

// McNemarChi2 returns the continuity-corrected (Edwards) McNemar statistic
// (|b−c|−1)²/(b+c) and its p-value from the χ²₁ distribution. As in R's
// mcnemar.test, no correction is applied when b = c (the statistic is then
// 0), so the statistic is max(0, |b−c|−1)²/(b+c). With b = c = 0 it returns
// (0, 1); with negative counts (NaN, NaN).
func McNemarChi2(b, c int) (stat, p float64) {
	if b < 0 || c < 0 {
		return math.NaN(), math.NaN()
	}
	n := b + c
	if n == 0 {
		return 0, 1
	}
	d := math.Max(0, math.Abs(float64(b-c))-1)
	stat = d * d / float64(n)
	return stat, Chi2Survival1(stat)
}

// McNemarOneSided is the exact one-sided McNemar test used for "the
// candidate is not significantly worse than the baseline". With the
// baseline as system A and the candidate as system B,
//
//	b = items the baseline got right and the candidate got wrong (losses)
//	c = items the baseline got wrong and the candidate got right (gains)
//
// H0: the candidate is not worse (P(loss) ≤ P(gain)); H1: it is worse. The
// p-value is P(X ≥ b) = P(X ≤ c) with X ~ Binomial(b+c, ½): the chance of at
// least b losses among the b+c discordant pairs if losses and gains were
// equally likely. A small p-value is evidence of a regression. It is 1 when
// b = c = 0 and NaN for negative counts.
func McNemarOneSided(b, c int) float64 {
	if b < 0 || c < 0 {
		return math.NaN()
	}
	n := b + c
	if n == 0 {
		return 1
	}
	return binomHalfCDF(c, n)
}

// Discordant counts the discordant pairs of two paired outcome vectors:
// b = a[i] && !bb[i] (A right, B wrong), c = !a[i] && bb[i]. Only the first
// min(len(a), len(bb)) pairs are counted.
func Discordant(a, bb []bool) (b, c int) {
	for i := range min(len(a), len(bb)) {
		switch {
		case a[i] && !bb[i]:
			b++
		case !a[i] && bb[i]:
			c++
		}
	}
	return b, c
}
