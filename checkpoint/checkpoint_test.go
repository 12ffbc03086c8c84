package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/model/safetensors"
	"github.com/medbench/medbench/runners/fixture"
)

var (
	fxOnce sync.Once
	fxDir  string
	fxErr  error
)

// tinyFixture is a tiny fp32 fixture shared by the tests (read-only).
func tinyFixture(t *testing.T) string {
	t.Helper()
	fxOnce.Do(func() {
		d, err := os.MkdirTemp("", "checkpoint-fixture-")
		if err != nil {
			fxErr = err
			return
		}
		fxDir = filepath.Join(d, "tiny")
		fxErr = fixture.Write(context.Background(), fxDir, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 5})
	})
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fxDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fxDir != "" {
		os.RemoveAll(filepath.Dir(fxDir))
	}
	os.Exit(code)
}

// onnxWeights reads every initializer of a model directory's three graphs.
func onnxWeights(t *testing.T, dir, dtype string) map[string]onnxpb.Tensor {
	t.Helper()
	out := map[string]onnxpb.Tensor{}
	for _, s := range fixture.Sessions() {
		p, _ := fixture.ONNXPath(dir, s, dtype)
		ts, err := onnxpb.ReadInitializers(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			out[s+"/"+x.Name] = x
		}
	}
	return out
}

func sameWeights(t *testing.T, what string, a, b map[string]onnxpb.Tensor) {
	t.Helper()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%s: %d vs %d initializers", what, len(a), len(b))
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.Type != y.Type || !slices.Equal(x.Dims, y.Dims) || !bytes.Equal(x.Raw, y.Raw) {
			t.Errorf("%s: initializer %s differs", what, k)
		}
	}
}

func export(t *testing.T, from string, opts ExportOptions) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hf")
	if err := Export(context.Background(), from, out, opts); err != nil {
		t.Fatal(err)
	}
	return out
}

func imp(t *testing.T, from string, opts ImportOptions) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "models", "model")
	if err := Import(context.Background(), from, out, opts); err != nil {
		t.Fatal(err)
	}
	return out
}

func readAll(t *testing.T, dir string) (map[string][]int64, map[string][]float32, map[string]safetensors.DType) {
	t.Helper()
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	dims, vals, dts := map[string][]int64{}, map[string][]float32{}, map[string]safetensors.DType{}
	for _, n := range ck.Names() {
		ti, _, _ := ck.Tensor(n)
		d, v, err := ck.ReadFloat32(n)
		if err != nil {
			t.Fatal(err)
		}
		dims[n], vals[n], dts[n] = d, v, ti.DType
	}
	return dims, vals, dts
}

