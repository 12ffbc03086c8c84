package imageproc

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// benchPNG encodes a w×h RGB PNG with smooth structured content.
func benchPNG(b *testing.B, w, h int) []byte {
	b.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x*7+y), uint8(x^y), uint8(y*3), 255
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkPreprocess(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"512x512", 512, 512}, {"2000x1500", 2000, 1500}} {
		data := benchPNG(b, sz.w, sz.h)
		cfg := DefaultConfig()
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Preprocess(data, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkResizeBicubic(b *testing.B) {
	src := &RGB{W: 2000, H: 1500, Pix: make([]uint8, 3*2000*1500)}
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 31)
	}
	for b.Loop() {
		ResizeBicubic(src, 644, 476)
	}
}
