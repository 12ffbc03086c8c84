package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/grpo"
	"github.com/urfave/cli/v2"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "CI gate: check a run against a golden table (exit 0 pass, 1 regression, 2 input error)",
		UsageText: "medbench check --run DIR --golden FILE [--baseline DIR] [--model NAME] [--dataset NAME] [--junit FILE] [--summary FILE.md]",
		Description: "Computes every golden cell of the selected model and dataset from the run's samples\n" +
			"(accuracy, parse_failure_rate or error_rate per modality × prompt × policy; modality \"mean\"\n" +
			"is the unweighted mean over the run's modalities) and judges it against the row's\n" +
			"tolerance: absolute, relative, or not_worse (one-sided exact McNemar test against the\n" +
			"--baseline run on the items both runs share, at the row's alpha). A golden cell absent\n" +
			"from the run, or measured on a different number of items than the row's n, is a failure\n" +
			"(\"missing\"), never a pass. Prints a verdict table and a summary line.\n\n" +
			"Exit status: 0 every cell passed; 1 a regression or a missing cell; 2 usage, input or\n" +
			"infrastructure error (unreadable run or golden file, unknown model, not_worse rows\n" +
			"without --baseline).\n\n" +
			"--max-parse-failure RATE adds a parse_failure_rate gate (at most RATE) for every\n" +
			"modality × prompt × policy of the checked accuracy rows that the table does not gate.\n\n" +
			"--junit writes JUnit XML with one testcase per golden cell. --summary appends a Markdown\n" +
			"report, e.g. --summary \"$GITHUB_STEP_SUMMARY\" for a GitHub Actions job summary.\n\n" +
			"--train DIR checks a training run instead (its metrics.jsonl; rows name a metric, R1-V\n" +
			"or TRL name or eval_accuracy, and an optimizer step), e.g. golden/grpo-tiny.json with\n" +
			"--model fixture-tiny-seed1 --dataset synth-count-demo-train400-seed11-test96-seed12 for\n" +
			"the demo's final-accuracy band (--model/--dataset select rows as for runs).\n\n" +
			"Subcommands write golden tables: bless (exact values from a run) and calibrate\n" +
			"(tolerances from the spread of K runs with different seeds). File format: golden/FORMAT.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run record `DIR` to check"},
			&cli.StringFlag{Name: "train", Usage: "training output `DIR` (its metrics.jsonl) to check instead of a run: rows name a metric and an optimizer step"},
			&cli.StringFlag{Name: "golden", Usage: "golden table `FILE` (JSON)"},
			&cli.StringFlag{Name: "baseline", Usage: "baseline run `DIR` for not_worse rows"},
			&cli.StringFlag{Name: "model", Usage: "golden rows' model `NAME` (default: the table's only model)"},
			&cli.StringFlag{Name: "dataset", Usage: "golden rows' dataset `NAME` (default: the table's only dataset)"},
			&cli.Float64Flag{Name: "max-parse-failure", Usage: "also fail any checked cell whose parse-failure rate exceeds `RATE` (0: off)"},
			&cli.StringFlag{Name: "junit", Usage: "write JUnit XML to `FILE`"},
			&cli.StringFlag{Name: "summary", Usage: "append a Markdown report to `FILE` (e.g. $GITHUB_STEP_SUMMARY)"},
		},
		Subcommands: []*cli.Command{checkBlessCommand(), checkCalibrateCommand()},
		Action:      checkAction,
	}
}

