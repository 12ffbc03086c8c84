package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/hub/hubtest"
)

func TestResolveModelONNXLayoutFetchesOnlyTheDType(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	commit := hubtest.Commit("onnx")
	files := map[string][]byte{"config.json": []byte("{}"), "tokenizer.json": []byte("{}"), "README.md": []byte("# card"),
		"model.safetensors.index.json": []byte("{}")}
	for _, s := range []string{"vision_encoder", "embed_tokens", "decoder_model_merged"} {
		for _, suf := range []string{"", "_q4", "_fp16"} {
			files["onnx/"+s+suf+".onnx"] = []byte(s + suf)
		}
	}
	files["onnx/decoder_model_merged_q4.onnx_data"] = []byte("q4 weights")
	files["onnx/decoder_model_merged.onnx_data"] = []byte("fp32 weights")
	srv.SetRepo("model", "onnx-community/tiny", &hubtest.Repo{Branches: map[string]string{"main": commit}, Commits: map[string]map[string][]byte{commit: files}})
	c, _ := newClient(t, srv, nil)
	opts := hub.ModelOptions{DType: "q4", ONNXFiles: []string{"vision_encoder_q4.onnx", "embed_tokens_q4.onnx", "decoder_model_merged_q4.onnx"}}
	dir, src, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "onnx-community/tiny"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if src.Layout != hub.LayoutONNX || src.Commit != commit || dir != src.Snapshot || src.Endpoint != srv.URL || src.Ref != "hf:onnx-community/tiny" {
		t.Fatalf("source %+v dir %s", src, dir)
	}
	var got []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	want := []string{"config.json", "onnx/decoder_model_merged_q4.onnx", "onnx/decoder_model_merged_q4.onnx_data",
		"onnx/embed_tokens_q4.onnx", "onnx/vision_encoder_q4.onnx", "tokenizer.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("downloaded %v, want %v", got, want)
	}
	opts.DType, opts.ONNXFiles = "bnb4", []string{"vision_encoder_bnb4.onnx", "embed_tokens_bnb4.onnx", "decoder_model_merged_bnb4.onnx"}
	if _, _, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "onnx-community/tiny"}, opts); err == nil ||
		!strings.Contains(err.Error(), "onnx/decoder_model_merged_bnb4.onnx") || !strings.Contains(err.Error(), "decoder_model_merged_q4.onnx") {
		t.Fatalf("missing dtype: %v", err)
	}
}

func TestResolveModelImportsACheckpointOnce(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	commit := hubtest.Commit("ckpt")
	srv.SetRepo("model", "org/ckpt", &hubtest.Repo{Branches: map[string]string{"main": commit}, Commits: map[string]map[string][]byte{commit: {
		"config.json": []byte(`{"model_type":"qwen2_vl"}`), "model-00001-of-00002.safetensors": randBytes(1000, 3),
		"model-00002-of-00002.safetensors": randBytes(1000, 4), "model.safetensors.index.json": []byte("{}"),
		"merges.txt": []byte("a b"), "README.md": []byte("card"), "training_args.bin": []byte("pickle"),
		"adapter_model.safetensors": []byte("lora")}}})
	c, _ := newClient(t, srv, nil)
	var calls atomic.Int32
	importer := func(ctx context.Context, hfDir, outDir, dtype string) error {
		calls.Add(1)
		for _, f := range []string{"config.json", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "merges.txt"} {
			if _, err := os.Stat(filepath.Join(hfDir, f)); err != nil {
				t.Errorf("importer input lacks %s", f)
			}
		}
		for _, f := range []string{"README.md", "training_args.bin", "adapter_model.safetensors"} {
			if _, err := os.Lstat(filepath.Join(hfDir, f)); err == nil {
				t.Errorf("importer input has the unneeded %s", f)
			}
		}
		return os.WriteFile(filepath.Join(outDir, "imported-"+dtype), nil, 0o644)
	}
	root := t.TempDir()
	opts := hub.ModelOptions{DType: "fp16", ONNXFiles: []string{"vision_encoder_fp16.onnx", "embed_tokens_fp16.onnx", "decoder_model_merged_fp16.onnx"},
		Import: importer, ImportRoot: root}
	dir, src, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "org/ckpt"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantDir := filepath.Join(root, "models--org--ckpt", commit, "fp16")
	if dir != wantDir || src.ImportDir != wantDir || src.Layout != hub.LayoutCheckpoint || src.Commit != commit {
		t.Fatalf("dir %s source %+v", dir, src)
	}
	if _, err := os.Stat(filepath.Join(dir, "imported-fp16")); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "models--org--ckpt", commit, ".fp16.tmp-*")); len(left) != 0 {
		t.Fatalf("temp folders left: %v", left)
	}
	// Pinned to the commit: no request, no second import.
	srv.Reset()
	dir2, _, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "org/ckpt", Revision: commit}, opts)
	if err != nil || dir2 != dir || calls.Load() != 1 || len(srv.Requests()) != 0 {
		t.Fatalf("second resolve: %v, %d imports, %d requests", err, calls.Load(), len(srv.Requests()))
	}
	// On the branch: one revision request, still no second import.
	if _, _, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "org/ckpt"}, opts); err != nil || calls.Load() != 1 || len(srv.Requests()) != 1 {
		t.Fatalf("branch resolve: %v, %d imports, %+v", err, calls.Load(), srv.Requests())
	}
	// A killed import's temporary folder is removed by the next import.
	stale := filepath.Join(root, "models--org--ckpt", commit, ".fp32.tmp-killed")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	// A failed import leaves nothing behind and is retried next time.
	opts.DType = "fp32"
	opts.Import = func(ctx context.Context, hfDir, outDir, dtype string) error {
		_ = os.WriteFile(filepath.Join(outDir, "half"), nil, 0o644)
		return os.ErrInvalid
	}
	if _, _, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "org/ckpt"}, opts); err == nil || !strings.Contains(err.Error(), "import org/ckpt@"+commit+" (fp32)") {
		t.Fatalf("failed import: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "models--org--ckpt", commit)); len(ents) != 3 { // fp16, fp16.lock, fp32.lock (no stale temp)
		t.Fatalf("after a failed import: %v", ents)
	}
}

