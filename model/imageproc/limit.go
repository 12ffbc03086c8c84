package imageproc

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"

	"github.com/medbench/medbench/model/imageproc/internal/ljpeg"
)

// DefaultMaxImagePixels is Pillow's Image.MAX_IMAGE_PIXELS (89,478,485,
// about 0.25 GiB of 24-bit pixels): an image with more pixels gets a
// DecompressionBombWarning, one with more than twice as many a
// DecompressionBombError — raised from the header, before decoding.
const DefaultMaxImagePixels = 89478485

// DefaultMaxBatchImageBytes is the decoded-image memory (1 GiB) a runner
// lets a batch leave to the garbage collector before it collects.
const DefaultMaxBatchImageBytes = 1 << 30

// Header is what an image's header says, read without decoding pixels.
type Header struct {
	Format string
	W, H   int
	// DecodedBytes is the memory the decoded image takes (width × height ×
	// bytes per pixel of the decoder's colour model) plus the 8-bit RGB copy
	// ToRGB makes: the allocation a decode of this image asks for.
	DecodedBytes int64
}

// Pixels is W×H.
func (h Header) Pixels() int64 { return int64(h.W) * int64(h.H) }

// ReadHeader reads an encoded image's header: format, size and the memory a
// decode would take. It reads no pixel data.
func ReadHeader(data []byte) (Header, error) {
	var (
		cfg    image.Config
		format string
		err    error
	)
	if bytes.HasPrefix(data, []byte("\xff\xd8")) {
		cfg, err = ljpeg.DecodeConfig(bytes.NewReader(data))
		format = "jpeg"
	} else {
		cfg, format, err = image.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return Header{}, fmt.Errorf("imageproc: decode: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Header{Format: format}, fmt.Errorf("imageproc: decode %s: image size %dx%d out of range", format, cfg.Width, cfg.Height)
	}
	h := Header{Format: format, W: cfg.Width, H: cfg.Height}
	h.DecodedBytes = h.Pixels() * int64(bytesPerPixel(cfg.ColorModel)+3)
	return h, nil
}

// ReadHeaderFrom is ReadHeader for a reader (a file), reading only as much
// as the header needs.
func ReadHeaderFrom(r io.Reader) (Header, error) {
	// Headers are small; 64 KiB covers PNG IHDR, GIF, BMP, WebP and JPEG
	// headers with ordinary APPn segments. A JPEG whose SOF lies beyond is
	// read whole.
	buf, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return Header{}, fmt.Errorf("imageproc: %w", err)
	}
	h, herr := ReadHeader(buf)
	if herr != nil && len(buf) == 64<<10 {
		rest, err := io.ReadAll(r)
		if err != nil {
			return Header{}, fmt.Errorf("imageproc: %w", err)
		}
		return ReadHeader(append(buf, rest...))
	}
	return h, herr
}

// bytesPerPixel is the size of one pixel in the image a Go decoder returns
// for a colour model.
func bytesPerPixel(m color.Model) int {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.Gray16Model:
		return 2
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.YCbCrModel:
		return 3 // at most (4:4:4)
	case color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // unknown: assume the widest
}

// CheckPixels applies the decompression-bomb limit to a header, the way
// Pillow's Image._decompression_bomb_check does: more than 2×limit pixels
// is an error; more than limit, a warning (returned, not an error).
// limit 0 means DefaultMaxImagePixels; a negative limit disables the check.
func CheckPixels(h Header, limit int64) (warning string, err error) {
	if limit == 0 {
		limit = DefaultMaxImagePixels
	}
	if limit < 0 {
		return "", nil
	}
	n := h.Pixels()
	switch {
	case n > 2*limit:
		return "", fmt.Errorf("imageproc: decompression bomb: %s image of %dx%d = %d pixels is more than twice the limit of %d pixels (decoding would take %s; raise --max-image-pixels to accept it)",
			h.Format, h.W, h.H, n, limit, humanBytes(h.DecodedBytes))
	case n > limit:
		return fmt.Sprintf("%s image of %dx%d = %d pixels exceeds the limit of %d pixels (possible decompression bomb; decoding takes %s)",
			h.Format, h.W, h.H, n, limit, humanBytes(h.DecodedBytes)), nil
	}
	return "", nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
