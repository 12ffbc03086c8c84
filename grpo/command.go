package grpo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/medbench/medbench/datasets"
)

// WriteSummary writes the result's lines as `medbench train` prints them:
// steps, final model, elapsed time and, with an eval set, the accuracy
// before and after with the exact McNemar p.
func (r *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "steps: %d\nfinal model: %s\nelapsed: %s\n", r.Steps, r.FinalDir, r.Elapsed.Round(1e6))
	if r.EvalBefore != 0 || r.EvalAfter != 0 {
		fmt.Fprintf(w, "eval accuracy: %.4f -> %.4f", r.EvalBefore, r.EvalAfter)
		if r.McNemarP == r.McNemarP {
			fmt.Fprintf(w, " (exact McNemar p = %.3g)", r.McNemarP)
		}
		fmt.Fprintln(w)
	}
}

// LoadSamples reads a training or eval dataset file with its images under
// root, keeps its first limit records (0: all) and applies the
// --invalid-items mode invalidItems (datasets.CheckInvalid): records whose
// answer key can never be right are refused, or used as the seed would use
// them with a warning on warn.
func LoadSamples(path, root string, limit int, invalidItems string, warn io.Writer) ([]datasets.Item, error) {
	s, err := datasets.Load(path, datasets.LoadOptions{ImagesRoot: root})
	if err != nil {
		return nil, err
	}
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("%s: no records", path)
	}
	invalid, err := datasets.CheckInvalid("train", path, invalidItems, s, datasets.DefaultModalityMap())
	if ue := (*datasets.UsageError)(nil); errors.As(err, &ue) {
		return nil, fmt.Errorf("train: %v", ue)
	} else if err != nil {
		return nil, err
	}
	if len(invalid) > 0 {
		fmt.Fprintf(warn, "medbench: warning: %s: invalid_items: %d record(s) with answer-key problems are used as the seed would use them (--invalid-items score); their reward or target can never be right\n", path, len(invalid))
	}
	return s, nil
}

// Inputs name what both trainers read, as `medbench train` takes them:
// the training and eval datasets (Data, EvalData: files; Images,
// EvalImages: their images roots, "" for the file's folder; Limit,
// EvalLimit: the first records only, 0 for all; EvalData "" for no eval)
// and the training and eval template specs (datasets.ParseTemplate).
type Inputs struct {
	// Cmd names the command in errors ("train grpo").
	Cmd                  string
	Data, Images         string
	Limit                int
	EvalData, EvalImages string
	EvalLimit            int
	Template             string
	EvalTemplate         string
	// InvalidItems is the --invalid-items mode (LoadSamples); Warn
	// receives LoadSamples' warnings.
	InvalidItems string
	Warn         io.Writer
}

// Loaded are the datasets and templates of Inputs.
type Loaded struct {
	Samples, EvalSamples   []datasets.Item
	Template, EvalTemplate datasets.Template
}

// LoadInputs checks the images roots, loads the datasets (LoadSamples) and
// parses the templates of in.
func LoadInputs(in Inputs) (*Loaded, error) {
	var l Loaded
	var err error
	if l.Samples, err = loadInput(in, in.Data, "images", in.Images, in.Limit); err != nil {
		return nil, err
	}
	if l.EvalSamples, err = loadInput(in, in.EvalData, "eval-images", in.EvalImages, in.EvalLimit); err != nil {
		return nil, err
	}
	if l.Template, err = datasets.ParseTemplate(in.Template); err != nil {
		return nil, fmt.Errorf("--template: %v", err)
	}
	if l.EvalTemplate, err = datasets.ParseTemplate(in.EvalTemplate); err != nil {
		return nil, fmt.Errorf("--eval-template: %v", err)
	}
	return &l, nil
}

// loadInput loads one dataset of LoadInputs (none for path ""); flag names
// the images root's flag in errors.
func loadInput(in Inputs, path, flag, root string, limit int) ([]datasets.Item, error) {
	if path == "" {
		return nil, nil
	}
	if err := datasets.CheckImagesRoot(root); err != nil {
		return nil, fmt.Errorf("%s: --%s %s: %w", in.Cmd, flag, root, err)
	}
	if root == "" {
		root = filepath.Dir(path)
	}
	return LoadSamples(path, root, limit, in.InvalidItems, in.Warn)
}

// InterruptMessage is the one line `medbench train` prints when the
// command cmd writing to out stopped with err because of Ctrl-C: where the
// checkpoint is and how to go on; ok is false for any other error.
func InterruptMessage(cmd, out string, err error) (msg string, ok bool) {
	var in *Interrupted
	switch {
	case errors.As(err, &in) && in.Resumable:
		return fmt.Sprintf("%s: interrupted after step %d of %d; checkpoint written to %s; continue with the same command plus --resume",
			cmd, in.Step, in.MaxSteps, in.Checkpoint), true
	case errors.As(err, &in):
		return fmt.Sprintf("%s: interrupted after step %d of %d; the model after that step is in %s (sft has no --resume: run the command again, or continue from it with --model %s)",
			cmd, in.Step, in.MaxSteps, in.Checkpoint, in.Checkpoint), true
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("%s: aborted; the checkpoints written so far are in %s/checkpoints (train grpo continues from the last with --resume)", cmd, out), true
	}
	return "", false
}
