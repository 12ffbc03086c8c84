package imageproc

import (
	"errors"
	"testing"
)

// TestSmartResizeTable checks the golden table of
// docs/reference/qwen2vl.md#smart-resize
// (computed with qwen_vl_utils' Python smart_resize), through PreprocessRGB
// so grid_thw and the image token count are checked too.
func TestSmartResizeTable(t *testing.T) {
	tests := []struct {
		h, w, maxPixels int
		hh, ww          int
		grid            [3]int64
		tokens          int
	}{
		{480, 640, 12845056, 476, 644, [3]int64{1, 34, 46}, 391},
		{512, 512, 12845056, 504, 504, [3]int64{1, 36, 36}, 324},
		{224, 224, 12845056, 224, 224, [3]int64{1, 16, 16}, 64},
		{70, 98, 12845056, 56, 112, [3]int64{1, 4, 8}, 8}, // ties 2.5 and 3.5 round to even
		{14, 14, 12845056, 56, 56, [3]int64{1, 4, 4}, 4},  // min_pixels branch
		{1024, 1024, 12845056, 1036, 1036, [3]int64{1, 74, 74}, 1369},
		{1024, 1024, 401408, 616, 616, [3]int64{1, 44, 44}, 484},
		{3000, 4000, 12845056, 2996, 4004, [3]int64{1, 214, 286}, 15301},
		{3000, 4000, 401408, 532, 728, [3]int64{1, 38, 52}, 494},
		{1000, 1500, 401408, 504, 756, [3]int64{1, 36, 54}, 486},
	}
	for _, tc := range tests {
		hh, ww, err := SmartResize(tc.h, tc.w, 3136, tc.maxPixels, 28)
		if err != nil || hh != tc.hh || ww != tc.ww {
			t.Errorf("SmartResize(%d, %d, max %d) = %d, %d, %v; want %d, %d", tc.h, tc.w, tc.maxPixels, hh, ww, err, tc.hh, tc.ww)
			continue
		}
		if tc.h*tc.w > 1<<20 {
			continue // keep the test fast: sizes above are checked, skip the pixels
		}
		cfg := DefaultConfig()
		cfg.MaxPixels = tc.maxPixels
		p, err := PreprocessRGB(&RGB{W: tc.w, H: tc.h, Pix: make([]uint8, 3*tc.w*tc.h)}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if p.Height != tc.hh || p.Width != tc.ww || p.GridTHW != tc.grid || p.ImageTokens != tc.tokens {
			t.Errorf("%dx%d: got %dx%d grid %v tokens %d; want %dx%d grid %v tokens %d", tc.h, tc.w, p.Height, p.Width, p.GridTHW, p.ImageTokens, tc.hh, tc.ww, tc.grid, tc.tokens)
		}
		if n := int(p.GridTHW[0] * p.GridTHW[1] * p.GridTHW[2]); len(p.PixelValues) != n*1176 {
			t.Errorf("%dx%d: %d pixel values, want %d×1176", tc.h, tc.w, len(p.PixelValues), n)
		}
		if p.Resized.W != tc.ww || p.Resized.H != tc.hh {
			t.Errorf("%dx%d: resized image is %dx%d", tc.h, tc.w, p.Resized.W, p.Resized.H)
		}
	}
}

func TestSmartResizeEdges(t *testing.T) {
	tests := []struct {
		name      string
		h, w      int
		min, max  int
		hh, ww    int
		aspectErr bool
		anyErr    bool
	}{
		{"exactly 200:1 is allowed", 5, 1000, 3136, 12845056, 28, 1008, false, false},
		{"just over 200:1", 5, 1001, 3136, 12845056, 0, 0, true, true},
		{"portrait over 200:1", 3000, 2, 3136, 12845056, 0, 0, true, true},
		{"clamp to one factor", 20, 300, 0, 12845056, 28, 308, false, false},
		{"half rounds down to even (42/28=1.5 -> 2)", 42, 42, 3136, 12845056, 56, 56, false, false},
		{"half rounds to even (98/28=3.5 -> 4)", 98, 98, 3136, 12845056, 112, 112, false, false},
		{"zero height", 0, 10, 3136, 12845056, 0, 0, false, true},
		{"min above max", 10, 10, 5000, 4000, 0, 0, false, true},
		{"max_pixels too small for any patch", 100, 100, 0, 100, 0, 0, false, true},
	}
	for _, tc := range tests {
		hh, ww, err := SmartResize(tc.h, tc.w, tc.min, tc.max, 28)
		if tc.anyErr {
			if err == nil {
				t.Errorf("%s: got %d, %d, want an error", tc.name, hh, ww)
			} else if tc.aspectErr != errors.Is(err, ErrAspectRatio) {
				t.Errorf("%s: error %v, aspect error expected %v", tc.name, err, tc.aspectErr)
			}
			continue
		}
		if err != nil || hh != tc.hh || ww != tc.ww {
			t.Errorf("%s: SmartResize(%d, %d) = %d, %d, %v; want %d, %d", tc.name, tc.h, tc.w, hh, ww, err, tc.hh, tc.ww)
		}
	}
}
