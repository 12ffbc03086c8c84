package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/openai"
)

// samplingHelp and samplingNote are appended to the sampling flags' usage.
const samplingHelp = " (the seed's own --do_sample/--temperature/--max_new_tokens never took effect: its generate() call hard-codes greedy decoding and 512 new tokens; --preset medvlm-r1 reproduces that)"

const samplingNote = " (the seed's value never took effect; see --preset)"

func init() {
	register(func() *cli.Command {
		flags := []cli.Flag{
			// Data.
			&cli.StringFlag{Name: "data", Required: true, Usage: "dataset `FILE`: the seed's JSON schema (MRI_CT_XRAY_300each_dataset.json) or a Hugging Face parquet export"},
			&cli.StringFlag{Name: "images", Usage: "images root `DIR`; record paths are joined to it verbatim (default: the dataset file's folder)"},
			&cli.StringFlag{Name: "format", Usage: "dataset `FORMAT`: json or parquet (default: by the file's extension)"},
			&cli.StringSliceFlag{Name: "modality", Value: cli.NewStringSlice("all"), Usage: "modalities to evaluate (`LIST`, comma-separated, e.g. MRI,CT,Xray; or all)"},
			&cli.StringFlag{Name: "select", Value: string(datasets.BySubset), Usage: "`HOW` per-modality test sets are formed: subset (by each record's subset) or seed-slices (the seed's positions: MRI [0:300], CT [300:600], Xray [600:900])"},
			modalityMapFlag(),
			invalidItemsFlag(),
			&cli.IntFlag{Name: "limit", Usage: "evaluate at most `N` samples per modality, the first in dataset order (0 = all)"},
			// Prompts and scoring.
			&cli.StringSliceFlag{Name: "prompt", Value: cli.NewStringSlice("simple", "complex"), Usage: "prompt templates, evaluated in turn: simple, complex (the seed's eval prompts), train, or NAME=FILE for a custom template containing {Question}"},
			&cli.StringSliceFlag{Name: "policy", Value: cli.NewStringSlice(metrics.DefaultPolicies().Names()...), Usage: "answer-extraction policies to score: " + metrics.DefaultPolicies().Usage()},
			// Run.
			&cli.IntFlag{Name: "batch", Value: 1, Usage: "requests per runner call `N` (the seed's --bsz, default 1)"},
			&cli.Float64Flag{Name: "max-error-rate", Value: 0.05, Usage: "exit 1 after writing the whole record when more than this `FRACTION` of the samples failed (bad image, prompt too long, ...); 1 = never"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "run record `DIR`: manifest.json, samples.jsonl, summary.json, samples.parquet and seed_<modality>_<prompt>.json"},
			&cli.StringFlag{Name: "shard", EnvVars: []string{"MEDBENCH_SHARD"}, Usage: "evaluate only shard `I/N` (I 0-based: 0/4 … 3/4) of the selection, split by a hash of each sample's id (all prompts of a record in one shard); join the shard runs with `medbench merge`. Kubernetes Indexed Job: --shard $(JOB_COMPLETION_INDEX)/N; Slurm array: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT"},
			&cli.BoolFlag{Name: "resume", Usage: "continue an interrupted run in --out (same dataset, prompts, policies, model and sampling); samples already recorded are skipped"},
			&cli.BoolFlag{Name: "seed-files", Value: true, Usage: "also write the seed's per-modality output file shape ({\"accuracy\", \"results\"}) for every modality × prompt"},
			&cli.StringFlag{Name: "runner", Value: "onnx", Usage: "`RUNNER`: onnx (Qwen2-VL on ONNX Runtime), openai (an OpenAI-compatible server: vLLM, SGLang, medbench serve; see --endpoint) or replay (re-score recorded outputs, no model)"},
			&cli.StringSliceFlag{Name: "outputs", Usage: "replay: recorded outputs `FILE[,FILE]`: samples.jsonl of an earlier run, or the seed's output JSON; prefix PROMPT= (e.g. complex=out.json) to bind a seed file to one prompt"},
			&cli.DurationFlag{Name: "replay-delay", Hidden: true, Usage: "replay: wait this long per sample (tests of interruption)"},
			// Model.
			&cli.StringFlag{Name: "model", Usage: "onnx: model `DIR` (onnx-community Qwen2-VL layout: config.json, tokenizer.json, onnx/*.onnx), or hf:ORG/NAME[@REVISION] from the Hugging Face hub (see `medbench model download`)"},
			&cli.StringFlag{Name: "dtype", Value: "fp32", Usage: "onnx: weight variant `DTYPE` (fp32, fp16, q8/quantized, int8, uint8, q4, q4f16, bnb4)"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "onnx: `DEVICE` cpu, cuda, cuda:N or auto (CUDA when available, else CPU)"},
			kvCacheFlag(),
			&cli.IntFlag{Name: "threads", Usage: "onnx: ONNX Runtime intra-op threads `N` (0 = ORT default)"},
			&cli.StringFlag{Name: "ort-lib", Usage: "onnx: ONNX Runtime library `PATH` (default: $MEDBENCH_ORT_LIB, then .cache/ort/1.29.0 from `make setup`)"},
			&cli.StringFlag{Name: "preset", Usage: "onnx: decoding `PRESET`; medvlm-r1 = MedVLM-R1's effective evaluation settings: greedy, 512 new tokens, EOS from generation_config.json, default pixel bounds. The seed's CLI sampling flags never took effect (its generate() call hard-codes greedy and 512 tokens). Explicit sampling flags override the preset"},
			&cli.BoolFlag{Name: "do-sample", Usage: "onnx: sample instead of greedy decoding" + samplingHelp},
			&cli.Float64Flag{Name: "temperature", Value: 1, Usage: "onnx: sampling temperature" + samplingNote},
			&cli.IntFlag{Name: "top-k", Usage: "onnx: top-k filtering when sampling (0 = off)" + samplingNote},
			&cli.Float64Flag{Name: "top-p", Value: 1, Usage: "onnx: nucleus (top-p) filtering when sampling (1 = off)" + samplingNote},
			&cli.Float64Flag{Name: "repetition-penalty", Value: 1, Usage: "onnx: repetition penalty (1 = off)"},
			&cli.IntFlag{Name: "max-new-tokens", Value: 512, Usage: "onnx: most tokens generated per sample" + samplingNote},
			&cli.IntFlag{Name: "min-new-tokens", Usage: "onnx: fewest tokens generated before EOS may end a sample"},
			&cli.Uint64Flag{Name: "seed", Usage: "run seed; each sample's RNG is seeded from it and the sample's prompt/id, so a sample's sampled output does not depend on its batch"},
			&cli.IntFlag{Name: "max-pixels", Usage: "onnx: image max_pixels (0 = the model's preprocessor_config.json)"},
			&cli.IntFlag{Name: "min-pixels", Usage: "onnx: image min_pixels (0 = the model's preprocessor_config.json)"},
			rgbaFlag(),
			&cli.Int64Flag{Name: "max-image-pixels", Value: imageproc.DefaultMaxImagePixels, Usage: "onnx: decompression-bomb limit in decoded `PIXELS`, checked from each image's header before decoding, as Pillow's MAX_IMAGE_PIXELS: above it the sample records a warning, above twice it the sample fails (-1 = off)"},
			&cli.Int64Flag{Name: "max-batch-image-mib", Value: imageproc.DefaultMaxBatchImageBytes >> 20, Usage: "onnx: decoded-image memory in `MiB` a batch may leave uncollected before the runner frees it"},
		}
		flags = append(flags, openai.Flags()...)
		flags = append(flags, columnFlags()...)
		return &cli.Command{
			Name:      "eval",
			Usage:     "evaluate a model (or replay recorded outputs) per modality × prompt and write a run record",
			UsageText: "medbench eval --data FILE --out DIR [--runner onnx --model DIR | --runner openai --endpoint URL | --runner replay --outputs FILE[,FILE]] [options]",
			Description: "Each selected sample is rendered with each --prompt template, generated in batches of --batch,\n" +
				"and every output is scored under each --policy:\n" +
				"  strict   the seed's rule: complex -> first <answer>\\s*([A-Z])\\s*</answer> (case-sensitive,\n" +
				"           Python's Unicode \\s); simple -> the whole output must be the letter.\n" +
				"  lenient  last answer block, B. / (B) / B) text / option text, case-insensitive; none when ambiguous.\n" +
				"samples.jsonl is appended and fsynced per batch; an interrupted run (Ctrl-C, kill -9) continues\n" +
				"with --resume, skipping recorded samples. summary.json holds accuracy per modality × prompt ×\n" +
				"policy with a Wilson 95% interval and the parse-failure rate. --shard I/N evaluates one part of\n" +
				"the selection (by a hash of each sample id); `medbench merge` joins the parts into the record an\n" +
				"unsharded run writes (docs/sharding.md). Exit 2 on usage or input errors.",
			Flags:  flags,
			Action: evalAction,
		}
	})
}

