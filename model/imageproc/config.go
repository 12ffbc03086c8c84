package imageproc

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/medbench/medbench/internal/utf8bom"
)

// Config holds the Qwen2-VL image processor settings.
type Config struct {
	// MinPixels and MaxPixels are the image processor's bounds on the resized
	// area (preprocessor_config.json; Qwen2VLImageProcessor's smart_resize).
	MinPixels, MaxPixels int
	// FetchMinPixels and FetchMaxPixels are qwen_vl_utils.fetch_image's
	// bounds (a message's "min_pixels"/"max_pixels"); zero means
	// qwen_vl_utils' defaults, 3136 and 12845056. The image is resized once
	// with these, and again, from that result, only if the processor's
	// bounds then give another size — as MedVLM-R1's Python path does.
	FetchMinPixels, FetchMaxPixels int
	// PatchSize is the ViT patch side (14); TemporalPatchSize the number of
	// frames per patch (2); MergeSize the side of the patch block the merger
	// fuses into one token (2). The resize factor is PatchSize*MergeSize.
	PatchSize, TemporalPatchSize, MergeSize int
	// Mean and Std are the per-channel (R, G, B) normalisation constants.
	Mean, Std [3]float32
	// RescaleFactor maps bytes to [0, 1] (1/255).
	RescaleFactor float64
	// TJSNormalize normalises the transformers.js way, (x - mean) / std in
	// float64 rounded once to float32, instead of Hugging Face's float32
	// arithmetic. Use it only to compare token for token with transformers.js.
	TJSNormalize bool
	// RGBA is how images that Pillow opens in mode RGBA become RGB: ""
	// or RGBAWhite composites them on white (qwen-vl-utils >= 0.0.9, the
	// default), RGBAQwenVLUtils008 drops alpha (qwen-vl-utils 0.0.8).
	RGBA RGBAMode
	// MaxImagePixels is the decompression-bomb limit on an image's decoded
	// size, checked from its header before decoding (Pillow's
	// MAX_IMAGE_PIXELS): above it a warning, above twice it an error.
	// 0 means DefaultMaxImagePixels; negative disables the check.
	MaxImagePixels int64

	// mean64 and std64 are the exact decimal constants (as JSON parses them),
	// used by TJSNormalize when they agree with Mean and Std.
	mean64, std64 [3]float64
}

// DefaultConfig returns Qwen2-VL-2B-Instruct's preprocessor_config.json
// values: min_pixels 3136, max_pixels 12845056, patch 14, temporal patch 2,
// merge 2, CLIP mean/std, rescale 1/255.
func DefaultConfig() Config {
	c := Config{
		MinPixels:         56 * 56,
		MaxPixels:         16384 * 28 * 28, // 12845056
		PatchSize:         14,
		TemporalPatchSize: 2,
		MergeSize:         2,
		RescaleFactor:     1.0 / 255,
	}
	// OpenAI CLIP normalisation constants, as in preprocessor_config.json.
	c.setMeanStd([3]float64{0.48145466, 0.4578275, 0.40821073}, [3]float64{0.26862954, 0.26130258, 0.27577711})
	return c
}

func (c *Config) setMeanStd(mean, std [3]float64) {
	c.mean64, c.std64 = mean, std
	for i := range 3 {
		c.Mean[i], c.Std[i] = float32(mean[i]), float32(std[i])
	}
}

// qwen_vl_utils' MIN_PIXELS and MAX_PIXELS.
const (
	qvuMinPixels = 4 * 28 * 28
	qvuMaxPixels = 16384 * 28 * 28
)

// FetchBounds returns the effective qwen_vl_utils.fetch_image bounds.
func (c Config) FetchBounds() (minPixels, maxPixels int) {
	minPixels, maxPixels = c.FetchMinPixels, c.FetchMaxPixels
	if minPixels == 0 {
		minPixels = qvuMinPixels
	}
	if maxPixels == 0 {
		maxPixels = qvuMaxPixels
	}
	return minPixels, maxPixels
}

// Factor is the side multiple images are resized to: PatchSize*MergeSize.
func (c Config) Factor() int { return c.PatchSize * c.MergeSize }

// PatchDim is the length of one flattened patch:
// 3*TemporalPatchSize*PatchSize² (1176 for Qwen2-VL).
func (c Config) PatchDim() int { return 3 * c.TemporalPatchSize * c.PatchSize * c.PatchSize }

