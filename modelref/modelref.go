// Package modelref turns a model reference into a local model directory
// for the Qwen2-VL runner: a plain directory stays as it is, and
// hf:ORG/NAME[@REVISION] is downloaded from the Hugging Face hub (the ONNX
// files of one dtype), its checkpoint imported once when the repo holds
// safetensors instead of ONNX files.
package modelref

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/medbench/medbench/checkpoint"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// Options configures Resolve.
type Options struct {
	// DType picks the ONNX files (default fp32).
	DType string
	// Getenv reads the hub's environment (os.Getenv outside tests): see
	// hub.FromEnv and hub.ImportRoot.
	Getenv func(string) string
	// Progress receives the hub's progress lines (nil: none).
	Progress io.Writer
}

// Resolve resolves one hf: reference: it downloads what the runner needs
// for the dtype into the huggingface_hub cache, importing a checkpoint into
// hub.ImportRoot once, and returns the model directory and where it came
// from. Errors in the reference or the dtype name the flag at fault
// (--model, --dtype).
func Resolve(ctx context.Context, ref string, opts Options) (string, hub.ModelSource, error) {
	r, err := hub.ParseRef(ref, hub.Model)
	if err != nil {
		return "", hub.ModelSource{}, fmt.Errorf("--model: %w", err)
	}
	dtype := opts.DType
	if dtype == "" {
		dtype = "fp32"
	}
	files, err := qwen2vl.ONNXFiles(dtype)
	if err != nil {
		return "", hub.ModelSource{}, fmt.Errorf("--dtype: %w", err)
	}
	hc, err := hub.FromEnv(opts.Getenv)
	if err != nil {
		return "", hub.ModelSource{}, err
	}
	hc.Progress = opts.Progress
	root, err := hub.ImportRoot(opts.Getenv)
	if err != nil {
		return "", hub.ModelSource{}, err
	}
	return hc.ResolveModel(ctx, r, hub.ModelOptions{ONNXFiles: files, DType: dtype, Import: importCheckpoint, ImportRoot: root})
}

// importCheckpoint converts a downloaded Hugging Face checkpoint (config.json
// + *.safetensors) into a model directory.
func importCheckpoint(ctx context.Context, hfDir, outDir, dtype string) error {
	return checkpoint.Import(ctx, hfDir, outDir, checkpoint.ImportOptions{DType: dtype})
}

// ServedName is the name a served model goes by: name when given, else the
// hub repo id of an hf:ORG/NAME[@REV] reference (as vLLM names a hub
// model), else the model folder's name.
func ServedName(name, ref, dir string) string {
	if name != "" {
		return name
	}
	if hub.IsRef(ref) {
		if r, err := hub.ParseRef(ref, hub.Model); err == nil {
			return r.ID
		}
	}
	return filepath.Base(filepath.Clean(dir))
}
