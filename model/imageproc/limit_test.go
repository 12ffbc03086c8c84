package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"runtime"
	"strings"
	"testing"
)

// pngHeaderOnly is a 100-byte PNG whose IHDR claims w×h at 16-bit RGBA
// (colour type 6) with an IDAT holding almost nothing: the shape of a
// decompression bomb, without its payload.
func pngHeaderOnly(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6 // 16-bit RGBA
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestDecompressionBombLimit: a PNG whose header claims 13000×13000 16-bit
// RGBA (169 M pixels; 1.86 GB decoded) is, like Pillow with its default
// MAX_IMAGE_PIXELS, a warning — and an error, raised from the header
// before any pixel memory is allocated, once the configured limit is less
// than half its size; 20000×20000 is an error at the default limit.
func TestDecompressionBombLimit(t *testing.T) {
	bomb := pngHeaderOnly(t, 13000, 13000)
	if len(bomb) > 200 {
		t.Fatalf("test PNG is %d bytes", len(bomb))
	}
	h, err := ReadHeader(bomb)
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != "png" || h.W != 13000 || h.H != 13000 || h.DecodedBytes != 13000*13000*(8+3) {
		t.Fatalf("header %+v", h)
	}
	warn, err := CheckPixels(h, 0)
	if err != nil || !strings.Contains(warn, "13000x13000 = 169000000 pixels exceeds the limit of 89478485") {
		t.Errorf("default limit: warning %q, error %v", warn, err)
	}
	if warn, err := CheckPixels(h, -1); warn != "" || err != nil {
		t.Errorf("limit off: %q %v", warn, err)
	}

	cfg := DefaultConfig()
	cfg.MaxImagePixels = 50_000_000
	var perr error
	n := allocated(func() { _, perr = Preprocess(bomb, cfg) })
	if perr == nil || !strings.Contains(perr.Error(), "decompression bomb") || !strings.Contains(perr.Error(), "--max-image-pixels") {
		t.Errorf("limit 50M: %v", perr)
	}
	if n > 4<<20 {
		t.Errorf("refusing the bomb allocated %d bytes: not checked before decoding", n)
	}

	huge := pngHeaderOnly(t, 20000, 20000)
	n = allocated(func() { _, _, perr = Decode(huge) })
	if perr == nil || !strings.Contains(perr.Error(), "more than twice the limit of 89478485") {
		t.Errorf("20000x20000 at the default limit: %v", perr)
	}
	if n > 4<<20 {
		t.Errorf("Decode allocated %d bytes before refusing", n)
	}
}

// TestPixelLimitWarningAndError: a real 100×100 image under a limit of
// 6000 pixels decodes with the warning on the result; under 4000 it fails.
func TestPixelLimitWarningAndError(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 100, 100))); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.MaxImagePixels = 6000
	p, err := Preprocess(buf.Bytes(), cfg)
	if err != nil || !strings.Contains(p.Warning, "100x100 = 10000 pixels exceeds the limit of 6000") || p.DecodedBytes != 10000*4 {
		t.Fatalf("limit 6000: %v, %+v", err, p)
	}
	cfg.MaxImagePixels = 4000
	if _, err := Preprocess(buf.Bytes(), cfg); err == nil || !strings.Contains(err.Error(), "decompression bomb") {
		t.Errorf("limit 4000: %v", err)
	}
	cfg.MaxImagePixels = 0
	if p, err := Preprocess(buf.Bytes(), cfg); err != nil || p.Warning != "" {
		t.Errorf("default limit: %v %q", err, p.Warning)
	}
}
