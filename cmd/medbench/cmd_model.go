package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/runners/fixture"
	"github.com/medbench/medbench/runners/qwen2vl"
)

func init() {
	register(func() *cli.Command {
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
	})
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
			opts := fixture.Options{Preset: c.String("preset"), DType: c.String("dtype"), Seed: c.Uint64("seed")}
			if opts.DType == "" {
				d, err := fixture.DefaultDType(opts.Preset)
				if err != nil {
					return usageErr("model fixture: %v", err)
				}
				opts.DType = d
			}
			if _, err := fixture.Suffix(opts.DType); err != nil {
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
				dtype = detectDType(dir)
			}
			if _, err := fixture.Suffix(dtype); err != nil {
				return usageErr("model inspect: %v", err)
			}
			w := c.App.Writer
			files := table.NewWriter()
			files.SetTitle(fmt.Sprintf("%s (%s)", dir, dtype))
			files.AppendHeader(table.Row{"file", "IR", "opset", "producer", "parameters", "weights", "external data", "nodes"})
			var ios []table.Writer
			for _, s := range fixture.Sessions() {
				path, _ := fixture.ONNXPath(dir, s, dtype)
				rel, _ := filepath.Rel(dir, path)
				if _, err := os.Stat(path); err != nil {
					files.AppendRow(table.Row{rel, "-", "-", "missing", "-", "-", "-", "-"})
					continue
				}
				info, err := onnxpb.ReadModelInfo(path)
				if err != nil {
					return inputErr(err)
				}
				ext := "-"
				if len(info.ExternalFiles) > 0 {
					ext = fmt.Sprintf("%s (%s)", strings.Join(info.ExternalFiles, ", "), humanBytes(info.ExternalBytes))
				}
				nodes := 0
				for _, n := range info.Ops {
					nodes += n
				}
				files.AppendRow(table.Row{rel, info.IRVersion, info.Opset(), strings.TrimSpace(info.ProducerName + " " + info.ProducerVersion),
					humanCount(info.Parameters), weightTypes(info), ext, nodes})
				io := table.NewWriter()
				io.SetTitle(rel)
				io.AppendHeader(table.Row{"", "name", "dtype", "dims"})
				for _, v := range info.Inputs {
					io.AppendRow(table.Row{"in", v.Name, v.Type.String(), dimsText(v.Dims)})
				}
				for _, v := range info.Outputs {
					io.AppendRow(table.Row{"out", v.Name, v.Type.String(), dimsText(v.Dims)})
				}
				ios = append(ios, io)
			}
			var problems []string
			mismatches, err := fixture.CheckLayout(dir, dtype)
			if err != nil {
				if _, serr := os.Stat(filepath.Join(dir, "config.json")); serr != nil {
					return inputErr(err) // not a model directory at all
				}
				problems = append(problems, err.Error()) // e.g. a truncated config.json
			}
			// The JSON files, loaded as the runner loads them: a truncated
			// tokenizer.json or a garbage generation/preprocessor config
			// makes the directory incompatible, naming the file.
			for _, m := range mismatches {
				problems = append(problems, m.String())
			}
			for _, e := range qwen2vl.CheckJSONFiles(dir) {
				problems = append(problems, e.Error())
			}
			fmt.Fprintln(w, files.Render())
			for _, io := range ios {
				fmt.Fprintln(w, io.Render())
			}
			if len(problems) == 0 {
				fmt.Fprintf(w, "layout: compatible with the medbench Qwen2-VL runner (%s)\n", dtype)
				return nil
			}
			fmt.Fprintf(w, "layout: INCOMPATIBLE with the medbench Qwen2-VL runner (%s), %d mismatches:\n", dtype, len(problems))
			for _, m := range problems {
				fmt.Fprintf(w, "  - %s\n", m)
			}
			return failErr(nil)
		},
	}
}

// detectDType picks the first of fp32, fp16, q8 and q4 whose decoder file
// the directory has, fp32 when it has none.
func detectDType(dir string) string {
	for _, dtype := range fixture.DTypes() {
		p, _ := fixture.ONNXPath(dir, "decoder_model_merged", dtype)
		if _, err := os.Stat(p); err == nil {
			return dtype
		}
	}
	return "fp32"
}

func dimsText(dims []onnxpb.Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func weightTypes(info *onnxpb.ModelInfo) string {
	types := make([]string, 0, len(info.WeightTypes))
	for t, n := range info.WeightTypes {
		if n > 0 {
			types = append(types, t.String())
		}
	}
	sort.Strings(types)
	return strings.Join(types, ",")
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
