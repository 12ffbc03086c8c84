package qwen2vl

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"slices"
	"testing"

	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/runners"
)

// TestSingleResize checks the two resize paths on an image whose sides are
// not multiples of 28: by default the qwen_vl_utils stage (default bounds)
// runs before the processor's (MaxPixels), as in MedVLM-R1's evaluation;
// with SingleResize the image is resized once at the processor's bounds, as
// MedVLM-R1's trainer does.
func TestSingleResize(t *testing.T) {
	dir := tinyModel(t, "fp32")
	img := image.NewRGBA(image.Rect(0, 0, 150, 97))
	for y := 0; y < 97; y++ {
		for x := 0; x < 150; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	const maxPixels = 56 * 84
	req := runners.Request{ID: "r", Prompt: "complex", Images: []runners.Image{{Bytes: buf.Bytes()}}, Text: "q"}
	prepare := func(single bool) []float32 {
		r, err := Open(context.Background(), Config{ModelDir: dir, Threads: 1, Sampling: greedy(1), MaxPixels: maxPixels, SingleResize: single})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		p, err := r.Prepare(req)
		if err != nil {
			t.Fatal(err)
		}
		return p.PixelValues
	}
	want := func(fetchMax int) []float32 {
		cfg := imageproc.DefaultConfig()
		cfg.MaxPixels = maxPixels
		cfg.FetchMaxPixels = fetchMax
		p, err := imageproc.Preprocess(buf.Bytes(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p.PixelValues
	}
	twoStage, oneStage := want(0), want(maxPixels)
	if slices.Equal(twoStage, oneStage) {
		t.Fatal("test image does not tell the two resize paths apart")
	}
	if got := prepare(false); !slices.Equal(got, twoStage) {
		t.Error("default runner does not resize in two stages (qwen_vl_utils, then the processor)")
	}
	if got := prepare(true); !slices.Equal(got, oneStage) {
		t.Error("SingleResize runner does not resize once at the processor's bounds")
	}
}
