package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners/fixture"
)

// cliRun runs the CLI in-process, as `medbench ARGS...`, and returns the exit
// code, stdout and stderr.
func cliRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	capture := func(f **os.File) func() string {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := *f
		*f = w
		done := make(chan string)
		go func() { b, _ := io.ReadAll(r); done <- string(b) }()
		return func() string { w.Close(); *f = old; return <-done }
	}
	stopOut, stopErr := capture(&os.Stdout), capture(&os.Stderr)
	code := run(append([]string{"medbench"}, args...))
	errOut := stopErr()
	return code, stopOut(), errOut
}

// tinyFixture writes the tiny fixture model (seed 1, fp32) into a fresh
// temporary directory and returns it; the test is skipped when ONNX Runtime
// is not set up.
func tinyFixture(t *testing.T) string {
	t.Helper()
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available: %v", err)
	}
	model := filepath.Join(t.TempDir(), "model")
	if err := fixture.Write(context.Background(), model, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return model
}