// Validate reports settings that cannot produce patches.
func (c Config) Validate() error {
	switch {
	case c.PatchSize <= 0 || c.TemporalPatchSize <= 0 || c.MergeSize <= 0:
		return fmt.Errorf("imageproc: config: patch_size %d, temporal_patch_size %d and merge_size %d must be positive", c.PatchSize, c.TemporalPatchSize, c.MergeSize)
	case c.MinPixels < 0 || c.MaxPixels <= 0 || c.MinPixels > c.MaxPixels:
		return fmt.Errorf("imageproc: config: need 0 <= min_pixels (%d) <= max_pixels (%d), max_pixels > 0", c.MinPixels, c.MaxPixels)
	case c.FetchMinPixels < 0 || c.FetchMaxPixels < 0:
		return fmt.Errorf("imageproc: config: fetch min/max pixels (%d, %d) must not be negative", c.FetchMinPixels, c.FetchMaxPixels)
	case c.RescaleFactor <= 0:
		return fmt.Errorf("imageproc: config: rescale_factor %g must be positive", c.RescaleFactor)
	}
	if _, err := ParseRGBAMode(string(c.RGBA)); err != nil {
		return fmt.Errorf("imageproc: config: %w", err)
	}
	for i, s := range c.Std {
		if s == 0 {
			return fmt.Errorf("imageproc: config: image_std[%d] is zero", i)
		}
	}
	return nil
}

// preprocessorJSON is the subset of a Hugging Face preprocessor_config.json
// that Qwen2VLImageProcessor reads.
type preprocessorJSON struct {
	MinPixels         *int      `json:"min_pixels"`
	MaxPixels         *int      `json:"max_pixels"`
	PatchSize         *int      `json:"patch_size"`
	TemporalPatchSize *int      `json:"temporal_patch_size"`
	MergeSize         *int      `json:"merge_size"`
	ImageMean         []float64 `json:"image_mean"`
	ImageStd          []float64 `json:"image_std"`
	RescaleFactor     *float64  `json:"rescale_factor"`
	Size              *sizeJSON `json:"size"`
	DoResize          *bool     `json:"do_resize"`
	DoRescale         *bool     `json:"do_rescale"`
	DoNormalize       *bool     `json:"do_normalize"`
	DoConvertRGB      *bool     `json:"do_convert_rgb"`
	Resample          *int      `json:"resample"`
}

type sizeJSON struct {
	ShortestEdge *int `json:"shortest_edge"`
	LongestEdge  *int `json:"longest_edge"`
}

// LoadConfig reads a preprocessor_config.json. Keys it lacks keep their
// DefaultConfig values; min_pixels/max_pixels win over
// size.shortest_edge/size.longest_edge, as in transformers. Configs that turn
// a step off (do_resize, do_rescale, do_normalize or do_convert_rgb false)
// or ask for another resampling filter than BICUBIC (resample 3) are
// rejected rather than silently processed differently.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("imageproc: %w", err)
	}
	c, err := ParseConfig(utf8bom.Trim(data))
	if err != nil {
		return Config{}, fmt.Errorf("imageproc: %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses preprocessor_config.json content (see LoadConfig).
func ParseConfig(data []byte) (Config, error) {
	var j preprocessorJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return Config{}, fmt.Errorf("parse preprocessor config: %w", err)
	}
	for _, f := range []struct {
		name string
		v    *bool
	}{{"do_resize", j.DoResize}, {"do_rescale", j.DoRescale}, {"do_normalize", j.DoNormalize}, {"do_convert_rgb", j.DoConvertRGB}} {
		if f.v != nil && !*f.v {
			return Config{}, fmt.Errorf("%s is false: only the full Qwen2-VL preprocessing is supported", f.name)
		}
	}
	if j.Resample != nil && *j.Resample != 3 {
		return Config{}, fmt.Errorf("resample is %d: only 3 (BICUBIC) is supported", *j.Resample)
	}
	c := DefaultConfig()
	if j.Size != nil {
		if j.Size.ShortestEdge != nil {
			c.MinPixels = *j.Size.ShortestEdge
		}
		if j.Size.LongestEdge != nil {
			c.MaxPixels = *j.Size.LongestEdge
		}
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setInt(&c.MinPixels, j.MinPixels)
	setInt(&c.MaxPixels, j.MaxPixels)
	setInt(&c.PatchSize, j.PatchSize)
	setInt(&c.TemporalPatchSize, j.TemporalPatchSize)
	setInt(&c.MergeSize, j.MergeSize)
	if j.RescaleFactor != nil {
		c.RescaleFactor = *j.RescaleFactor
	}
	mean, std := c.mean64, c.std64
	if j.ImageMean != nil {
		if len(j.ImageMean) != 3 {
			return Config{}, fmt.Errorf("image_mean has %d values, want 3", len(j.ImageMean))
		}
		copy(mean[:], j.ImageMean)
	}
	if j.ImageStd != nil {
		if len(j.ImageStd) != 3 {
			return Config{}, fmt.Errorf("image_std has %d values, want 3", len(j.ImageStd))
		}
		copy(std[:], j.ImageStd)
	}
	c.setMeanStd(mean, std)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// tjsMeanStd returns the float64 constants transformers.js divides by: the
// exact JSON values when Mean/Std were not changed since loading, else the
// float32 fields widened.
func (c Config) tjsMeanStd() (mean, std [3]float64) {
	for i := range 3 {
		mean[i], std[i] = float64(c.Mean[i]), float64(c.Std[i])
		if float32(c.mean64[i]) == c.Mean[i] {
			mean[i] = c.mean64[i]
		}
		if float32(c.std64[i]) == c.Std[i] {
			std[i] = c.std64[i]
		}
	}
	return mean, std
}
