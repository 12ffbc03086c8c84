// Package sampler turns a row of next-token logits into a token id with Hugging
// Face generate() semantics: repetition penalty, min-new-tokens EOS masking,
// temperature, top-k, top-p, then greedy or multinomial selection.
//
// Each step is a small function over a float32 logits slice (the full
// vocabulary); removed tokens are set to -Inf exactly as Hugging Face's
// logits warpers do. A Sampler composes them in Hugging Face's processor order
// with pre-allocated scratch space, so that sampling a token allocates nothing.
package sampler

import (
	"math"
	"math/rand/v2"
)

var negInf = float32(math.Inf(-1))

// RepetitionPenalty applies Hugging Face's RepetitionPenaltyLogitsProcessor:
// for every distinct id in ids, a negative logit is multiplied by penalty and
// a non-negative one divided by it. Each id is penalized once however often
// it occurs (set semantics). seen is scratch space of at least
// ceil(len(logits)/64) words, all zero on entry and on return; nil allocates.
// Ids outside the logits row are ignored.
func RepetitionPenalty(logits []float32, ids []int, penalty float32, seen []uint64) {
	if penalty == 1 || len(ids) == 0 {
		return
	}
	if need := (len(logits) + 63) / 64; len(seen) < need {
		seen = make([]uint64, need)
	}
	for _, id := range ids {
		if id < 0 || id >= len(logits) {
			continue
		}
		w, b := id>>6, uint64(1)<<(id&63)
		if seen[w]&b != 0 {
			continue
		}
		seen[w] |= b
		if s := logits[id]; s < 0 {
			logits[id] = s * penalty
		} else {
			logits[id] = s / penalty
		}
	}
	for _, id := range ids {
		if id >= 0 && id < len(logits) {
			seen[id>>6] = 0
		}
	}
}

// SuppressEOS applies Hugging Face's MinNewTokensLengthLogitsProcessor: while
// fewer than minNew tokens have been generated, every EOS id gets -Inf.
func SuppressEOS(logits []float32, eos []int, generated, minNew int) {
	if generated >= minNew {
		return
	}
	for _, id := range eos {
		if id >= 0 && id < len(logits) {
			logits[id] = negInf
		}
	}
}

// Temperature divides every logit by t (Hugging Face skips t == 1).
func Temperature(logits []float32, t float32) {
	if t == 1 {
		return
	}
	for i, v := range logits {
		logits[i] = v / t
	}
}

// TopK keeps the k largest logits and every logit tied with the k-th largest
// (Hugging Face removes only scores strictly below the k-th value); the rest
// become -Inf. k <= 0 disables it; k is raised to minKeep and capped at the
// vocabulary size. scratch (len >= len(logits)) avoids an allocation; nil
// allocates. The selection is a linear-time partial selection, not a sort.
func TopK(logits []float32, k, minKeep int, scratch []float32) {
	if k <= 0 {
		return
	}
	k = max(k, minKeep)
	if k >= len(logits) {
		return
	}
	if len(scratch) < len(logits) {
		scratch = make([]float32, len(logits))
	}
	buf := scratch[:len(logits)]
	copy(buf, logits)
	thr := kthLargest(buf, k)
	for i, v := range logits {
		if v < thr || v != v {
			logits[i] = negInf
		}
	}
}

// kthLargest returns the k-th largest value (1-based) of buf, reordering buf.
// NaNs sort below every number. Expected linear time (Hoare selection with a
// median-of-three pivot).
func kthLargest(buf []float32, k int) float32 {
	less := func(a, b float32) bool { // a ranks after b in descending order
		if a != a {
			return b == b
		}
		return a < b
	}
	lo, hi, want := 0, len(buf)-1, k-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// median of three into buf[mid]
		if less(buf[mid], buf[hi]) {
			buf[mid], buf[hi] = buf[hi], buf[mid]
		}
		if less(buf[lo], buf[hi]) {
			buf[lo], buf[hi] = buf[hi], buf[lo]
		}
		if less(buf[mid], buf[lo]) {
			buf[mid], buf[lo] = buf[lo], buf[mid]
		}
		pivot := buf[mid]
		i, j := lo, hi
		for i <= j {
			for less(pivot, buf[i]) { // buf[i] ranks before pivot
				i++
			}
			for less(buf[j], pivot) {
				j--
			}
			if i <= j {
				buf[i], buf[j] = buf[j], buf[i]
				i++
				j--
			}
		}
		switch {
		case want <= j:
			hi = j
		case want >= i:
			lo = i
		default:
			return buf[want]
		}
	}
	return buf[want]
}

