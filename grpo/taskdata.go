package grpo

import (
	"fmt"
	"slices"

	"github.com/medbench/medbench/datasets"
)

// CanonicalOptions returns copies of the samples with their options put in
// the given order (each sample's options must be a permutation of it) and
// the problem text and solution letter rebuilt as the seed does. On the
// synthetic quadrant data (datasets.QuadrantOptions) the answer letter then
// depends on the image alone, not on reading a shuffled option list: the
// accuracy-rise task of the tiny fixture uses this.
func CanonicalOptions(samples []datasets.Item, order []string) ([]datasets.Item, error) {
	out := make([]datasets.Item, len(samples))
	for i, s := range samples {
		r := s.Record
		if len(r.Options) != len(order) {
			return nil, fmt.Errorf("grpo: sample %s: %d options, want %d (%q)", s.ID(), len(r.Options), len(order), order)
		}
		for _, o := range order {
			if !slices.Contains(r.Options, o) {
				return nil, fmt.Errorf("grpo: sample %s: options %q are not a permutation of %q", s.ID(), r.Options, order)
			}
		}
		letter, ok := datasets.SolutionLetter(order, r.Answer)
		if !ok {
			return nil, fmt.Errorf("grpo: sample %s: answer %q not among the options", s.ID(), r.Answer)
		}
		r.Options = slices.Clone(order)
		r.Problem = datasets.BuildProblem(r.Question, order)
		r.Solution = letter
		s.Record = r
		out[i] = s
	}
	return out, nil
}
