package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/checkpoint"
)

func modelImportCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "convert a Hugging Face Qwen2-VL checkpoint (config.json + safetensors) into a model directory",
		Description: "Reads config.json (Qwen2VLForConditionalGeneration, model_type qwen2_vl), model.safetensors or\n" +
			"model.safetensors.index.json shards (BF16, F16 or F32), tensor names of transformers <= 4.51 or >= 4.52,\n" +
			"tied or untied lm_head, and writes the onnx-community layout the runner runs (three ONNX graphs,\n" +
			"tokenizer, processor and generation configs copied, import.json with the source files' sha256).\n" +
			"Every checkpoint tensor must be used exactly once. See docs/checkpoints.md.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "Hugging Face checkpoint `DIR`"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output model `DIR` (must not exist or be empty)"},
			&cli.StringFlag{Name: "dtype", Value: "fp32", Usage: "ONNX weights and compute: " + strings.Join(checkpoint.DTypes(), " or ")},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("model import: unexpected argument %q", c.Args().First())
			}
			opts := checkpoint.ImportOptions{DType: c.String("dtype")}
			if err := checkpoint.Import(c.Context, c.String("from"), c.String("out"), opts); err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "imported %s (%s) to %s\n", c.String("from"), opts.DType, c.String("out"))
			return nil
		},
	}
}

func modelExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a model directory (fixture, import or train grpo final/) as a Hugging Face checkpoint",
		Description: "Writes safetensors with legacy tensor names and __metadata__ {\"format\": \"pt\"}, sharded like\n" +
			"save_pretrained (model-0000K-of-0000N.safetensors + model.safetensors.index.json above --max-shard-size),\n" +
			"config.json as transformers v4.47.1 writes it, generation_config.json and the tokenizer and processor\n" +
			"files. bf16 rounds to nearest even. See docs/checkpoints.md.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "medbench model `DIR`"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output checkpoint `DIR` (must not exist or be empty)"},
			&cli.StringFlag{Name: "dtype", Value: "bf16", Usage: "safetensors dtype: bf16 or fp32"},
			&cli.StringFlag{Name: "max-shard-size", Value: "5GB", Usage: "largest shard: bytes or a number with KB, MB, GB (powers of 1000, as save_pretrained)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("model export: unexpected argument %q", c.Args().First())
			}
			size, err := checkpoint.ParseSize(c.String("max-shard-size"))
			if err != nil {
				return usageErr("model export: %v", err)
			}
			opts := checkpoint.ExportOptions{DType: c.String("dtype"), MaxShardSize: size}
			if err := checkpoint.Export(c.Context, c.String("from"), c.String("out"), opts); err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "exported %s (%s) to %s\n", c.String("from"), opts.DType, c.String("out"))
			return nil
		},
	}
}
