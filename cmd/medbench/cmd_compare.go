package main

import (
	"github.com/medbench/medbench/golden"
	"github.com/urfave/cli/v2"
)

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:  "compare",
		Usage: "paired comparison of two runs (checkpoint vs checkpoint) or two prompts within one run",
		UsageText: "medbench compare --a RUN --b RUN [--prompt complex] [options]\n" +
			"medbench compare --run RUN --prompts simple,complex [options]",
		Description: "Pairs the items of the two arms by modality and sample id and reports, per modality and\n" +
			"pooled: accuracy of A and B, Δ = B − A with a paired bootstrap interval, the discordant\n" +
			"counts b (only A right) and c (only B right), the exact two-sided McNemar p-value, its\n" +
			"Holm adjustment across modalities, the minimum detectable difference (MDE) at --alpha\n" +
			"and --power for that n and discordance, and a verdict at --alpha on the Holm p-value.\n" +
			"Arms over different item sets are compared on their intersection, and the output says\n" +
			"so; paired items must have the same question, options, image and answer.\n\n" +
			"Prints the table and the first --top discordant items; with --out DIR also writes\n" +
			"compare.md, compare.json (the same cells for pipelines: accuracies and Δ as fractions, MDE\n" +
			"null when undefined, schema_version; see docs/sharding.md), discordant.md and discordant.csv\n" +
			"(every discordant item with both outputs).\n" +
			"Exit status 0, or 1 with --fail-on-worse when B is significantly worse in some modality;\n" +
			"2 on usage or input errors.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "a", Usage: "run `DIR` of arm A (e.g. the baseline checkpoint)"},
			&cli.StringFlag{Name: "b", Usage: "run `DIR` of arm B (e.g. the candidate checkpoint)"},
			&cli.StringFlag{Name: "prompt", Value: "complex", Usage: "with --a/--b: the prompt `NAME` compared"},
			&cli.StringFlag{Name: "run", Usage: "run `DIR` holding both prompts (prompt ablation)"},
			&cli.StringFlag{Name: "prompts", Usage: "with --run: the two prompts `A,B`, e.g. simple,complex"},
			&cli.StringFlag{Name: "policy", Value: "strict", Usage: "scoring `POLICY`"},
			&cli.StringFlag{Name: "out", Usage: "write compare.md, compare.json, discordant.md, discordant.csv into `DIR`"},
			&cli.Float64Flag{Name: "alpha", Value: 0.05, Usage: "family-wise significance level (Holm)"},
			&cli.Float64Flag{Name: "power", Value: 0.8, Usage: "power for the MDE"},
			&cli.IntFlag{Name: "resamples", Value: 10000, Usage: "paired bootstrap resamples"},
			&cli.Float64Flag{Name: "conf", Value: 0.95, Usage: "bootstrap interval confidence"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "bootstrap seed"},
			&cli.IntFlag{Name: "top", Value: 10, Usage: "discordant items printed (0: none)"},
			&cli.BoolFlag{Name: "fail-on-worse", Usage: "exit 1 when B is significantly worse in any modality"},
		},
		Action: compareAction,
	}
}

func compareAction(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("compare: unexpected arguments %q", c.Args().Slice())
	}
	p := golden.Pairing{Top: c.Int("top"), Out: c.String("out"), Warn: c.App.ErrWriter}
	if err := p.SetArms(golden.Arms{A: c.String("a"), B: c.String("b"), Prompt: c.String("prompt"),
		Run: c.String("run"), Prompts: c.String("prompts"), PromptsSet: c.IsSet("prompts")}); err != nil {
		return usageErr("compare: %v", err)
	}
	p.Options = golden.CompareOptions{Policy: c.String("policy"), Alpha: c.Float64("alpha"), Power: c.Float64("power"),
		Resamples: c.Int("resamples"), Seed: c.Uint64("seed"), Conf: c.Float64("conf")}
	if err := p.Check(); err != nil {
		return usageErr("compare: %v", err)
	}
	res, err := golden.CompareRuns(c.Context, c.App.Writer, p)
	if err != nil {
		return inputErr(err)
	}
	if c.Bool("fail-on-worse") {
		if err := res.Worse(); err != nil {
			return failErr(err)
		}
	}
	return nil
}
