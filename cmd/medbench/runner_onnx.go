package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"

	"github.com/medbench/medbench/internal/utf8bom"
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
	if _, err := resolveModelFlag(c, c.String("dtype")); err != nil {
		return qwen2vl.Config{}, err
	}
	cfg := qwen2vl.Config{
		ModelDir:  c.String("model"),
		DType:     c.String("dtype"),
		Device:    c.String("device"),
		KVCache:   c.String("kv-cache"),
		Threads:   c.Int("threads"),
		ORTLib:    c.String("ort-lib"),
		Sampling:  s,
		MinPixels: c.Int("min-pixels"),
		MaxPixels: c.Int("max-pixels"),
		// Flags only eval defines; 0 elsewhere (the defaults).
		MaxImagePixels:     c.Int64("max-image-pixels"),
		MaxBatchImageBytes: c.Int64("max-batch-image-mib") << 20,
	}
	if cfg.MaxBatchImageBytes < 0 {
		return cfg, usageErr("--max-batch-image-mib %d: want a positive size", c.Int64("max-batch-image-mib"))
	}
	if cfg.ModelDir == "" {
		return cfg, usageErr("--model: a Qwen2-VL model directory (onnx-community layout) is required for the ONNX runner")
	}
	if cfg.DType == "" {
		cfg.DType = "fp32"
	}
	if err := qwen2vl.CheckDType(cfg.DType); err != nil {
		return cfg, usageErr("--dtype: %v", err)
	}
	if cfg.Threads < 0 {
		return cfg, usageErr("--threads %d: want 0 (ONNX Runtime default) or more", cfg.Threads)
	}
	if hasFlag(c, "rgba") {
		if cfg.RGBA, err = imageproc.ParseRGBAMode(c.String("rgba")); err != nil {
			return cfg, usageErr("--rgba: %v", err)
		}
	}
	return cfg, nil
}

// kvCacheFlag places the decoder's KV cache (qwen2vl.Config.KVCache).
func kvCacheFlag() cli.Flag {
	return &cli.StringFlag{Name: "kv-cache", Value: qwen2vl.KVAuto, Usage: "where the decoder's KV cache lives: auto (on the GPU with IoBinding on CUDA, host buffers on CPU), host, or device (IoBinding; on CPU, ONNX Runtime-owned memory)"}
}

