package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// PresetMedVLMR1 names the seed's effective evaluation settings.
const presetMedVLMR1 = "medvlm-r1"

// onnxPresetUsage documents --preset for the ONNX runner's flags.
const onnxPresetUsage = "decoding preset: " + presetMedVLMR1 + " = MedVLM-R1's effective evaluation settings " +
	"(greedy, 512 new tokens, EOS from the checkpoint's generation_config.json = 151645/151643 for Qwen2-VL-2B, " +
	"default pixel bounds from preprocessor_config.json). The seed script's --do_sample/--temperature/" +
	"--max_new_tokens flags never took effect (its generate() call overrides them), so the preset ignores " +
	"their seed values; medbench's own sampling flags, when given, override the preset"

// onnxSampling resolves the decoding settings of `medbench eval`: the preset
// (or Hugging Face's defaults: greedy, 512 new tokens), then every sampling
// flag the user set explicitly.
func onnxSampling(c *cli.Context) (runners.Sampling, error) {
	s := runners.SeedPreset()
	switch p := c.String("preset"); p {
	case "", presetMedVLMR1:
	default:
		return s, usageErr("--preset %q: the ONNX runner knows %q", p, presetMedVLMR1)
	}
	set := func(name string) bool { return hasFlag(c, name) && c.IsSet(name) }
	if set("do-sample") {
		s.DoSample = c.Bool("do-sample")
	}
	if set("temperature") {
		s.Temperature = c.Float64("temperature")
	}
	if set("top-k") {
		s.TopK = c.Int("top-k")
	}
	if set("top-p") {
		s.TopP = c.Float64("top-p")
	}
	if set("repetition-penalty") {
		s.RepetitionPenalty = c.Float64("repetition-penalty")
	}
	if set("max-new-tokens") {
		s.MaxNewTokens = c.Int("max-new-tokens")
	}
	if set("min-new-tokens") {
		s.MinNewTokens = c.Int("min-new-tokens")
	}
	if hasFlag(c, "seed") {
		s.Seed = c.Uint64("seed")
	}
	return s, nil
}

// hasFlag reports whether the command (or a parent, or the app) defines the
// flag: the typed getters are only meaningful for defined flags.
func hasFlag(c *cli.Context, name string) bool {
	var lists [][]cli.Flag
	for _, cc := range c.Lineage() {
		if cc.Command != nil {
			lists = append(lists, cc.Command.Flags)
		}
		if cc.App != nil {
			lists = append(lists, cc.App.Flags)
		}
	}
	for _, fl := range lists {
		for _, f := range fl {
			for _, n := range f.Names() {
				if n == name {
					return true
				}
			}
		}
	}
	return false
}

// onnxConfig builds the qwen2vl runner configuration from `medbench eval`
// flags: --model --dtype --device --threads --ort-lib --max-pixels
// --min-pixels and the sampling flags.
func onnxConfig(c *cli.Context) (qwen2vl.Config, error) {
	s, err := onnxSampling(c)
	if err != nil {
		return qwen2vl.Config{}, err
	}
	cfg := qwen2vl.Config{
		ModelDir:  c.String("model"),
		DType:     c.String("dtype"),
		Device:    c.String("device"),
		Threads:   c.Int("threads"),
		ORTLib:    c.String("ort-lib"),
		Sampling:  s,
		MinPixels: c.Int("min-pixels"),
		MaxPixels: c.Int("max-pixels"),
	}
	if cfg.ModelDir == "" {
		return cfg, usageErr("--model: a Qwen2-VL model directory (onnx-community layout) is required for the ONNX runner")
	}
	if cfg.DType == "" {
		cfg.DType = "fp32"
	}
	ok := false
	for _, d := range qwen2vl.DTypes() {
		ok = ok || d == cfg.DType
	}
	if !ok {
		return cfg, usageErr("--dtype %q: want one of %s", cfg.DType, strings.Join(qwen2vl.DTypes(), ", "))
	}
	if cfg.Threads < 0 {
		return cfg, usageErr("--threads %d: want 0 (ONNX Runtime default) or more", cfg.Threads)
	}
	return cfg, nil
}

// newONNXRunner opens the Qwen2-VL ONNX Runtime runner for `medbench eval`.
func newONNXRunner(c *cli.Context) (runners.Runner, error) {
	cfg, err := onnxConfig(c)
	if err != nil {
		return nil, err
	}
	r, err := qwen2vl.Open(c.Context, cfg)
	if err != nil {
		return nil, inputErr(fmt.Errorf("runner: %w", err))
	}
	return r, nil
}
