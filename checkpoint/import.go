// Package checkpoint converts between Hugging Face Qwen2-VL checkpoints
// (config.json + safetensors, as transformers' save_pretrained writes them)
// and medbench model directories (the onnx-community layout the qwen2vl
// runner runs). Import streams the checkpoint tensor by tensor into the
// fixture package's graph writer; Export writes a model directory's ONNX
// weights back as a checkpoint with legacy tensor names. The layout mapping
// is fixture.HFWeightOf's; docs/checkpoints.md describes both.
package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/medbench/medbench/internal/filecopy"
	"github.com/medbench/medbench/internal/jsonfile"
	"github.com/medbench/medbench/model/safetensors"
	"github.com/medbench/medbench/runners/fixture"
)

// ImportOptions selects what Import writes.
type ImportOptions struct {
	// DType of the ONNX weights and compute: "fp32" (default), "fp16", or
	// "q8" / "q4": the MatMul weights quantized for ONNX Runtime's CPU
	// kernels (MatMulNBits), the rest float32 (docs/quantization.md).
	DType string
}

// ErrInput marks a checkpoint that cannot be imported (wrong architecture,
// missing or extra tensors, malformed files): the caller's input, not a
// medbench failure.
var ErrInput = errors.New("checkpoint input")

// inputError is an error in the caller's input; errors.Is(err, ErrInput).
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInput }

func inputErr(format string, a ...any) error { return inputError{fmt.Errorf(format, a...)} }

// importDTypes maps an ImportOptions.DType to the fixture graph dtype it
// writes.
var importDTypes = map[string]string{"": "fp32", "fp32": "fp32", "fp16": "fp16", "q8": "q8", "q4": "q4"}

// DTypes lists the dtypes Import accepts.
func DTypes() []string { return []string{"fp32", "fp16", "q8", "q4"} }

// Files copied from the checkpoint when present (tokenizer.json is required).
var copiedFiles = []string{
	"tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
	"chat_template.json", "chat_template.jinja", "vocab.json", "merges.txt", "special_tokens_map.json",
}

// Provenance is import.json: where an imported model came from.
type Provenance struct {
	Source       string `json:"source"`
	Architecture string `json:"architecture"`
	Naming       Naming `json:"naming"`
	TiedLMHead   bool   `json:"tied_lm_head"`
	// TiedCopyChecked: a tied checkpoint that stored lm_head.weight anyway,
	// found equal to model.embed_tokens.weight.
	TiedCopyChecked bool         `json:"tied_lm_head_copy_checked,omitempty"`
	SourceDType     string       `json:"source_torch_dtype,omitempty"`
	DType           string       `json:"dtype"`
	Tensors         int          `json:"tensors"`
	Files           []SourceFile `json:"files"`
}

