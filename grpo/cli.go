package grpo

import (
	"errors"
	"fmt"
	"io"

	"github.com/medbench/medbench/datasets"
)

// WriteSummary writes the result's lines as `medbench train` prints them:
// steps, final model, elapsed time and, with an eval set, the accuracy
// before and after with the exact McNemar p.
func (r *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "steps: %d\nfinal model: %s\nelapsed: %s\n", r.Steps, r.FinalDir, r.Elapsed.Round(1e6))
	if r.EvalBefore != 0 || r.EvalAfter != 0 {
		fmt.Fprintf(w, "eval accuracy: %.4f -> %.4f", r.EvalBefore, r.EvalAfter)
		if r.McNemarP == r.McNemarP {
			fmt.Fprintf(w, " (exact McNemar p = %.3g)", r.McNemarP)
		}
		fmt.Fprintln(w)
	}
}

// LoadSamples reads a training or eval dataset file with its images under
// root, keeps its first limit records (0: all) and applies the
// --invalid-items mode invalidItems (datasets.CheckInvalid): records whose
// answer key can never be right are refused, or used as the seed would use
// them with a warning on warn.
func LoadSamples(path, root string, limit int, invalidItems string, warn io.Writer) ([]datasets.Item, error) {
	s, err := datasets.Load(path, datasets.LoadOptions{ImagesRoot: root})
	if err != nil {
		return nil, err
	}
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("%s: no records", path)
	}
	invalid, err := datasets.CheckInvalid("train", path, invalidItems, s, datasets.DefaultModalityMap())
	if ue := (*datasets.UsageError)(nil); errors.As(err, &ue) {
		return nil, fmt.Errorf("train: %v", ue)
	} else if err != nil {
		return nil, err
	}
	if len(invalid) > 0 {
		fmt.Fprintf(warn, "medbench: warning: %s: invalid_items: %d record(s) with answer-key problems are used as the seed would use them (--invalid-items score); their reward or target can never be right\n", path, len(invalid))
	}
	return s, nil
}
