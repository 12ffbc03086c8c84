package imageproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPreprocess: arbitrary bytes never panic; success yields consistent
// shapes. Seeds are the small golden inputs of every format.
func FuzzPreprocess(f *testing.F) {
	// Small golden inputs, plus the smallest of each kind (JPEG and WebP
	// included whatever their size).
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "inputs", "*"))
	smallest := map[string]string{}
	size := map[string]int64{}
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		kind := strings.SplitN(filepath.Base(p), "-", 2)[1]
		if s, ok := size[kind]; !ok || st.Size() < s {
			smallest[kind], size[kind] = p, st.Size()
		}
		if st.Size() < 8<<10 {
			smallest[p] = p
		}
	}
	for _, p := range smallest {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("\xff\xd8\xff"))
	f.Add([]byte("GIF89a"))
	cfg := DefaultConfig()
	cfg.MaxPixels = 28 * 28 * 16 // keep each run cheap
	// Headers claiming more than 2×2^21 pixels are refused before decoding
	// (the decompression-bomb check), so no run allocates a huge image.
	cfg.MaxImagePixels = 1 << 21
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Preprocess(data, cfg)
		if err != nil {
			return
		}
		n := int(p.GridTHW[0] * p.GridTHW[1] * p.GridTHW[2])
		if len(p.PixelValues) != n*cfg.PatchDim() || p.Height*p.Width < 28*28 || p.Height*p.Width > cfg.MaxPixels ||
			p.Resized.W != p.Width || p.Resized.H != p.Height || p.ImageTokens*4 != n {
			t.Fatalf("inconsistent result: %dx%d grid %v tokens %d values %d", p.Width, p.Height, p.GridTHW, p.ImageTokens, len(p.PixelValues))
		}
	})
}
