package qwen2vl

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners"
)

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want deviceSpec
		err  bool
	}{
		{"", deviceSpec{kind: "cpu"}, false},
		{"cpu", deviceSpec{kind: "cpu"}, false},
		{"cuda", deviceSpec{kind: "cuda"}, false},
		{"cuda:3", deviceSpec{kind: "cuda", id: 3}, false},
		{"auto", deviceSpec{kind: "auto"}, false},
		{"cuda:-1", deviceSpec{}, true},
		{"cuda:x", deviceSpec{}, true},
		{"gpu", deviceSpec{}, true},
	} {
		got, err := parseDevice(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseDevice(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestCUDAErrorNamesMissingFiles(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "libonnxruntime.so.1")
	err := cudaError(lib, 1, errors.New("Failed to load library\nsecond line"))
	msg := err.Error()
	if !errors.Is(err, ortlib.ErrNoCUDA) || strings.Contains(msg, "\n") ||
		!strings.Contains(msg, "libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so missing") ||
		!strings.Contains(msg, "make setup-cuda") || !strings.Contains(msg, "libcudart.so.13") || !strings.Contains(msg, "cuda:1") {
		t.Fatalf("message: %s", msg)
	}
	for _, f := range cudaProviderFiles {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	msg = cudaError(lib, 0, errors.New("libcublasLt.so.13: cannot open shared object file\nmore")).Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "provider files present") || !strings.Contains(msg, "libcublasLt.so.13: cannot open") {
		t.Fatalf("message: %s", msg)
	}
}

// On a machine without a usable CUDA provider (this one: no GPU, and the
// provider files may or may not be installed) --device cuda fails with one
// line naming what is missing, and auto falls back to the CPU, saying so.
func TestDeviceCUDAUnavailable(t *testing.T) {
	dir := tinyModel(t, "fp32")
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Skip("a GPU is present; the failure path cannot be observed here")
	}
	_, err := Open(context.Background(), Config{ModelDir: dir, Device: "cuda", Sampling: greedy(4)})
	if err == nil || !errors.Is(err, ortlib.ErrNoCUDA) || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "qwen2vl: --device cuda:0: ") {
		t.Fatalf("cuda: %v", err)
	}
	r, err := Open(context.Background(), Config{ModelDir: dir, Device: "auto", Sampling: greedy(4)})
	if err != nil {
		t.Fatalf("auto: %v", err)
	}
	defer r.Close()
	info := r.Info()
	note, _ := info.Settings["device_note"].(string)
	if r.Device() != "cpu" || info.Device != "cpu" || !strings.Contains(note, "auto: CUDA unavailable, running on CPU") {
		t.Fatalf("auto: device %s, note %q", r.Device(), note)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func editJSON(t *testing.T, path string, f func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	src := tinyModel(t, "fp32")
	for _, tc := range []struct {
		name string
		edit func(dir string)
		cfg  func(*Config)
		msgs []string
	}{
		{"layer count mismatch", func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["num_hidden_layers"] = 3 })
		}, nil, []string{"decoder_model_merged.onnx: inputs do not match", "expected [", "found [", "missing: past_key_values.2.key, past_key_values.2.value"}},
		{"missing image token", func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { delete(m, "image_token_id") })
		}, nil, []string{"config.json: missing image_token_id"}},
		{"wrong model type", func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["model_type"] = "llama" })
		}, nil, []string{`model_type "llama"`}},
		{"token ids disagree", func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["vision_end_token_id"] = 5 })
		}, nil, []string{"tokenizer.json maps <|vision_end|>"}},
		{"dtype files missing", nil, func(c *Config) { c.DType = "q4" }, []string{"has no q4 files", "decoder_model_merged_q4.onnx"}},
		{"unknown dtype", nil, func(c *Config) { c.DType = "fp8" }, []string{`unknown dtype "fp8"`}},
		{"bad session", nil, func(c *Config) { c.DType = "fp32,lm_head=fp16" }, []string{`unknown session "lm_head"`}},
		{"embed and decoder dtypes differ", func(d string) { writeFP16(t, d) }, func(c *Config) { c.DType = "fp32,embed_tokens=fp16" }, []string{"inputs_embeds float32", "want float16 [batch, seq, hidden] as embed_tokens gives"}},
		{"bad sampling", nil, func(c *Config) { c.Sampling.MaxNewTokens = 0 }, []string{"max_new_tokens"}},
		{"bad device", nil, func(c *Config) { c.Device = "tpu" }, []string{`device "tpu"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := src
			if tc.edit != nil {
				dir = copyDir(t, src)
				tc.edit(dir)
			}
			cfg := Config{ModelDir: dir, Sampling: greedy(4)}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			r, err := Open(context.Background(), cfg)
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			for _, m := range tc.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if !strings.HasPrefix(err.Error(), "qwen2vl: ") && !strings.HasPrefix(err.Error(), "sample: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	r := openTiny(t, "fp32", greedy(4), nil)
	info := r.Info()
	if info.Name != "qwen2vl-onnx" || info.Device != "cpu" || !strings.Contains(info.Runtime, "1.29.0") {
		t.Fatalf("%+v", info)
	}
	for _, f := range []string{"config.json", "generation_config.json", "tokenizer.json", "onnx/decoder_model_merged.onnx", "onnx/vision_encoder.onnx", "onnx/embed_tokens.onnx"} {
		if h := info.Files[f]; len(h) != 64 {
			t.Errorf("file %s hash %q", f, h)
		}
	}
	if eos, _ := info.Settings["eos_token_ids"].([]int); len(eos) != 2 {
		t.Errorf("eos %v", info.Settings["eos_token_ids"])
	}
	if m := info.Settings["rgba"]; m != "white" {
		t.Errorf("rgba setting %v, want white (the default)", m)
	}
}

// TestRGBAMode: an RGBA image's pixel values follow Config.RGBA (white
// composite by default, alpha dropped with qwen-vl-utils-0.0.8, recorded in
// Info), an opaque RGB image's do not change, and an unknown mode fails Open.
func TestRGBAMode(t *testing.T) {
	white := openTiny(t, "fp32", greedy(4), nil)
	drop := openTiny(t, "fp32", greedy(4), func(c *Config) { c.RGBA = imageproc.RGBAQwenVLUtils008 })
	if m := drop.Info().Settings["rgba"]; m != "qwen-vl-utils-0.0.8" {
		t.Errorf("rgba setting %v", m)
	}
	for _, mode := range []string{"rgba", "rgb"} {
		req := runners.Request{Images: []runners.Image{{Bytes: testPNG(t, 56, 84, mode, 3)}}, Text: "x"}
		pw, err := white.Prepare(req)
		if err != nil {
			t.Fatal(err)
		}
		pd, err := drop.Prepare(req)
		if err != nil {
			t.Fatal(err)
		}
		if same := slices.Equal(pw.PixelValues, pd.PixelValues); same != (mode == "rgb") {
			t.Errorf("%s image: pixel values equal under both modes = %v", mode, same)
		}
	}
	dir := fixtureModel(t, "tiny", "fp32")
	if _, err := Open(context.Background(), Config{ModelDir: dir, DType: "fp32", Sampling: greedy(4), RGBA: "black"}); err == nil || !strings.Contains(err.Error(), "black") {
		t.Errorf("unknown rgba mode: %v", err)
	}
}

// writeFP16 adds the fp16 files of the same fixture (seed 1) to dir.
func writeFP16(t *testing.T, dir string) {
	t.Helper()
	fp16 := tinyModel(t, "fp16")
	for _, s := range []string{sessVision, sessEmbed, sessDecoder} {
		b, err := os.ReadFile(filepath.Join(fp16, "onnx", s+"_fp16.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "onnx", s+"_fp16.onnx"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseDType(t *testing.T) {
	got, err := parseDType("q4, vision_encoder=fp16,embed_tokens=fp16")
	if err != nil || got[sessVision] != "_fp16" || got[sessEmbed] != "_fp16" || got[sessDecoder] != "_q4" {
		t.Fatalf("%v %v", got, err)
	}
	got, err = parseDType("decoder_model_merged=quantized")
	if err != nil || got[sessVision] != "" || got[sessDecoder] != "_quantized" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"fp32,fp16", "fp32,vision_encoder=fp16,vision_encoder=q4", "x=fp16", "fp64"} {
		if _, err := parseDType(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A float16 vision encoder feeding float32 embeddings (per-session dtypes):
// its features are converted in the merge.
func TestMixedDTypes(t *testing.T) {
	dir := copyDir(t, tinyModel(t, "fp32"))
	writeFP16(t, dir)
	s := greedy(12)
	s.RepetitionPenalty = 2
	reqs := mixedRequests(t, 3)
	want, err := openTiny(t, "fp32", s, nil).Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), Config{ModelDir: dir, DType: "fp32,vision_encoder=fp16", Sampling: s, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.lay.featDT != onnxFloat16 || r.lay.embedDT != onnxFloat {
		t.Fatalf("feature dtype %s, embed dtype %s", elemName(r.lay.featDT), elemName(r.lay.embedDT))
	}
	got, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range reqs {
		if got[i].Err != nil || len(got[i].TokenIDs) != 12 {
			t.Fatalf("request %d: %+v", i, got[i])
		}
		if slices.Equal(got[i].TokenIDs, want[i].TokenIDs) {
			same++
		}
	}
	// float16 image features differ from float32 ones by rounding only: the
	// random-weight model's tokens mostly agree.
	if same == 0 {
		t.Errorf("no request matches the fp32 tokens: features were not converted?")
	}
}
