package grpo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"
	"github.com/medbench/medbench/sampler"
)

// sampleSeed derives completion i's sampling seed for one step.
func sampleSeed(seed uint64, step int, id string, i int) uint64 {
	return sampler.SeedFor(seed, fmt.Sprintf("grpo/%d/%s/%d", step, id, i), sampler.RequestSeed)
}

// session holds the ORT runner over the current weights and the engine.
type session struct {
	cfg    *Config
	eng    *Engine
	runner *qwen2vl.Runner
	cur    string // model dir the runner runs
}

// openRunner (re)opens the ORT runner on the model in dir.
func (s *session) openRunner(ctx context.Context, dir string, sampling runners.Sampling) error {
	if s.runner != nil {
		s.runner.Close()
		s.runner = nil
	}
	r, err := openPolicy(ctx, s.cfg.Open, dir, sampling, s.cfg.runnerDefaults())
	if err != nil {
		return err
	}
	s.runner, s.cur = r, dir
	return nil
}

// prepared is one prompt group ready for the engine.
type prepared struct {
	sample datasets.Item
	group  Group
	texts  []string
	term   []bool
}

// rollout samples G completions for each prompt through the ORT runner.
func (s *session) rollout(ctx context.Context, step int, samples []datasets.Item) ([]prepared, error) {
	c := s.cfg
	var reqs []runners.Request
	for _, sm := range samples {
		for i := 0; i < c.NumGenerations; i++ {
			id := sm.ID()
			reqs = append(reqs, sm.Request(c.Template, id+"#"+strconv.Itoa(i), sampleSeed(c.Seed, step, id, i)))
		}
	}
	res, err := s.runner.Generate(ctx, reqs)
	if err != nil {
		return nil, err
	}
	eos := s.runner.EOS()
	out := make([]prepared, len(samples))
	for p, sm := range samples {
		prep, err := s.runner.Prepare(reqs[p*c.NumGenerations])
		if err != nil {
			return nil, err
		}
		if len(prep.InputIDs) > c.MaxPromptLength {
			return nil, fmt.Errorf("grpo: sample %s: prompt of %d tokens exceeds max prompt length %d", sm.ID(), len(prep.InputIDs), c.MaxPromptLength)
		}
		pr := prepared{sample: sm, group: promptGroup(prep)}
		for i := 0; i < c.NumGenerations; i++ {
			r := res[p*c.NumGenerations+i]
			if r.Err != nil {
				return nil, fmt.Errorf("grpo: sample %s: %w", sm.ID(), r.Err)
			}
			ids := r.TokenIDs
			n := CompletionLength(ids, eos...)
			ids = ids[:n]
			if len(ids) == 0 { // cannot happen with max_new_tokens ≥ 1; guard the engine
				return nil, fmt.Errorf("grpo: sample %s: empty completion", sm.ID())
			}
			comp := make([]int64, len(ids))
			for k, id := range ids {
				comp[k] = int64(id)
			}
			pr.group.Completions = append(pr.group.Completions, comp)
			pr.texts = append(pr.texts, r.Text)
			pr.term = append(pr.term, r.FinishReason == "eos")
		}
		out[p] = pr
	}
	return out, nil
}
