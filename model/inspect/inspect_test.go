package inspect

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/runners/fixture"
)

func writeFixture(t *testing.T, dtype string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m")
	if err := fixture.Write(context.Background(), dir, fixture.Options{Preset: "tiny", DType: dtype, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDirCompatibleAndDetect(t *testing.T) {
	dir := writeFixture(t, "fp16")
	if got := DetectDType(dir); got != "fp16" {
		t.Fatalf("DetectDType = %q, want fp16", got)
	}
	if got := DetectDType(t.TempDir()); got != "fp32" {
		t.Errorf("DetectDType(empty) = %q, want fp32", got)
	}
	r, err := Dir(dir, "fp16")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Compatible() || len(r.Files) != 3 {
		t.Fatalf("fp16 fixture: compatible %v, %d files, problems %q", r.Compatible(), len(r.Files), r.Problems)
	}
	for _, f := range r.Files {
		if f.Info == nil || !strings.HasSuffix(f.Rel, "_fp16.onnx") {
			t.Errorf("file %s: info %v", f.Rel, f.Info)
		}
	}
	var b bytes.Buffer
	r.Write(&b)
	if out := b.String(); !strings.Contains(out, "| in  | inputs_embeds           | float16 |") ||
		!strings.HasSuffix(out, "layout: compatible with the medbench Qwen2-VL runner (fp16)\n") {
		t.Errorf("report:\n%s", out)
	}
}

func TestDirProblems(t *testing.T) {
	dir := writeFixture(t, "fp32")
	// Another dtype's files are absent: every file is a problem.
	r, err := Dir(dir, "q4")
	if err != nil {
		t.Fatal(err)
	}
	if r.Compatible() || len(r.Problems) != 3 {
		t.Errorf("q4 of an fp32 dir: problems %q", r.Problems)
	}
	for _, f := range r.Files {
		if f.Info != nil {
			t.Errorf("%s: want missing", f.Rel)
		}
	}
	var b bytes.Buffer
	r.Write(&b)
	if out := b.String(); strings.Count(out, "missing") != 3 || !strings.Contains(out, "INCOMPATIBLE with the medbench Qwen2-VL runner (q4), 3 mismatches:\n  - ") {
		t.Errorf("report:\n%s", out)
	}

	// A truncated tokenizer.json is a problem naming the file.
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"x":`), 0o644)
	if r, err = Dir(dir, "fp32"); err != nil || r.Compatible() || !strings.Contains(strings.Join(r.Problems, "\n"), "tokenizer.json") {
		t.Errorf("truncated tokenizer: err %v, problems %q", err, r.Problems)
	}

	// No config.json: not a model directory, an error.
	if _, err := Dir(t.TempDir(), "fp32"); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty dir: err %v", err)
	}
	// An unreadable ONNX file is an error naming it.
	os.WriteFile(filepath.Join(dir, "onnx", "vision_encoder.onnx"), []byte{0xff, 0xff}, 0o644)
	if _, err := Dir(dir, "fp32"); err == nil || !strings.Contains(err.Error(), "vision_encoder.onnx") {
		t.Errorf("corrupt file: err %v", err)
	}
}