func checkAction(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("check: unexpected arguments %q", c.Args().Slice())
	}
	runDir, trainDir, goldenPath := c.String("run"), c.String("train"), c.String("golden")
	if (runDir == "") == (trainDir == "") || goldenPath == "" {
		return usageErr("check: --golden and one of --run or --train are required (see medbench check --help)")
	}
	var gate *golden.Gate
	if trainDir != "" {
		var err error
		if gate, err = grpo.CheckTrainGate(trainDir, goldenPath, c.String("model"), c.String("dataset")); err != nil {
			return inputErr(err)
		}
	} else {
		mp := c.Float64("max-parse-failure")
		if !(mp >= 0 && mp <= 1) {
			return usageErr("check: --max-parse-failure must be in [0, 1]")
		}
		var err error
		gate, err = golden.CheckRunDir(golden.RunGate{Run: runDir, Golden: goldenPath, Baseline: c.String("baseline"),
			Model: c.String("model"), Dataset: c.String("dataset"), MaxParseFailureRate: mp, Warn: c.App.ErrWriter})
		if err != nil {
			return inputErr(err)
		}
	}
	if err := gate.Write(c.App.Writer, c.String("junit"), c.String("summary")); err != nil {
		return inputErr(err)
	}
	if gate.Failed() {
		return failErr(nil)
	}
	return nil
}

func checkBlessCommand() *cli.Command {
	return &cli.Command{
		Name:      "bless",
		Usage:     "write a golden table of a run's exact values (regenerates fixture goldens)",
		UsageText: "medbench check bless --run DIR --out FILE --model NAME --dataset NAME [--tolerance abs:0] [--source TEXT]",
		Description: "Writes one row per prompt × policy × modality (plus \"mean\" when the run has several\n" +
			"modalities) × metric (accuracy, parse_failure_rate), with the run's value and n.\n" +
			"--tolerance is abs:X, rel:X or not_worse:ALPHA (default abs:0, exact); an exact tolerance\n" +
			"fails on any change in either direction, a non-zero one only on a change for the worse\n" +
			"(a drop in accuracy, a rise in parse failures). The table records this command as\n" +
			"generated_by: golden tables produced this way are regenerated, never edited by hand.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run record `DIR`"},
			&cli.StringFlag{Name: "out", Usage: "golden `FILE` to write"},
			&cli.StringFlag{Name: "model", Usage: "model `NAME` for the rows"},
			&cli.StringFlag{Name: "dataset", Usage: "dataset `NAME` for the rows"},
			&cli.StringFlag{Name: "tolerance", Value: "abs:0", Usage: "`TOL` for every row: abs:X, rel:X or not_worse:ALPHA"},
			&cli.StringFlag{Name: "source", Usage: "provenance source `TEXT` (default: this command)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usageErr("check bless: unexpected arguments %q", c.Args().Slice())
			}
			for _, f := range []string{"run", "out", "model", "dataset"} {
				if c.String(f) == "" {
					return usageErr("check bless: --%s is required", f)
				}
			}
			tol, err := golden.ParseTolerance(c.String("tolerance"))
			if err != nil {
				return usageErr("check bless: %v", err)
			}
			cmd := golden.BlessCommand(c.String("run"), c.String("out"), c.String("model"), c.String("dataset"), c.String("tolerance"))
			src := c.String("source")
			if src == "" {
				src = "medbench check bless (run " + filepath.Base(c.String("run")) + ")"
			}
			t, err := golden.BlessDir(c.String("run"), c.String("out"), golden.BlessOptions{Model: c.String("model"), Dataset: c.String("dataset"),
				Tolerance: tol, Source: src, GeneratedBy: cmd}, c.App.ErrWriter)
			if err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "medbench check bless: wrote %d rows to %s\n", len(t.Rows), c.String("out"))
			return nil
		},
	}
}

