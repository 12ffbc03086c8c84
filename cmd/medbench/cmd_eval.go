package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/internal/interrupt"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/runners"
)

// evalCommand is `medbench eval` over the runners of reg.
func evalCommand(reg *runners.Registry) *cli.Command {
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
	}
	flags = append(flags, runnerFlags(reg, "onnx")...)
	flags = append(flags, runners.SamplingFlags()...)
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
		Action: func(c *cli.Context) error { return evalAction(c, reg) },
	}
}

func evalAction(c *cli.Context, reg *runners.Registry) error {
	if c.Args().Len() > 0 {
		return usageErr("eval: unexpected arguments %q (all inputs are flags)", c.Args().Slice())
	}
	if c.Int("batch") < 1 {
		return usageErr("eval: --batch %d: want at least 1", c.Int("batch"))
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
	prompts, err := datasets.ParseTemplatesFlag("prompt", c.StringSlice("prompt"))
	if err != nil {
		return inputErr(fmt.Errorf("eval: %w", err))
	}
	policies, err := metrics.DefaultPolicies().Parse(c.StringSlice("policy"))
	if err != nil {
		return usageErr("eval: --policy: %v", err)
	}
	sel, err := datasets.ParseSelection(c.String("select"))
	if err != nil {
		return usageErr("eval: --select: %v", err)
	}
	data := evaluate.Data{Cmd: "eval", Path: c.String("data"), Images: c.String("images"), Format: c.String("format"),
		Columns: columnsFrom(c), ModalityMapPath: c.String("modality-map"), Selection: sel, Modalities: c.StringSlice("modality"),
		Limit: c.Int("limit"), InvalidItems: c.String("invalid-items")}
	selected, err := evaluate.LoadData(data)
	if err != nil {
		return inputErr(err)
	}

	cmdLine := commandLine(c) // before --model hf:... is replaced by its local folder
	opened, err := openRunner(c, reg, "eval", nil)
	if err != nil {
		return err
	}
	defer opened.runner.Close()
	batch := c.Int("batch")
	if opened.driver.Remote != "" && !c.IsSet("batch") {
		batch = max(c.Int("concurrency"), 1) // one Generate call keeps --concurrency requests in flight
	}
	var smp *runners.Sampling
	if opened.driver.Samples {
		smp = &opened.sampling
	}
	var src map[string]any
	if opened.model != nil {
		src = opened.model.Map()
	}

	// Ctrl-C: the first stops after the running batch (written), the
	// second aborts it; either way the record stays resumable.
	ctx, stopCh, release := interrupt.TwoStage(c.Context, c.App.ErrWriter,
		"interrupt: stopping after the running batch; Ctrl-C again to abort",
		"second interrupt: aborting the running batch")
	defer release()
	summary, err := evaluate.RunCommand(ctx, evaluate.Command{
		Data: data, Selected: selected, Version: version, GitCommit: gitCommit, Line: cmdLine,
		Runner: opened.runner, RunnerName: c.String("runner"), RunnerConfig: opened.driver.ManifestConfig(c), ModelSource: src,
		Sampling: smp, Seed: c.Uint64("seed"), Prompts: prompts, Policies: policies, Batch: batch, Out: c.String("out"),
		Resume: c.Bool("resume"), SeedFiles: c.Bool("seed-files"), Shard: shard, Progress: c.App.ErrWriter, Stop: stopCh,
	})
	if errors.Is(err, evaluate.ErrStopped) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return interruptedErr("eval: interrupted; the samples done so far are in %s; continue with the same command plus --resume", c.String("out"))
	}
	if err != nil {
		return inputErr(err)
	}
	evaluate.WriteSummary(c.App.Writer, summary, c.String("out"))
	return errorRateExceeded(c.String("out"), summary.Errors, summary.Samples, c.Float64("max-error-rate"))
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
