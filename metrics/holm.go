package metrics

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Holm returns Holm's step-down adjusted p-values for the family ps, in the
// input order: with p₍₁₎ ≤ … ≤ p₍ₘ₎ the adjusted value of p₍ᵢ₎ is
// max over j ≤ i of min(1, (m−j+1)·p₍ⱼ₎). Rejecting every hypothesis whose
// adjusted p-value is ≤ α controls the family-wise error rate at α under any
// dependence (Holm 1979). NaN inputs stay NaN and do not count towards m.
func Holm(ps []float64) []float64 {
	out := make([]float64, len(ps))
	idx := make([]int, 0, len(ps))
	for i, p := range ps {
		if math.IsNaN(p) {
			out[i] = math.NaN()
			continue
		}
		idx = append(idx, i)
	}
	sort.SliceStable(idx, func(x, y int) bool { return ps[idx[x]] < ps[idx[y]] })
	m := len(idx)
	running := 0.0
	for j, i := range idx {
		adj := math.Min(1, float64(m-j)*ps[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}

// ParsePValues parses a comma-separated list of p-values in [0, 1]; the
// error quotes the first item that is not one.
func ParsePValues(list string) ([]float64, error) {
	var ps []float64
	for _, f := range strings.Split(list, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(x >= 0 && x <= 1) {
			return nil, fmt.Errorf("%q is not a p-value in [0, 1]", f)
		}
		ps = append(ps, x)
	}
	return ps, nil
}
