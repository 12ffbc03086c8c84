package imageproc

import (
	"fmt"
	"os"
	"strings"
)

// Processed is one image ready for the Qwen2-VL vision encoder.
type Processed struct {
	// PixelValues is pixel_values, row-major [N, PatchDim] with
	// N = GridTHW[0]*GridTHW[1]*GridTHW[2] (PatchDim 1176 for Qwen2-VL).
	PixelValues []float32
	// GridTHW is image_grid_thw: [1, height/PatchSize, width/PatchSize].
	GridTHW [3]int64
	// Height and Width are the resized size (smart_resize).
	Height, Width int
	// ImageTokens is the number of <|image_pad|> tokens the image takes:
	// N / MergeSize².
	ImageTokens int
	// Resized is the image after decoding, RGB conversion and resizing.
	Resized *RGB
	// Warning is set when the image has more pixels than
	// Config.MaxImagePixels (but not twice as many, which is an error).
	Warning string
	// DecodedBytes is the memory its decode took (Header.DecodedBytes).
	DecodedBytes int64
}

// PreprocessFile reads and preprocesses an image file; errors name the file.
func PreprocessFile(path string, cfg Config) (*Processed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("imageproc: %w", err)
	}
	p, err := Preprocess(data, cfg)
	if err != nil {
		return nil, &fileError{path: path, err: err}
	}
	return p, nil
}

// fileError names the file an imageproc error is about:
// "imageproc: FILE: decode png: ...".
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string {
	return "imageproc: " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "imageproc: ")
}

func (e *fileError) Unwrap() error { return e.err }

// Preprocess decodes an encoded image and runs MedVLM-R1's preprocessing:
// qwen_vl_utils' RGB conversion (ConvertRGB with cfg.RGBA), smart_resize and
// Pillow BICUBIC resize (ResizeImage),
// rescale and normalise, temporal duplication and patch flattening.
func Preprocess(data []byte, cfg Config) (*Processed, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	warning, err := CheckPixels(h, cfg.MaxImagePixels)
	if err != nil {
		return nil, err
	}
	img, format, err := decode(data)
	if err != nil {
		return nil, err
	}
	p, err := PreprocessRGB(ConvertRGB(data, format, img, cfg.RGBA), cfg)
	if err != nil {
		return nil, err
	}
	p.Warning, p.DecodedBytes = warning, h.DecodedBytes
	return p, nil
}

// PreprocessRGB runs the steps after decoding on an RGB image.
func PreprocessRGB(src *RGB, cfg Config) (*Processed, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src == nil || src.W <= 0 || src.H <= 0 || len(src.Pix) != 3*src.W*src.H {
		return nil, fmt.Errorf("imageproc: invalid RGB image")
	}
	resized, err := ResizeImage(src, cfg)
	if err != nil {
		return nil, err
	}
	h, w := resized.H, resized.W
	gh, gw := h/cfg.PatchSize, w/cfg.PatchSize
	p := &Processed{
		PixelValues: patchifyRGB(resized, cfg),
		GridTHW:     [3]int64{1, int64(gh), int64(gw)},
		Height:      h,
		Width:       w,
		ImageTokens: gh * gw / (cfg.MergeSize * cfg.MergeSize),
		Resized:     resized,
	}
	return p, nil
}

// ResizeImage resizes an RGB image the way MedVLM-R1's Python path does:
// qwen_vl_utils.fetch_image resizes to smart_resize(h, w) within
// cfg.FetchBounds() with Pillow's BICUBIC; then Qwen2VLImageProcessor runs
// smart_resize again on that size within [cfg.MinPixels, cfg.MaxPixels] and,
// if the size changes (a processor bound tighter than fetch_image's), resizes
// the first result again with Pillow's BICUBIC. With default settings the
// second step is a no-op.
func ResizeImage(src *RGB, cfg Config) (*RGB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fmin, fmax := cfg.FetchBounds()
	if fmin > fmax {
		return nil, fmt.Errorf("imageproc: config: fetch min_pixels %d > max_pixels %d", fmin, fmax)
	}
	h1, w1, err := SmartResize(src.H, src.W, fmin, fmax, cfg.Factor())
	if err != nil {
		return nil, err
	}
	img := ResizeBicubic(src, w1, h1)
	h2, w2, err := SmartResize(h1, w1, cfg.MinPixels, cfg.MaxPixels, cfg.Factor())
	if err != nil {
		return nil, fmt.Errorf("imageproc: processor resize of %dx%d: %w", w1, h1, err)
	}
	if h2 != h1 || w2 != w1 {
		img = ResizeBicubic(img, w2, h2)
	}
	return img, nil
}

