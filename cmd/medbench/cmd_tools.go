package main

import (
	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/runners"
)

// toolsCommand is `medbench tools ...`; tools generate opens its runner
// through reg.
func toolsCommand(reg *runners.Registry) *cli.Command {
	return &cli.Command{
		Name:  "tools",
		Usage: "low-level tools: tokenize, preprocess images, statistics",
		// In name order, as help lists them.
		Subcommands: []*cli.Command{
			toolsGenerateCommand(reg), toolsPreprocessCommand(), toolsStatsCommand(), toolsTokenizeCommand(),
		},
	}
}
