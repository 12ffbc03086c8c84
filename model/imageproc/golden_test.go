package imageproc

import (
	"encoding/json"
	"errors"
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var goldenDir = flag.String("golden", "", "folder written by scripts/pillow_golden.py to check (default $MEDBENCH_GOLDEN_DIR, else testdata/golden)")

// goldenIndex is index.json as scripts/pillow_golden.py writes it.
type goldenIndex struct {
	Seed      int           `json:"seed"`
	Pillow    string        `json:"pillow"`
	Images    []goldenImage `json:"images"`
	Normalize *struct {
		Mean          [3]float64     `json:"mean"`
		Std           [3]float64     `json:"std"`
		RescaleFactor float64        `json:"rescale_factor"`
		HF            [3][256]uint32 `json:"hf"`
		TJS           [3][256]uint32 `json:"tjs"`
	} `json:"normalize"`
	CMYK2RGB    [][7]int `json:"cmyk2rgb"`
	SmartResize [][6]int `json:"smart_resize"`
	// WhiteBlend is qwen-vl-utils' to_rgb on every (value, alpha) pair.
	WhiteBlend string `json:"white_blend"`
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
	FetchMin      int    `json:"fetch_min_pixels"`
	FetchMax      int    `json:"fetch_max_pixels"`
	FetchHeight   int    `json:"fetch_height"` // set when the processor resized again
	FetchWidth    int    `json:"fetch_width"`
	Lossless      bool   `json:"lossless"`
	Error         string `json:"error"`
	Resized       string `json:"resized"`
	ResizedWhite  string `json:"resized_white"` // to_rgb (white composite), Pillow mode RGBA only
	Decoded       string `json:"decoded"`
	ResizedHeight int    `json:"resized_height"`
	ResizedWidth  int    `json:"resized_width"`
}

// config is the Config the golden entry was made with.
func (g goldenImage) config() Config {
	c := DefaultConfig()
	c.MinPixels, c.MaxPixels = g.MinPixels, g.MaxPixels
	c.FetchMinPixels, c.FetchMaxPixels = g.FetchMin, g.FetchMax
	return c
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
// channel for lossy ones (JPEG, WebP), whose decoded pixels are checked too.
// Both RGBA modes are checked on every image: the white composite against
// Pillow's to_rgb result where Pillow opens the image as RGBA, against
// convert("RGB") everywhere else (LA, P with tRNS, 16-bit gray, ...), and
// the RGBA detection against the mode Pillow reported.
func TestGolden(t *testing.T) {
	dir, idx := loadGolden(t)
	t.Logf("golden %s: seed %d, Pillow %s, %d images", dir, idx.Seed, idx.Pillow, len(idx.Images))
	var stats goldenStats
	for _, g := range idx.Images {
		t.Run(g.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, g.Input))
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := Decode(data)
			if err != nil {
				t.Fatalf("decode %s (Pillow mode %s): %v", g.Input, g.Mode, err)
			}
			if got := pillowRGBA(data, format, img); got != (g.Mode == "RGBA") {
				t.Errorf("%s (%s): pillowRGBA = %v, Pillow opened it in mode %s", g.Input, g.Kind, got, g.Mode)
			}
			if g.Mode == "RGBA" && g.ResizedWhite == "" && g.Error == "" {
				t.Errorf("%s: Pillow mode RGBA but no resized_white golden", g.Input)
			}
			for _, mode := range RGBAModes() {
				want := g.Resized
				if mode == RGBAWhite && g.ResizedWhite != "" {
					want = g.ResizedWhite
				}
				t.Run(string(mode), func(t *testing.T) {
					checkGoldenImage(t, dir, g, ConvertRGB(data, format, img, mode), want, mode == RGBAQwenVLUtils008, &stats)
				})
			}
		})
	}
	lossless, lossy := stats.lossless, stats.lossy
	lossyMax, lossyDiff, lossyTotal := stats.lossyMax, stats.lossyDiff, stats.lossyTotal
	decMax, decDiff, decTotal := stats.decMax, stats.decDiff, stats.decTotal
	if decTotal > 0 {
		t.Logf("lossy decode (JPEG, WebP) vs Pillow (libjpeg-turbo, libwebp): max |diff| %d, %.3f%% of decoded samples differ", decMax, 100*float64(decDiff)/float64(decTotal))
	}
	if lossyTotal > 0 {
		t.Logf("lossy (JPEG, WebP) resized vs Pillow: max |diff| %d, %.3f%% of resized samples differ (%d image checks)", lossyMax, 100*float64(lossyDiff)/float64(lossyTotal), lossy)
	}
	t.Logf("%d lossless image checks bit-exact (both RGBA modes)", lossless)
}

// goldenStats accumulates TestGolden's summary.
type goldenStats struct {
	lossless, lossy                 int
	lossyMax, lossyDiff, lossyTotal int
	decMax, decDiff, decTotal       int
}

