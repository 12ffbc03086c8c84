// Package sample turns a row of next-token logits into a token id with Hugging
// Face generate() semantics: repetition penalty, min-new-tokens EOS masking,
// temperature, top-k, top-p, then greedy or multinomial selection.
//
// Each step is a small function over a float32 logits slice (the full
// vocabulary); removed tokens are set to -Inf exactly as Hugging Face's
// logits warpers do. A Sampler composes them in Hugging Face's processor order
// with pre-allocated scratch space, so that sampling a token allocates nothing.
package sample

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
// Only the kept tokens are ordered: a max-heap over the candidate ids is built
// in linear time and popped until the mass is reached, so the cost is
// O(V + kept·log V), not a full sort of the vocabulary. The cumulative mass is
// accumulated in float64. probs (len >= len(logits)) and heap
// (len >= len(logits)) are scratch space; nil allocates.
func TopP(logits []float32, p float64, minKeep int, probs []float64, heap []int32) {
	if p >= 1 {
		return
	}
	if len(probs) < len(logits) {
		probs = make([]float64, len(logits))
	}
	if len(heap) < len(logits) {
		heap = make([]int32, len(logits))
	}
	topP(logits, p, minKeep, probs, heap)
}

// topP is TopP for p < 1 with scratch of the right size. On return probs
// holds the softmax probability of every kept token and 0 elsewhere; the
// kept mass is returned (0 when no logit is finite).
func topP(logits []float32, p float64, minKeep int, probs []float64, heap []int32) float64 {
	if !Softmax(logits, probs) {
		return 0
	}
	h := heap[:0]
	for i, v := range logits {
		if v > negInf {
			h = append(h, int32(i))
		}
	}
	// before(a, b): a ranks before b (higher prob, ties: higher id first).
	before := func(a, b int32) bool {
		pa, pb := probs[a], probs[b]
		if pa != pb {
			return pa > pb
		}
		return a > b
	}
	down := func(h []int32, i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			c := l
			if r := l + 1; r < len(h) && before(h[r], h[l]) {
				c = r
			}
			if !before(h[c], h[i]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(h, i)
	}
	// Pop tokens in rank order until the mass is reached; kept ones are
	// marked by a negative probability (-1 - p).
	var mass float64
	kept := 0
	for len(h) > 0 && (mass < p || kept < minKeep) {
		top := h[0]
		mass += probs[top]
		kept++
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		down(h, 0)
		probs[top] = -1 - probs[top]
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
