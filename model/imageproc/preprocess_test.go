package imageproc

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hfPatchify is a straightforward transcription of Hugging Face's
// Qwen2VLImageProcessor._preprocess layout: tile the [C, H, W] image to
// [T, C, H, W], view it as the 9-d tensor (gt, T, C, gh/M, M, P, gw/M, M, P),
// permute (0, 3, 6, 4, 7, 2, 1, 5, 8) and flatten to [gt*gh*gw, C*T*P*P].
// It uses generic strides, independent of Patchify's loops.
func hfPatchify(planes []float32, c, h, w, ts, ps, ms int) []float32 {
	gh, gw := h/ps, w/ps
	// Tiled tensor [T, C, H, W] (row-major).
	tiled := make([]float32, 0, ts*len(planes))
	for range ts {
		tiled = append(tiled, planes...)
	}
	dims := []int{1, ts, c, gh / ms, ms, ps, gw / ms, ms, ps}
	strides := make([]int, len(dims))
	s := 1
	for i := len(dims) - 1; i >= 0; i-- {
		strides[i] = s
		s *= dims[i]
	}
	perm := []int{0, 3, 6, 4, 7, 2, 1, 5, 8}
	pd := make([]int, len(perm))
	ps2 := make([]int, len(perm))
	for i, p := range perm {
		pd[i], ps2[i] = dims[p], strides[p]
	}
	out := make([]float32, len(tiled))
	idx := make([]int, len(pd))
	for o := range out {
		off := 0
		for i := range idx {
			off += idx[i] * ps2[i]
		}
		out[o] = tiled[off]
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < pd[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

func TestPatchifyMatchesHFReshape(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct{ h, w, ts, ps, ms int }{
		{56, 84, 2, 14, 2},  // Qwen2-VL
		{28, 28, 2, 14, 2},  // one block
		{112, 56, 2, 14, 2}, // portrait
		{12, 8, 2, 2, 2},    // small patches
		{18, 12, 3, 3, 2},   // other temporal size
		{12, 24, 1, 4, 3},   // merge 3, no temporal duplication
	}
	for _, tc := range tests {
		planes := make([]float32, 3*tc.h*tc.w)
		for i := range planes {
			planes[i] = rng.Float32()
		}
		cfg := Config{PatchSize: tc.ps, TemporalPatchSize: tc.ts, MergeSize: tc.ms}
		got := Patchify(planes, tc.h, tc.w, cfg)
		want := hfPatchify(planes, 3, tc.h, tc.w, tc.ts, tc.ps, tc.ms)
		// The fused path (bytes in, normalised patches out) on random bytes.
		img := &RGB{W: tc.w, H: tc.h, Pix: make([]uint8, 3*tc.w*tc.h)}
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		ncfg := DefaultConfig()
		ncfg.PatchSize, ncfg.TemporalPatchSize, ncfg.MergeSize = tc.ps, tc.ts, tc.ms
		fused, ref := patchifyRGB(img, ncfg), hfPatchify(Normalize(img, ncfg), 3, tc.h, tc.w, tc.ts, tc.ps, tc.ms)
		for i := range ref {
			if fused[i] != ref[i] {
				t.Fatalf("%+v: fused pixel_values[%d] = %g, want %g", tc, i, fused[i], ref[i])
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: %d values, want %d", tc, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				dim := cfg.PatchDim()
				t.Fatalf("%+v: pixel_values[%d][%d] = %g, want %g", tc, i/dim, i%dim, got[i], want[i])
			}
		}
	}
}

// TestPreprocessEndToEnd checks Preprocess against the steps done by hand on
// a golden image: Pillow's resized pixels, normalised, in HF layout.
func TestPreprocessEndToEnd(t *testing.T) {
	dir, idx := loadGolden(t)
	var g *goldenImage
	for i := range idx.Images {
		if idx.Images[i].Lossless && idx.Images[i].Error == "" && idx.Images[i].ResizedHeight*idx.Images[i].ResizedWidth < 200000 {
			g = &idx.Images[i]
			break
		}
	}
	if g == nil {
		t.Fatal("no suitable golden image")
	}
	cfg := g.config()
	p, err := PreprocessFile(filepath.Join(dir, g.Input), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := readPillowRGB(t, filepath.Join(dir, g.Resized))
	if p.Height != want.H || p.Width != want.W || !bytes.Equal(p.Resized.Pix, want.Pix) {
		t.Fatalf("%s: resized %dx%d differs from Pillow's %dx%d", g.Input, p.Width, p.Height, want.W, want.H)
	}
	// Normalise by hand (HF float32 arithmetic) into [3][H][W].
	n := want.W * want.H
	planes := make([]float32, 3*n)
	for i := 0; i < n; i++ {
		for c := range 3 {
			x := float32(float64(want.Pix[3*i+c]) * (1.0 / 255))
			planes[c*n+i] = (x - cfg.Mean[c]) / cfg.Std[c]
		}
	}
	ref := hfPatchify(planes, 3, want.H, want.W, 2, 14, 2)
	if len(ref) != len(p.PixelValues) {
		t.Fatalf("%d pixel values, want %d", len(p.PixelValues), len(ref))
	}
	for i := range ref {
		if ref[i] != p.PixelValues[i] {
			t.Fatalf("pixel_values[%d][%d] = %g, want %g", i/1176, i%1176, p.PixelValues[i], ref[i])
		}
	}
	if want := [3]int64{1, int64(want.H / 14), int64(want.W / 14)}; p.GridTHW != want {
		t.Errorf("grid_thw %v, want %v", p.GridTHW, want)
	}
}

func TestPreprocessErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 600, 2))); err != nil {
		t.Fatal(err)
	}
	elongated := buf.Bytes()
	dir := t.TempDir()
	path := filepath.Join(dir, "long.png")
	if err := os.WriteFile(path, elongated, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := PreprocessFile(path, DefaultConfig())
	if !errors.Is(err, ErrAspectRatio) || !strings.HasPrefix(err.Error(), "imageproc: "+path+": ") || strings.Count(err.Error(), "imageproc:") != 1 {
		t.Errorf("300:1 image: error %v, want ErrAspectRatio naming %s", err, path)
	}
	missing := filepath.Join(dir, "missing.png")
	if _, err := PreprocessFile(missing, DefaultConfig()); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: error %v, want one naming %s", err, missing)
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("not an image"),
		"truncated": elongated[:40],
	} {
		if _, err := Preprocess(data, DefaultConfig()); err == nil || !strings.HasPrefix(err.Error(), "imageproc: ") {
			t.Errorf("%s: error %v, want an imageproc error", name, err)
		}
	}
	bad := DefaultConfig()
	bad.PatchSize = 0
	if _, err := Preprocess(elongated, bad); err == nil {
		t.Error("patch_size 0 accepted")
	}
}

