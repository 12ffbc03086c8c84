package imageproc

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestPreprocessFileTo(t *testing.T) {
	dir := t.TempDir()
	src := image.NewGray(image.Rect(0, 0, 60, 45))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	in := filepath.Join(dir, "in.png")
	f, _ := os.Create(in)
	if err := png.Encode(f, src); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := FileOutputs{ResizedPNG: filepath.Join(dir, "r.png"), PixelValues: filepath.Join(dir, "pv.f32")}
	sum, err := PreprocessFileTo(in, DefaultConfig(), out)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PreprocessFile(in, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Height: p.Height, Width: p.Width, GridTHW: p.GridTHW, ImageTokens: p.ImageTokens}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	rf, _ := os.Open(out.ResizedPNG)
	img, err := png.Decode(rf)
	rf.Close()
	if err != nil || img.Bounds().Dx() != p.Width || img.Bounds().Dy() != p.Height {
		t.Fatalf("resized png: %v %v", err, img)
	}
	if c := color.NRGBAModel.Convert(img.At(3, 2)).(color.NRGBA); c.R != p.Resized.Pix[3*(2*p.Width+3)] || c.A != 0xff {
		t.Errorf("resized pixel %v", c)
	}
	b, _ := os.ReadFile(out.PixelValues)
	if len(b) != 4*len(p.PixelValues) {
		t.Fatalf("pixel values: %d bytes, want %d", len(b), 4*len(p.PixelValues))
	}
	for i, v := range p.PixelValues {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); got != v {
			t.Fatalf("pixel value %d = %v, want %v", i, got, v)
		}
	}

	var oe *OutputError
	if _, err := PreprocessFileTo(in, DefaultConfig(), FileOutputs{PixelValues: filepath.Join(dir, "no", "pv.f32")}); !errors.As(err, &oe) {
		t.Errorf("unwritable output: err %v, want an OutputError", err)
	}
	if _, err := PreprocessFileTo(filepath.Join(dir, "none.png"), DefaultConfig(), out); err == nil || errors.As(err, &oe) {
		t.Errorf("missing input: err %v, want an input error", err)
	}
}
