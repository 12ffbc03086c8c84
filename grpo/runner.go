package grpo

import (
	"context"
	"fmt"

	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// Opener opens the runner the trainer rolls out and evaluates with, on a
// model folder (the starting model, then each checkpoint) with the given
// decoding settings. cmd/medbench opens it through its runner registry.
type Opener func(ctx context.Context, dir string, s runners.Sampling) (runners.Runner, error)

// RegistryOpener opens the runner name of reg on a model folder with the
// flag values v, the folder replacing --model.
func RegistryOpener(reg *runners.Registry, name string, v runners.Values) Opener {
	return func(ctx context.Context, dir string, s runners.Sampling) (runners.Runner, error) {
		d, err := reg.Driver(name)
		if err != nil {
			return nil, err
		}
		return d.Open(ctx, runners.Options{Flags: runners.Overlay(v, map[string]any{"model": dir}), Sampling: s})
	}
}

// openPolicy opens the policy runner on dir: through open when set, else
// the Qwen2-VL ONNX runner with def's settings. Rollouts need the
// Qwen2-VL runner itself: the trainer scores the sampled tokens on the
// prompt tokens the runner generated from (Prepare) and ends completions
// at its EOS ids.
func openPolicy(ctx context.Context, open Opener, dir string, s runners.Sampling, def qwen2vl.Config) (*qwen2vl.Runner, error) {
	if open == nil {
		def.ModelDir, def.Sampling = dir, s
		return qwen2vl.Open(ctx, def)
	}
	r, err := open(ctx, dir, s)
	if err != nil {
		return nil, err
	}
	q, ok := r.(*qwen2vl.Runner)
	if !ok {
		r.Close()
		return nil, fmt.Errorf("grpo: runner %s: training needs the Qwen2-VL ONNX runner (its prompt tokens and EOS ids)", r.Info().Name)
	}
	return q, nil
}

// runnerDefaults are the runner settings the trainer opens with when no
// Opener is given.
func (c *Config) runnerDefaults() qwen2vl.Config {
	return qwen2vl.Config{Threads: c.Threads, ORTLib: c.ORTLib, MinPixels: c.MinPixels, MaxPixels: c.MaxPixels}
}
