package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/runners"
)

// toolsGenerateCommand is `medbench tools generate` over the runners of
// reg; its own defaults are 32 new tokens and run seed 1.
func toolsGenerateCommand(reg *runners.Registry) *cli.Command {
	reg = modelRunners(reg)
	flags := []cli.Flag{
		&cli.StringFlag{Name: "cases", Usage: "JSON `FILE` of cases"},
		&cli.StringFlag{Name: "image", Usage: "image `FILE` of a single case"},
		&cli.StringFlag{Name: "text", Usage: "user text of a single case"},
		&cli.IntFlag{Name: "batch", Value: 1, Usage: "cases per batch"},
	}
	flags = append(flags, runnerFlags(reg, "onnx")...)
	smp := runners.WithDefault(runners.WithDefault(runners.SamplingFlags(), "max-new-tokens", 32), "seed", uint64(1))
	flags = append(flags, smp...)
	return &cli.Command{
		Name:  "generate",
		Usage: "generate with a runner (default: the ONNX Qwen2-VL runner) and print token ids (transformers.js peer format)",
		Description: "Runs the --runner runner on each case and prints one JSON line\n" +
			"{\"ids\": [generated ids, EOS included], \"text\": decoded text} per case, in the format of\n" +
			"testtools/tjs-peer.mjs, so that any case can be compared token for token with transformers.js:\n" +
			"  medbench tools generate --model DIR --cases cases.json --tjs-normalize --rgba qwen-vl-utils-0.0.8 --max-new-tokens 32\n" +
			"  node testtools/tjs-peer.mjs DIR cases.json 32\n" +
			"CASES.json is [{\"image\": \"img.png\", \"text\": \"user text after the image\"}, ...] (image optional);\n" +
			"or give one case with --image/--text. Decoding is greedy unless --do-sample; EOS ids come from\n" +
			"generation_config.json. Cases run --batch at a time (left-padded). Use images whose sides are\n" +
			"multiples of 28 within the pixel bounds for transformers.js comparisons (it resizes differently).",
		Flags:  flags,
		Action: func(c *cli.Context) error { return toolsGenerate(c, reg) },
	}
}

func toolsGenerate(c *cli.Context, reg *runners.Registry) error {
	if c.Args().Len() > 0 {
		return usageErr("tools generate: unexpected arguments %q", c.Args().Slice())
	}
	cases, err := runners.CasesFrom(c.String("cases"), c.String("image"), c.String("text"), c.IsSet("image"), c.IsSet("text"))
	if err != nil {
		return inputErr(fmt.Errorf("tools generate: %w", err))
	}
	if c.Int("batch") < 1 {
		return usageErr("tools generate: --batch %d: want 1 or more", c.Int("batch"))
	}
	smp, err := runners.SamplingFromFlags(c)
	if err != nil {
		return usageErr("tools generate: %v", err)
	}
	if c.String("preset") == "" { // tool default: 32 new tokens
		smp.MaxNewTokens = c.Int("max-new-tokens")
	}
	opened, err := openRunner(c, reg, "tools generate", &smp)
	if err != nil {
		return err
	}
	r := opened.runner
	defer r.Close()
	return inputErr(runners.GenerateCases(c.Context, "tools generate", r, cases, c.Int("batch"), c.App.Writer))
}