func evalAction(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("eval: unexpected arguments %q (all inputs are flags)", c.Args().Slice())
	}
	if c.Int("batch") < 1 {
		return usageErr("eval: --batch %d: want at least 1", c.Int("batch"))
	}
	batch := c.Int("batch")
	if c.String("runner") == "openai" && !c.IsSet("batch") {
		batch = max(c.Int("concurrency"), 1) // one Generate call keeps --concurrency requests in flight
	}
	if c.Int("limit") < 0 {
		return usageErr("eval: --limit %d: want 0 (all) or more", c.Int("limit"))
	}
	if r := c.Float64("max-error-rate"); !(r >= 0 && r <= 1) {
		return usageErr("eval: --max-error-rate %v: want a fraction in [0, 1]", r)
	}
	if err := checkImagesRoot("eval", "images", c.String("images")); err != nil {
		return err
	}
	var shard evaluate.Shard
	if spec := c.String("shard"); spec != "" {
		var err error
		if shard, err = evaluate.ParseShard(spec); err != nil {
			return usageErr("eval: --shard: %v", err)
		}
	}
	prompts, err := parsePrompts(c.StringSlice("prompt"))
	if err != nil {
		return err
	}
	policies, err := parsePolicies(c.StringSlice("policy"))
	if err != nil {
		return err
	}
	sel, err := datasets.ParseSelection(c.String("select"))
	if err != nil {
		return usageErr("eval: --select: %v", err)
	}
	dataPath := c.String("data")
	samples, format, err := loadEvalData(c, dataPath)
	if err != nil {
		return err
	}
	samples, err = datasets.Select(samples, sel, c.StringSlice("modality"))
	if err != nil {
		return inputErr(fmt.Errorf("eval: %s: %w", dataPath, err))
	}
	samples = limitPerModality(samples, c.Int("limit"))
	sum, err := fileSHA256(dataPath)
	if err != nil {
		return inputErr(err)
	}
	mm, err := modalityMapFrom(c)
	if err != nil {
		return inputErr(err)
	}
	invalid, err := checkInvalidItems(c, "eval", dataPath, samples, mm)
	if err != nil {
		return err
	}
	mmSum := ""
	if p := c.String("modality-map"); p != "" {
		if mmSum, err = fileSHA256(p); err != nil {
			return inputErr(err)
		}
	}

	cmdLine := commandLine(c) // before --model hf:... is replaced by its local folder
	var modelSource *hub.ModelSource
	if c.String("runner") == "onnx" {
		if modelSource, err = resolveModelFlag(c, c.String("dtype")); err != nil {
			return err
		}
	}
	runner, err := openRunner(c)
	if err != nil {
		return err
	}
	defer runner.Close()

	m := records.Manifest{
		SchemaVersion: records.SchemaVersion,
		Medbench:      version,
		GitCommit:     gitCommit,
		Command:       cmdLine,
		Started:       time.Now().UTC(),
		Host:          hostInfo(),
		Dataset: records.Dataset{Path: dataPath, SHA256: sum, Images: c.String("images"), Selection: string(sel),
			Modalities: modalitiesOf(samples), N: len(samples)},
		Runner:   runnerInfoMap(runner.Info()),
		Prompts:  evaluate.PromptInfos(prompts),
		Policies: evaluate.PolicyIDs(policies),
		Seed:     c.Uint64("seed"),
		Config: map[string]any{
			"batch": batch, "limit": c.Int("limit"), "select": string(sel), "runner": c.String("runner"),
			"modality": c.StringSlice("modality"), "format": format,
			"invalid_items": c.String("invalid-items"), "modality_map": mmSum,
		},
	}
	if r := c.String("runner"); r == "onnx" || r == "openai" {
		s, err := onnxSampling(c)
		if err != nil {
			return err
		}
		m.Sampling = toMap(s)
		m.Config["max_pixels"], m.Config["min_pixels"] = c.Int("max-pixels"), c.Int("min-pixels")
		m.Config["preset"] = c.String("preset")
		if r == "onnx" {
			m.Config["rgba"] = c.String("rgba")
			m.Config["max_image_pixels"], m.Config["max_batch_image_mib"] = c.Int64("max-image-pixels"), c.Int64("max-batch-image-mib")
			m.Config["dtype"], m.Config["device"] = c.String("dtype"), c.String("device")
		} else {
			m.Config["endpoint"], m.Config["concurrency"] = c.String("endpoint"), c.Int("concurrency")
		}
	}
	if format == "parquet" {
		m.Config["columns"] = columnsFrom(c)
	}
	if modelSource != nil { // the hub reference pinned to its commit (never the token)
		m.Config["model_source"] = modelSource.Map()
	}

	// Ctrl-C: the first stops after the running batch (written), the
	// second aborts it; either way the record stays resumable.
	ctx, stopCh, release := twoStageInterrupt(c.Context, c.App.ErrWriter,
		"interrupt: stopping after the running batch; Ctrl-C again to abort",
		"second interrupt: aborting the running batch")
	defer release()
	summary, err := evaluate.Run(ctx, evaluate.Config{
		Samples: samples, Prompts: prompts, Runner: runner, Batch: batch, OutDir: c.String("out"),
		Resume: c.Bool("resume"), Manifest: m, Policies: policies, Progress: c.App.ErrWriter, SeedFiles: c.Bool("seed-files"),
		Invalid: invalid, Shard: shard, Stop: stopCh,
	})
	if errors.Is(err, evaluate.ErrStopped) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return interruptedErr("eval: interrupted; the samples done so far are in %s; continue with the same command plus --resume", c.String("out"))
	}
	if err != nil {
		return inputErr(err)
	}
	printSummary(c.App.Writer, summary, c.String("out"))
	return errorRateExceeded(c.String("out"), summary.Errors, summary.Samples, c.Float64("max-error-rate"))
}

