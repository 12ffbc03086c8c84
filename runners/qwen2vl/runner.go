// Package qwen2vl runs Qwen2-VL (MedVLM-R1's architecture) generation on
// ONNX Runtime through onnxruntime_go, over the onnx-community /
// transformers.js three-file layout: onnx/vision_encoder{suffix}.onnx,
// onnx/embed_tokens{suffix}.onnx and onnx/decoder_model_merged{suffix}.onnx,
// with config.json, generation_config.json, preprocessor_config.json and
// tokenizer.json beside them.
//
// It reproduces Hugging Face Qwen2VLForConditionalGeneration.generate():
// the chat template with the default system line, image-pad expansion,
// features merged in prompt order, M-RoPE position ids with per-row deltas,
// left-padded batches, a KV cache handed from present.* to past_key_values.*
// through pre-allocated ping-pong buffers, EOS ids from
// generation_config.json, and sampling in Hugging Face's processor order
// (package sample).
//
// Devices: cpu, cuda[:N] (ORT's CUDA execution provider from
// `make setup-cuda`: CUDA 13 and cuDNN 9 must be on LD_LIBRARY_PATH) and
// auto. The KV cache lives in host buffers on every device, so a CUDA step
// copies it to and from the GPU (onnxruntime_go cannot bind outputs to device
// memory); TestCUDAMatchesCPU (MEDBENCH_TEST_CUDA=1) checks the CUDA path on
// a GPU machine.
package qwen2vl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/imageproc"
	"github.com/medbench/medbench/runners/ortlib"
	"github.com/medbench/medbench/runners/sample"
	"github.com/medbench/medbench/runners/tokenizer"
)

// Config configures Open.
type Config struct {
	// ModelDir holds config.json, tokenizer.json, ... and onnx/.
	ModelDir string
	// DType picks the file suffix: fp32 (default), fp16, q8 (quantized),
	// int8, uint8, q4, q4f16, bnb4; or per session, a default plus
	// overrides: "q4,vision_encoder=fp16,embed_tokens=fp16".
	DType string
	// Device is cpu (default), cuda, cuda:N, or auto (CUDA when the provider
	// loads, else CPU, said in Info).
	Device string
	// Threads sets ONNX Runtime's intra-op thread count (0 = ORT default).
	Threads int
	// ORTLib is the ONNX Runtime library path ("" = $MEDBENCH_ORT_LIB, then
	// the `make setup` location).
	ORTLib string
	// Sampling are the decoding settings (runners.SeedPreset for MedVLM-R1).
	Sampling runners.Sampling
	// MinPixels and MaxPixels override preprocessor_config.json (0 = keep).
	// They bound the processor's resize; the qwen_vl_utils stage before it
	// keeps its own defaults (3136, 12845056), as in MedVLM-R1's evaluation.
	MinPixels, MaxPixels int
	// SingleResize resizes once, at the processor's bounds, skipping the
	// qwen_vl_utils stage: MedVLM-R1's trainer hands PIL images straight to
	// the processor (with max_pixels 401408), so its rollouts see one resize.
	SingleResize bool
	// EOS overrides the stop ids (nil = generation_config.json).
	EOS []int
	// PrefillChunk caps the tokens per prefill decoder call (0 = 1024 when
	// the graph declares num_logits_to_keep, else as many as keep the prefill
	// logits under 256 MiB).
	PrefillChunk int
	// TJSNormalize normalizes pixels the transformers.js way (float64, one
	// rounding) for token-for-token comparisons with transformers.js.
	TJSNormalize bool
}

// Prepared is one request turned into model inputs (unpadded, batch of one).
type Prepared struct {
	// InputIDs is the prompt with every image's <|image_pad|> run expanded.
	InputIDs []int
	// PixelValues holds every image's patches, concatenated in prompt order
	// ([sum N_i, patch_dim] row-major).
	PixelValues []float32
	// GridTHW is one [t, h, w] (patch units) per image.
	GridTHW [][3]int64
	// PositionIDs are the M-RoPE position ids (temporal, height, width).
	PositionIDs [3][]int64
	// RopeDelta is max position + 1 - len(InputIDs); a token at cache
	// length L gets position L + RopeDelta.
	RopeDelta int64
}

