package imageproc

import (
	"encoding/json"
	"errors"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var goldenDir = flag.String("golden", "", "folder written by scripts/pillow_golden.py to check (default $MEDBENCH_GOLDEN_DIR, else testdata/golden)")

// goldenIndex is index.json as scripts/pillow_golden.py writes it.
type goldenIndex struct {
	Seed   int           `json:"seed"`
	Pillow string        `json:"pillow"`
	Images []goldenImage `json:"images"`
}

type goldenImage struct {
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	Input         string `json:"input"`
	Mode          string `json:"mode"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	MinPixels     int    `json:"min_pixels"`
	MaxPixels     int    `json:"max_pixels"`
	Lossless      bool   `json:"lossless"`
	Error         string `json:"error"`
	Resized       string `json:"resized"`
	ResizedHeight int    `json:"resized_height"`
	ResizedWidth  int    `json:"resized_width"`
}

func loadGolden(t *testing.T) (string, goldenIndex) {
	t.Helper()
	dir := *goldenDir
	if dir == "" {
		dir = os.Getenv("MEDBENCH_GOLDEN_DIR")
	}
	if dir == "" {
		dir = filepath.Join("testdata", "golden")
	} else if _, err := os.Stat(dir); err != nil && !filepath.IsAbs(dir) {
		// go test runs in the package folder: accept paths relative to the
		// repository root too.
		dir = filepath.Join("..", "..", dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("golden index: %v", err)
	}
	var idx goldenIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("golden index %s: %v", dir, err)
	}
	if len(idx.Images) == 0 {
		t.Fatalf("golden index %s: no images", dir)
	}
	return dir, idx
}

// readPillowRGB decodes an 8-bit RGB PNG written by Pillow.
func readPillowRGB(t *testing.T, path string) *RGB {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, ok := img.(*image.RGBA); !ok {
		t.Fatalf("%s: decoded as %T, want 8-bit RGB", path, img)
	}
	return ToRGB(img)
}

// TestGolden checks decoding, RGB conversion, smart_resize and the BICUBIC
// resize against Pillow: bit-exact for lossless inputs, within ±2 per
// channel for JPEGs.
func TestGolden(t *testing.T) {
	dir, idx := loadGolden(t)
	t.Logf("golden %s: seed %d, Pillow %s, %d images", dir, idx.Seed, idx.Pillow, len(idx.Images))
	var lossless, jpegs int
	var jpegMax, jpegDiff, jpegTotal int
	for _, g := range idx.Images {
		t.Run(g.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, g.Input))
			if err != nil {
				t.Fatal(err)
			}
			img, _, err := Decode(data)
			if err != nil {
				t.Fatalf("decode %s (Pillow mode %s): %v", g.Input, g.Mode, err)
			}
			rgb := ToRGB(img)
			if rgb.W != g.Width || rgb.H != g.Height {
				t.Fatalf("size %dx%d, Pillow %dx%d", rgb.W, rgb.H, g.Width, g.Height)
			}
			h, w, err := SmartResize(rgb.H, rgb.W, g.MinPixels, g.MaxPixels, 28)
			if g.Error != "" {
				if !errors.Is(err, ErrAspectRatio) {
					t.Fatalf("SmartResize(%d, %d) = %d, %d, %v; Python raised %q", rgb.H, rgb.W, h, w, err, g.Error)
				}
				return
			}
			if err != nil || h != g.ResizedHeight || w != g.ResizedWidth {
				t.Fatalf("SmartResize(%d, %d) = %d, %d, %v; Python %d, %d", rgb.H, rgb.W, h, w, err, g.ResizedHeight, g.ResizedWidth)
			}
			got := ResizeBicubic(rgb, w, h)
			want := readPillowRGB(t, filepath.Join(dir, g.Resized))
			if want.W != w || want.H != h {
				t.Fatalf("Pillow's resized image is %dx%d, want %dx%d", want.W, want.H, w, h)
			}
			maxd, ndiff := 0, 0
			first := -1
			for i := range got.Pix {
				d := int(got.Pix[i]) - int(want.Pix[i])
				if d != 0 {
					if first < 0 {
						first = i
					}
					ndiff++
					maxd = max(maxd, abs(d))
				}
			}
			if g.Lossless {
				lossless++
				if ndiff > 0 {
					p := first / 3
					t.Errorf("%s (%s, Pillow mode %s): %d of %d samples differ from Pillow, max |diff| %d; first at x=%d y=%d c=%d: got %d want %d",
						g.Input, g.Kind, g.Mode, ndiff, len(got.Pix), maxd, p%w, p/w, first%3, got.Pix[first], want.Pix[first])
				}
				return
			}
			jpegs++
			jpegMax = max(jpegMax, maxd)
			jpegDiff += ndiff
			jpegTotal += len(got.Pix)
			t.Logf("%s: max |diff| %d, %.2f%% of samples differ", g.Kind, maxd, 100*float64(ndiff)/float64(len(got.Pix)))
			if maxd > 2 {
				t.Errorf("%s (%s): max |diff| %d > 2 vs Pillow (%d of %d samples differ)", g.Input, g.Kind, maxd, ndiff, len(got.Pix))
			}
		})
	}
	if jpegTotal > 0 {
		t.Logf("JPEG vs Pillow/libjpeg-turbo: max |diff| %d, %.3f%% of resized samples differ (%d images)", jpegMax, 100*float64(jpegDiff)/float64(jpegTotal), jpegs)
	}
	t.Logf("%d lossless images checked bit-exact", lossless)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
