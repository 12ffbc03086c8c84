package grpo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// eval scores EvalSamples greedily on a model dir with evaluate.Run (the
// `medbench eval` loop) into Out/eval/<name>, returning the strict-policy
// accuracy and per-sample correctness in sample order.
func (s *session) eval(ctx context.Context, dir, name string) (float64, []bool, error) {
	c := s.cfg
	r, err := openPolicy(ctx, c.Open, dir, runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: c.EvalMaxNewTokens, Seed: c.Seed}, c.runnerDefaults())
	if err != nil {
		return 0, nil, err
	}
	defer r.Close()
	out := filepath.Join(c.Out, "eval", name)
	os.RemoveAll(out)
	if _, err := evaluate.Run(ctx, evaluate.Config{
		Samples: c.EvalSamples, Prompts: []datasets.Template{c.EvalTemplate}, Runner: r, Batch: 8, OutDir: out,
		Manifest: records.Manifest{Seed: c.Seed, Command: []string{"medbench", "train", "eval", dir}},
		Policies: []metrics.Policy{metrics.Strict},
	}); err != nil {
		return 0, nil, err
	}
	return EvalAccuracy(out)
}

// EvalAccuracy reads a run record's strict-policy accuracy and per-sample
// correctness (ordered by sample index).
func EvalAccuracy(runDir string) (float64, []bool, error) {
	samples, _, err := records.ReadSamples(filepath.Join(runDir, "samples.jsonl"))
	if err != nil {
		return 0, nil, err
	}
	if len(samples) == 0 {
		return 0, nil, fmt.Errorf("grpo: %s: no samples", runDir)
	}
	sort.SliceStable(samples, func(i, j int) bool { return samples[i].Index < samples[j].Index })
	corr := make([]bool, len(samples))
	n := 0
	for i, sm := range samples {
		corr[i] = sm.Correct[metrics.Strict.Name()]
		if corr[i] {
			n++
		}
	}
	return float64(n) / float64(len(samples)), corr, nil
}
