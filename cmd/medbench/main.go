// Command medbench evaluates medical vision-language models, gates CI on
// golden tables, compares runs, writes reports and trains with GRPO.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/runners"
)

// version is set at build time with -ldflags "-X main.version=...".
var (
	version   = "dev"
	gitCommit = ""
)

// newApp builds the command line over the runner registry reg: eval,
// bench, serve, train and tools generate open their runners through it.
// Every command is listed here, in the order help shows them.
func newApp(reg *runners.Registry) *cli.App {
	cmds := []*cli.Command{
		benchCommand(reg),
		checkCommand(),
		compareCommand(),
		datasetCommand(),
		demoCommand(),
		evalCommand(reg),
		mergeCommand(),
		modelCommand(),
		reportCommand(),
		serveCommand(reg),
		toolsCommand(reg),
		trainCommand(reg),
	}
	return &cli.App{
		Name:                 "medbench",
		Usage:                "batch evaluation, CI gating and GRPO training for medical vision-language models",
		Version:              version,
		Commands:             cmds,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {}, // main prints and exits
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return usageErr("%v", err)
		},
	}
}

func main() {
	os.Exit(run(os.Args))
}

// run executes the CLI (over defaultRunners) and maps errors to exit codes: 0 ok, 1 regression or
// validation failure, 2 usage/input/infrastructure error.
func run(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "medbench: internal error: %v\n", r)
			code = 2
		}
	}()
	err := newApp(defaultRunners()).Run(args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(os.Stderr, "medbench: %v\n", ee.err)
		}
		return ee.code
	}
	var ce cli.ExitCoder
	if errors.As(err, &ce) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(os.Stderr, "medbench: %s\n", msg)
		}
		return ce.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "medbench: %v\n", err)
	return 2
}
