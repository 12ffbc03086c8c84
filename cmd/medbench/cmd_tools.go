package main

import (
	"github.com/urfave/cli/v2"
)

func init() { register(toolsCommand) }

// toolsCommand is `medbench tools ...`.
func toolsCommand() *cli.Command {
	return &cli.Command{
		Name:  "tools",
		Usage: "low-level tools: tokenize, preprocess images, statistics",
		// In name order, as help lists them.
		Subcommands: []*cli.Command{
			toolsGenerateCommand(), toolsPreprocessCommand(), toolsStatsCommand(), toolsTokenizeCommand(),
		},
	}
}
