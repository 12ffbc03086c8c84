package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/demo"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the whole job on the built-in fixture model and synthetic data",
		Description: `Writes the tiny fixture model, synthesizes image-dependent data for every
modality, evaluates both prompts under both scoring policies, checks the
fixture's golden table, compares the prompts, trains (SFT for the format, then
GRPO to read the image), evaluates the trained checkpoint, compares before and
after, and writes a report. Every step is a medbench command, printed before it
runs; a second run reuses the outputs that exist.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "demo-out", Usage: "output directory"},
			&cli.StringFlag{Name: "golden", Value: filepath.Join("golden", "fixture-synthetic.json"), Usage: "the fixture's golden table"},
			&cli.StringFlag{Name: "train-golden", Value: filepath.Join("golden", "grpo-tiny.json"), Usage: "the training golden table (the demo's final-accuracy band)"},
			&cli.IntFlag{Name: "threads", Value: 2, Usage: "ONNX Runtime intra-op threads"},
			&cli.BoolFlag{Name: "fresh", Usage: "delete --out first instead of reusing it"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("fresh") {
				if err := os.RemoveAll(c.String("out")); err != nil {
					return inputErr(err)
				}
			}
			err := demo.Run(c.Context, c.App.Writer, demo.Options{
				Out: c.String("out"), Golden: c.String("golden"), TrainGolden: c.String("train-golden"), Threads: c.Int("threads"),
				Command: func(args []string) int { return run(append([]string{"medbench"}, args...)) },
			})
			if err != nil {
				return inputErr(fmt.Errorf("demo: %w", err))
			}
			return nil
		},
	}
}
