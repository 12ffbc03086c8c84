package records

import (
	"fmt"
	"strconv"
	"strings"
)

// EncodeIndices writes a list of non-negative integers, in order, as
// comma-separated runs: "0-299,600-899" for 0..299 then 600..899, a single
// number for a run of one. Runs ascend by one; any other order is kept
// exactly (e.g. "5,3-4").
func EncodeIndices(xs []int) string {
	var b strings.Builder
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] == xs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(xs[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(xs[j]))
		}
		i = j + 1
	}
	return b.String()
}

// DecodeIndices parses EncodeIndices' format. A range must not descend, and
// a list of more than max numbers is an error (a corrupt file must not
// exhaust memory).
func DecodeIndices(s string, max int) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("records: index list %.60q: bad item %q", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("records: index list %.60q: bad range %q", s, part)
			}
		}
		if b-a >= max-len(out) {
			return nil, fmt.Errorf("records: index list %.60q: more than %d numbers", s, max)
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out, nil
}
