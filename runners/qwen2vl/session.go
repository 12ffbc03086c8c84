package qwen2vl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/ort/ortlib"
)

// layout is what the three graphs declare, checked at load.
type layout struct {
	layers, kvHeads, headDim, hidden, vocab, patchDim int
	pixelDT, featDT, embedDT, kvDT, logitsDT          int32
	logitsToKeep                                      bool
	decIn, decOut                                     []string
}

func kvName(kind string, i int, key bool) string {
	kv := "value"
	if key {
		kv = "key"
	}
	return fmt.Sprintf("%s.%d.%s", kind, i, kv)
}

func names(infos []ioInfo) []string {
	out := make([]string, len(infos))
	for i, x := range infos {
		out[i] = x.Name
	}
	return out
}

func byName(infos []ioInfo) map[string]ioInfo {
	m := map[string]ioInfo{}
	for _, x := range infos {
		m[x.Name] = x
	}
	return m
}

func listIO(infos []ioInfo) string {
	s := make([]string, len(infos))
	for i, x := range infos {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// checkNames fails with the expected and found lists when the graph's names
// differ from want (optional names may be present or absent).
func checkNames(path, what string, found []ioInfo, want, optional []string) error {
	got := names(found)
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) && !slices.Contains(optional, g) {
			extra = append(extra, g)
		}
	}
	if len(missing)+len(extra) == 0 {
		return nil
	}
	return fmt.Errorf("qwen2vl: %s: %s do not match the Qwen2-VL layout: expected [%s], found [%s] (missing: %s; unexpected: %s)",
		path, what, strings.Join(want, ", "), listIO(found), orNone(missing), orNone(extra))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func isFloat(dt int32) bool { return dt == onnxFloat || dt == onnxFloat16 }

// readLayout reads the three graphs' I/O and checks names, ranks and dtypes.
func readLayout(files map[string]string, meta *modelMeta) (*layout, error) {
	lay := &layout{layers: meta.layers}
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("qwen2vl: %s: "+format, append([]any{path}, a...)...))
	}
	// vision encoder
	vp := files[sessVision]
	vin, vout, err := readGraphIO(vp)
	if err != nil {
		return nil, err
	}
	if err := checkNames(vp, "inputs", vin, []string{"pixel_values", "grid_thw"}, nil); err != nil {
		return nil, err
	}
	if err := checkNames(vp, "outputs", vout, []string{"image_features"}, nil); err != nil {
		return nil, err
	}
	vi, vo := byName(vin), byName(vout)
	pv, gt, fe := vi["pixel_values"], vi["grid_thw"], vo["image_features"]
	if len(pv.Dims) != 2 || !isFloat(pv.Elem) {
		bad(vp, "%s: want float32/float16 [num_patches, patch_dim]", pv)
	} else {
		lay.pixelDT, lay.patchDim = pv.Elem, int(pv.Dims[1])
	}
	if len(gt.Dims) != 2 || gt.Elem != onnxInt64 {
		bad(vp, "%s: want int64 [num_images, 3]", gt)
	}
	if len(fe.Dims) != 2 || !isFloat(fe.Elem) {
		bad(vp, "%s: want float [num_tokens, hidden]", fe)
	} else {
		lay.featDT = fe.Elem
	}
	// embed_tokens
	ep := files[sessEmbed]
	ein, eout, err := readGraphIO(ep)
	if err != nil {
		return nil, err
	}
	if err := checkNames(ep, "inputs", ein, []string{"input_ids"}, nil); err != nil {
		return nil, err
	}
	if err := checkNames(ep, "outputs", eout, []string{"inputs_embeds"}, nil); err != nil {
		return nil, err
	}
	if ii := byName(ein)["input_ids"]; ii.Elem != onnxInt64 || len(ii.Dims) != 2 {
		bad(ep, "%s: want int64 [batch, seq]", ii)
	}
	ie := byName(eout)["inputs_embeds"]
	if len(ie.Dims) != 3 || !isFloat(ie.Elem) {
		bad(ep, "%s: want float [batch, seq, hidden]", ie)
	} else {
		lay.embedDT = ie.Elem
		lay.hidden = int(ie.Dims[2])
		if lay.hidden <= 0 {
			lay.hidden = meta.cfg.HiddenSize
		}
		if lay.hidden <= 0 {
			bad(ep, "inputs_embeds %s: the hidden size is symbolic and config.json has no hidden_size", ie)
		}
	}
	// decoder
	dp := files[sessDecoder]
	din, dout, err := readGraphIO(dp)
	if err != nil {
		return nil, err
	}
	wantIn := []string{"inputs_embeds", "attention_mask", "position_ids"}
	wantOut := []string{"logits"}
	for i := 0; i < meta.layers; i++ {
		wantIn = append(wantIn, kvName("past_key_values", i, true), kvName("past_key_values", i, false))
		wantOut = append(wantOut, kvName("present", i, true), kvName("present", i, false))
	}
	if err := checkNames(dp, "inputs", din, wantIn, []string{"num_logits_to_keep"}); err != nil {
		return nil, err
	}
	if err := checkNames(dp, "outputs", dout, wantOut, nil); err != nil {
		return nil, err
	}
	di, do := byName(din), byName(dout)
	if x, ok := di["num_logits_to_keep"]; ok {
		if x.Elem != onnxInt64 || len(x.Dims) != 0 {
			bad(dp, "%s: want an int64 scalar", x)
		}
		lay.logitsToKeep = true
	}
	if x := di["inputs_embeds"]; x.Elem != lay.embedDT || len(x.Dims) != 3 {
		bad(dp, "%s: want %s [batch, seq, hidden] as embed_tokens gives", x, elemName(lay.embedDT))
	} else if x.Dims[2] > 0 && int(x.Dims[2]) != lay.hidden {
		bad(dp, "inputs_embeds hidden size %d, embed_tokens gives %d", x.Dims[2], lay.hidden)
	}
	if x := di["attention_mask"]; x.Elem != onnxInt64 || len(x.Dims) != 2 {
		bad(dp, "%s: want int64 [batch, total_seq]", x)
	}
	if x := di["position_ids"]; x.Elem != onnxInt64 || len(x.Dims) != 3 || (x.Dims[0] != 3 && x.Dims[0] != -1) {
		bad(dp, "%s: want int64 [3, batch, seq] (M-RoPE)", x)
	}
	lg := do["logits"]
	vocab := meta.cfg.VocabSize
	if len(lg.Dims) == 3 && lg.Dims[2] > 0 {
		vocab = int(lg.Dims[2])
	}
	if len(lg.Dims) != 3 || !isFloat(lg.Elem) || vocab <= 0 {
		bad(dp, "%s: want float [batch, seq, vocab] with a fixed vocab (or vocab_size in config.json)", lg)
	} else {
		lay.logitsDT, lay.vocab = lg.Elem, vocab
	}
	p0 := di[kvName("past_key_values", 0, true)]
	if len(p0.Dims) != 4 || !isFloat(p0.Elem) {
		bad(dp, "%s, want float [batch, kv_heads, past_seq, head_dim]", p0)
	} else {
		lay.kvDT = p0.Elem
		lay.kvHeads, lay.headDim = int(p0.Dims[1]), int(p0.Dims[3])
		if lay.kvHeads <= 0 && meta.cfg.NumKeyValueHeads > 0 {
			lay.kvHeads = meta.cfg.NumKeyValueHeads
		}
		if lay.kvHeads <= 0 || lay.headDim <= 0 {
			bad(dp, "%s: the KV head count and head_dim must be fixed numbers", p0)
		}
	}
	for i := 0; i < meta.layers; i++ {
		for _, key := range []bool{true, false} {
			for _, x := range []ioInfo{di[kvName("past_key_values", i, key)], do[kvName("present", i, key)]} {
				if x.Elem != p0.Elem || len(x.Dims) != 4 || (x.Dims[1] > 0 && int(x.Dims[1]) != lay.kvHeads) || (x.Dims[3] > 0 && int(x.Dims[3]) != lay.headDim) {
					bad(dp, "%s differs from %s", x, p0)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	lay.decIn = append([]string(nil), wantIn...)
	if lay.logitsToKeep {
		lay.decIn = append(lay.decIn, "num_logits_to_keep")
	}
	lay.decOut = wantOut
	return lay, nil
}

// deviceSpec is a parsed --device value.
type deviceSpec struct {
	kind string // cpu, cuda, auto
	id   int
}

func parseDevice(s string) (deviceSpec, error) {
	switch {
	case s == "" || s == "cpu":
		return deviceSpec{kind: "cpu"}, nil
	case s == "auto":
		return deviceSpec{kind: "auto"}, nil
	case s == "cuda":
		return deviceSpec{kind: "cuda"}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(s[5:])
		if err != nil || n < 0 {
			return deviceSpec{}, fmt.Errorf("qwen2vl: device %q: want cuda:N with N a GPU index", s)
		}
		return deviceSpec{kind: "cuda", id: n}, nil
	}
	return deviceSpec{}, fmt.Errorf("qwen2vl: device %q: want cpu, cuda, cuda:N or auto", s)
}

// CUDA provider files ORT loads from the core library's folder, and the
// CUDA 13 libraries the provider needs (ORT 1.29.0 GPU build).
var (
	cudaProviderFiles = []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"}
	cudaRuntimeLibs   = "CUDA 13 (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10, libcufft.so.12) and cuDNN 9 (libcudnn.so.9)"
)

// cudaError explains a failed CUDA provider setup in one line.
func cudaError(lib string, id int, cause error) error {
	dir := filepath.Dir(lib)
	var missing []string
	for _, f := range cudaProviderFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			missing = append(missing, f)
		}
	}
	first := strings.SplitN(strings.TrimSpace(fmt.Sprint(cause)), "\n", 2)[0]
	if len(missing) > 0 {
		return fmt.Errorf("qwen2vl: --device cuda:%d: %w: %s missing next to %s (run `make setup-cuda`); the provider also needs %s on the library path",
			id, ortlib.ErrNoCUDA, strings.Join(missing, " and "), lib, cudaRuntimeLibs)
	}
	return fmt.Errorf("qwen2vl: --device cuda:%d: %w: provider files present in %s but loading failed (%s); check that %s are on LD_LIBRARY_PATH and GPU %d exists",
		id, ortlib.ErrNoCUDA, dir, first, cudaRuntimeLibs, id)
}

// sessionOptions builds options for the device; for auto it falls back to
// the CPU and returns the reason in note.
func sessionOptions(dev deviceSpec, threads int, lib string) (opts *ort.SessionOptions, used string, note string, err error) {
	opts, err = ort.NewSessionOptions()
	if err != nil {
		return nil, "", "", fmt.Errorf("qwen2vl: session options: %w", err)
	}
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			opts.Destroy()
			return nil, "", "", fmt.Errorf("qwen2vl: --threads %d: %w", threads, err)
		}
		if err := opts.SetInterOpNumThreads(1); err != nil {
			opts.Destroy()
			return nil, "", "", fmt.Errorf("qwen2vl: inter-op threads: %w", err)
		}
	}
	if dev.kind == "cpu" {
		return opts, "cpu", "", nil
	}
	cuErr := appendCUDA(opts, dev.id)
	if cuErr == nil {
		return opts, fmt.Sprintf("cuda:%d", dev.id), "", nil
	}
	cuErr = cudaError(lib, dev.id, cuErr)
	if dev.kind == "auto" {
		// The failed append may leave the options half-configured: start over.
		opts.Destroy()
		o, used, _, err := sessionOptions(deviceSpec{kind: "cpu"}, threads, lib)
		return o, used, "auto: CUDA unavailable, running on CPU: " + cuErr.Error(), err
	}
	opts.Destroy()
	return nil, "", "", cuErr
}

func appendCUDA(opts *ort.SessionOptions, id int) error {
	cu, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer cu.Destroy()
	if err := cu.Update(map[string]string{"device_id": strconv.Itoa(id)}); err != nil {
		return err
	}
	return opts.AppendExecutionProviderCUDA(cu)
}
