package imageproc

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// FuzzPreprocess: arbitrary bytes never panic; success yields consistent
// shapes. Seeds are the small golden inputs of every format.
func FuzzPreprocess(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "inputs", "*"))
	for _, p := range files {
		if st, err := os.Stat(p); err == nil && st.Size() < 8<<10 {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("\xff\xd8\xff"))
	f.Add([]byte("GIF89a"))
	cfg := DefaultConfig()
	cfg.MaxPixels = 28 * 28 * 16 // keep each run cheap
	f.Fuzz(func(t *testing.T, data []byte) {
		// Skip headers that claim huge images: the decoders would allocate
		// them before failing on the missing data.
		if c, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && c.Width*c.Height > 1<<22 {
			return
		}
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
