package imageproc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image/png"
	"math"
	"os"
)

// FileOutputs names the files PreprocessFileTo writes ("" = not written).
type FileOutputs struct {
	// ResizedPNG receives the resized RGB image as PNG (bit-exact with
	// Pillow for lossless inputs).
	ResizedPNG string
	// PixelValues receives pixel_values as raw little-endian float32,
	// row-major [grid_t*grid_h*grid_w, PatchDim].
	PixelValues string
}

// Summary is what `medbench tools preprocess` prints of a processed image.
type Summary struct {
	Height      int      `json:"height"`
	Width       int      `json:"width"`
	GridTHW     [3]int64 `json:"grid_thw"`
	ImageTokens int      `json:"image_tokens"`
}

// OutputError is an error writing one of PreprocessFileTo's output files
// (as opposed to reading or decoding the input).
type OutputError struct{ Err error }

func (e *OutputError) Error() string { return e.Err.Error() }
func (e *OutputError) Unwrap() error { return e.Err }

// PreprocessFileTo preprocesses an image file (PreprocessFile), writes the
// outputs named in out and returns the image's summary. Errors reading the
// input name it; errors writing an output are *OutputError naming it.
func PreprocessFileTo(path string, cfg Config, out FileOutputs) (Summary, error) {
	p, err := PreprocessFile(path, cfg)
	if err != nil {
		return Summary{}, err
	}
	if out.ResizedPNG != "" {
		if err := writePNG(out.ResizedPNG, p.Resized); err != nil {
			return Summary{}, &OutputError{err}
		}
	}
	if out.PixelValues != "" {
		if err := writeFloat32s(out.PixelValues, p.PixelValues); err != nil {
			return Summary{}, &OutputError{err}
		}
	}
	return Summary{Height: p.Height, Width: p.Width, GridTHW: p.GridTHW, ImageTokens: p.ImageTokens}, nil
}

func writePNG(path string, img *RGB) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img.NRGBA()); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeFloat32s(path string, v []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		if _, err := w.Write(b[:]); err != nil {
			break
		}
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
