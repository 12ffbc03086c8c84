package main

import (
	"sort"

	"github.com/urfave/cli/v2"
)

// toolFactories are the `medbench tools ...` subcommands, registered by
// init functions in their own files.
var toolFactories []func() *cli.Command

func registerTool(f func() *cli.Command) { toolFactories = append(toolFactories, f) }

func init() {
	register(func() *cli.Command {
		subs := make([]*cli.Command, 0, len(toolFactories))
		for _, f := range toolFactories {
			subs = append(subs, f())
		}
		sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
		return &cli.Command{
			Name:        "tools",
			Usage:       "low-level tools: tokenize, preprocess images, statistics",
			Subcommands: subs,
		}
	})
}