func parsePrompts(specs []string) ([]datasets.Template, error) {
	var out []datasets.Template
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		t, err := datasets.ParseTemplate(spec)
		if err != nil {
			if strings.Contains(spec, "=") {
				return nil, inputErr(fmt.Errorf("eval: --prompt %s: %w", spec, err))
			}
			return nil, usageErr("eval: --prompt: %v", err)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, usageErr("eval: --prompt: no prompt given")
	}
	return out, nil
}

func parsePolicies(names []string) ([]metrics.Policy, error) {
	var out []metrics.Policy
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		p, err := metrics.DefaultPolicies().ByName(n)
		if err != nil {
			return nil, usageErr("eval: --policy: %v", err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, usageErr("eval: --policy: no policy given")
	}
	return out, nil
}

// loadEvalData reads the dataset as --format says, or by extension, and
// returns the format used.
func loadEvalData(c *cli.Context, path string) ([]datasets.Item, string, error) {
	format := c.String("format")
	switch format {
	case "":
		format = "json"
		if datasets.IsParquetPath(path) {
			format = "parquet"
		}
	case "json", "parquet":
	default:
		return nil, "", usageErr("eval: --format %q: want json or parquet", format)
	}
	mm, err := modalityMapFrom(c)
	if err != nil {
		return nil, "", inputErr(err)
	}
	var samples []datasets.Item
	if format == "parquet" {
		samples, err = datasets.LoadParquetWithMap(path, columnsFrom(c), c.String("images"), mm)
	} else {
		samples, err = datasets.LoadJSONWithMap(path, c.String("images"), mm)
	}
	if err != nil {
		return nil, "", inputErr(err)
	}
	return samples, format, nil
}

// limitPerModality keeps the first n samples of each modality (n <= 0: all).
func limitPerModality(samples []datasets.Item, n int) []datasets.Item {
	if n <= 0 {
		return samples
	}
	count := map[string]int{}
	var out []datasets.Item
	for _, s := range samples {
		if count[s.Modality] < n {
			count[s.Modality]++
			out = append(out, s)
		}
	}
	return out
}

func modalitiesOf(samples []datasets.Item) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range samples {
		if !seen[s.Modality] {
			seen[s.Modality] = true
			out = append(out, s.Modality)
		}
	}
	return out
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("eval: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// commandLine reconstructs the invocation from the flags set.
func commandLine(c *cli.Context) []string {
	out := []string{"medbench", "eval"}
	names := c.FlagNames()
	sort.Strings(names)
	for _, n := range names {
		if !c.IsSet(n) {
			continue
		}
		v := c.Value(n)
		switch x := v.(type) {
		case cli.StringSlice:
			v = strings.Join(x.Value(), ",")
		case *cli.StringSlice:
			v = strings.Join(x.Value(), ",")
		}
		out = append(out, fmt.Sprintf("--%s=%v", n, v))
	}
	return out
}

func hostInfo() records.Host {
	h, _ := os.Hostname()
	return records.Host{Hostname: h, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
}

func toMap(s runners.Sampling) map[string]any {
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// printSummary writes the accuracy table.
func printSummary(w io.Writer, s *records.Summary, dir string) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.AppendHeader(table.Row{"Modality", "Prompt", "Policy", "N", "Correct", "Accuracy %", "Wilson 95% CI", "Parse fail %", "Errors"})
	for _, c := range s.Cells {
		t.AppendRow(table.Row{c.Modality, c.Prompt, c.Policy, c.N, c.Correct, fmt.Sprintf("%.2f", 100*c.Accuracy),
			fmt.Sprintf("[%.2f, %.2f]", 100*c.WilsonLow, 100*c.WilsonHigh), fmt.Sprintf("%.2f", 100*c.ParseFailureRate), c.Errors})
	}
	t.SetStyle(table.StyleLight)
	t.Render()
	fmt.Fprintf(w, "%d samples (%d failed); run record in %s\n", s.Samples, s.Errors, dir)
	if s.InvalidItems > 0 {
		fmt.Fprintf(w, "%d invalid item(s) scored (--invalid-items score): their answer key can never be right; see \"invalid\" in samples.jsonl\n", s.InvalidItems)
	}
}