func TestResizeBicubicSameSizeCopies(t *testing.T) {
	src := &RGB{W: 3, H: 2, Pix: []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}}
	got := ResizeBicubic(src, 3, 2)
	if !bytes.Equal(got.Pix, src.Pix) {
		t.Fatalf("same-size resize changed pixels: %v", got.Pix)
	}
	got.Pix[0] = 99
	if src.Pix[0] != 1 {
		t.Fatal("same-size resize aliases its input")
	}
}

func TestResizeBicubicDegenerate(t *testing.T) {
	src := &RGB{W: 2, H: 2, Pix: make([]uint8, 12)}
	for _, sz := range [][2]int{{0, 5}, {5, 0}, {-1, 3}} {
		if got := ResizeBicubic(src, sz[0], sz[1]); len(got.Pix) != 0 {
			t.Errorf("%v: %d samples", sz, len(got.Pix))
		}
	}
	if got := ResizeBicubic(&RGB{}, 3, 2); got.W != 3 || got.H != 2 || len(got.Pix) != 18 {
		t.Errorf("empty source: %dx%d, %d samples", got.W, got.H, len(got.Pix))
	}
}

// TestResizeBicubicConstant: a flat image stays flat at any scale (the
// fixed-point weights of each output sample sum to 1).
func TestResizeBicubicConstant(t *testing.T) {
	src := &RGB{W: 37, H: 23, Pix: bytes.Repeat([]uint8{200, 0, 255}, 37*23)}
	for _, sz := range [][2]int{{28, 28}, {112, 56}, {5, 300}, {37, 11}, {70, 23}} {
		got := ResizeBicubic(src, sz[0], sz[1])
		for i := 0; i < len(got.Pix); i += 3 {
			if got.Pix[i] != 200 || got.Pix[i+1] != 0 || got.Pix[i+2] != 255 {
				t.Fatalf("%v: pixel %d = %v", sz, i/3, got.Pix[i:i+3])
			}
		}
	}
}
