package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/checkpoint"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// importCheckpoint converts a downloaded Hugging Face checkpoint (config.json
// + *.safetensors) into a model directory for `--model hf:...`.
func importCheckpoint(ctx context.Context, hfDir, outDir, dtype string) error {
	return checkpoint.Import(ctx, hfDir, outDir, checkpoint.ImportOptions{DType: dtype})
}

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

// resolveModelRef resolves one hf: model reference for the dtype spec.
func resolveModelRef(c *cli.Context, ref, dtype string) (string, *hub.ModelSource, error) {
	r, err := hub.ParseRef(ref, hub.Model)
	if err != nil {
		return "", nil, usageErr("--model: %v", err)
	}
	if dtype == "" {
		dtype = "fp32"
	}
	files, err := qwen2vl.ONNXFiles(dtype)
	if err != nil {
		return "", nil, usageErr("--dtype: %v", err)
	}
	hc, err := hubClient(c)
	if err != nil {
		return "", nil, err
	}
	root, err := hub.ImportRoot(os.Getenv)
	if err != nil {
		return "", nil, usageErr("%v", err)
	}
	opts := hub.ModelOptions{ONNXFiles: files, DType: dtype, Import: importCheckpoint, ImportRoot: root}
	// Ctrl-C stops a download (it resumes on the next run) or an import (its
	// temporary folder is removed) cleanly.
	ctx, stop := signal.NotifyContext(contextOf(c), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, src, err := hc.ResolveModel(ctx, r, opts)
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
			spec := strings.TrimPrefix(args[0], hub.ModelPrefix)
			if c.IsSet("revision") {
				if strings.Contains(spec, "@") {
					return usageErr("%s download: give the revision once (ORG/NAME@REV or --revision)", kind)
				}
				spec += "@" + c.String("revision")
			}
			r, err := hub.ParseRef(spec, kind)
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

// servedModelName is serve's model name: --served-model-name, else the hub
// repo id for hf:ORG/NAME[@REV] (as vLLM names a hub model), else the model
// folder's name.
func servedModelName(flag, modelArg, dir string) string {
	if flag != "" {
		return flag
	}
	if hub.IsRef(modelArg) {
		if r, err := hub.ParseRef(modelArg, hub.Model); err == nil {
			return r.ID
		}
	}
	return filepath.Base(filepath.Clean(dir))
}
