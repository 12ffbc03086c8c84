package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // GIF decoder
	_ "image/png" // PNG decoder
	"io"

	_ "golang.org/x/image/bmp"  // BMP decoder
	_ "golang.org/x/image/tiff" // TIFF decoder
	_ "golang.org/x/image/webp" // WebP decoder

	"github.com/medbench/medbench/model/imageproc/internal/ljpeg"
)

// RGB is a packed 8-bit RGB image: pixel (x, y) is Pix[3*(y*W+x):][:3].
type RGB struct {
	W, H int
	Pix  []uint8
}

// Decode decodes a PNG, JPEG, GIF, BMP, TIFF or WebP image and returns it
// with its format name, adjusted where Go's decoders differ from what Pillow
// gives:
//   - JPEG goes through image/jpeg's parser with libjpeg-turbo's ISLOW
//     inverse DCT (internal/ljpeg); ToRGB then upsamples chroma and converts
//     colour the way libjpeg-turbo does;
//   - a 16-bit grayscale PNG with a tRNS chunk comes back as *image.Gray16
//     (Pillow opens it as mode I, transparency ignored by convert("RGB"));
//   - a GIF's first frame keeps the colour of its transparent palette entry
//     and is placed on the logical screen (see gifAsPillow);
//   - a lossy WebP comes back as *image.NRGBA converted with libwebp's
//     arithmetic (fancy upsampling, limited-range BT.601).
//
// Images of more than 2×DefaultMaxImagePixels pixels are refused from their
// header, before any pixel memory is allocated (see DecodeLimit).
func Decode(data []byte) (image.Image, string, error) {
	img, format, _, err := DecodeLimit(data, 0)
	return img, format, err
}

// DecodeLimit is Decode with the decompression-bomb limit of CheckPixels
// (0: DefaultMaxImagePixels; negative: none), checked from the header
// before decoding. Above the limit it decodes and returns a warning; above
// twice the limit it returns an error without decoding.
func DecodeLimit(data []byte, limit int64) (img image.Image, format, warning string, err error) {
	h, err := ReadHeader(data)
	if err != nil {
		return nil, h.Format, "", err
	}
	if warning, err = CheckPixels(h, limit); err != nil {
		return nil, h.Format, "", err
	}
	img, format, err = decode(data)
	return img, format, warning, err
}

// decode decodes an image whose header has passed CheckPixels.
func decode(data []byte) (image.Image, string, error) {
	decodeImage := image.Decode
	if bytes.HasPrefix(data, []byte("\xff\xd8")) {
		// JPEG: Go's decoder with libjpeg-turbo's ISLOW IDCT.
		decodeImage = func(r io.Reader) (image.Image, string, error) {
			m, err := ljpeg.Decode(r)
			return m, "jpeg", err
		}
	}
	img, format, err := decodeImage(bytes.NewReader(data))
	if err != nil {
		return nil, format, fmt.Errorf("imageproc: decode %s: %w", format, err)
	}
	switch format {
	case "png":
		if n, ok := img.(*image.NRGBA64); ok && pngIsGray16(data) {
			img = nrgba64ToGray16(n)
		}
	case "gif":
		if p, ok := img.(*image.Paletted); ok {
			img = gifAsPillow(data, p)
		}
	case "webp":
		img = webpToNRGBA(img)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, format, fmt.Errorf("imageproc: decode %s: empty image", format)
	}
	return img, format, nil
}

// webpToNRGBA converts lossy WebP Y'CbCr(A) images with libwebp's
// arithmetic; other images are returned unchanged.
func webpToNRGBA(img image.Image) image.Image {
	var ycc *image.YCbCr
	var alpha func(x, y int) uint8
	switch m := img.(type) {
	case *image.YCbCr:
		ycc = m
	case *image.NYCbCrA:
		ycc = &m.YCbCr
		alpha = func(x, y int) uint8 { return m.A[m.AOffset(x, y)] }
	default:
		return img
	}
	rgb := webpToRGB(ycc)
	if rgb == nil {
		return img
	}
	out := rgb.NRGBA()
	if alpha != nil {
		b := ycc.Bounds()
		for y := 0; y < rgb.H; y++ {
			for x := 0; x < rgb.W; x++ {
				out.Pix[out.PixOffset(x, y)+3] = alpha(b.Min.X+x, b.Min.Y+y)
			}
		}
	}
	return out
}

