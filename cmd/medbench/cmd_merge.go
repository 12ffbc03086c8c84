package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/merge"
)

func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "join the run records of a sharded evaluation (eval --shard I/N) into one run record",
		UsageText: "medbench merge RUN... --out DIR [--allow-partial]",
		Description: "Each RUN is the --out of one `eval --shard I/N`. The shard manifests must agree on the dataset\n" +
			"(sha256, selection, modalities, size), prompts, policies, runner and model files, sampling and\n" +
			"seed, split the same selection into the same N shards, and name each shard index once; every\n" +
			"sample must sit in the shard its id hashes to, and only once. Missing samples (a shard not given,\n" +
			"or cut short) are an error listing every missing key, unless --allow-partial, which writes a\n" +
			"record marked partial. The merged record (manifest with a merge section listing each shard run\n" +
			"and the SHA-256 of its manifest and samples, samples.jsonl in the unsharded order, summary.json,\n" +
			"samples.parquet and the seed-format files when the shards wrote them) equals the record of an\n" +
			"unsharded run apart from timing fields, so `check`, `compare` and `report` read it as any run.\n" +
			"Exit 2 on usage or input errors.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "merged run record `DIR` (must not already hold a run)"},
			&cli.BoolFlag{Name: "allow-partial", Usage: "write a record marked partial when samples are missing, instead of failing"},
		},
		Action: mergeAction,
	}
}

func mergeAction(c *cli.Context) error {
	dirs, err := positionalArgs(c) // flags may also follow the runs
	if err != nil {
		return err
	}
	if len(dirs) == 0 || c.String("out") == "" {
		return usageErr("merge: give the shard run directories and --out, e.g. medbench merge runs/shard-* --out runs/merged")
	}
	cmd := []string{"medbench", "merge"}
	cmd = append(cmd, dirs...)
	cmd = append(cmd, "--out", c.String("out"))
	if c.Bool("allow-partial") {
		cmd = append(cmd, "--allow-partial")
	}
	res, err := merge.Runs(c.Context, dirs, c.String("out"), merge.Options{AllowPartial: c.Bool("allow-partial"), Command: cmd})
	if err != nil {
		return inputErr(err)
	}
	if len(res.Missing) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "medbench: merge: partial record: %d samples missing (listed in the manifest's merge section)\n", len(res.Missing))
	}
	evaluate.WriteSummary(c.App.Writer, &res.Summary, c.String("out"))
	return nil
}
