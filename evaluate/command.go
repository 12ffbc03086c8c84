package evaluate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// Data is the dataset of an evaluation command (eval, bench): the file,
// how its records are read, selected and limited, and what is done with
// records whose answer key can never be right.
type Data struct {
	// Cmd names the command in errors ("eval").
	Cmd string
	// Path is the dataset file; Images its images root ("": the file's
	// folder); Format json, parquet or "" (by the file's extension).
	Path, Images, Format string
	// Columns map a parquet file's columns.
	Columns datasets.ColumnMap
	// ModalityMapPath is the --modality-map file ("": the built-in map).
	ModalityMapPath string
	// Selection and Modalities form the per-modality test sets
	// (datasets.Select); Limit keeps the first Limit items of each
	// modality (0: all).
	Selection  datasets.Selection
	Modalities []string
	Limit      int
	// InvalidItems is the --invalid-items mode (datasets.CheckInvalid);
	// "" skips the check.
	InvalidItems string
}

// Selected is the outcome of LoadData.
type Selected struct {
	// Items are the selected records, in evaluation order.
	Items []datasets.Item
	// Format is the format the file was read as (json or parquet).
	Format string
	// Invalid maps the record index of each item with answer-key problems
	// to them, under datasets.InvalidScore.
	Invalid map[int]string
}

// LoadData reads, selects and limits the dataset d and checks its items'
// answer keys. Errors name d.Cmd where the datasets function's do not name
// the file.
func LoadData(d Data) (*Selected, error) {
	format, err := datasets.Format(d.Path, d.Format)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", d.Cmd, err)
	}
	mm, err := modalityMap(d.ModalityMapPath)
	if err != nil {
		return nil, err
	}
	items, err := datasets.Load(d.Path, datasets.LoadOptions{ImagesRoot: d.Images, Format: format, Columns: d.Columns, Modalities: mm})
	if err != nil {
		return nil, err
	}
	if items, err = datasets.Select(items, d.Selection, d.Modalities); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", d.Cmd, d.Path, err)
	}
	sel := &Selected{Items: LimitPerModality(items, d.Limit), Format: format}
	if d.InvalidItems == "" {
		return sel, nil
	}
	sel.Invalid, err = datasets.CheckInvalid(d.Cmd, d.Path, d.InvalidItems, sel.Items, mm)
	if ue := (*datasets.UsageError)(nil); errors.As(err, &ue) {
		return nil, fmt.Errorf("%s: %v", d.Cmd, ue)
	}
	return sel, err
}

// modalityMap loads the modality map file path, the built-in map for "".
func modalityMap(path string) (datasets.ModalityMap, error) {
	if path == "" {
		return datasets.DefaultModalityMap(), nil
	}
	return datasets.LoadModalityMap(path)
}

// Command is an evaluation run of `medbench eval` once its data is loaded
// and its runner open: RunCommand writes its manifest and runs it.
type Command struct {
	// Data and Selected are the dataset as given and as loaded (LoadData).
	Data     Data
	Selected *Selected
	// Version, GitCommit and Line identify the build and the invocation.
	Version, GitCommit string
	Line               []string
	// Runner is the open runner, RunnerName its --runner name and
	// RunnerConfig its manifest entries (runners.Driver.ManifestConfig);
	// ModelSource is the hub reference its model came from (nil: none).
	Runner       runners.Runner
	RunnerName   string
	RunnerConfig map[string]any
	ModelSource  map[string]any
	// Sampling is the runner's decoding (nil for a replay); Seed the run's.
	Sampling *runners.Sampling
	Seed     uint64
	Prompts  []datasets.Template
	Policies []metrics.Policy
	// Batch, Out, Resume, SeedFiles, Shard, Progress and Stop are those of
	// Config.
	Batch             int
	Out               string
	Resume, SeedFiles bool
	Shard             Shard
	Progress          io.Writer
	Stop              <-chan struct{}
}

// RunCommand builds the run's manifest (the settings of c recorded under
// "config") and runs it (Run).
func RunCommand(ctx context.Context, c Command) (*records.Summary, error) {
	cfg := c.RunnerConfig
	if cfg == nil {
		cfg = map[string]any{}
	}
	for k, v := range map[string]any{
		"batch": c.Batch, "limit": c.Data.Limit, "select": string(c.Data.Selection), "runner": c.RunnerName,
		"modality": c.Data.Modalities, "format": c.Selected.Format, "invalid_items": c.Data.InvalidItems,
	} {
		cfg[k] = v
	}
	if c.Selected.Format == "parquet" {
		cfg["columns"] = c.Data.Columns
	}
	if c.ModelSource != nil { // the hub reference pinned to its commit (never the token)
		cfg["model_source"] = c.ModelSource
	}
	m, err := NewManifest(ManifestSpec{
		Version: c.Version, GitCommit: c.GitCommit, Command: c.Line,
		DataPath: c.Data.Path, Images: c.Data.Images, Selection: c.Data.Selection, Samples: c.Selected.Items, ModalityMapPath: c.Data.ModalityMapPath,
		Runner: c.Runner.Info(), Prompts: c.Prompts, Policies: c.Policies, Seed: c.Seed, Sampling: c.Sampling, Config: cfg,
	})
	if err != nil {
		return nil, err
	}
	return Run(ctx, Config{
		Samples: c.Selected.Items, Prompts: c.Prompts, Runner: c.Runner, Batch: c.Batch, OutDir: c.Out,
		Resume: c.Resume, Manifest: m, Policies: c.Policies, Progress: c.Progress, SeedFiles: c.SeedFiles,
		Invalid: c.Selected.Invalid, Shard: c.Shard, Stop: c.Stop,
	})
}