// Runner generates with Qwen2-VL on ONNX Runtime. Generate calls are
// serialized.
type Runner struct {
	cfg     Config
	meta    *modelMeta
	lay     *layout
	files   map[string]string
	tok     *tokenizer.Tokenizer
	img     imageproc.Config
	eos     []int
	lib     string
	device  string
	note    string
	vision  *ort.DynamicAdvancedSession
	embed   *ort.DynamicAdvancedSession
	decoder *ort.DynamicAdvancedSession

	mu      sync.Mutex // serializes Generate
	sampler *sample.Sampler

	infoOnce sync.Once
	info     runners.Info
}

var _ runners.Runner = (*Runner)(nil)

// Open loads the model directory: JSON configs, tokenizer, and the three
// ONNX sessions for the dtype and device, after checking the graphs' inputs
// and outputs against the Qwen2-VL layout.
func Open(ctx context.Context, cfg Config) (*Runner, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.DType == "" {
		cfg.DType = "fp32"
	}
	dev, err := parseDevice(cfg.Device)
	if err != nil {
		return nil, err
	}
	if err := sample.Validate(cfg.Sampling); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg}
	if r.meta, err = loadMeta(cfg.ModelDir); err != nil {
		return nil, err
	}
	if r.files, err = modelFiles(cfg.ModelDir, cfg.DType); err != nil {
		return nil, err
	}
	if r.tok, err = tokenizer.Load(filepath.Join(cfg.ModelDir, "tokenizer.json")); err != nil {
		return nil, fmt.Errorf("qwen2vl: %w", err)
	}
	for name, want := range map[string]int{"<|image_pad|>": r.meta.tok.imagePad, "<|vision_start|>": r.meta.tok.visionStart, "<|vision_end|>": r.meta.tok.visionEnd} {
		if got, ok := r.tok.TokenID(name); !ok || got != want {
			return nil, fmt.Errorf("qwen2vl: %s: tokenizer.json maps %s to %d (found %v), config.json says %d", cfg.ModelDir, name, got, ok, want)
		}
	}
	r.img = imageproc.DefaultConfig()
	if p := filepath.Join(cfg.ModelDir, "preprocessor_config.json"); fileExists(p) {
		if r.img, err = imageproc.LoadConfig(p); err != nil {
			return nil, fmt.Errorf("qwen2vl: %w", err)
		}
	}
	if cfg.MinPixels > 0 {
		r.img.MinPixels = cfg.MinPixels
	}
	if cfg.MaxPixels > 0 {
		r.img.MaxPixels = cfg.MaxPixels
	}
	if cfg.SingleResize {
		r.img.FetchMinPixels, r.img.FetchMaxPixels = r.img.MinPixels, r.img.MaxPixels
	}
	r.img.TJSNormalize = cfg.TJSNormalize
	if err := r.img.Validate(); err != nil {
		return nil, fmt.Errorf("qwen2vl: pixel bounds: %w", err)
	}
	if r.img.MergeSize != r.meta.tok.merge {
		return nil, fmt.Errorf("qwen2vl: %s: preprocessor merge_size %d differs from config.json spatial_merge_size %d", cfg.ModelDir, r.img.MergeSize, r.meta.tok.merge)
	}
	r.eos = r.meta.eos
	if cfg.EOS != nil {
		r.eos = append([]int(nil), cfg.EOS...)
	}
	if r.lay, err = readLayout(r.files, r.meta); err != nil {
		return nil, err
	}
	if r.lay.patchDim > 0 && r.lay.patchDim != r.img.PatchDim() {
		return nil, fmt.Errorf("qwen2vl: %s: pixel_values has %d values per patch, the preprocessor makes %d", r.files[sessVision], r.lay.patchDim, r.img.PatchDim())
	}
	if r.sampler, err = sample.New(cfg.Sampling, r.lay.vocab, r.eos); err != nil {
		return nil, err
	}
	if r.lib, err = ortlib.Init(cfg.ORTLib); err != nil {
		return nil, fmt.Errorf("qwen2vl: %w", err)
	}
	opts, used, note, err := sessionOptions(dev, cfg.Threads, r.lib)
	if err != nil {
		return nil, err
	}
	r.device, r.note = used, note
	err = r.openSessions(opts)
	opts.Destroy()
	if err != nil && used != "cpu" {
		// The CUDA provider loaded but a session did not start on it
		// (missing CUDA/cuDNN libraries surface here, or no such GPU).
		cuErr := cudaError(r.lib, dev.id, err)
		if dev.kind != "auto" {
			return nil, cuErr
		}
		if opts, r.device, _, err = sessionOptions(deviceSpec{kind: "cpu"}, cfg.Threads, r.lib); err != nil {
			return nil, err
		}
		r.note = "auto: CUDA unavailable, running on CPU: " + cuErr.Error()
		err = r.openSessions(opts)
		opts.Destroy()
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// openSessions creates the three sessions; on failure none is left open.
func (r *Runner) openSessions(opts *ort.SessionOptions) error {
	open := func(name string, in, out []string) (*ort.DynamicAdvancedSession, error) {
		s, err := ort.NewDynamicAdvancedSession(r.files[name], in, out, opts)
		if err != nil {
			return nil, fmt.Errorf("qwen2vl: load %s: %w", r.files[name], err)
		}
		return s, nil
	}
	var err error
	if r.vision, err = open(sessVision, []string{"pixel_values", "grid_thw"}, []string{"image_features"}); err == nil {
		if r.embed, err = open(sessEmbed, []string{"input_ids"}, []string{"inputs_embeds"}); err == nil {
			r.decoder, err = open(sessDecoder, r.lay.decIn, r.lay.decOut)
		}
	}
	if err != nil {
		r.Close()
	}
	return err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Tokenizer returns the model's tokenizer.
func (r *Runner) Tokenizer() *tokenizer.Tokenizer { return r.tok }

// EOS returns the stop ids in use.
func (r *Runner) EOS() []int { return append([]int(nil), r.eos...) }

// PadID returns the id used for left padding and finished rows.
func (r *Runner) PadID() int { return r.meta.tok.pad }

// Device reports where the sessions run (cpu or cuda:N).
func (r *Runner) Device() string { return r.device }

// Close releases the ONNX Runtime sessions.
func (r *Runner) Close() error {
	var errs []error
	for _, s := range []**ort.DynamicAdvancedSession{&r.vision, &r.embed, &r.decoder} {
		if *s != nil {
			if err := (*s).Destroy(); err != nil {
				errs = append(errs, err)
			}
			*s = nil
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("qwen2vl: close: %w", errors.Join(errs...))
	}
	return nil
}

// Prepare turns a request into model inputs: images preprocessed (in
// order), the chat prompt tokenized with each image's pads expanded, and
// the M-RoPE position ids of the unpadded prompt.
func (r *Runner) Prepare(req runners.Request) (*Prepared, error) {
	p := &Prepared{}
	counts := make([]int, len(req.Images))
	for i, im := range req.Images {
		var pr *imageproc.Processed
		var err error
		if im.Bytes != nil {
			pr, err = imageproc.Preprocess(im.Bytes, r.img)
			if err != nil {
				err = fmt.Errorf("image %d: %w", i, err)
			}
		} else {
			pr, err = imageproc.PreprocessFile(im.Path, r.img)
		}
		if err != nil {
			return nil, fmt.Errorf("qwen2vl: sample %s: %w", req.ID, err)
		}
		p.PixelValues = append(p.PixelValues, pr.PixelValues...)
		p.GridTHW = append(p.GridTHW, pr.GridTHW)
		counts[i] = pr.ImageTokens
	}
	ids, err := expandImagePads(r.tok.Encode(ChatPrompt(req.Text, len(req.Images))), r.meta.tok.imagePad, counts)
	if err != nil {
		return nil, fmt.Errorf("qwen2vl: sample %s: %w", req.ID, err)
	}
	p.InputIDs = ids
	ids64 := make([]int64, len(ids))
	mask := make([]int64, len(ids))
	for i, id := range ids {
		ids64[i], mask[i] = int64(id), 1
	}
	pos, d, err := ropeIndex(ids64, mask, 1, len(ids), p.GridTHW, r.meta.tok)
	if err != nil {
		return nil, fmt.Errorf("qwen2vl: sample %s: %w", req.ID, err)
	}
	n := len(ids)
	p.PositionIDs = [3][]int64{pos[:n], pos[n : 2*n], pos[2*n:]}
	p.RopeDelta = d[0]
	return p, nil
}

// Generate runs one left-padded batch over the requests that prepare
// cleanly; requests that fail to prepare get Result.Err. A returned error
// (ONNX Runtime failure, cancellation) stops the run. Each request samples
// from its own PCG generator seeded with Request.Seed (or, when that is 0,
// with sample.SeedFor(Sampling.Seed, Prompt+"/"+ID)), so its tokens do not
// depend on the batch it lands in. The repetition penalty sees the request's
// own unpadded prompt and completion (Hugging Face batch=1 semantics).
func (r *Runner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	res := make([]runners.Result, len(reqs))
	var rows []*genRow
	prepared := map[string]*Prepared{} // identical requests (GRPO groups) prepare once
	for i, q := range reqs {
		res[i].ID = q.ID
		key := prepareKey(q)
		p, err := prepared[key], error(nil)
		if p == nil {
			if p, err = r.Prepare(q); err == nil {
				prepared[key] = p
			}
		}
		if err != nil {
			res[i].Err = err
			res[i].FinishReason = "error"
			continue
		}
		seed := q.Seed
		if seed == 0 {
			seed = sample.SeedFor(r.cfg.Sampling.Seed, q.Prompt+"/"+q.ID)
		}
		rows = append(rows, &genRow{idx: i, prep: p, rng: sample.NewRand(seed)})
	}
	if len(rows) > 0 {
		if err := r.generate(ctx, rows); err != nil {
			return nil, err
		}
	}
	for _, row := range rows {
		res[row.idx] = runners.Result{
			ID:               reqs[row.idx].ID,
			Text:             r.tok.Decode(row.out, true),
			TokenIDs:         row.out,
			PromptTokens:     len(row.prep.InputIDs),
			CompletionTokens: len(row.out),
			FinishReason:     row.reason,
			Latency:          row.end.Sub(start),
			FirstToken:       row.first.Sub(start),
		}
	}
	return res, nil
}

// prepareKey identifies a request's inputs: its text and its images by
// path, or by the identity of their byte slices.
func prepareKey(q runners.Request) string {
	var b strings.Builder
	b.WriteString(q.Text)
	for _, im := range q.Images {
		if im.Bytes != nil {
			fmt.Fprintf(&b, "\x00b%p/%d", unsafe.SliceData(im.Bytes), len(im.Bytes))
		} else {
			fmt.Fprintf(&b, "\x00p%s", im.Path)
		}
	}
	return b.String()
}

// Info describes the runner: model, device, runtime, file hashes and
// settings (hashes are computed once, on the first call).
func (r *Runner) Info() runners.Info {
	r.infoOnce.Do(func() {
		settings := map[string]any{
			"dtype":              r.cfg.DType,
			"device_requested":   r.cfg.Device,
			"threads":            r.cfg.Threads,
			"sampling":           r.cfg.Sampling,
			"eos_token_ids":      r.eos,
			"pad_token_id":       r.meta.tok.pad,
			"min_pixels":         r.img.MinPixels,
			"max_pixels":         r.img.MaxPixels,
			"fetch_min_pixels":   r.img.FetchMinPixels,
			"fetch_max_pixels":   r.img.FetchMaxPixels,
			"tjs_normalize":      r.img.TJSNormalize,
			"num_logits_to_keep": r.lay.logitsToKeep,
			"kv_dtype":           elemName(r.lay.kvDT),
		}
		if r.note != "" {
			settings["device_note"] = r.note
		}
		r.info = runners.Info{
			Name:     "qwen2vl-onnx",
			Model:    r.cfg.ModelDir,
			Device:   r.device,
			Runtime:  "onnxruntime " + ortlib.Version + " (" + r.lib + ")",
			Files:    r.hashFiles(),
			Settings: settings,
		}
	})
	return r.info
}

// hashFiles returns sha256 of the JSON files, tokenizer and the dtype's
// ONNX files with their external data (relative paths); unreadable files
// are recorded as "error: ...".
func (r *Runner) hashFiles() map[string]string {
	var paths []string
	for _, f := range []string{"config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"} {
		if p := filepath.Join(r.cfg.ModelDir, f); fileExists(p) {
			paths = append(paths, p)
		}
	}
	for _, p := range r.files {
		paths = append(paths, p)
		extra, _ := filepath.Glob(p + "_data*")
		paths = append(paths, extra...)
	}
	sort.Strings(paths)
	out := map[string]string{}
	for _, p := range paths {
		rel, err := filepath.Rel(r.cfg.ModelDir, p)
		if err != nil {
			rel = p
		}
		out[filepath.ToSlash(rel)] = hashFile(p)
	}
	return out
}

func hashFile(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return "error: " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "error: " + err.Error()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// describe is used in errors: "model DIR (dtype)".
func (r *Runner) describe() string {
	return strings.TrimSpace(fmt.Sprintf("model %s (%s)", r.cfg.ModelDir, r.cfg.DType))
}
