package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/runners/fixture"
)

// TestFlagsAfterPositional: `model inspect DIR --dtype X` reads the flag
// that follows DIR (urfave/cli alone would stop parsing at DIR), and an
// unknown trailing flag is a usage error naming the command.
func TestFlagsAfterPositional(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if err := fixture.Write(context.Background(), dir, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if code, out := runCaptured(t, "model", "inspect", dir, "--dtype", "fp32"); code != 0 || !strings.Contains(out, "compatible") {
		t.Errorf("inspect DIR --dtype fp32: exit %d\n%s", code, out)
	}
	// The fixture has no fp16 files: the trailing flag must take effect.
	if code, out := runCaptured(t, "model", "inspect", dir, "--dtype=fp16"); code != 1 || !strings.Contains(out, "decoder_model_merged_fp16.onnx") {
		t.Errorf("inspect DIR --dtype=fp16: exit %d, want 1 with the missing fp16 files\n%s", code, out)
	}
	if code, _ := runCaptured(t, "model", "inspect", dir, "--bogus"); code != 2 {
		t.Errorf("unknown trailing flag: exit %d, want 2", code)
	}
}