// checkGoldenImage checks one converted image against Pillow: size, decoded
// pixels (lossy inputs, alpha-dropping mode only: Pillow's decoded golden is
// convert("RGB")), resize stages and the resized pixels in wantPath.
func checkGoldenImage(t *testing.T, dir string, g goldenImage, rgb *RGB, wantPath string, dropMode bool, st *goldenStats) {
	t.Helper()
	if rgb.W != g.Width || rgb.H != g.Height {
		t.Fatalf("size %dx%d, Pillow %dx%d", rgb.W, rgb.H, g.Width, g.Height)
	}
	if g.Decoded != "" && dropMode {
		want := readPillowRGB(t, filepath.Join(dir, g.Decoded))
		maxd, ndiff := diffRGB(rgb, want)
		st.decMax = max(st.decMax, maxd)
		st.decDiff += ndiff
		st.decTotal += len(rgb.Pix)
		if maxd > 2 {
			t.Errorf("%s (%s): decoded pixels differ from Pillow's by up to %d (%d of %d samples)", g.Input, g.Kind, maxd, ndiff, len(rgb.Pix))
		}
	}
	cfg := g.config()
	got, err := ResizeImage(rgb, cfg)
	if g.Error != "" {
		if !errors.Is(err, ErrAspectRatio) {
			t.Fatalf("ResizeImage(%dx%d) = %v; Python raised %q", rgb.W, rgb.H, err, g.Error)
		}
		return
	}
	if err != nil {
		t.Fatalf("ResizeImage(%dx%d): %v; Python resized to %dx%d", rgb.W, rgb.H, err, g.ResizedWidth, g.ResizedHeight)
	}
	h, w := got.H, got.W
	// Stage sizes: qwen_vl_utils' smart_resize, then the processor's.
	fmin, fmax := cfg.FetchBounds()
	h1, w1, err := SmartResize(rgb.H, rgb.W, fmin, fmax, 28)
	if err != nil {
		t.Fatal(err)
	}
	if g.FetchHeight != 0 && (h1 != g.FetchHeight || w1 != g.FetchWidth) {
		t.Errorf("fetch_image size %dx%d, Python %dx%d", w1, h1, g.FetchWidth, g.FetchHeight)
	}
	if g.FetchHeight == 0 && (h1 != h || w1 != w) {
		t.Errorf("resized twice (%dx%d, then %dx%d); Python resized once", w1, h1, w, h)
	}
	if h != g.ResizedHeight || w != g.ResizedWidth {
		t.Fatalf("resized to %dx%d; Python %dx%d", w, h, g.ResizedWidth, g.ResizedHeight)
	}
	want := readPillowRGB(t, filepath.Join(dir, wantPath))
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
		st.lossless++
		if ndiff > 0 {
			p := first / 3
			t.Errorf("%s (%s, Pillow mode %s): %d of %d samples differ from Pillow, max |diff| %d; first at x=%d y=%d c=%d: got %d want %d",
				g.Input, g.Kind, g.Mode, ndiff, len(got.Pix), maxd, p%w, p/w, first%3, got.Pix[first], want.Pix[first])
		}
		return
	}
	st.lossy++
	st.lossyMax = max(st.lossyMax, maxd)
	st.lossyDiff += ndiff
	st.lossyTotal += len(got.Pix)
	t.Logf("%s: max |diff| %d, %.2f%% of samples differ", g.Kind, maxd, 100*float64(ndiff)/float64(len(got.Pix)))
	if maxd > 2 {
		t.Errorf("%s (%s): max |diff| %d > 2 vs Pillow (%d of %d samples differ)", g.Input, g.Kind, maxd, ndiff, len(got.Pix))
	}
}

// diffRGB returns the largest per-sample difference and the number of
// differing samples of two same-size images.
func diffRGB(a, b *RGB) (maxd, ndiff int) {
	for i := range a.Pix {
		if d := abs(int(a.Pix[i]) - int(b.Pix[i])); d != 0 {
			ndiff++
			maxd = max(maxd, d)
		}
	}
	return maxd, ndiff
}