func checkCalibrateCommand() *cli.Command {
	return &cli.Command{
		Name:  "calibrate",
		Usage: "write noise-floor tolerances (K·σ over K runs with different seeds) into a golden table",
		UsageText: "medbench check calibrate --runs DIR,DIR,... --out FILE --model NAME --dataset NAME [--k 2.8] [--floor 0]\n" +
			"medbench check calibrate --repeat K --work DIR --out FILE --model NAME --dataset NAME [--first-seed 1] -- EVAL-ARGS...",
		Description: "The runs must be the same configuration with sampling on and different seeds, e.g.\n" +
			"  for i in 1 2 3 4 5; do medbench eval --seed $i --out runs/s$i ...; done\n" +
			"or let calibrate run them: with --repeat K it runs `medbench eval EVAL-ARGS --seed S --out\n" +
			"WORK/seed-S` for S = first-seed … first-seed+K−1 (EVAL-ARGS after \"--\" must turn sampling\n" +
			"on and must not set --seed or --out), then calibrates over those runs.\n" +
			"Each cell's expected value is the mean over the runs and its absolute tolerance\n" +
			"max(k·σ, floor), σ the sample standard deviation across runs; k = 2.8 is the\n" +
			"repeatability limit (≈ 1.96·√2: 95% of differences between two runs fall within it).\n" +
			"Tolerances are one-sided in each metric's natural direction (a drop in accuracy, a rise\n" +
			"in parse failures). Every run must have the same cells with the same n.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "runs", Usage: "comma-separated run `DIRS` (at least 2)"},
			&cli.IntFlag{Name: "repeat", Usage: "run `K` evaluations (medbench eval with the arguments after --) instead of --runs"},
			&cli.StringFlag{Name: "work", Usage: "with --repeat: `DIR` for the K run records"},
			&cli.Uint64Flag{Name: "first-seed", Value: 1, Usage: "with --repeat: seed of the first run"},
			&cli.StringFlag{Name: "out", Usage: "golden `FILE` to write"},
			&cli.StringFlag{Name: "model", Usage: "model `NAME` for the rows"},
			&cli.StringFlag{Name: "dataset", Usage: "dataset `NAME` for the rows"},
			&cli.Float64Flag{Name: "k", Value: golden.RepeatabilityK, Usage: "multiplier of σ"},
			&cli.Float64Flag{Name: "floor", Value: 0, Usage: "smallest absolute tolerance"},
		},
		Action: func(c *cli.Context) error {
			for _, f := range []string{"out", "model", "dataset"} {
				if c.String(f) == "" {
					return usageErr("check calibrate: --%s is required", f)
				}
			}
			if !(c.Float64("k") > 0) || !(c.Float64("floor") >= 0) {
				return usageErr("check calibrate: --k must be > 0 and --floor ≥ 0")
			}
			var dirs []string
			var rep *golden.Repeat
			switch {
			case c.IsSet("repeat") && c.String("runs") != "":
				return usageErr("check calibrate: use either --runs or --repeat")
			case c.IsSet("repeat"):
				rep = &golden.Repeat{K: c.Int("repeat"), Work: c.String("work"), FirstSeed: c.Uint64("first-seed"), EvalArgs: c.Args().Slice(),
					Eval: func(args []string) int { return run(append([]string{"medbench", "eval"}, args...)) }, Log: os.Stderr}
				if err := rep.Check(); err != nil {
					return usageErr("check calibrate: %v", err)
				}
				var err error
				if dirs, err = rep.Run(c.Context); err != nil {
					return inputErr(fmt.Errorf("check calibrate: %w", err))
				}
			case c.String("runs") != "":
				if c.Args().Len() > 0 {
					return usageErr("check calibrate: unexpected arguments %q (eval arguments go with --repeat)", c.Args().Slice())
				}
				dirs = golden.SplitRuns(c.String("runs"))
			default:
				return usageErr("check calibrate: give --runs DIR,DIR,... or --repeat K --work DIR -- EVAL-ARGS")
			}
			if len(dirs) < 2 {
				return usageErr("check calibrate: --runs needs at least 2 run directories, got %d", len(dirs))
			}
			gen := golden.CalibrateCommand(c.String("runs"), rep, c.String("out"), c.String("model"), c.String("dataset"), c.Float64("k"), c.Float64("floor"))
			t, err := golden.CalibrateDirs(dirs, c.String("out"), golden.CalibrateOptions{
				Model: c.String("model"), Dataset: c.String("dataset"), K: c.Float64("k"), Floor: c.Float64("floor"),
				Source:      fmt.Sprintf("medbench check calibrate over %d runs", len(dirs)),
				GeneratedBy: gen,
			}, c.App.ErrWriter)
			if err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "medbench check calibrate: wrote %d rows from %d runs to %s\n", len(t.Rows), len(dirs), c.String("out"))
			return nil
		},
	}
}
