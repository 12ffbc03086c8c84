package runners

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// PresetMedVLMR1 names MedVLM-R1's effective evaluation settings (--preset).
const PresetMedVLMR1 = "medvlm-r1"

// samplingHelp and samplingNote are appended to the sampling flags' usage.
const (
	samplingHelp = " (the seed's own --do_sample/--temperature/--max_new_tokens never took effect: its generate() call hard-codes greedy decoding and 512 new tokens; --preset medvlm-r1 reproduces that)"
	samplingNote = " (the seed's value never took effect; see --preset)"
)

// SamplingFlags are the decoding flags every model runner reads, defined
// once: --preset, --do-sample, --temperature, --top-k, --top-p,
// --repetition-penalty, --max-new-tokens, --min-new-tokens and --seed.
// SamplingFromFlags reads them.
func SamplingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "preset", Usage: "decoding `PRESET`; " + PresetMedVLMR1 + " = MedVLM-R1's effective evaluation settings: greedy, 512 new tokens, EOS from generation_config.json, default pixel bounds. The seed's CLI sampling flags never took effect (its generate() call hard-codes greedy and 512 tokens). Explicit sampling flags override the preset"},
		&cli.BoolFlag{Name: "do-sample", Usage: "sample instead of greedy decoding" + samplingHelp},
		&cli.Float64Flag{Name: "temperature", Value: 1, Usage: "sampling temperature" + samplingNote},
		&cli.IntFlag{Name: "top-k", Usage: "top-k filtering when sampling (0 = off)" + samplingNote},
		&cli.Float64Flag{Name: "top-p", Value: 1, Usage: "nucleus (top-p) filtering when sampling (1 = off)" + samplingNote},
		&cli.Float64Flag{Name: "repetition-penalty", Value: 1, Usage: "repetition penalty (1 = off)"},
		&cli.IntFlag{Name: "max-new-tokens", Value: 512, Usage: "most tokens generated per sample" + samplingNote},
		&cli.IntFlag{Name: "min-new-tokens", Usage: "fewest tokens generated before EOS may end a sample"},
		&cli.Uint64Flag{Name: "seed", Usage: "run seed; each sample's RNG is seeded from it and the sample's prompt/id, so a sample's sampled output does not depend on its batch"},
	}
}

// SamplingFromFlags resolves the decoding settings: the preset (or Hugging
// Face's defaults: greedy, 512 new tokens), then every sampling flag set
// explicitly, and the run seed. Flags the command does not define keep the
// preset's values.
func SamplingFromFlags(v Values) (Sampling, error) {
	s := SeedPreset()
	switch p := v.String("preset"); p {
	case "", PresetMedVLMR1:
	default:
		return s, fmt.Errorf("--preset %q: the ONNX runner knows %q", p, PresetMedVLMR1)
	}
	setIfGiven(v, "do-sample", &s.DoSample, v.Bool)
	setIfGiven(v, "temperature", &s.Temperature, v.Float64)
	setIfGiven(v, "top-k", &s.TopK, v.Int)
	setIfGiven(v, "top-p", &s.TopP, v.Float64)
	setIfGiven(v, "repetition-penalty", &s.RepetitionPenalty, v.Float64)
	setIfGiven(v, "max-new-tokens", &s.MaxNewTokens, v.Int)
	setIfGiven(v, "min-new-tokens", &s.MinNewTokens, v.Int)
	s.Seed = v.Uint64("seed")
	return s, nil
}

// setIfGiven sets *dst to flag name's value (read with get) when the
// command line gives the flag explicitly.
func setIfGiven[T any](v Values, name string, dst *T, get func(string) T) {
	if v.IsSet(name) {
		*dst = get(name)
	}
}

// ImageBoundFlags are the image resize bounds (--max-pixels, --min-pixels)
// that the model runners share.
func ImageBoundFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "max-pixels", Usage: "image max_pixels (0 = the model's preprocessor_config.json)"},
		&cli.IntFlag{Name: "min-pixels", Usage: "image min_pixels (0 = the model's preprocessor_config.json)"},
	}
}