// pngIsGray16 reports whether a PNG's IHDR says 16-bit grayscale without
// alpha (colour type 0).
func pngIsGray16(data []byte) bool {
	// signature(8) length(4) "IHDR"(4) width(4) height(4) depth(1) ctype(1)
	if len(data) < 26 || string(data[12:16]) != "IHDR" {
		return false
	}
	return data[24] == 16 && data[25] == 0
}

func nrgba64ToGray16(n *image.NRGBA64) *image.Gray16 {
	b := n.Bounds()
	g := image.NewGray16(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := n.PixOffset(x, y)
			j := g.PixOffset(x, y)
			g.Pix[j], g.Pix[j+1] = n.Pix[i], n.Pix[i+1]
		}
	}
	return g
}

// gifAsPillow makes image/gif's first frame look like Pillow's: the
// transparent palette index keeps its colour (image/gif zeroes it), and a
// frame smaller than the logical screen is placed on a screen-size canvas
// filled with the transparent index, or index 0 without one.
func gifAsPillow(data []byte, p *image.Paletted) *image.Paletted {
	table, trans, err := gifFirstFrameTable(data)
	if err != nil {
		return p
	}
	if trans >= 0 && trans < len(p.Palette) && 3*trans+2 < len(table) {
		p.Palette = append(color.Palette(nil), p.Palette...)
		p.Palette[trans] = color.RGBA{table[3*trans], table[3*trans+1], table[3*trans+2], 0xff}
	}
	screen := image.Rect(0, 0, int(binary.LittleEndian.Uint16(data[6:])), int(binary.LittleEndian.Uint16(data[8:])))
	if p.Rect == screen || screen.Empty() {
		return p
	}
	canvas := image.NewPaletted(screen, p.Palette)
	if trans > 0 {
		for i := range canvas.Pix {
			canvas.Pix[i] = uint8(trans)
		}
	}
	r := p.Rect.Intersect(screen)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(canvas.Pix[canvas.PixOffset(r.Min.X, y):][:r.Dx()], p.Pix[p.PixOffset(r.Min.X, y):][:r.Dx()])
	}
	return canvas
}

// gifFirstFrameTable returns the colour table (local if present, else
// global) and transparent index (-1 if none) of a GIF's first image.
func gifFirstFrameTable(data []byte) (table []byte, trans int, err error) {
	errShort := errors.New("imageproc: gif: truncated")
	if len(data) < 13 {
		return nil, -1, errShort
	}
	pos := 13
	if data[10]&0x80 != 0 {
		n := 3 << (data[10]&7 + 1)
		if len(data) < pos+n {
			return nil, -1, errShort
		}
		table = data[pos : pos+n]
		pos += n
	}
	trans = -1
	for pos < len(data) {
		switch data[pos] {
		case 0x21: // extension
			if pos+2 > len(data) {
				return nil, -1, errShort
			}
			label := data[pos+1]
			pos += 2
			if label == 0xF9 && pos+5 < len(data) && data[pos] == 4 {
				if data[pos+1]&1 != 0 {
					trans = int(data[pos+4])
				}
			}
			for pos < len(data) && data[pos] != 0 {
				pos += int(data[pos]) + 1
			}
			pos++
		case 0x2C: // image descriptor
			if pos+10 > len(data) {
				return nil, -1, errShort
			}
			flags := data[pos+9]
			pos += 10
			if flags&0x80 != 0 {
				n := 3 << (flags&7 + 1)
				if len(data) < pos+n {
					return nil, -1, errShort
				}
				table = data[pos : pos+n]
			}
			return table, trans, nil
		default:
			return nil, -1, fmt.Errorf("imageproc: gif: unexpected block 0x%02x", data[pos])
		}
	}
	return nil, -1, errShort
}

