package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/modelref"
)

// hubEnvHelp documents the environment the hub commands read.
const hubEnvHelp = "Environment (as huggingface_hub): HF_ENDPOINT (default https://huggingface.co), HF_TOKEN\n" +
	"(gated/private repos; sent as Authorization: Bearer, never printed or written), HF_HUB_CACHE or\n" +
	"HF_HOME/hub (default ~/.cache/huggingface/hub; the same cache Python's huggingface_hub uses),\n" +
	"HF_HUB_OFFLINE=1 (cache only, no network)."

// hubClient configures the hub client from the environment, with progress on stderr.
func hubClient(c *cli.Context) (*hub.Client, error) {
	hc, err := hub.FromEnv(os.Getenv)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	hc.Progress = errWriter(c)
	return hc, nil
}

func errWriter(c *cli.Context) io.Writer {
	if c.App != nil && c.App.ErrWriter != nil {
		return c.App.ErrWriter
	}
	return os.Stderr
}

// resolveModelFlag turns --model hf:ORG/NAME[@REVISION] into a local model
// directory (downloading, and importing a checkpoint once, as needed) and
// sets --model to it, so everything after sees a directory. It returns the
// hub source for the run manifest, nil for a plain directory.
func resolveModelFlag(c *cli.Context, dtype string) (*hub.ModelSource, error) {
	v := c.String("model")
	if !hub.IsRef(v) {
		return nil, nil
	}
	dir, src, err := resolveModelRef(c, v, dtype)
	if err != nil {
		return nil, err
	}
	if err := c.Set("model", dir); err != nil {
		return nil, inputErr(fmt.Errorf("--model: %w", err))
	}
	return src, nil
}

// resolveModelRef resolves one hf: model reference for the dtype spec
// (modelref.Resolve); Ctrl-C stops a download (it resumes on the next run)
// or an import (its temporary folder is removed) cleanly.
func resolveModelRef(c *cli.Context, ref, dtype string) (string, *hub.ModelSource, error) {
	ctx, stop := signal.NotifyContext(contextOf(c), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, src, err := modelref.Resolve(ctx, ref, modelref.Options{DType: dtype, Getenv: os.Getenv, Progress: errWriter(c)})
	if err != nil {
		return "", nil, inputErr(err)
	}
	fmt.Fprintf(errWriter(c), "hub: %s -> commit %s (%s layout): %s\n", src.Ref, src.Commit, src.Layout, dir)
	return dir, &src, nil
}

func contextOf(c *cli.Context) context.Context {
	if c.Context != nil {
		return c.Context
	}
	return context.Background()
}

// hubDownloadCommand is `medbench model download` / `medbench dataset download`.
func hubDownloadCommand(kind hub.RepoType) *cli.Command {
	return &cli.Command{
		Name:      "download",
		Usage:     fmt.Sprintf("download a Hugging Face hub %s repo into the huggingface_hub cache and print its snapshot folder", kind),
		ArgsUsage: "ORG/NAME",
		Description: "Pins --revision (branch, tag or commit; default main) to a commit with the hub's revision API,\n" +
			"then fetches the selected files (--include/--exclude: fnmatch globs as huggingface_hub's\n" +
			"allow_patterns/ignore_patterns; '*' also matches '/') into blobs/<etag>, verified against the\n" +
			"hub's etag (sha256 for LFS files, git's blob sha1 otherwise), linked from snapshots/<commit>/.\n" +
			"Interrupted transfers resume (HTTP Range). Files already in the snapshot are not fetched again;\n" +
			"a commit id with a complete snapshot makes no request. Prints the snapshot folder on stdout.\n" +
			hubEnvHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "revision", Usage: "branch, tag or commit `REV` (default main)"},
			&cli.StringSliceFlag{Name: "include", Usage: "only files matching `GLOB` (repeatable)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "skip files matching `GLOB` (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usageErr("%s download: want one ORG/NAME repo id, got %d arguments", kind, len(args))
			}
			r, err := hub.ParseRefRevision(args[0], kind, c.String("revision"), c.IsSet("revision"))
			if err != nil {
				return usageErr("%s download: %v", kind, err)
			}
			hc, err := hubClient(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(contextOf(c), os.Interrupt, syscall.SIGTERM)
			defer stop()
			snap, err := hc.Download(ctx, r, hub.Options{Include: c.StringSlice("include"), Exclude: c.StringSlice("exclude")})
			if err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(errWriter(c), "hub: %s -> commit %s, %d files\n", snap.Ref, snap.Commit, len(snap.Files))
			fmt.Fprintln(c.App.Writer, snap.Dir)
			return nil
		},
	}
}
