package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/metrics"
)

func toolsStatsCommand() *cli.Command {
	return &cli.Command{
		Name:  "stats",
		Usage: "paired statistics as JSON (McNemar, paired bootstrap, Holm, MDE) for checking against a reference",
		Subcommands: []*cli.Command{
			{
				Name:      "mcnemar",
				Usage:     "exact (two- and one-sided) and continuity-corrected McNemar tests for discordant counts b, c",
				UsageText: "medbench tools stats mcnemar --b N --c N",
				Description: "b = items A got right and B wrong, c = the reverse. Prints JSON: exact_p =\n" +
					"min(1, 2·P(X ≤ min(b,c))), X ~ Bin(b+c, ½); one_sided_p = P(X ≥ b) (small when B is\n" +
					"worse); chi2 = max(0, |b−c|−1)²/(b+c) and its χ²₁ p-value chi2_p.",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "b", Usage: "count of items only A got right", Required: true},
					&cli.IntFlag{Name: "c", Usage: "count of items only B got right", Required: true},
				},
				Action: func(c *cli.Context) error {
					b, cc := c.Int("b"), c.Int("c")
					if b < 0 || cc < 0 {
						return usageErr("tools stats mcnemar: --b and --c must be ≥ 0")
					}
					return writeJSON(c, metrics.McNemarAll(b, cc))
				},
			},
			{
				Name:      "bootstrap",
				Usage:     "paired bootstrap interval of acc(B) − acc(A) from two outcome files",
				UsageText: "medbench tools stats bootstrap --a FILE --b FILE [--resamples 10000] [--seed 0] [--conf 0.95]",
				Description: "Each file holds one outcome per line, item i of A paired with item i of B: 1/0 or\n" +
					"true/false; blank lines and lines starting with # are skipped. Prints JSON with the\n" +
					"accuracies, delta, the percentile interval [lo, hi], the discordant counts and the exact\n" +
					"McNemar p-value.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "a", Usage: "outcomes `FILE` of A", Required: true},
					&cli.StringFlag{Name: "b", Usage: "outcomes `FILE` of B", Required: true},
					&cli.IntFlag{Name: "resamples", Value: 10000, Usage: "bootstrap resamples"},
					&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "PCG seed"},
					&cli.Float64Flag{Name: "conf", Value: 0.95, Usage: "interval confidence"},
				},
				Action: func(c *cli.Context) error {
					a, err := readOutcomes(c.String("a"))
					if err != nil {
						return err
					}
					b, err := readOutcomes(c.String("b"))
					if err != nil {
						return err
					}
					if len(a) != len(b) || len(a) == 0 {
						return inputErr(fmt.Errorf("tools stats bootstrap: %s has %d outcomes, %s has %d: want the same, > 0", c.String("a"), len(a), c.String("b"), len(b)))
					}
					conf := c.Float64("conf")
					if c.Int("resamples") < 1 || !(conf > 0 && conf < 1) {
						return usageErr("tools stats bootstrap: need --resamples ≥ 1 and 0 < --conf < 1")
					}
					return writeJSON(c, metrics.ComparePaired(a, b, c.Int("resamples"), c.Uint64("seed"), conf))
				},
			},
			{
				Name:      "holm",
				Usage:     "Holm step-down adjusted p-values",
				UsageText: "medbench tools stats holm --p 0.01,0.04,0.03",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "p", Usage: "comma-separated p-`VALUES`", Required: true}},
				Action: func(c *cli.Context) error {
					ps, err := metrics.ParsePValues(c.String("p"))
					if err != nil {
						return usageErr("tools stats holm: %v", err)
					}
					return writeJSON(c, map[string]any{"p": ps, "holm": metrics.Holm(ps)})
				},
			},
			{
				Name:      "mde",
				Usage:     "minimum detectable paired difference (Connor 1987) for n items and a discordance rate",
				UsageText: "medbench tools stats mde --n 300 --discordance 0.2 [--alpha 0.05] [--power 0.8]",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "n", Usage: "paired items", Required: true},
					&cli.Float64Flag{Name: "discordance", Usage: "fraction of items on which the systems disagree", Required: true},
					&cli.Float64Flag{Name: "alpha", Value: 0.05, Usage: "two-sided level"},
					&cli.Float64Flag{Name: "power", Value: 0.8, Usage: "power"},
				},
				Action: func(c *cli.Context) error {
					r, ok := metrics.MDEFor(c.Int("n"), c.Float64("discordance"), c.Float64("alpha"), c.Float64("power"))
					if !ok {
						return usageErr("tools stats mde: need n ≥ 1, 0 ≤ discordance ≤ 1, 0 < alpha < 1, 0.5 ≤ power < 1")
					}
					return writeJSON(c, r)
				},
			},
		},
	}
}

func writeJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return inputErr(fmt.Errorf("tools stats: %w", err))
	}
	return nil
}

// readOutcomes reads an outcomes file (metrics.ReadOutcomes).
func readOutcomes(path string) ([]bool, error) {
	o, err := metrics.ReadOutcomes(path)
	if err != nil {
		return nil, inputErr(fmt.Errorf("tools stats: %w", err))
	}
	return o, nil
}