// Normalize rescales and normalises an RGB image into channel-first float32
// planes [3][H][W]. Hugging Face: x = float32(float64(v)*RescaleFactor), then
// (x - Mean[c]) / Std[c] in float32. With cfg.TJSNormalize, transformers.js:
// the same x, then (x - mean) / std in float64, rounded once.
func Normalize(img *RGB, cfg Config) []float32 {
	n := img.W * img.H
	out := make([]float32, 3*n)
	lut := normLUT(cfg)
	for i := 0; i < n; i++ {
		px := img.Pix[3*i : 3*i+3]
		out[i] = lut[0][px[0]]
		out[n+i] = lut[1][px[1]]
		out[2*n+i] = lut[2][px[2]]
	}
	return out
}

// normLUT tabulates Normalize for every byte value and channel.
func normLUT(cfg Config) *[3][256]float32 {
	var lut [3][256]float32
	mean64, std64 := cfg.tjsMeanStd()
	for c := range 3 {
		for v := range 256 {
			x := float32(float64(v) * cfg.RescaleFactor)
			if cfg.TJSNormalize {
				lut[c][v] = float32((float64(x) - mean64[c]) / std64[c])
			} else {
				lut[c][v] = (x - cfg.Mean[c]) / cfg.Std[c]
			}
		}
	}
	return &lut
}

// patchifyRGB is Patchify(Normalize(img, cfg), img.H, img.W, cfg) in one
// pass, without the intermediate planes.
func patchifyRGB(img *RGB, cfg Config) []float32 {
	lut := normLUT(cfg)
	w := img.W
	return patchify(img.H, w, cfg, func(dst []float32, c, y, x int) {
		l := &lut[c]
		px := img.Pix[3*(y*w+x)+c:]
		for i := range dst {
			dst[i] = l[px[3*i]]
		}
	})
}

// Patchify lays out channel-first planes [3][h][w] as Qwen2-VL's
// pixel_values: the image repeated TemporalPatchSize times, then Hugging
// Face's reshape(t, T, C, gh/M, M, P, gw/M, M, P).permute(0,3,6,4,7,2,1,5,8)
// flattened to [gh*gw, C*T*P*P]. Patches come in M×M blocks, blocks in
// row-major order. h and w must be multiples of PatchSize*MergeSize (as
// ResizeImage makes them); planes must hold 3*h*w values.
func Patchify(planes []float32, h, w int, cfg Config) []float32 {
	return patchify(h, w, cfg, func(dst []float32, c, y, x int) {
		copy(dst, planes[c*h*w+y*w+x:])
	})
}

// patchify is Patchify's layout of an h×w image whose channel c, row y,
// from column x, row fills into dst (PatchSize values).
func patchify(h, w int, cfg Config, row func(dst []float32, c, y, x int)) []float32 {
	ps, ms, ts := cfg.PatchSize, cfg.MergeSize, cfg.TemporalPatchSize
	gh, gw := h/ps, w/ps
	dim := 3 * ts * ps * ps
	out := make([]float32, gh*gw*dim)
	o := 0
	for bh := 0; bh < gh/ms; bh++ {
		for bw := 0; bw < gw/ms; bw++ {
			for mh := 0; mh < ms; mh++ {
				for mw := 0; mw < ms; mw++ {
					row0, col0 := (bh*ms+mh)*ps, (bw*ms+mw)*ps
					for c := 0; c < 3; c++ {
						start := o
						for py := 0; py < ps; py++ {
							row(out[o:o+ps], c, row0+py, col0)
							o += ps
						}
						// Temporal copies of a single image are identical.
						for t := 1; t < ts; t++ {
							copy(out[o:o+ps*ps], out[start:start+ps*ps])
							o += ps * ps
						}
					}
				}
			}
		}
	}
	return out
}