// TestGoldenNormalize checks both normalisations against numpy's float32
// (Hugging Face) and float64 (transformers.js) arithmetic for every byte.
func TestGoldenNormalize(t *testing.T) {
	_, idx := loadGolden(t)
	n := idx.Normalize
	if n == nil {
		t.Fatal("golden index has no normalize table")
	}
	img := &RGB{W: 256, H: 1, Pix: make([]uint8, 3*256)}
	for v := range 256 {
		img.Pix[3*v], img.Pix[3*v+1], img.Pix[3*v+2] = uint8(v), uint8(v), uint8(v)
	}
	cfg := DefaultConfig()
	if cfg.mean64 != n.Mean || cfg.std64 != n.Std || cfg.RescaleFactor != n.RescaleFactor {
		t.Fatalf("DefaultConfig constants %v %v %v differ from the golden's %v %v %v", cfg.mean64, cfg.std64, cfg.RescaleFactor, n.Mean, n.Std, n.RescaleFactor)
	}
	for _, tjs := range []bool{false, true} {
		cfg.TJSNormalize = tjs
		want := n.HF
		if tjs {
			want = n.TJS
		}
		got := Normalize(img, cfg)
		bad := 0
		for c := range 3 {
			for v := range 256 {
				if g := math.Float32bits(got[c*256+v]); g != want[c][v] {
					if bad < 5 {
						t.Errorf("TJSNormalize=%v channel %d byte %d: got %08x (%g), want %08x (%g)", tjs, c, v, g, got[c*256+v], want[c][v], math.Float32frombits(want[c][v]))
					}
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("TJSNormalize=%v: %d of 768 values differ", tjs, bad)
		}
	}
	differ := 0
	for c := range 3 {
		for v := range 256 {
			if n.HF[c][v] != n.TJS[c][v] {
				differ++
			}
		}
	}
	t.Logf("HF and transformers.js normalisation differ on %d of 768 values", differ)
}

// TestGoldenSmartResize checks SmartResize against qwen_vl_utils'
// smart_resize run by Python on random sizes, round() ties and shapes near
// the 200:1 limit. Python returning a zero side (an image PIL cannot
// resize to) must be an error here.
func TestGoldenSmartResize(t *testing.T) {
	_, idx := loadGolden(t)
	if len(idx.SmartResize) == 0 {
		t.Fatal("golden index has no smart_resize table")
	}
	for _, r := range idx.SmartResize {
		h, w, minp, maxp, wantH, wantW := r[0], r[1], r[2], r[3], r[4], r[5]
		gotH, gotW, err := SmartResize(h, w, minp, maxp, 28)
		switch {
		case wantH == 0 && wantW == 0:
			if !errors.Is(err, ErrAspectRatio) {
				t.Errorf("SmartResize(%d, %d, %d, %d) = %d, %d, %v; Python raised the aspect-ratio error", h, w, minp, maxp, gotH, gotW, err)
			}
		case wantH <= 0 || wantW <= 0:
			if err == nil {
				t.Errorf("SmartResize(%d, %d, %d, %d) = %d, %d; Python gave the empty size %d, %d", h, w, minp, maxp, gotH, gotW, wantH, wantW)
			}
		case err != nil || gotH != wantH || gotW != wantW:
			t.Errorf("SmartResize(%d, %d, %d, %d) = %d, %d, %v; Python %d, %d", h, w, minp, maxp, gotH, gotW, err, wantH, wantW)
		}
	}
}

// TestGoldenCMYK checks cmyk2rgb against Pillow's CMYK → RGB conversion.
func TestGoldenCMYK(t *testing.T) {
	_, idx := loadGolden(t)
	if len(idx.CMYK2RGB) == 0 {
		t.Fatal("golden index has no cmyk2rgb table")
	}
	for _, e := range idx.CMYK2RGB {
		r, g, b := cmyk2rgb(uint8(e[0]), uint8(e[1]), uint8(e[2]), uint8(e[3]))
		if int(r) != e[4] || int(g) != e[5] || int(b) != e[6] {
			t.Errorf("cmyk2rgb(%d, %d, %d, %d) = %d, %d, %d; Pillow %d, %d, %d", e[0], e[1], e[2], e[3], r, g, b, e[4], e[5], e[6])
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestGoldenWhiteBlend checks CompositeWhite on every (value, alpha) pair
// against qwen-vl-utils' to_rgb run by Pillow (paste on white, alpha mask).
func TestGoldenWhiteBlend(t *testing.T) {
	dir, idx := loadGolden(t)
	if idx.WhiteBlend == "" {
		t.Fatal("golden index has no white_blend image")
	}
	want := readPillowRGB(t, filepath.Join(dir, idx.WhiteBlend))
	src := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for y := range 256 {
		for x := range 256 {
			copy(src.Pix[src.PixOffset(x, y):], []uint8{uint8(x), uint8(255 - x), uint8(x) ^ 0x5a, uint8(y)})
		}
	}
	got := CompositeWhite(src)
	if got.W != want.W || got.H != want.H {
		t.Fatalf("size %dx%d, Pillow %dx%d", got.W, got.H, want.W, want.H)
	}
	bad := 0
	for i := range got.Pix {
		if got.Pix[i] != want.Pix[i] {
			if bad < 5 {
				p := i / 3
				t.Errorf("value/alpha (x=%d, alpha=%d) channel %d: got %d, Pillow %d", p%256, p/256, i%3, got.Pix[i], want.Pix[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d samples differ from Pillow's to_rgb", bad, len(got.Pix))
	}
	// alpha 0 is white, alpha 255 the colour itself
	if got.Pix[0] != 255 || got.Pix[3*(255*256+7)] != 7 {
		t.Errorf("alpha 0 gives %d (want 255), alpha 255 on 7 gives %d", got.Pix[0], got.Pix[3*(255*256+7)])
	}
}