// TestConcurrentResolvesImportOnce runs two resolves of the same checkpoint
// at once (two clients sharing the caches, as two processes would): the
// lock lets one import while the other waits and then reuses it.
func TestConcurrentResolvesImportOnce(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	commit := hubtest.Commit("ckpt")
	srv.SetRepo("model", "org/ckpt", &hubtest.Repo{Branches: map[string]string{"main": commit}, Commits: map[string]map[string][]byte{commit: {
		"config.json": []byte(`{}`), "model.safetensors": randBytes(200_000, 5)}}})
	a, _ := newClient(t, srv, nil)
	b, _ := newClient(t, srv, map[string]string{"HF_HUB_CACHE": a.CacheDir})
	var calls, running atomic.Int32
	root := t.TempDir()
	opts := hub.ModelOptions{DType: "fp32", ONNXFiles: []string{"decoder_model_merged.onnx"}, ImportRoot: root,
		Import: func(ctx context.Context, hfDir, outDir, dtype string) error {
			if running.Add(1) != 1 {
				t.Error("two imports ran at once")
			}
			defer running.Add(-1)
			calls.Add(1)
			time.Sleep(50 * time.Millisecond)
			return os.WriteFile(filepath.Join(outDir, "done"), nil, 0o644)
		}}
	errs := make(chan error, 2)
	dirs := make(chan string, 2)
	for _, c := range []*hub.Client{a, b} {
		go func() {
			d, _, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "org/ckpt"}, opts)
			dirs <- d
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if d1, d2 := <-dirs, <-dirs; d1 != d2 || calls.Load() != 1 {
		t.Fatalf("dirs %s %s, %d imports", d1, d2, calls.Load())
	}
}

func TestCheckpointImportNeedsOneDType(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	commit := hubtest.Commit("ckpt")
	srv.SetRepo("model", "org/ckpt", &hubtest.Repo{Branches: map[string]string{"main": commit}, Commits: map[string]map[string][]byte{commit: {
		"config.json": []byte(`{}`), "model.safetensors": []byte("w")}}})
	c, _ := newClient(t, srv, nil)
	root := t.TempDir()
	opts := hub.ModelOptions{DType: "q4,vision_encoder=fp16", ONNXFiles: []string{"decoder_model_merged_q4.onnx"}, ImportRoot: root,
		Import: func(ctx context.Context, hfDir, outDir, dtype string) error { t.Error("import called"); return nil }}
	if _, _, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "org/ckpt"}, opts); err == nil || !strings.Contains(err.Error(), "imported for one --dtype") {
		t.Fatalf("per-session dtype: %v", err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
	opts.Import = nil
	opts.DType = "fp32"
	if _, _, err := c.ResolveModel(context.Background(), hub.Repo{Type: hub.Model, ID: "org/ckpt"}, opts); err == nil || !strings.Contains(err.Error(), "cannot import") {
		t.Fatalf("no importer: %v", err)
	}
}
