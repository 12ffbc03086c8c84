package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/model/inspect"
	"github.com/medbench/medbench/runners/fixture"
)

// modelCommand is `medbench model ...`.
func modelCommand() *cli.Command {
	return &cli.Command{
		Name:  "model",
		Usage: "write fixture model directories, inspect ONNX model directories, import/export Hugging Face checkpoints, download from the hub",
		Subcommands: []*cli.Command{
			modelFixtureCommand(),
			modelInspectCommand(),
			modelImportCommand(),
			modelExportCommand(),
			hubDownloadCommand(hub.Model),
		},
	}
}

func modelFixtureCommand() *cli.Command {
	return &cli.Command{
		Name:  "fixture",
		Usage: "write a Qwen2-VL model directory (onnx-community layout) with random weights",
		Description: "Writes config.json, generation_config.json, preprocessor_config.json, tokenizer.json,\n" +
			"tokenizer_config.json and onnx/{vision_encoder,embed_tokens,decoder_model_merged}{,_fp16,_quantized,_q4}.onnx\n" +
			"(ONNX IR 8, opset 17) with the real export's input/output names, dtypes and symbolic dims.\n" +
			"Presets: tiny (trainable toy, trained byte-level BPE, under 3 MB), small (CPU benchmark model),\n" +
			"qwen2vl-2b (Qwen2-VL-2B dimensions and real Qwen tokenizer from testtools/, weights in\n" +
			".onnx_data files: 4.6 GB fp16 (its default), 9.8 GB fp32). Same seed, identical bytes.\n" +
			"The tied embedding is stored twice: embed_tokens' model.embed_tokens.weight and the\n" +
			"decoder's lm_head.weight hold identical values. --dtype q8|q4 writes the MatMul weights (and the\n" +
			"LM head) as ONNX Runtime MatMulNBits 8/4-bit blocks, the rest float32 (docs/quantization.md).",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "preset", Value: "tiny", Usage: "model size: " + strings.Join(fixture.Presets(), ", ")},
			&cli.StringFlag{Name: "dtype", Usage: "fp32, fp16 (float16 weights/activations/KV, files *_fp16.onnx), q8 or q4 (MatMul weights as 8/4-bit MatMulNBits, the rest float32, files *_quantized.onnx / *_q4.onnx; docs/quantization.md); default fp16 for qwen2vl-2b, fp32 otherwise"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the weights and the tokenizer corpus"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR` (created; existing files are overwritten)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("model fixture: unexpected argument %q", c.Args().First())
			}
			opts, err := fixture.Options{Preset: c.String("preset"), DType: c.String("dtype"), Seed: c.Uint64("seed")}.Resolve()
			if err != nil {
				return usageErr("model fixture: %v", err)
			}
			if err := fixture.Write(c.Context, c.String("out"), opts); err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "wrote %s fixture (%s, seed %d) to %s\n", opts.Preset, opts.DType, opts.Seed, c.String("out"))
			return nil
		},
	}
}

func modelInspectCommand() *cli.Command {
	return &cli.Command{
		Name:  "inspect",
		Usage: "list a model directory's ONNX inputs/outputs, opsets and parameters, and check the runner layout",
		Description: "For each of onnx/{vision_encoder,embed_tokens,decoder_model_merged}{suffix}.onnx (suffix from --dtype)\n" +
			"prints IR version, opset, parameter count, external data and every input/output (name, dtype,\n" +
			"dims, symbolic dims by name), then compares the directory with the layout the medbench runner\n" +
			"needs (names, dtypes, ranks and fixed dims from config.json). Exit 1 when incompatible (every\n" +
			"mismatch is listed), 2 when the directory cannot be read.",
		ArgsUsage: "DIR|hf:ORG/NAME[@REVISION]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dtype", Usage: "file variant to inspect: fp32, fp16 (*_fp16.onnx), q8 (*_quantized.onnx) or q4 (*_q4.onnx); default: the first of these whose decoder file is present"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c) // flags may also follow DIR
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usageErr("model inspect: want exactly one model directory, got %d arguments", len(args))
			}
			dir, dtype := args[0], c.String("dtype")
			if hub.IsRef(dir) {
				if dir, _, err = resolveModelRef(c, dir, dtype); err != nil {
					return err
				}
			}
			if dtype == "" {
				dtype = inspect.DetectDType(dir)
			}
			if _, err := fixture.Suffix(dtype); err != nil {
				return usageErr("model inspect: %v", err)
			}
			rep, err := inspect.Dir(dir, dtype)
			if err != nil {
				return inputErr(err)
			}
			rep.Write(c.App.Writer)
			if !rep.Compatible() {
				return failErr(nil)
			}
			return nil
		},
	}
}