// Softmax writes the softmax of logits into probs (float64, len >= len(logits)).
// -Inf logits get probability 0. It returns false, leaving probs undefined,
// when no logit is finite.
func Softmax(logits []float32, probs []float64) bool {
	m := negInf
	for _, v := range logits {
		if v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) || m != m {
		return false
	}
	var sum float64
	for i, v := range logits {
		e := 0.0
		if v > negInf {
			e = math.Exp(float64(v) - float64(m))
		}
		probs[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range logits {
		probs[i] *= inv
	}
	return true
}

// TopP applies Hugging Face's TopPLogitsWarper (nucleus filtering): with the
// tokens ordered by descending probability, a token is kept while the
// probability mass of the tokens ranked above it is below p; at least minKeep
// tokens are kept; the rest become -Inf. p >= 1 disables it. Equal
// probabilities are ranked the way torch's stable ascending sort leaves them
// for Hugging Face: the higher id ranks first (is kept first).
//
// Nothing is sorted: a mass-weighted quickselect finds the kept prefix of the
// ranking in expected linear time. Masses are accumulated in float64. probs
// (len >= len(logits)) and idx (len >= len(logits)) are scratch space; nil
// allocates.
func TopP(logits []float32, p float64, minKeep int, probs []float64, idx []int32) {
	if p >= 1 {
		return
	}
	if len(probs) < len(logits) {
		probs = make([]float64, len(logits))
	}
	if len(idx) < len(logits) {
		idx = make([]int32, len(logits))
	}
	topP(logits, p, minKeep, probs, idx)
}

// topP is TopP for p < 1 with scratch of the right size. On return probs
// holds the softmax probability of every kept token and 0 elsewhere; the
// kept mass is returned (0 when no logit is finite).
func topP(logits []float32, p float64, minKeep int, probs []float64, idx []int32) float64 {
	if !Softmax(logits, probs) {
		return 0
	}
	c := idx[:0]
	for i, v := range logits {
		if v > negInf {
			c = append(c, int32(i))
		}
	}
	k, mass := nucleus(c, probs, p, minKeep)
	for _, i := range c[:k] {
		probs[i] = -1 - probs[i] // mark kept
	}
	for i := range logits {
		if q := probs[i]; q < 0 {
			probs[i] = -1 - q
		} else {
			probs[i] = 0
			logits[i] = negInf
		}
	}
	return mass
}

// nucleus reorders c so that c[:k] holds the kept tokens: the shortest
// prefix of the ranking (probability descending, ties: higher id first)
// whose every member had less than p mass ranked above it, or fewer than
// minKeep tokens above it. It returns k and the kept mass.
func nucleus(c []int32, probs []float64, p float64, minKeep int) (int, float64) {
	before := func(a, b int32) bool {
		if pa, pb := probs[a], probs[b]; pa != pb {
			return pa > pb
		}
		return a > b
	}
	lo, hi := 0, len(c) // c[:lo] kept; the boundary lies in c[lo:hi]
	var acc float64     // mass of c[:lo]
	for lo < hi {
		// median-of-three pivot, moved to c[hi-1]
		mid := lo + (hi-lo)/2
		if before(c[hi-1], c[lo]) {
			c[hi-1], c[lo] = c[lo], c[hi-1]
		}
		if before(c[mid], c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if before(c[hi-1], c[mid]) {
			c[hi-1], c[mid] = c[mid], c[hi-1]
		}
		pv := c[hi-1]
		// partition: tokens ranked before the pivot first
		g := lo
		var massG float64
		for i := lo; i < hi-1; i++ {
			if before(c[i], pv) {
				massG += probs[c[i]]
				c[g], c[i] = c[i], c[g]
				g++
			}
		}
		c[g], c[hi-1] = c[hi-1], c[g] // pivot at rank g
		if acc+massG < p || g < minKeep {
			// the pivot is kept, hence everything ranked above it
			acc += massG + probs[pv]
			lo = g + 1
		} else {
			hi = g
		}
	}
	return lo, acc
}

// Greedy returns the index of the first maximum (torch.argmax semantics for
// ties; a NaN never wins). It returns -1 for an empty or all-NaN row.
func Greedy(logits []float32) int {
	best, bv := -1, float32(0)
	for i, v := range logits {
		if v != v {
			continue
		}
		if best < 0 || v > bv {
			best, bv = i, v
		}
	}
	return best
}

// Multinomial draws one token from softmax(logits) with rng, walking the ids
// in increasing order. probs (len >= len(logits)) is scratch space; nil
// allocates. It returns -1 when no logit is finite.
func Multinomial(logits []float32, rng *rand.Rand, probs []float64) int {
	if len(probs) < len(logits) {
		probs = make([]float64, len(logits))
	}
	if !Softmax(logits, probs) {
		return -1
	}
	return draw(probs[:len(logits)], 1, rng)
}

// draw picks an index with probability probs[i]/total (ids in increasing
// order; rounding falls to the last positive entry).
func draw(probs []float64, total float64, rng *rand.Rand) int {
	u := rng.Float64() * total
	var c float64
	last := -1
	for i, q := range probs {
		if q <= 0 {
			continue
		}
		last = i
		c += q
		if u < c {
			return i
		}
	}
	return last
}