// rgbaFlag is --rgba: how images with an alpha channel (Pillow mode RGBA)
// become RGB.
func rgbaFlag() cli.Flag {
	return &cli.StringFlag{Name: "rgba", Value: string(imageproc.RGBAWhite),
		Usage: "onnx: RGBA images: `MODE` white = pasted on white (qwen-vl-utils >= 0.0.9, what MedVLM-R1 ran), " +
			"qwen-vl-utils-0.0.8 = alpha dropped (as 0.0.8 and transformers.js do)"}
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

func init() {
	onnxRunnerFactory = newONNXRunner
}

// generateCase is one `tools generate` case: the tjs-peer.mjs format.
type generateCase struct {
	Image string `json:"image,omitempty"`
	Text  string `json:"text"`
}

func toolsGenerateCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "generate with the ONNX Qwen2-VL runner and print token ids (transformers.js peer format)",
		Description: "Runs the medbench Qwen2-VL runner on each case and prints one JSON line\n" +
			"{\"ids\": [generated ids, EOS included], \"text\": decoded text} per case, in the format of\n" +
			"testtools/tjs-peer.mjs, so that any case can be compared token for token with transformers.js:\n" +
			"  medbench tools generate --model DIR --cases cases.json --tjs-normalize --rgba qwen-vl-utils-0.0.8 --max-new-tokens 32\n" +
			"  node testtools/tjs-peer.mjs DIR cases.json 32\n" +
			"CASES.json is [{\"image\": \"img.png\", \"text\": \"user text after the image\"}, ...] (image optional);\n" +
			"or give one case with --image/--text. Decoding is greedy unless --do-sample; EOS ids come from\n" +
			"generation_config.json. Cases run --batch at a time (left-padded). Use images whose sides are\n" +
			"multiples of 28 within the pixel bounds for transformers.js comparisons (it resizes differently).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: "Qwen2-VL model `DIR` (onnx-community layout) or hf:ORG/NAME[@REVISION]"},
			&cli.StringFlag{Name: "dtype", Value: "fp32", Usage: "file variant: " + strings.Join(qwen2vl.DTypes(), ", ") + "; or per session, e.g. q4,vision_encoder=fp16,embed_tokens=fp16"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu, cuda, cuda:N, or auto (CUDA if its provider loads, else CPU)"},
			kvCacheFlag(),
			&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads (0 = its default)"},
			&cli.StringFlag{Name: "ort-lib", Usage: "ONNX Runtime library `PATH` (default $MEDBENCH_ORT_LIB, then .cache/ort/1.29.0)"},
			&cli.StringFlag{Name: "cases", Usage: "JSON `FILE` of cases"},
			&cli.StringFlag{Name: "image", Usage: "image `FILE` of a single case"},
			&cli.StringFlag{Name: "text", Usage: "user text of a single case"},
			&cli.IntFlag{Name: "batch", Value: 1, Usage: "cases per batch"},
			&cli.BoolFlag{Name: "tjs-normalize", Usage: "normalize pixels as transformers.js does (float64, one rounding) for bit-identical inputs"},
			rgbaFlag(),
			&cli.StringFlag{Name: "preset", Usage: onnxPresetUsage},
			&cli.BoolFlag{Name: "do-sample", Usage: "sample instead of greedy decoding"},
			&cli.Float64Flag{Name: "temperature", Value: 1, Usage: "sampling temperature"},
			&cli.IntFlag{Name: "top-k", Usage: "top-k filter (0 = off)"},
			&cli.Float64Flag{Name: "top-p", Value: 1, Usage: "nucleus filter (1 = off)"},
			&cli.Float64Flag{Name: "repetition-penalty", Value: 1, Usage: "Hugging Face repetition penalty (1 = off)"},
			&cli.IntFlag{Name: "max-new-tokens", Value: 32, Usage: "tokens to generate at most"},
			&cli.IntFlag{Name: "min-new-tokens", Usage: "tokens before EOS is allowed"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "run seed (per-case seeds derive from it)"},
			&cli.IntFlag{Name: "max-pixels", Usage: "override preprocessor_config.json max_pixels (0 = keep)"},
			&cli.IntFlag{Name: "min-pixels", Usage: "override preprocessor_config.json min_pixels (0 = keep)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usageErr("tools generate: unexpected arguments %q", c.Args().Slice())
			}
			cases, err := generateCases(c)
			if err != nil {
				return err
			}
			if c.Int("batch") < 1 {
				return usageErr("tools generate: --batch %d: want 1 or more", c.Int("batch"))
			}
			cfg, err := onnxConfig(c)
			if err != nil {
				return err
			}
			if c.String("preset") == "" { // tool default: 32 new tokens
				cfg.Sampling.MaxNewTokens = c.Int("max-new-tokens")
			}
			cfg.TJSNormalize = c.Bool("tjs-normalize")
			r, err := qwen2vl.Open(c.Context, cfg)
			if err != nil {
				return inputErr(err)
			}
			defer r.Close()
			w := bufio.NewWriter(c.App.Writer)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for a := 0; a < len(cases); a += c.Int("batch") {
				b := min(a+c.Int("batch"), len(cases))
				reqs := make([]runners.Request, 0, b-a)
				for i := a; i < b; i++ {
					q := runners.Request{ID: fmt.Sprint(i), Prompt: "generate", Text: cases[i].Text}
					if cases[i].Image != "" {
						q.Images = []runners.Image{{Path: cases[i].Image}}
					}
					reqs = append(reqs, q)
				}
				res, err := r.Generate(c.Context, reqs)
				if err != nil {
					return inputErr(err)
				}
				for i, x := range res {
					if x.Err != nil {
						return inputErr(fmt.Errorf("tools generate: case %d: %w", a+i, x.Err))
					}
					ids := x.TokenIDs
					if ids == nil {
						ids = []int{}
					}
					if err := enc.Encode(struct {
						IDs  []int  `json:"ids"`
						Text string `json:"text"`
					}{ids, x.Text}); err != nil {
						return inputErr(fmt.Errorf("tools generate: write: %w", err))
					}
				}
			}
			if err := w.Flush(); err != nil {
				return inputErr(fmt.Errorf("tools generate: write: %w", err))
			}
			return nil
		},
	}
}

// generateCases reads --cases or builds the single --image/--text case.
func generateCases(c *cli.Context) ([]generateCase, error) {
	if p := c.String("cases"); p != "" {
		if c.IsSet("image") || c.IsSet("text") {
			return nil, usageErr("tools generate: give --cases or --image/--text, not both")
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, inputErr(fmt.Errorf("tools generate: %w", err))
		}
		var cases []generateCase
		if err := json.Unmarshal(utf8bom.Trim(b), &cases); err != nil {
			return nil, inputErr(fmt.Errorf("tools generate: %s: want a JSON array of {\"image\", \"text\"} cases: %w", p, err))
		}
		return cases, nil
	}
	if !c.IsSet("text") {
		return nil, usageErr("tools generate: give --cases FILE, or --text (and optionally --image)")
	}
	return []generateCase{{Image: c.String("image"), Text: c.String("text")}}, nil
}
