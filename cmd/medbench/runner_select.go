package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/openai"
	"github.com/medbench/medbench/runners/replay"
)

// onnxRunnerFactory opens the ONNX Runtime runner from `medbench eval`'s
// flags. The ONNX runner's file sets it from its init function; a build
// without it reports a clear error for --runner onnx.
var onnxRunnerFactory func(c *cli.Context) (runners.Runner, error)

// openRunner opens the runner named by --runner: "replay" reads --outputs,
// "onnx" goes through onnxRunnerFactory.
func openRunner(c *cli.Context) (runners.Runner, error) {
	outputs := c.StringSlice("outputs")
	switch name := c.String("runner"); name {
	case "replay":
		if len(outputs) == 0 {
			return nil, usageErr("eval: --runner replay needs --outputs FILE[,FILE] (seed-format output JSON or samples.jsonl)")
		}
		r, err := replay.New(outputs)
		if err != nil {
			return nil, inputErr(err)
		}
		if d := c.Duration("replay-delay"); d > 0 {
			r.SetDelay(d)
		}
		return r, nil
	case "onnx":
		if len(outputs) > 0 {
			return nil, usageErr("eval: --outputs is for --runner replay")
		}
		if onnxRunnerFactory == nil {
			return nil, usageErr("eval: --runner onnx: this medbench build has no ONNX runner registered")
		}
		return onnxRunnerFactory(c)
	case "openai":
		if len(outputs) > 0 {
			return nil, usageErr("eval: --outputs is for --runner replay")
		}
		return openOpenAIRunner(c)
	default:
		return nil, usageErr("eval: --runner %q: want onnx, openai or replay", name)
	}
}

// openOpenAIRunner opens the OpenAI-compatible runner from its flags and
// the sampling flags (resolved as for the ONNX runner).
func openOpenAIRunner(c *cli.Context) (runners.Runner, error) {
	s, err := onnxSampling(c)
	if err != nil {
		return nil, err
	}
	cfg, err := openai.ConfigFromCLI(c, s)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	r, err := openai.Open(c.Context, cfg)
	if err != nil {
		return nil, inputErr(fmt.Errorf("runner: %w", err))
	}
	return r, nil
}

// runnerInfoMap converts runner info to the manifest's generic map.
func runnerInfoMap(info runners.Info) map[string]any {
	m := map[string]any{"name": info.Name}
	if info.Model != "" {
		m["model"] = info.Model
	}
	if info.Device != "" {
		m["device"] = info.Device
	}
	if info.Runtime != "" {
		m["runtime"] = info.Runtime
	}
	if len(info.Files) > 0 {
		m["files"] = info.Files
	}
	if len(info.Settings) > 0 {
		m["settings"] = info.Settings
	}
	return m
}