// SourceFile is one hashed file of the source checkpoint.
type SourceFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Import converts the Hugging Face checkpoint directory from into a
// medbench model directory out (created; it must not exist or be empty).
// The output is written beside out and renamed into place when complete.
func Import(ctx context.Context, from, out string, opts ImportOptions) error {
	dtype, ok := importDTypes[opts.DType]
	if !ok {
		return inputErr("checkpoint: unknown import dtype %q (want %s)", opts.DType, strings.Join(DTypes(), " or "))
	}
	hc, _, err := readHFConfig(from)
	if err != nil {
		return err
	}
	c := &hc.Config
	if _, err := os.Stat(filepath.Join(from, "tokenizer.json")); err != nil {
		return inputErr("checkpoint: %s has no tokenizer.json (medbench needs the fast-tokenizer file)", from)
	}
	if err := emptyOrAbsent(out); err != nil {
		return err
	}
	ck, err := safetensors.OpenDir(from)
	if err != nil {
		return inputErr("checkpoint: %w", err)
	}
	defer ck.Close()
	src, err := newSource(ck, c)
	if err != nil {
		return err
	}

	tmp, err := tempBeside(out, "import")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp)
	abs, _ := filepath.Abs(from)
	err = fixture.WriteGraphs(ctx, tmp, c, fixture.GraphOptions{
		DType:    dtype,
		Source:   fixture.CheckpointWeights(c, src),
		Doc:      fmt.Sprintf("medbench import of the Hugging Face checkpoint %s (%s)", filepath.Base(abs), dtype),
		Metadata: [][2]string{{"medbench.source", "import"}, {"medbench.dtype", dtype}},
	})
	if err != nil {
		return fmt.Errorf("checkpoint: %s: %w", from, err)
	}
	if unread := src.unread(); len(unread) > 0 {
		return fmt.Errorf("checkpoint: %s: tensors not read by the graphs: %s", from, strings.Join(unread, ", "))
	}
	for _, f := range copiedFiles {
		if err := copyIfPresent(filepath.Join(from, f), filepath.Join(tmp, f)); err != nil {
			return err
		}
	}
	if err := writeGenerationConfig(from, tmp, hc.IDs); err != nil {
		return err
	}
	note := map[string]any{
		"source":  abs,
		"dtype":   dtype,
		"weights": "imported from the checkpoint's safetensors; MatMul weights stored [in, out]; see import.json",
	}
	if err := fixture.WriteConfigJSON(filepath.Join(tmp, "config.json"), c, hc.IDs, dtype, "medbench_import", note); err != nil {
		return err
	}
	prov := Provenance{
		Source: abs, Architecture: fixture.HFArchitecture, Naming: src.naming, TiedLMHead: !c.UntiedLMHead, TiedCopyChecked: src.tiedCopy,
		SourceDType: hc.TorchDType, DType: dtype, Tensors: len(src.names),
	}
	if prov.Files, err = hashFiles(ctx, from); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(tmp, "import.json"), prov); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	os.Remove(out) // empty or absent (checked above)
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// tempBeside creates a temporary directory next to out (same file system,
// so that the finished directory can be renamed into place), creating
// out's parent if needed.
// readHFConfig reads and parses dir's config.json, returning its raw bytes
// too; errors are input errors naming the file.
func readHFConfig(dir string) (fixture.HFConfig, []byte, error) {
	cfgPath := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return fixture.HFConfig{}, nil, inputErr("checkpoint: %w", err)
	}
	hc, err := fixture.ParseHFConfig(cfgPath, raw)
	if err != nil {
		return fixture.HFConfig{}, nil, inputErr("checkpoint: %w", err)
	}
	return hc, raw, nil
}

func tempBeside(out, kind string) (string, error) {
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(out))+"."+kind+"-")
}

func emptyOrAbsent(dir string) error {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if len(ents) > 0 {
		return inputErr("checkpoint: output %s exists and is not empty", dir)
	}
	return nil
}

// source is the import's fixture.TensorReader over a checkpoint: legacy
// names to the checkpoint's names, usage counted.
type source struct {
	ck     *safetensors.Checkpoint
	names  map[string]string // legacy name → checkpoint name
	reads  map[string]int
	naming Naming
	// tiedCopy: the checkpoint stores lm_head.weight although tied, equal
	// to model.embed_tokens.weight (checked).
	tiedCopy bool
}

// sameTensor reports whether two tensors have equal shapes and values.
func sameTensor(ck *safetensors.Checkpoint, a, b string) (bool, error) {
	if a == "" || b == "" {
		return false, nil
	}
	da, va, err := ck.ReadFloat32(a)
	if err != nil {
		return false, err
	}
	db, vb, err := ck.ReadFloat32(b)
	if err != nil {
		return false, err
	}
	return slices.Equal(da, db) && slices.Equal(va, vb), nil
}

