package imageproc

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
)

// RGBAMode says how an image that Pillow opens in mode RGBA becomes RGB.
type RGBAMode string

const (
	// RGBAWhite pastes the image on a white background with its alpha as the
	// mask, then keeps R, G and B: qwen-vl-utils >= 0.0.9's to_rgb, which an
	// unpinned install gave MedVLM-R1 (0.0.10 in February 2025). The default
	// (the empty mode means this one).
	RGBAWhite RGBAMode = "white"
	// RGBAQwenVLUtils008 drops alpha (Pillow's plain convert("RGB")), as
	// qwen-vl-utils 0.0.8 and medbench before it did.
	RGBAQwenVLUtils008 RGBAMode = "qwen-vl-utils-0.0.8"
)

// RGBAModes lists the accepted RGBAMode names, the default first.
func RGBAModes() []RGBAMode { return []RGBAMode{RGBAWhite, RGBAQwenVLUtils008} }

// ParseRGBAMode parses an RGBAMode name; "" is RGBAWhite.
func ParseRGBAMode(s string) (RGBAMode, error) {
	if s == "" {
		return RGBAWhite, nil
	}
	for _, m := range RGBAModes() {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("imageproc: rgba mode %q: want %q (default) or %q", s, RGBAWhite, RGBAQwenVLUtils008)
}

// ConvertRGB turns a decoded image (Decode's image and format, data its
// encoded bytes) into RGB as qwen_vl_utils.fetch_image does. With RGBAWhite,
// an image Pillow opens in mode RGBA is composited on white (to_rgb); every
// other mode — gray+alpha (LA), palettes with transparency, 16-bit gray,
// RGB with tRNS — goes through convert("RGB") (ToRGB) in both modes, as
// to_rgb only tests for mode "RGBA".
func ConvertRGB(data []byte, format string, img image.Image, mode RGBAMode) *RGB {
	if mode != RGBAQwenVLUtils008 && pillowRGBA(data, format, img) {
		return CompositeWhite(img)
	}
	return ToRGB(img)
}

// pillowRGBA reports whether Pillow (9.4) opens the image in mode RGBA:
// PNG colour type 6 (8 or 16 bits; 16-bit samples keep their high byte)
// and 16-bit gray+alpha (Pillow unpacks LA;16B into RGBA, 8-bit LA stays
// LA); WebP whose header says alpha (VP8X flag, VP8L alpha_is_used); TIFF
// RGB with an alpha sample; 32-bit BMP with BI_BITFIELDS (Pillow's BGRA masks;
// plain 32-bit BI_RGB opens as RGB). GIF, JPEG and the rest never do.
func pillowRGBA(data []byte, format string, img image.Image) bool {
	switch format {
	case "png":
		if len(data) < 26 || string(data[12:16]) != "IHDR" {
			return false
		}
		depth, ctype := data[24], data[25]
		return ctype == 6 || (ctype == 4 && depth == 16)
	case "webp":
		if len(data) < 30 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
			return false
		}
		switch string(data[12:16]) {
		case "VP8X":
			return data[20]&0x10 != 0
		case "VP8L":
			// signature 0x2f, then 14+14 bits of size, 1 bit alpha_is_used
			return data[20] == 0x2f && binary.LittleEndian.Uint32(data[21:25])>>28&1 == 1
		}
		return false
	case "tiff":
		// x/image/tiff gives NRGBA(64) for unassociated alpha and RGBA(64)
		// both for associated alpha and for plain RGB (opaque): only a
		// transparent pixel tells them apart, and an opaque image
		// composites to itself anyway.
		switch m := img.(type) {
		case *image.NRGBA, *image.NRGBA64:
			return true
		case *image.RGBA:
			for i := 3; i < len(m.Pix); i += 4 {
				if m.Pix[i] != 0xff {
					return true
				}
			}
		case *image.RGBA64:
			for i := 6; i < len(m.Pix); i += 8 {
				if m.Pix[i] != 0xff || m.Pix[i+1] != 0xff {
					return true
				}
			}
		}
		return false
	case "bmp":
		if len(data) < 34 {
			return false
		}
		bpp, compression := binary.LittleEndian.Uint16(data[28:30]), binary.LittleEndian.Uint32(data[30:34])
		return bpp == 32 && compression == 3
	}
	return false
}

// CompositeWhite is qwen-vl-utils' to_rgb on an RGBA image:
// Image.new("RGB", size, white).paste(im, mask=alpha). Pillow's paste with
// an L mask blends each 8-bit channel as
// DIV255(white*(255-a) + c*a), DIV255(x) = ((x+128)>>8 + x+128)>>8 — x/255
// rounded to nearest (Paste.c paste_mask_L, ImagingUtils.h BLEND). Samples
// are Pillow's 8-bit RGBA: 16-bit ones keep their high byte, premultiplied
// ones are un-premultiplied first.
func CompositeWhite(img image.Image) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	o := out.Pix
	put := func(r, g, bl, a uint8) {
		o[0], o[1], o[2] = blendWhite(r, a), blendWhite(g, a), blendWhite(bl, a)
		o = o[3:]
	}
	switch m := img.(type) {
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			for x := 0; x < w; x++ {
				put(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			for x := 0; x < w; x++ {
				put(row[8*x], row[8*x+2], row[8*x+4], row[8*x+6])
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
				put(uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8), uint8(c.A>>8))
			}
		}
	}
	return out
}

// blendWhite is Pillow's BLEND(a, 255, c): DIV255(255*(255-a) + c*a).
func blendWhite(c, a uint8) uint8 {
	t := 255*(255-uint32(a)) + uint32(c)*uint32(a) + 128
	return uint8((t>>8 + t) >> 8)
}