// ToRGB converts a decoded image to packed RGB following Pillow's
// convert("RGB"): gray copies to R, G and B; alpha is dropped without
// compositing; 16-bit grayscale clips to 255 (Pillow's I → RGB) while 16-bit
// colour keeps the high byte (Pillow reads RGB;16B); palettes expand; CMYK
// uses Pillow's cmyk2rgb; Y'CbCr is upsampled and converted the way
// libjpeg-turbo does by default (fancy upsampling, ISLOW tables).
func ToRGB(img image.Image) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	o := out.Pix
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for _, v := range row {
				o[0], o[1], o[2] = v, v, v
				o = o[3:]
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			for x := 0; x < w; x++ {
				v := uint8(min(binary.BigEndian.Uint16(row[2*x:]), 255))
				o[0], o[1], o[2] = v, v, v
				o = o[3:]
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				o[0], o[1], o[2] = row[4*x], row[4*x+1], row[4*x+2]
				o = o[3:]
			}
		}
	case *image.RGBA:
		// Premultiplied: opaque pixels (all of image/png's 8-bit RGB) copy,
		// others are un-premultiplied.
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4]
				if p[3] == 0xff {
					o[0], o[1], o[2] = p[0], p[1], p[2]
				} else {
					c := rgbOf(color.RGBA{p[0], p[1], p[2], p[3]})
					o[0], o[1], o[2] = c[0], c[1], c[2]
				}
				o = o[3:]
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			for x := 0; x < w; x++ {
				o[0], o[1], o[2] = row[8*x], row[8*x+2], row[8*x+4]
				o = o[3:]
			}
		}
	case *image.RGBA64:
		// Opaque 16-bit colour (image/png's RGB48): high bytes.
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			for x := 0; x < w; x++ {
				c := m.RGBA64At(b.Min.X+x, b.Min.Y+y)
				if c.A != 0xffff {
					n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
					o[0], o[1], o[2] = uint8(n.R>>8), uint8(n.G>>8), uint8(n.B>>8)
				} else {
					o[0], o[1], o[2] = row[8*x], row[8*x+2], row[8*x+4]
				}
				o = o[3:]
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			if i >= 256 {
				break
			}
			lut[i] = rgbOf(c)
		}
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for _, v := range row {
				c := lut[v]
				o[0], o[1], o[2] = c[0], c[1], c[2]
				o = o[3:]
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				o[0], o[1], o[2] = cmyk2rgb(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				o = o[3:]
			}
		}
	case *image.YCbCr:
		ycbcrToRGB(m, out)
	case *image.NYCbCrA:
		ycbcrToRGB(&m.YCbCr, out)
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := rgbOf(img.At(x, y))
				o[0], o[1], o[2] = c[0], c[1], c[2]
				o = o[3:]
			}
		}
	}
	return out
}

// rgbOf is the non-premultiplied 8-bit colour of c, alpha dropped.
func rgbOf(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 0xff {
			return [3]uint8{c.R, c.G, c.B}
		}
	case color.Gray:
		return [3]uint8{c.Y, c.Y, c.Y}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}

// cmyk2rgb is Pillow's Convert.c cmyk2rgb.
func cmyk2rgb(c, m, y, k uint8) (r, g, b uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(max(0, min(255, nk-((t>>8)+t)>>8)))
	}
	return f(c), f(m), f(y)
}

// NRGBA returns the image as an opaque *image.NRGBA (for encoding).
func (m *RGB) NRGBA() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, m.W, m.H))
	for i := 0; i < m.W*m.H; i++ {
		copy(out.Pix[4*i:4*i+3], m.Pix[3*i:3*i+3])
		out.Pix[4*i+3] = 0xff
	}
	return out
}