// rewrite writes a checkpoint dir from float32 tensors, in shards of at
// most maxShard bytes, with the config and tokenizer files of like.
func rewrite(t *testing.T, like string, dims map[string][]int64, vals map[string][]float32, dt safetensors.DType, maxShard int64, cfgEdit func(map[string]any)) string {
	t.Helper()
	out := t.TempDir()
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "generation_config.json"} {
		if err := copyIfPresent(filepath.Join(like, f), filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(like, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfgEdit != nil {
		cfgEdit(cfg)
	}
	if err := writeJSON(filepath.Join(out, "config.json"), cfg); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(dims))
	sizes := []int64{}
	for n := range dims {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sizes = append(sizes, onnxpb.NumElements(dims[n])*int64(dt.Size()))
	}
	shards := hubSplit(names, sizes, maxShard)
	wm := map[string]string{}
	for i, sh := range shards {
		fn := "model.safetensors"
		if len(shards) > 1 {
			fn = "model-0000" + string(rune('1'+i)) + "-of-0000" + string(rune('0'+len(shards))) + ".safetensors"
		}
		var ts []safetensors.WriteTensor
		for _, n := range sh {
			ts = append(ts, safetensors.WriteTensor{Name: n, DType: dt, Shape: dims[n]})
			wm[n] = fn
		}
		err := safetensors.WriteFile(filepath.Join(out, fn), map[string]string{"format": "pt"}, ts, func(wt safetensors.WriteTensor, w io.Writer) error {
			return writeValues(w, dt, vals[wt.Name])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(shards) > 1 {
		if err := writeJSON(filepath.Join(out, safetensors.IndexFile), map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": wm}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestExportImportRoundTrip: fixture → export fp32 → import gives the
// fixture's ONNX weights bit for bit; import → export fp32 gives the same
// safetensors bytes again.
func TestExportImportRoundTrip(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	if _, err := os.Stat(filepath.Join(hf, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	_, _, dts := readAll(t, hf)
	if _, ok := dts["lm_head.weight"]; ok {
		t.Error("tied export wrote lm_head.weight")
	}
	if dts["visual.blocks.0.attn.qkv.weight"] != safetensors.F32 {
		t.Errorf("qkv dtype %v", dts["visual.blocks.0.attn.qkv.weight"])
	}
	back := imp(t, hf, ImportOptions{DType: "fp32"})
	sameWeights(t, "fixture vs export→import", onnxWeights(t, fx, "fp32"), onnxWeights(t, back, "fp32"))

	again := export(t, back, ExportOptions{DType: "fp32"})
	a, _ := os.ReadFile(filepath.Join(hf, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(again, "model.safetensors"))
	if !bytes.Equal(a, b) {
		t.Error("import → export fp32 changed model.safetensors")
	}
	ca, _ := os.ReadFile(filepath.Join(hf, "config.json"))
	cb, _ := os.ReadFile(filepath.Join(again, "config.json"))
	if !bytes.Equal(ca, cb) {
		t.Errorf("config.json differs across the round trip:\n%s\n%s", ca, cb)
	}
	// Provenance names the source files with their hashes.
	var prov Provenance
	pb, _ := os.ReadFile(filepath.Join(back, "import.json"))
	if err := json.Unmarshal(pb, &prov); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range prov.Files {
		if f.Name == "model.safetensors" && f.Bytes == int64(len(a)) && len(f.SHA256) == 64 {
			found = true
		}
	}
	if !found || prov.Naming != Legacy || !prov.TiedLMHead || prov.DType != "fp32" {
		t.Errorf("import.json %+v", prov)
	}
	// The runner's files are there; the config is a valid runner config.
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "generation_config.json", "config.json"} {
		if _, err := os.Stat(filepath.Join(back, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := fixture.ReadLayoutConfig(back); err != nil {
		t.Error(err)
	}
}

// TestExportBF16AndFP16Import: bf16 export rounds to nearest even; an fp16
// import writes the fp16 graphs from it.
func TestExportBF16AndFP16Import(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{})
	_, vals, dts := readAll(t, hf)
	w := onnxWeights(t, fx, "fp32")["decoder_model_merged/model.norm.weight"]
	f32 := onnxpb.Float32sFromBytes(w.Raw)
	if dts["model.norm.weight"] != safetensors.BF16 {
		t.Fatalf("dtype %v", dts["model.norm.weight"])
	}
	for i, v := range vals["model.norm.weight"] {
		if safetensors.BF16Bits(f32[i]) != uint16(math.Float32bits(v)>>16) {
			t.Fatalf("norm[%d]: %v is not bf16(%v)", i, v, f32[i])
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(hf, "config.json"))
	if !strings.Contains(string(cfg), `"torch_dtype": "bfloat16"`) {
		t.Errorf("config.json torch_dtype: %s", cfg)
	}
	// bf16 → fp32 import → bf16 export gives back the same bytes.
	again := export(t, imp(t, hf, ImportOptions{}), ExportOptions{})
	a, _ := os.ReadFile(filepath.Join(hf, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(again, "model.safetensors"))
	if !bytes.Equal(a, b) {
		t.Error("bf16 checkpoint changed through an fp32 import and a bf16 export")
	}
	m := imp(t, hf, ImportOptions{DType: "fp16"})
	ws := onnxWeights(t, m, "fp16")
	if got := ws["decoder_model_merged/model.norm.weight"]; got.Type != onnxpb.Float16 {
		t.Errorf("fp16 import wrote %v", got.Type)
	}
}

// TestImportNewNamingSharded: the ≥ 4.52 names in three bf16 shards import
// to the same graphs as the legacy single file.
func TestImportNewNamingSharded(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{})
	dims, vals, _ := readAll(t, hf)
	nd, nv := map[string][]int64{}, map[string][]float32{}
	for n := range dims {
		nn := n
		switch {
		case strings.HasPrefix(n, "visual."):
			nn = "model." + n
		case strings.HasPrefix(n, "model."):
			nn = "model.language_model." + strings.TrimPrefix(n, "model.")
		}
		nd[nn], nv[nn] = dims[n], vals[n]
	}
	newDir := rewrite(t, hf, nd, nv, safetensors.BF16, 200_000, func(c map[string]any) {
		text := map[string]any{"model_type": "qwen2_vl_text"}
		for _, k := range []string{"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta", "rope_scaling", "vocab_size", "max_position_embeddings"} {
			text[k] = c[k]
			delete(c, k)
		}
		delete(c, "tie_word_embeddings") // ≥ 4.52 omits it when true
		c["text_config"] = text
	})
	if _, err := os.Stat(filepath.Join(newDir, safetensors.IndexFile)); err != nil {
		t.Fatalf("not sharded: %v", err)
	}
	a := imp(t, hf, ImportOptions{})
	b := imp(t, newDir, ImportOptions{})
	sameWeights(t, "legacy vs new names", onnxWeights(t, a, "fp32"), onnxWeights(t, b, "fp32"))
	var prov Provenance
	pb, _ := os.ReadFile(filepath.Join(b, "import.json"))
	json.Unmarshal(pb, &prov)
	if prov.Naming != New {
		t.Errorf("naming %q, want new", prov.Naming)
	}
}

// TestUntied: tie_word_embeddings false with its own lm_head.weight
// imports into the decoder and exports back.
func TestUntied(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	dims, vals, _ := readAll(t, hf)
	emb := vals["model.embed_tokens.weight"]
	lm := make([]float32, len(emb))
	for i := range lm {
		lm[i] = float32(i%101)/101 - 0.5
	}
	dims["lm_head.weight"], vals["lm_head.weight"] = dims["model.embed_tokens.weight"], lm
	untied := rewrite(t, hf, dims, vals, safetensors.F32, 1<<40, func(c map[string]any) { c["tie_word_embeddings"] = false })
	m := imp(t, untied, ImportOptions{})
	ws := onnxWeights(t, m, "fp32")
	if got := onnxpb.Float32sFromBytes(ws["decoder_model_merged/lm_head.weight"].Raw); !slices.Equal(got, lm) {
		t.Error("decoder lm_head is not the checkpoint's lm_head.weight")
	}
	if got := onnxpb.Float32sFromBytes(ws["embed_tokens/model.embed_tokens.weight"].Raw); !slices.Equal(got, emb) {
		t.Error("embed_tokens changed")
	}
	out := export(t, m, ExportOptions{DType: "fp32"})
	_, v2, _ := readAll(t, out)
	if !slices.Equal(v2["lm_head.weight"], lm) || !slices.Equal(v2["model.embed_tokens.weight"], emb) {
		t.Error("untied export lost lm_head.weight or embed_tokens")
	}
	cfg, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !strings.Contains(string(cfg), `"tie_word_embeddings": false`) {
		t.Error("untied export config says tied")
	}
}

// TestExportTiedMismatch: a model dir whose config says tied but whose
// lm_head differs from the embedding is not exported silently.
func TestExportTiedMismatch(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	dims, vals, _ := readAll(t, hf)
	lm := slices.Clone(vals["model.embed_tokens.weight"])
	lm[3] += 1
	dims["lm_head.weight"], vals["lm_head.weight"] = dims["model.embed_tokens.weight"], lm
	untied := rewrite(t, hf, dims, vals, safetensors.F32, 1<<40, func(c map[string]any) { c["tie_word_embeddings"] = false })
	m := imp(t, untied, ImportOptions{})
	cfgPath := filepath.Join(m, "config.json")
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, bytes.Replace(b, []byte(`"tie_word_embeddings": false`), []byte(`"tie_word_embeddings": true`), 1), 0o644)
	err := Export(context.Background(), m, filepath.Join(t.TempDir(), "x"), ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "tied") || !strings.Contains(err.Error(), "lm_head.weight") {
		t.Errorf("tied mismatch: %v", err)
	}
}

// TestImportTensorSetErrors: missing, leftover and misshapen tensors are
// all listed in one error, before any output exists.
func TestImportTensorSetErrors(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	dims, vals, _ := readAll(t, hf)
	delete(dims, "model.norm.weight")
	delete(dims, "visual.blocks.0.attn.qkv.bias")
	dims["model.extra.weight"], vals["model.extra.weight"] = []int64{2}, []float32{1, 2}
	dims["lm_head.weight"], vals["lm_head.weight"] = dims["model.embed_tokens.weight"], vals["model.embed_tokens.weight"]
	dims["model.layers.0.mlp.up_proj.weight"] = []int64{dims["model.layers.0.mlp.up_proj.weight"][1], dims["model.layers.0.mlp.up_proj.weight"][0]}
	bad := rewrite(t, hf, dims, vals, safetensors.F32, 1<<40, nil)
	out := filepath.Join(t.TempDir(), "m")
	err := Import(context.Background(), bad, out, ImportOptions{})
	if err == nil || !errors.Is(err, ErrInput) {
		t.Fatalf("want an input error, got %v", err)
	}
	for _, want := range []string{"missing 2 tensors", "model.norm.weight", "visual.blocks.0.attn.qkv.bias",
		"model.extra.weight",
		"model.layers.0.mlp.up_proj.weight (model.safetensors): shape"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("multi-line error: %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("output written despite the error: %v", serr)
	}
}

func TestImportWrongArchitecture(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	cfg := filepath.Join(hf, "config.json")
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte(`"Qwen2VLForConditionalGeneration"`), []byte(`"Qwen2_5_VLForConditionalGeneration"`), 1)
	b = bytes.Replace(b, []byte(`"model_type": "qwen2_vl",`), []byte(`"model_type": "qwen2_5_vl",`), 1)
	os.WriteFile(cfg, b, 0o644)
	err := Import(context.Background(), hf, filepath.Join(t.TempDir(), "m"), ImportOptions{})
	if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "Qwen2_5_VLForConditionalGeneration") || strings.Contains(err.Error(), "\n") {
		t.Errorf("wrong architecture: %v", err)
	}
}

// TestImportBadSafetensors: truncated and garbage weight files fail with
// the file (and tensor, where one is at fault) named; nothing panics.
func TestImportBadSafetensors(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	p := filepath.Join(hf, "model.safetensors")
	good, _ := os.ReadFile(p)
	head := int(8 + uint64(good[0]) | uint64(good[1])<<8 | uint64(good[2])<<16)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated data", good[:len(good)-100], "tensor visual.patch_embed.proj.weight: data_offsets"},
		{"truncated header", good[:head-10], "header length"},
		{"garbage", bytes.Repeat([]byte{0xff}, 64), "header length"},
		{"wrong size", bytes.Replace(good, []byte(`"shape":[64]`), []byte(`"shape":[65]`), 1), "256 bytes for shape [65] F32"},
	} {
		os.WriteFile(p, tc.data, 0o644)
		err := Import(context.Background(), hf, filepath.Join(t.TempDir(), "m"), ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want the file and %q", tc.name, err, tc.want)
		}
	}
}

// TestExportSharded: a small max shard size gives save_pretrained's shard
// names and index, and imports back.
func TestExportSharded(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32", MaxShardSize: 300_000})
	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	b, err := os.ReadFile(filepath.Join(hf, safetensors.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &idx)
	dims, _, _ := readAll(t, hf)
	var total int64
	shards := map[string]bool{}
	for n, d := range dims {
		total += onnxpb.NumElements(d) * 4
		shards[idx.WeightMap[n]] = true
	}
	if idx.Metadata["total_size"] != total || len(idx.WeightMap) != len(dims) || len(shards) < 2 {
		t.Errorf("index: total %d (want %d), %d entries for %d tensors, %d shards", idx.Metadata["total_size"], total, len(idx.WeightMap), len(dims), len(shards))
	}
	n := len(shards)
	for i := 1; i <= n; i++ {
		name := "model-" + pad5(i) + "-of-" + pad5(n) + ".safetensors"
		if !shards[name] {
			t.Errorf("no shard %s among %v", name, shards)
		}
	}
	back := imp(t, hf, ImportOptions{})
	sameWeights(t, "sharded export → import", onnxWeights(t, fx, "fp32"), onnxWeights(t, back, "fp32"))
}

func pad5(i int) string {
	s := "0000" + string(rune('0'+i))
	return s[len(s)-5:]
}

func TestHubSplit(t *testing.T) {
	got := hubSplit([]string{"a", "b", "big", "c", "d"}, []int64{4, 4, 20, 3, 1}, 10)
	want := [][]string{{"big"}, {"a", "b"}, {"c", "d"}}
	// "big" (over the limit) gets its own shard when met, before a and b's
	// shard is closed, as huggingface_hub does.
	if len(got) != 3 || !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) || !slices.Equal(got[2], want[2]) {
		t.Errorf("hubSplit = %v", got)
	}
}

func TestPyRepr(t *testing.T) {
	for in, want := range map[float64]string{
		1e-06: "1e-06", 1e-05: "1e-05", 1e6: "1000000.0", 0.02: "0.02", 0: "0.0", 1e16: "1e+16",
		1.5e-5: "1.5e-05", 0.0001: "0.0001", 123.25: "123.25", 1e15: "1000000000000000.0", -2.5: "-2.5",
		1.2345678901234568e+17: "1.2345678901234568e+17", 10000.0: "10000.0",
	} {
		if got := pyRepr(in); got != want {
			t.Errorf("pyRepr(%v) = %s, want %s", in, got, want)
		}
	}
}

// TestExportConfigJSON: the config is transformers' layout (sorted keys,
// rope_scaling rewritten to "default", vision_config reduced to
// non-defaults) and reads back to the same architecture.
func TestExportConfigJSON(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	b, _ := os.ReadFile(filepath.Join(hf, "config.json"))
	for _, want := range []string{
		"{\n  \"architectures\": [\n    \"Qwen2VLForConditionalGeneration\"\n  ],\n  \"attention_dropout\": 0.0,\n",
		"\"rms_norm_eps\": 1e-06,", "\"rope_theta\": 1000000.0,",
		"\"rope_scaling\": {\n    \"mrope_section\": [\n      2,\n      3,\n      3\n    ],\n    \"rope_type\": \"default\",\n    \"type\": \"default\"\n  },",
		"\"transformers_version\": \"4.47.1\",",
		"\"vision_config\": {\n    \"depth\": 1,\n    \"embed_dim\": 32,\n    \"hidden_size\": 64,\n    \"model_type\": \"qwen2_vl\",\n    \"num_heads\": 2\n  },",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config.json lacks %q:\n%s", want, b)
		}
	}
	fb, _ := os.ReadFile(filepath.Join(fx, "config.json"))
	a, err1 := fixture.ParseHFConfig("fixture", fb)
	e, err2 := fixture.ParseHFConfig("export", b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	a.Config.InitializerRange, e.Config.InitializerRange = 0, 0
	a.Config.EmbedStd, e.Config.EmbedStd = 0, 0
	if a.Config != e.Config {
		t.Errorf("architecture changed:\n%+v\n%+v", a.Config, e.Config)
	}
}

// TestImportWritesGenerationConfig: generation_config.json is written from
// config.json when the checkpoint has none.
func TestImportWritesGenerationConfig(t *testing.T) {
	fx := tinyFixture(t)
	hf := export(t, fx, ExportOptions{DType: "fp32"})
	os.Remove(filepath.Join(hf, "generation_config.json"))
	m := imp(t, hf, ImportOptions{})
	var g map[string]any
	b, err := os.ReadFile(filepath.Join(m, "generation_config.json"))
	if err != nil || json.Unmarshal(b, &g) != nil || g["eos_token_id"] == nil {
		t.Errorf("generation_config.json: %s %v", b, err)
	}
}

// TestExternalDataPaths: a model whose weights live in .onnx_data files (the
// 2B path) exports the same checkpoint as the inline one, and the graphs
// written from a checkpoint with external data hold the same weights.
func TestExternalDataPaths(t *testing.T) {
	fx := tinyFixture(t)
	ext := t.TempDir()
	for _, f := range []string{"config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"} {
		if err := copyIfPresent(filepath.Join(fx, f), filepath.Join(ext, f)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(fx, "config.json"))
	hc, err := fixture.ParseHFConfig("config.json", b)
	if err != nil {
		t.Fatal(err)
	}
	c := hc.Config
	c.ExternalData = true
	pc, _ := fixture.PresetConfig("tiny")
	c.EmbedStd = pc.EmbedStd // the fixture's generator recipe (config.json has no such key)
	if err := fixture.WriteGraphs(context.Background(), ext, &c, fixture.GraphOptions{DType: "fp32", Source: fixture.RandomWeights(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ext, "onnx", "decoder_model_merged.onnx_data")); err != nil {
		t.Fatal(err)
	}
	a := export(t, fx, ExportOptions{DType: "fp32"})
	e := export(t, ext, ExportOptions{DType: "fp32"})
	ab, _ := os.ReadFile(filepath.Join(a, "model.safetensors"))
	eb, _ := os.ReadFile(filepath.Join(e, "model.safetensors"))
	if !bytes.Equal(ab, eb) {
		t.Error("export from external data differs from export of the inline model")
	}
	// Checkpoint → graphs with external data.
	ck, err := safetensors.OpenDir(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	src, err := newSource(ck, &c)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := fixture.WriteGraphs(context.Background(), out, &c, fixture.GraphOptions{DType: "fp32", Source: fixture.CheckpointWeights(&c, src)}); err != nil {
		t.Fatal(err)
	}
	if u := src.unread(); len(u) > 0 {
		t.Errorf("unread: %v", u)
	}
	sameWeights(t, "external-data import", onnxWeights(t, fx, "fp32"), onnxWeights(t, out, "fp32"))
}
