package datasets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// UsageError reports options or arguments that do not fit together (as
// opposed to input that cannot be read); its message names them as the
// command line spells them.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usageError(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// ConvertOptions configures Convert.
type ConvertOptions struct {
	// ImagesRoot is where JSON images are read (to embed) or parquet images
	// are written (empty: the input's or output's folder).
	ImagesRoot string
	// EmbedImages embeds the image bytes (JSON -> parquet only).
	EmbedImages bool
	// Columns maps the parquet columns (parquet -> JSON).
	Columns ColumnMap
}

// Convert converts between the seed's JSON schema and HF parquet, the
// direction given by which of in and out ends in ".parquet":
// ConvertJSONToParquet or ConvertParquetToJSON. A pair of names that gives
// no direction, or embedding asked of parquet -> JSON, is a *UsageError.
func Convert(ctx context.Context, in, out string, opts ConvertOptions) error {
	switch {
	case !IsParquetPath(in) && IsParquetPath(out):
		return ConvertJSONToParquet(ctx, in, out, opts.ImagesRoot, opts.EmbedImages)
	case IsParquetPath(in) && !IsParquetPath(out):
		if opts.EmbedImages {
			return usageError("--embed-images applies to JSON -> parquet only")
		}
		return ConvertParquetToJSON(ctx, in, out, opts.Columns, opts.ImagesRoot)
	}
	return usageError("one of IN (%s) and OUT (%s) must end in .parquet and the other not", in, out)
}

// Synthetic dataset tasks (SynthTask).
const (
	// TaskQuadrant asks where the bright lesion is (Synth).
	TaskQuadrant = "quadrant"
	// TaskCount asks how many lesions there are (SynthCount).
	TaskCount = "count"
)

// SynthTask writes a synthetic dataset for a task: TaskQuadrant with Synth
// and all of opts, TaskCount with SynthCount and opts' Out, N, Seed and
// Modalities. It returns the dataset file's path. An unknown task is a
// *UsageError.
func SynthTask(ctx context.Context, task string, opts SynthOptions) (string, error) {
	switch task {
	case TaskQuadrant:
		return Synth(ctx, opts)
	case TaskCount:
		return SynthCount(ctx, opts.Out, opts.N, opts.Seed, opts.Modalities)
	}
	return "", usageError("--task %q: want %s or %s", task, TaskQuadrant, TaskCount)
}

// CheckImagesRoot refuses an images root that is not a readable folder:
// without it every item would fail one by one, and a run of failures is no
// evaluation. An empty root (the dataset file's folder) is accepted. A
// missing root or one that is not a folder is a *UsageError; an unreadable
// one is the file system's error.
func CheckImagesRoot(root string) error {
	if root == "" {
		return nil
	}
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usageError("no such folder (the images root the dataset's image paths are joined to)")
	case err != nil:
		return err
	case !fi.IsDir():
		return usageError("not a folder (the images root the dataset's image paths are joined to)")
	}
	f, err := os.Open(root)
	if err != nil {
		return err
	}
	f.Close()
	return nil
}

// Values of InvalidOptions' Mode (eval's and train's --invalid-items).
const (
	// InvalidRefuse refuses a dataset with answer-key problems.
	InvalidRefuse = "refuse"
	// InvalidScore scores such items as the seed would and marks them.
	InvalidScore = "score"
)

// MaxListedProblems caps the problems a refusal of CheckInvalid lists.
const MaxListedProblems = 20

// CheckInvalid runs the record checks of Validate on the selected items of
// the dataset file path. Under InvalidRefuse any problem is an error listing
// them, one line per problem naming the file and record; under InvalidScore
// it returns the problems by record index (nil when there are none). cmd
// names the command in the error. An unknown mode is a *UsageError.
func CheckInvalid(cmd, path, mode string, items []Item, mm ModalityMap) (map[int]string, error) {
	if mode != InvalidRefuse && mode != InvalidScore {
		return nil, usageError("--invalid-items %q: want %s or %s", mode, InvalidRefuse, InvalidScore)
	}
	probs := CheckSamples(items, mm)
	if len(probs) == 0 {
		return nil, nil
	}
	byIdx := InvalidByIndex(probs)
	if mode == InvalidRefuse {
		return nil, fmt.Errorf("%s: %s: %d record(s) have answer-key problems and could never be scored right; fix them or pass --invalid-items score to score and count them:\n%s",
			cmd, path, len(byIdx), ProblemLines(path, probs, MaxListedProblems))
	}
	return byIdx, nil
}
