package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Importer converts a Hugging Face checkpoint folder (config.json +
// *.safetensors) into a medbench model directory (onnx-community layout) for
// one dtype, writing into outDir.
type Importer func(ctx context.Context, hfDir, outDir, dtype string) error

// ModelOptions says which files of a model repo the runner needs.
type ModelOptions struct {
	// ONNXFiles are the onnx/ file names the runner opens for the dtype
	// (e.g. decoder_model_merged_q4.onnx); their external data files
	// (NAME_data, NAME_data_1, ...) come along.
	ONNXFiles []string
	DType     string
	// Import converts checkpoint repos; nil: checkpoints are refused.
	Import Importer
	// ImportRoot holds imported checkpoints:
	// {ImportRoot}/models--ORG--NAME/{commit}/{dtype}/.
	ImportRoot string
}

// Model layouts a hub model repo can have.
const (
	LayoutONNX       = "onnx"       // onnx-community: onnx/*.onnx + configs
	LayoutCheckpoint = "checkpoint" // Hugging Face: config.json + *.safetensors
)

// ModelSource records where a hub model came from (for run manifests).
type ModelSource struct {
	Ref       string `json:"ref"`
	Repo      string `json:"repo"`
	Revision  string `json:"revision"`
	Commit    string `json:"commit"`
	Endpoint  string `json:"endpoint"`
	Layout    string `json:"layout"`
	Snapshot  string `json:"snapshot,omitempty"`
	ImportDir string `json:"import_dir,omitempty"`
	DType     string `json:"dtype,omitempty"`
}

// Map is the source as a generic map (run manifests' config).
func (s ModelSource) Map() map[string]any {
	m := map[string]any{"ref": s.Ref, "repo": s.Repo, "revision": s.Revision, "commit": s.Commit,
		"endpoint": s.Endpoint, "layout": s.Layout}
	if s.ImportDir != "" {
		m["import_dir"], m["dtype"] = s.ImportDir, s.DType
	}
	return m
}

// configFiles are the top-level files a model directory may need besides
// the graphs and weights (configs, tokenizer, chat template).
func isConfigFile(f string) bool {
	if strings.Contains(f, "/") {
		return false
	}
	return strings.HasSuffix(f, ".json") || f == "merges.txt" || f == "vocab.txt" || strings.HasSuffix(f, ".jinja") ||
		f == "tokenizer.model"
}

// selectModel picks the files of the layout the listing holds.
func selectModel(files []string, o ModelOptions, layout *string) ([]string, error) {
	has := func(f string) bool { return slices.Contains(files, f) }
	if len(o.ONNXFiles) > 0 && has("onnx/"+o.ONNXFiles[len(o.ONNXFiles)-1]) {
		var want []string
		for _, f := range files {
			if isConfigFile(f) && !strings.HasSuffix(f, ".safetensors.index.json") {
				want = append(want, f)
			}
		}
		for _, g := range o.ONNXFiles {
			if !has("onnx/" + g) {
				return nil, fmt.Errorf("onnx-community layout without onnx/%s (dtype %s)", g, o.DType)
			}
			want = append(want, "onnx/"+g)
			for _, f := range files {
				if strings.HasPrefix(f, "onnx/"+g+"_data") {
					want = append(want, f)
				}
			}
		}
		*layout = LayoutONNX
		return want, nil
	}
	// The model's weights: model.safetensors or the model-0000K-of-0000N
	// shards save_pretrained writes; other top-level safetensors (an
	// adapter, a second model) only when there are none of those.
	var st, other []string
	for _, f := range files {
		switch {
		case strings.Contains(f, "/") || !strings.HasSuffix(f, ".safetensors"):
		case f == "model.safetensors" || strings.HasPrefix(f, "model-"):
			st = append(st, f)
		default:
			other = append(other, f)
		}
	}
	if len(st) == 0 {
		st = other
	}
	if has("config.json") && len(st) > 0 {
		want := st
		for _, f := range files {
			if isConfigFile(f) {
				want = append(want, f)
			}
		}
		*layout = LayoutCheckpoint
		return want, nil
	}
	var onnx []string
	for _, f := range files {
		if strings.HasPrefix(f, "onnx/") && strings.HasSuffix(f, ".onnx") {
			onnx = append(onnx, strings.TrimPrefix(f, "onnx/"))
		}
	}
	if len(onnx) > 0 {
		return nil, fmt.Errorf("no onnx/%s for --dtype %s (the repo has onnx/%s)", strings.Join(o.ONNXFiles, ", onnx/"), o.DType, strings.Join(onnx, ", onnx/"))
	}
	return nil, fmt.Errorf("neither the onnx-community layout (onnx/*.onnx) nor a Hugging Face checkpoint (config.json + *.safetensors)")
}

// ResolveModel makes a hub model usable as a medbench model directory: an
// onnx-community repo downloads only the files the dtype needs and its
// snapshot is the directory; a checkpoint repo is downloaded and imported
// once into {ImportRoot}/models--ORG--NAME/{commit}/{dtype}/ (written to a
// temporary folder and renamed, under a lock against concurrent imports).
func (c *Client) ResolveModel(ctx context.Context, r Repo, o ModelOptions) (string, ModelSource, error) {
	src := ModelSource{Ref: r.String(), Repo: r.ID, Revision: r.rev(), Endpoint: c.Endpoint}
	// An import done earlier for a commit the cache already pins needs nothing else.
	if commit, ok := c.cachedCommit(r); ok && (IsCommit(r.rev()) || c.Offline) && o.ImportRoot != "" {
		dir := c.importDir(r, commit, o)
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			src.Commit, src.Layout, src.ImportDir, src.DType = commit, LayoutCheckpoint, dir, o.DType
			src.Snapshot = c.SnapshotDir(r, commit)
			return dir, src, nil
		}
	}
	var layout string
	snap, err := c.Download(ctx, r, Options{Select: func(files []string) ([]string, error) {
		return selectModel(files, o, &layout)
	}})
	if err != nil {
		return "", src, err
	}
	src.Commit, src.Snapshot, src.Layout = snap.Commit, snap.Dir, layout
	if layout == LayoutONNX {
		return snap.Dir, src, nil
	}
	if o.Import == nil {
		return "", src, fmt.Errorf("hub: %s@%s is a Hugging Face checkpoint and this build cannot import it", r.ID, snap.Commit)
	}
	if o.ImportRoot == "" {
		return "", src, fmt.Errorf("hub: %s@%s: no import folder configured", r.ID, snap.Commit)
	}
	if o.DType == "" || strings.ContainsAny(o.DType, `/\,=.`) {
		return "", src, fmt.Errorf("hub: %s@%s is a Hugging Face checkpoint: it is imported for one --dtype (e.g. fp32, fp16, q8, q4), not %q", r.ID, snap.Commit, o.DType)
	}
	dir := c.importDir(r, snap.Commit, o)
	src.ImportDir, src.DType = dir, o.DType
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", src, fmt.Errorf("hub: import: %w", err)
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", src, err
	}
	defer unlock()
	if st, err := os.Stat(dir); err == nil && st.IsDir() { // another process finished it
		return dir, src, nil
	}
	// Temporary folders of imports killed before they could clean up (the
	// lock says no import of this commit and dtype is running).
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")); len(stale) > 0 {
		for _, s := range stale {
			_ = os.RemoveAll(s)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return "", src, fmt.Errorf("hub: import: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	c.logf("hub: importing %s@%s (%s) into %s\n", r.ID, snap.Commit, o.DType, dir)
	if err := o.Import(ctx, snap.Dir, tmp, o.DType); err != nil {
		return "", src, fmt.Errorf("hub: import %s@%s (%s): %w", r.ID, snap.Commit, o.DType, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", src, fmt.Errorf("hub: import: %w", err)
	}
	return dir, src, nil
}

func (c *Client) importDir(r Repo, commit string, o ModelOptions) string {
	return filepath.Join(o.ImportRoot, "models--"+strings.ReplaceAll(r.ID, "/", "--"), commit, o.DType)
}

// ImportRoot is where imported checkpoints go: $MEDBENCH_CACHE/imports, else
// $XDG_CACHE_HOME/medbench/imports, else ~/.cache/medbench/imports.
func ImportRoot(getenv func(string) string) (string, error) {
	if d := getenv("MEDBENCH_CACHE"); d != "" {
		d, err := expandHome(d, getenv)
		return filepath.Join(d, "imports"), err
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "medbench", "imports"), nil
	}
	home, err := homeDir(getenv, "hub: no cache folder for imports: set MEDBENCH_CACHE")
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "medbench", "imports"), nil
}
