package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/grpo"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/openai"
	"github.com/medbench/medbench/runners/qwen2vl"
	"github.com/medbench/medbench/runners/replay"
)

// defaultRunners is the registry of the medbench binary: one line per
// runner.
func defaultRunners() *runners.Registry {
	return runners.NewRegistry(
		qwen2vl.Driver(),
		openai.Driver(),
		replay.Driver(),
	)
}

// modelRunners are the runners that generate from a model (not the replay
// of recorded outputs): bench measures them, tools generate runs them.
func modelRunners(reg *runners.Registry) *runners.Registry {
	return reg.Filter(func(d runners.Driver) bool { return d.Samples })
}

// runnerFlags are --runner (defaulting to def) and every registered
// runner's flags, minus those the command defines itself.
func runnerFlags(reg *runners.Registry, def string, except ...string) []cli.Flag {
	return append([]cli.Flag{&cli.StringFlag{Name: "runner", Value: def, Usage: reg.RunnerUsage()}}, reg.Flags(except...)...)
}

// openedRunner is a runner opened from a command's flags. The runner is a
// field, not embedded, so that its optional interfaces (evaluate.Binder,
// runners.Profiler, serve.Generator) stay visible to whoever receives it.
type openedRunner struct {
	runner runners.Runner
	driver runners.Driver
	// model is the --model hf: reference pinned to its commit (nil for a
	// local folder or a runner without --model).
	model *hub.ModelSource
	// sampling is the decoding the runner was opened with.
	sampling runners.Sampling
}

// openRunner opens the --runner runner for the command cmd: it checks the
// flags, resolves --model hf:... for runners with a model folder, and
// opens the runner with the sampling settings (nil: from the sampling
// flags). Errors are usage or input errors naming cmd.
func openRunner(c *cli.Context, reg *runners.Registry, cmd string, smp *runners.Sampling) (*openedRunner, error) {
	d, err := reg.Select(c.String("runner"), c)
	if err != nil {
		return nil, usageErr("%s: %v", cmd, err)
	}
	var src *hub.ModelSource
	if d.ModelFlag {
		if src, err = resolveModelFlag(c, c.String("dtype")); err != nil {
			return nil, err
		}
	}
	var s runners.Sampling
	if smp != nil {
		s = *smp
	} else if s, err = runners.SamplingFromFlags(c); err != nil {
		return nil, usageErr("%s: %v", cmd, err)
	}
	r, err := d.Open(c.Context, runners.Options{Flags: c, Sampling: s})
	if err != nil {
		return nil, inputErr(fmt.Errorf("%s: %w", cmd, err))
	}
	return &openedRunner{runner: r, driver: d, model: src, sampling: s}, nil
}

// trainRunner is the runner training rolls out with: it needs the
// runner's token-level API (grpo.Opener).
const trainRunner = "onnx"

// trainRunnerFlags are the training runner's flags that train reads, with
// training's pixel bounds (the seed's 512·28·28 and 4·28·28).
func trainRunnerFlags(reg *runners.Registry) []cli.Flag {
	d, err := reg.Driver(trainRunner)
	if err != nil {
		return nil
	}
	flags := runners.Pick(d.Flags, "max-pixels", "min-pixels", "threads", "ort-lib")
	return runners.WithDefault(runners.WithDefault(flags, "max-pixels", 401408), "min-pixels", 3136)
}

// trainOpener opens the training runner on a model folder from train's
// flags (those of trainRunnerFlags; the rest keep the runner's defaults).
func trainOpener(c *cli.Context, reg *runners.Registry) grpo.Opener {
	return grpo.RegistryOpener(reg, trainRunner, c)
}

// rgbaFlag is the ONNX runner's --rgba, for commands that preprocess
// images themselves.
func rgbaFlag() cli.Flag { return qwen2vl.RGBAFlag() }
