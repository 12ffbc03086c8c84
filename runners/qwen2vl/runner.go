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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/internal/filehash"
	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/model/tokenizer"
	"github.com/medbench/medbench/ort/ortbind"
	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/sampler"
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
	// KVCache places the decoder's key/value cache: KVAuto (default: on the
	// device on CUDA, host buffers on CPU), KVHost or KVDevice.
	KVCache string
	// RGBA is how RGBA images become RGB ("" = imageproc.RGBAWhite, the
	// white composite of qwen-vl-utils >= 0.0.9; imageproc.RGBAQwenVLUtils008
	// drops alpha as 0.0.8 and transformers.js do).
	RGBA imageproc.RGBAMode
	// MaxImagePixels is the decompression-bomb limit (imageproc.CheckPixels:
	// 0 = Pillow's 89,478,485, warning above, error above twice; negative =
	// off), checked from each image's header before decoding.
	MaxImagePixels int64
	// MaxBatchImageBytes bounds the decoded-image memory a batch leaves for
	// the garbage collector: once the images prepared since the last
	// collection took more, the runner collects before the next request
	// (0 = imageproc.DefaultMaxBatchImageBytes).
	MaxBatchImageBytes int64
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
	// Warnings are the images' preprocessing warnings ("image 0: ...").
	Warnings []string
	// DecodedBytes is the memory the images' decodes took.
	DecodedBytes int64
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

	mu        sync.Mutex          // serializes Generate
	prof      runners.Profile     // the last Generate call's (guarded by mu)
	callStart time.Time           // start of the running Generate call (guarded by mu)
	kvMem     *ortbind.MemoryInfo // where the bound decode keeps the cache; nil: host path
	sampler   *sampler.Sampler

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
	if err := sampler.Validate(cfg.Sampling); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg}
	jf, errs := loadJSONFiles(cfg.ModelDir)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	r.meta, r.tok, r.img = jf.meta, jf.tok, jf.img
	if r.files, err = modelFiles(cfg.ModelDir, cfg.DType); err != nil {
		return nil, err
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
	if r.img.RGBA, err = imageproc.ParseRGBAMode(string(cfg.RGBA)); err != nil {
		return nil, fmt.Errorf("qwen2vl: %w", err)
	}
	r.img.MaxImagePixels = cfg.MaxImagePixels
	if r.img.MaxImagePixels == 0 {
		r.img.MaxImagePixels = imageproc.DefaultMaxImagePixels
	}
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
	if r.sampler, err = sampler.New(cfg.Sampling, r.lay.vocab, r.eos); err != nil {
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
	if err := r.placeKV(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// placeKV decides where the decode keeps its KV cache (Config.KVCache).
func (r *Runner) placeKV() error {
	mode := r.cfg.KVCache
	switch mode {
	case "", KVAuto:
		if !strings.HasPrefix(r.device, "cuda") {
			return nil
		}
		mode = KVDevice
	case KVHost:
		return nil
	case KVDevice:
	default:
		return fmt.Errorf("qwen2vl: KV cache placement %q: want auto, host or device", r.cfg.KVCache)
	}
	if err := ortbind.Init(r.lib); err != nil {
		return fmt.Errorf("qwen2vl: device KV cache: %w", err)
	}
	name, id := "Cpu", 0
	if dev, ok := strings.CutPrefix(r.device, "cuda:"); ok {
		name = "Cuda"
		if _, err := fmt.Sscan(dev, &id); err != nil {
			return fmt.Errorf("qwen2vl: device %q: %w", r.device, err)
		}
	}
	m, err := ortbind.NewMemoryInfo(name, id)
	if err != nil {
		return fmt.Errorf("qwen2vl: device KV cache: %w", err)
	}
	r.kvMem = m
	return nil
}

// kvPlacement says where the decode keeps its KV cache.
func (r *Runner) kvPlacement() string {
	if r.kvMem != nil {
		return KVDevice
	}
	return KVHost
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
	r.kvMem.Destroy()
	r.kvMem = nil
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
		if pr.Warning != "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("image %d: %s", i, pr.Warning))
		}
		p.DecodedBytes += pr.DecodedBytes
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
// with sampler.SeedFor(Sampling.Seed, Prompt+"/"+ID)), so its tokens do not
// depend on the batch it lands in. The repetition penalty sees the request's
// own unpadded prompt and completion (Hugging Face batch=1 semantics).
func (r *Runner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.generateLocked(ctx, reqs)
}

// GenerateWith is Generate under other decoding settings for this call only
// (medbench serve takes them from each request). s.Seed stands in for the
// run seed of requests whose Seed is 0.
func (r *Runner) GenerateWith(ctx context.Context, s runners.Sampling, reqs []runners.Request) ([]runners.Result, error) {
	smp, err := sampler.New(s, r.lay.vocab, r.eos)
	if err != nil {
		return nil, fmt.Errorf("qwen2vl: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	saved, savedSampler := r.cfg.Sampling, r.sampler
	r.cfg.Sampling, r.sampler = s, smp
	defer func() { r.cfg.Sampling, r.sampler = saved, savedSampler }()
	return r.generateLocked(ctx, reqs)
}

func (r *Runner) generateLocked(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	start := time.Now()
	r.prof, r.callStart = runners.Profile{}, start
	defer func() { r.prof.Wall = time.Since(start) }()
	res := make([]runners.Result, len(reqs))
	var rows []*genRow
	prepared := map[string]*Prepared{} // identical requests (GRPO groups) prepare once
	budget := newDecodeBudget(r.cfg.MaxBatchImageBytes, runtime.GC)
	for i, q := range reqs {
		res[i].ID = q.ID
		key := prepareKey(q)
		p, err := prepared[key], error(nil)
		if p == nil {
			t := time.Now()
			if p, err = r.Prepare(q); err == nil {
				prepared[key] = p
				budget.add(p.DecodedBytes)
			}
			r.prof.Prepare += time.Since(t)
		}
		if err != nil {
			res[i].Err = err
			res[i].FinishReason = "error"
			continue
		}
		seed := q.Seed
		if seed == 0 {
			seed = sampler.SeedFor(r.cfg.Sampling.Seed, q.Prompt+"/"+q.ID, sampler.RunnerSeed)
		}
		rows = append(rows, &genRow{idx: i, prep: p, rng: sampler.NewRand(seed)})
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
			Warnings:         row.prep.Warnings,
			FirstToken:       row.first.Sub(start),
		}
	}
	return res, nil
}

// LastProfile is the time account of the last Generate call.
func (r *Runner) LastProfile() runners.Profile {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.prof
	p.DecodeSteps = slices.Clone(p.DecodeSteps)
	p.PeakDeviceBytes = r.peakDeviceBytes()
	return p
}

// peakDeviceBytes sums the device allocators' peak use over the three
// sessions when the decode binds its cache on a device (on CUDA, the GPU
// memory ONNX Runtime's arenas held at most); 0 on the host path or when
// the allocators keep no statistics.
func (r *Runner) peakDeviceBytes() int64 {
	if r.kvMem == nil {
		return 0
	}
	var sum int64
	for _, s := range []*ort.DynamicAdvancedSession{r.vision, r.embed, r.decoder} {
		if s == nil {
			continue
		}
		if n, err := ortbind.MaxInUse(s, r.kvMem); err == nil && n > 0 {
			sum += n
		}
	}
	return sum
}

// run calls s.Run and adds its time to the profile's runtime share.
func (r *Runner) run(s *ort.DynamicAdvancedSession, in, out []ort.Value) error {
	t := time.Now()
	err := s.Run(in, out)
	r.prof.Runtime += time.Since(t)
	return err
}

// decodeBudget bounds the decoded-image memory a batch leaves to the
// garbage collector: the images are garbage once prepared, so when those
// prepared since the last collection took more than bound bytes it
// collects before the next request decodes more.
type decodeBudget struct {
	bound, used int64
	collect     func()
}

func newDecodeBudget(bound int64, collect func()) *decodeBudget {
	if bound <= 0 {
		bound = imageproc.DefaultMaxBatchImageBytes
	}
	return &decodeBudget{bound: bound, collect: collect}
}

// add records n decoded bytes, collecting when the total passes the bound.
func (b *decodeBudget) add(n int64) {
	if b.used += n; b.used > b.bound {
		b.collect()
		b.used = 0
	}
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
			"kv_cache":           r.kvPlacement(),
			"sampling":           r.cfg.Sampling,
			"eos_token_ids":      r.eos,
			"pad_token_id":       r.meta.tok.pad,
			"min_pixels":         r.img.MinPixels,
			"max_pixels":         r.img.MaxPixels,
			"fetch_min_pixels":   r.img.FetchMinPixels,
			"fetch_max_pixels":   r.img.FetchMaxPixels,
			"tjs_normalize":      r.img.TJSNormalize,
			"rgba":               string(r.img.RGBA),
			"max_image_pixels":   r.img.MaxImagePixels,
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
	sum, err := filehash.SHA256(p)
	if err != nil {
		return "error: " + err.Error()
	}
	return sum
}

// describe is used in errors: "model DIR (dtype)".
func (r *Runner) describe() string {
	return strings.TrimSpace(fmt.Sprintf("model %s (%s)", r.cfg.ModelDir, r.cfg.DType))
}
