package metrics

import (
	"math"
	"sort"

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/records"
)

// Z95 is the two-sided 95% standard-normal quantile, Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval for k successes in n trials at
// normal quantile z (Z95 for 95%). For n == 0 it returns the vacuous [0, 1].
// Bounds are clamped to [0, 1] against rounding.
func Wilson(k, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	lo, hi = center-half, center+half
	if k == 0 || lo < 0 {
		lo = 0
	}
	if k == n || hi > 1 {
		hi = 1
	}
	return lo, hi
}

// Summarize computes one cell per modality × prompt × policy over samples,
// sorted by modality, prompt, then policy. The policies are those appearing
// in any sample's Extractions or Correct maps. A sample with Error set counts
// as wrong, as a parse failure and in Errors; a sample missing a policy's
// entry counts as wrong and as a parse failure for that policy.
func Summarize(samples []records.ScoredSample) []records.Cell {
	policies := records.SamplePolicies(samples)

	type key struct{ modality, prompt, policy string }
	cells := map[key]*records.Cell{}
	for _, s := range samples {
		for _, p := range policies {
			k := key{s.Modality, s.Prompt, p}
			c := cells[k]
			if c == nil {
				c = &records.Cell{Modality: s.Modality, Prompt: s.Prompt, Policy: p}
				cells[k] = c
			}
			c.N++
			if s.Error != "" {
				c.Errors++
				c.ParseFailures++
				continue
			}
			if s.Extractions[p] == nil {
				c.ParseFailures++
			}
			if s.Correct[p] {
				c.Correct++
			}
		}
	}
	out := make([]records.Cell, 0, len(cells))
	for _, c := range cells {
		c.Accuracy = float64(c.Correct) / float64(c.N)
		c.WilsonLow, c.WilsonHigh = Wilson(c.Correct, c.N, Z95)
		c.ParseFailureRate = float64(c.ParseFailures) / float64(c.N)
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Modality != b.Modality {
			return a.Modality < b.Modality
		}
		if a.Prompt != b.Prompt {
			return a.Prompt < b.Prompt
		}
		return a.Policy < b.Policy
	})
	return out
}

// Score fills a sample's Extractions and Correct maps from its Output under
// each policy, read as the answer format its prompt's template declares. A
// failed sample (Error set) gets nil extractions and false correctness.
// Solution is compared exactly with the extracted letter.
func Score(s *records.ScoredSample, format answer.Format, policies []Policy) {
	s.Extractions = make(map[string]*string, len(policies))
	s.Correct = make(map[string]bool, len(policies))
	for _, p := range policies {
		var ex *string
		if s.Error == "" {
			ex = p.Extract(s.Output, format, s.Options)
		}
		s.Extractions[p.Name()] = ex
		s.Correct[p.Name()] = ex != nil && *ex == s.Solution
	}
}