// newSource checks, before anything is written, that the checkpoint holds
// exactly the tensors the graphs need, with the right shapes and float
// dtypes; otherwise one error lists every missing, leftover or misshapen
// tensor.
func newSource(ck *safetensors.Checkpoint, c *fixture.Config) (*source, error) {
	want, err := fixture.HFTensors(c)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s := &source{ck: ck, names: map[string]string{}, reads: map[string]int{}}
	var leftover, problems []string
	namings := map[Naming]bool{}
	for _, name := range ck.Names() {
		legacy, naming := ToLegacy(name)
		if naming != "" {
			namings[naming] = true
		}
		if prev, dup := s.names[legacy]; dup {
			problems = append(problems, fmt.Sprintf("%s and %s are the same tensor", prev, name))
			continue
		}
		s.names[legacy] = name
		dims, ok := want[legacy]
		if !ok {
			leftover = append(leftover, name)
			continue
		}
		t, f, _ := ck.Tensor(name)
		switch {
		case t.DType != safetensors.F32 && t.DType != safetensors.BF16 && t.DType != safetensors.F16:
			problems = append(problems, fmt.Sprintf("%s (%s): dtype %s, want BF16, F16 or F32", name, filepath.Base(f.Path), t.DType))
		case !slices.Equal(t.Shape, dims):
			problems = append(problems, fmt.Sprintf("%s (%s): shape %v, config.json implies %v", name, filepath.Base(f.Path), t.Shape, dims))
		}
	}
	if i := slices.Index(leftover, s.names["lm_head.weight"]); i >= 0 && !c.UntiedLMHead {
		// A tied checkpoint that still stores its lm_head copy (some
		// trainers save without save_pretrained's dedup): transformers ties
		// it to the embedding at load, so it is accepted only when equal.
		same, err := sameTensor(ck, s.names["lm_head.weight"], s.names["model.embed_tokens.weight"])
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		if same {
			leftover = slices.Delete(leftover, i, i+1)
			s.reads["lm_head.weight"] = 1
			s.tiedCopy = true
		}
	}
	var missing []string
	for name := range want {
		if _, ok := s.names[name]; !ok {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	switch {
	case len(namings) > 1:
		problems = append(problems, "tensor names mix the legacy and the ≥ 4.52 schemes")
	case namings[New]:
		s.naming = New
	default:
		s.naming = Legacy
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("missing %d tensors: %s", len(missing), strings.Join(missing, ", ")))
	}
	if len(leftover) > 0 {
		hint := ""
		if slices.Contains(leftover, s.names["lm_head.weight"]) && !c.UntiedLMHead {
			hint = " (lm_head.weight differs from the embedding but tie_word_embeddings is true)"
		}
		parts = append(parts, fmt.Sprintf("%d tensors left over%s: %s", len(leftover), hint, strings.Join(leftover, ", ")))
	}
	parts = append(parts, problems...)
	if len(parts) > 0 {
		return nil, inputErr("checkpoint: %s: %s", ck.Dir, strings.Join(parts, "; "))
	}
	return s, nil
}

// ReadTensor implements fixture.TensorReader.
func (s *source) ReadTensor(legacy string) ([]int64, []float32, error) {
	name, ok := s.names[legacy]
	if !ok {
		return nil, nil, fmt.Errorf("checkpoint %s has no tensor %s", s.ck.Dir, legacy)
	}
	s.reads[legacy]++
	return s.ck.ReadFloat32(name)
}

// unread lists the checkpoint tensors no graph read.
func (s *source) unread() []string {
	var out []string
	for legacy, name := range s.names {
		if s.reads[legacy] == 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func copyIfPresent(src, dst string) error {
	err := filecopy.Copy(src, dst)
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == src && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// writeGenerationConfig copies generation_config.json, or writes one from
// config.json's bos/eos/pad ids when the checkpoint has none.
func writeGenerationConfig(from, out string, ids fixture.TokenIDs) error {
	src := filepath.Join(from, "generation_config.json")
	if _, err := os.Stat(src); err == nil {
		return copyIfPresent(src, filepath.Join(out, "generation_config.json"))
	}
	if len(ids.EOS) == 0 {
		return inputErr("checkpoint: %s has no generation_config.json and config.json no eos_token_id", from)
	}
	g := map[string]any{"eos_token_id": ids.EOS}
	if ids.BOS != nil {
		g["bos_token_id"] = *ids.BOS
	}
	if ids.Pad != nil {
		g["pad_token_id"] = *ids.Pad
	}
	return writeJSON(filepath.Join(out, "generation_config.json"), g)
}

// hashFiles hashes every regular file at the top of dir (config, weights,
// tokenizer files), sorted by name.
func hashFiles(ctx context.Context, dir string) ([]SourceFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var out []SourceFile
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", e.Name(), err)
		}
		out = append(out, SourceFile{Name: e.Name(), Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}

func writeJSON(path string, v any) error {
	if err := jsonfile.Write(path, v); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
