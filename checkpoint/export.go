package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/model/safetensors"
	"github.com/medbench/medbench/runners/fixture"
)

// ExportOptions selects what Export writes.
type ExportOptions struct {
	// DType of the safetensors: "bf16" (default; round to nearest even) or
	// "fp32".
	DType string
	// MaxShardSize in bytes (0 = save_pretrained's default, 5 GB).
	MaxShardSize int64
}

// DefaultMaxShardSize is save_pretrained's default max_shard_size ("5GB").
const DefaultMaxShardSize = 5_000_000_000

// ParseSize reads a shard size as huggingface_hub's parse_size_to_int does:
// an integer number of bytes or a number with KB, MB, GB or TB (powers of
// 1000), e.g. "5GB".
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 {
		return 0, inputErr("checkpoint: shard size %q (want bytes or a number with KB, MB, GB, TB)", s)
	}
	return int64(v * float64(mult)), nil
}

// exportPart is one ONNX initializer and where it goes in its HF tensor.
type exportPart struct {
	dir string
	t   onnxpb.Tensor
	m   fixture.HFWeight
}

// Export writes the medbench model directory from (a fixture, an import or
// train grpo's final/) as a Hugging Face checkpoint in out: legacy tensor
// names, safetensors with __metadata__ {"format": "pt"} sharded as
// save_pretrained does (model.safetensors.index.json when more than one
// shard), config.json as transformers v4.47.1 writes it,
// generation_config.json and the tokenizer and processor files.
func Export(ctx context.Context, from, out string, opts ExportOptions) error {
	var st safetensors.DType
	torchDType := ""
	switch opts.DType {
	case "", "bf16":
		st, torchDType = safetensors.BF16, "bfloat16"
	case "fp32":
		st, torchDType = safetensors.F32, "float32"
	default:
		return inputErr("checkpoint: unknown export dtype %q (want bf16 or fp32)", opts.DType)
	}
	maxShard := opts.MaxShardSize
	if maxShard == 0 {
		maxShard = DefaultMaxShardSize
	}
	if maxShard < 0 {
		return inputErr("checkpoint: negative max shard size")
	}
	hc, raw, err := readHFConfig(from)
	if err != nil {
		return err
	}
	c := &hc.Config
	var extras configExtras
	_ = json.Unmarshal(raw, &extras) // types already checked by ParseHFConfig's decode where shared
	parts, err := indexONNX(from, c)
	if err != nil {
		return err
	}
	if err := emptyOrAbsent(out); err != nil {
		return err
	}
	tmp, err := tempBeside(out, "export")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp)

	want, err := fixture.HFTensors(c)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	order := stateDictOrder(c)
	sizes := make([]int64, len(order))
	for i, name := range order {
		dims, ok := want[name]
		if !ok {
			return fmt.Errorf("checkpoint: internal: state_dict name %s not among the graphs' tensors", name)
		}
		sizes[i] = onnxpb.NumElements(dims) * int64(st.Size())
	}
	if len(order) != len(want) {
		return fmt.Errorf("checkpoint: internal: %d state_dict names for %d tensors", len(order), len(want))
	}
	shards := hubSplit(order, sizes, maxShard)
	weightMap := map[string]string{}
	var total int64
	for _, s := range sizes {
		total += s
	}
	for i, shard := range shards {
		name := safetensors.SingleFile
		if len(shards) > 1 {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		}
		ts := make([]safetensors.WriteTensor, len(shard))
		for j, n := range shard {
			ts[j] = safetensors.WriteTensor{Name: n, DType: st, Shape: want[n]}
			weightMap[n] = name
		}
		err := safetensors.WriteFile(filepath.Join(tmp, name), map[string]string{"format": "pt"}, ts,
			func(t safetensors.WriteTensor, w io.Writer) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				vals, err := assemble(t.Name, want[t.Name], parts[t.Name])
				if err != nil {
					return err
				}
				return writeValues(w, st, vals)
			})
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if len(shards) > 1 {
		idx := map[string]any{"metadata": map[string]int64{"total_size": total}, "weight_map": weightMap}
		if err := writeJSON(filepath.Join(tmp, safetensors.IndexFile), idx); err != nil {
			return err
		}
	}
	cj, err := hfConfigJSON(c, hc.IDs, extras, torchDType)
	if err != nil {
		return fmt.Errorf("checkpoint: config.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), cj, 0o644); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := writeGenerationConfig(from, tmp, hc.IDs); err != nil {
		return err
	}
	for _, f := range copiedFiles {
		if err := copyIfPresent(filepath.Join(from, f), filepath.Join(tmp, f)); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	os.Remove(out)
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// onnxDType picks the ONNX variant to export: fp32 when present, else fp16
// (quantized variants hold rounded weights: never exported).
func onnxDType(dir string) (string, error) {
	for _, dt := range []string{"fp32", "fp16"} {
		p, _ := fixture.ONNXPath(dir, "decoder_model_merged", dt)
		if _, err := os.Stat(p); err == nil {
			return dt, nil
		}
	}
	return "", inputErr("checkpoint: %s/onnx has no decoder_model_merged.onnx or decoder_model_merged_fp16.onnx", dir)
}

// indexONNX reads the initializer headers of the three graphs (external
// data stays on disk until its tensor is written) and maps each to its HF
// tensor.
func indexONNX(dir string, c *fixture.Config) (map[string][]exportPart, error) {
	dt, err := onnxDType(dir)
	if err != nil {
		return nil, err
	}
	parts := map[string][]exportPart{}
	for _, s := range fixture.Sessions() {
		p, _ := fixture.ONNXPath(dir, s, dt)
		ts, err := onnxpb.InitializerIndex(p)
		if err != nil {
			return nil, inputErr("checkpoint: %w", err)
		}
		for _, t := range ts {
			if t.Type != onnxpb.Float && t.Type != onnxpb.Float16 {
				return nil, inputErr("checkpoint: %s: initializer %s is %v; only float32/float16 weights can be exported", p, t.Name, t.Type)
			}
			m, err := fixture.HFWeightOf(c, t.Name, t.Dims)
			if err != nil {
				return nil, inputErr("checkpoint: %s: %w", p, err)
			}
			parts[m.Tensor] = append(parts[m.Tensor], exportPart{dir: filepath.Dir(p), t: t, m: m})
		}
	}
	return parts, nil
}

// assemble builds one HF tensor from its ONNX parts: a fused qkv from
// three, a tied embedding from two that must hold identical values.
func assemble(name string, dims []int64, parts []exportPart) ([]float32, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no ONNX weight holds it")
	}
	dst := make([]float32, onnxpb.NumElements(dims))
	covered := int64(0)
	var whole []float32 // the first part that covers the whole tensor
	for _, p := range parts {
		t := p.t
		if err := onnxpb.LoadExternal(p.dir, &t); err != nil {
			return nil, fmt.Errorf("ONNX weight %s: %w", t.Name, err)
		}
		v := onnxpb.Float32sFromBytes(t.Raw)
		if t.Type == onnxpb.Float16 {
			v = onnxpb.Float16sFromBytes(t.Raw)
		}
		t.Raw = nil
		if p.m.Rows == nil && whole != nil {
			// The tied lm_head: same matrix as the embedding.
			if !slices.Equal(v, whole) {
				return nil, fmt.Errorf("ONNX weights %s and %s are tied (tie_word_embeddings true) but differ; set tie_word_embeddings false in config.json to export both", parts[0].t.Name, t.Name)
			}
			continue
		}
		if err := p.m.FromONNX(v, dst); err != nil {
			return nil, err
		}
		if p.m.Rows == nil {
			whole = dst
			covered += int64(len(dst))
		} else {
			covered += int64(len(v))
		}
	}
	if covered != int64(len(dst)) {
		return nil, fmt.Errorf("ONNX weights cover %d of its %d values", covered, len(dst))
	}
	return dst, nil
}

func writeValues(w io.Writer, dt safetensors.DType, v []float32) error {
	const chunk = 1 << 18
	var buf []byte
	for i := 0; i < len(v); i += chunk {
		var err error
		buf, err = safetensors.AppendFloat32(buf[:0], dt, v[i:min(i+chunk, len(v))])
		if err != nil {
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// hubSplit groups names into shards as huggingface_hub's
// split_state_dict_into_shards_factory does (v0.26): next fit in
// state_dict order, a tensor larger than maxSize in a shard of its own
// (placed before the shard being filled).
func hubSplit(names []string, sizes []int64, maxSize int64) [][]string {
	var shards [][]string
	var cur []string
	curSize := int64(0)
	for i, n := range names {
		if sizes[i] > maxSize {
			shards = append(shards, []string{n})
			continue
		}
		if curSize+sizes[i] > maxSize {
			shards = append(shards, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, n)
		curSize += sizes[i]
	}
	if len(cur) > 0 {
		shards = append(shards, cur)
	}
	return shards
}
