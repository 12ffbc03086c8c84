package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/reports"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "write report.pdf, report.md, plots/*.png|svg and tables/*.csv|html from run records",
		Description: `Builds a report from one or more run directories (medbench eval --out), an
optional training directory (medbench train ... --out, or train import), bench
results (medbench bench --out FILE) and a golden table.

With several --run, the first is the baseline: each later run is compared with
it (paired, per modality), and the accuracy-across-runs plot shows them in the
order given (e.g. checkpoints). A run that holds two prompts also gets the
prompt ablation (--prompts, default simple,complex when both are present).
With --golden, the last run is checked against the table (verdict page) and
golden values are drawn over the accuracy bars.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "run", Usage: "run directory (repeatable; the first is the baseline)"},
			&cli.StringSliceFlag{Name: "name", Usage: "label for each --run, in order (default: directory names)"},
			&cli.StringFlag{Name: "train", Usage: "training directory holding metrics.jsonl"},
			&cli.StringFlag{Name: "train-golden", Usage: "golden table of the training run: checked (a verdict on page 1) and drawn on the curves"},
			&cli.StringFlag{Name: "train-model", Usage: "--train-golden model to select (when the table holds several)"},
			&cli.StringFlag{Name: "train-dataset", Usage: "--train-golden dataset to select (when the table holds several)"},
			&cli.StringFlag{Name: "bench", Usage: "bench results file (bench.json from medbench bench)"},
			&cli.StringFlag{Name: "golden", Usage: "golden table to check the last run (or --check-run) against and to mark on plots"},
			&cli.StringFlag{Name: "check-run", Usage: "run `DIR` to check against --golden (default: the last --run; it need not be a --run)"},
			&cli.StringFlag{Name: "model", Usage: "golden table model to select (when the table holds several)"},
			&cli.StringFlag{Name: "dataset", Usage: "golden table dataset to select (when the table holds several)"},
			&cli.StringFlag{Name: "prompts", Usage: "prompt ablation within the first run, as A,B (default simple,complex when both ran)"},
			&cli.StringFlag{Name: "prompt", Usage: "prompt whose samples are compared across runs (default: complex if present, else the first)"},
			&cli.StringFlag{Name: "policy", Value: "strict", Usage: "scoring policy for comparisons"},
			&cli.IntFlag{Name: "gallery", Value: 3, Usage: "gallery samples per modality (negative: none)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "paired-bootstrap seed"},
			&cli.StringFlag{Name: "title", Value: "medbench report", Usage: "report title"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output directory"},
		},
		Action: func(c *cli.Context) error {
			out, err := reports.Generate(c.Context, reports.Options{
				Runs: c.StringSlice("run"), Names: c.StringSlice("name"), Train: c.String("train"), TrainGolden: c.String("train-golden"),
				Bench: c.String("bench"), Golden: c.String("golden"), Model: c.String("model"), Dataset: c.String("dataset"),
				Prompts: c.String("prompts"), Prompt: c.String("prompt"), Policy: c.String("policy"), Seed: c.Uint64("seed"),
				Title: c.String("title"), Version: version, Gallery: c.Int("gallery"), CheckRun: c.String("check-run"),
				TrainModel: c.String("train-model"), TrainDataset: c.String("train-dataset"), Out: c.String("out"),
			})
			if err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "report: %s (%d pages)\nmarkdown: %s\nplots: %d in %s\ntables: %d in %s\n",
				out.PDF, out.Pages, out.Markdown, len(out.Plots), filepath.Join(c.String("out"), "plots"), len(out.Tables), filepath.Join(c.String("out"), "tables"))
			return nil
		},
	}
}
