package imageproc

import "image"

// libjpeg-turbo's jdcolor.c fixed-point Y'CbCr → RGB (ITU-R BT.601, full
// range): SCALEBITS 16, tables rounded as in build_ycc_rgb_table.
const (
	yccScaleBits = 16
	yccOneHalf   = 1 << (yccScaleBits - 1)
)

func yccFix(x float64) int32 { return int32(x*(1<<yccScaleBits) + 0.5) }

// yccTables are libjpeg's Cr_r_tab, Cb_b_tab, Cr_g_tab and Cb_g_tab.
type yccTables struct {
	crR, cbB, crG, cbG [256]int32
}

func newYCCTables() *yccTables {
	t := &yccTables{}
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (yccFix(1.40200)*x + yccOneHalf) >> yccScaleBits
		t.cbB[i] = (yccFix(1.77200)*x + yccOneHalf) >> yccScaleBits
		t.crG[i] = -yccFix(0.71414) * x
		t.cbG[i] = -yccFix(0.34414)*x + yccOneHalf
	}
	return t
}

func clampU8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycbcrToRGB converts m into out (already sized) the way libjpeg-turbo's
// default decompression does after the IDCT: chroma upsampled with the
// "fancy" triangle filters (h2v1, h1v2, h2v2; replication for other
// ratios), then jdcolor.c's table-driven conversion. Pillow decodes JPEGs
// this way.
func ycbcrToRGB(m *image.YCbCr, out *RGB) {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var hs, vs int // chroma subsampling factors
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio422:
		hs, vs = 2, 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		hs, vs = 1, 2
	case image.YCbCrSubsampleRatio411:
		hs, vs = 4, 1
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	default:
		hs, vs = 1, 1
	}
	// Real (not MCU-padded) downsampled plane size, as libjpeg's
	// downsampled_width/height.
	cw, ch := (w+hs-1)/hs, (h+vs-1)/vs
	cb := chromaPlane(m, m.Cb, cw, ch, hs, vs)
	cr := chromaPlane(m, m.Cr, cw, ch, hs, vs)
	cbUp := upsample(cb, cw, ch, w, h, hs, vs)
	crUp := upsample(cr, cw, ch, w, h, hs, vs)
	t := newYCCTables()
	o := out.Pix
	for y := 0; y < h; y++ {
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:w]
		for x := 0; x < w; x++ {
			yy := int32(yrow[x])
			cbv, crv := cbUp[y*w+x], crUp[y*w+x]
			o[0] = clampU8(yy + t.crR[crv])
			o[1] = clampU8(yy + (t.cbG[cbv]+t.crG[crv])>>yccScaleBits)
			o[2] = clampU8(yy + t.cbB[cbv])
			o = o[3:]
		}
	}
}

// chromaPlane copies the cw×ch real samples of a chroma plane.
func chromaPlane(m *image.YCbCr, src []uint8, cw, ch, hs, vs int) []uint8 {
	b := m.Bounds()
	p := make([]uint8, cw*ch)
	for y := 0; y < ch; y++ {
		off := m.COffset(b.Min.X, b.Min.Y+y*vs)
		copy(p[y*cw:(y+1)*cw], src[off:off+cw])
	}
	return p
}

// upsample expands a cw×ch chroma plane to w×h the way libjpeg-turbo's
// jdsample.c does with do_fancy_upsampling (its default).
func upsample(p []uint8, cw, ch, w, h, hs, vs int) []uint8 {
	if hs == 1 && vs == 1 {
		return p
	}
	fancyH := hs == 2 && cw > 2
	switch {
	case hs == 2 && vs == 1 && fancyH:
		out := make([]uint8, 2*cw*ch)
		for y := 0; y < ch; y++ {
			h2v1Fancy(out[y*2*cw:(y+1)*2*cw], p[y*cw:(y+1)*cw])
		}
		return crop(out, 2*cw, w, h)
	case hs == 1 && vs == 2:
		out := make([]uint8, cw*2*ch)
		for y := 0; y < ch; y++ {
			above, below := p[max(y-1, 0)*cw:][:cw], p[min(y+1, ch-1)*cw:][:cw]
			cur := p[y*cw:][:cw]
			for x := 0; x < cw; x++ {
				out[2*y*cw+x] = uint8((3*int(cur[x]) + int(above[x]) + 1) >> 2)
				out[(2*y+1)*cw+x] = uint8((3*int(cur[x]) + int(below[x]) + 2) >> 2)
			}
		}
		return crop(out, cw, w, h)
	case hs == 2 && vs == 2 && fancyH:
		out := make([]uint8, 2*cw*2*ch)
		for y := 0; y < ch; y++ {
			cur := p[y*cw:][:cw]
			h2v2Fancy(out[2*y*2*cw:][:2*cw], cur, p[max(y-1, 0)*cw:][:cw])
			h2v2Fancy(out[(2*y+1)*2*cw:][:2*cw], cur, p[min(y+1, ch-1)*cw:][:cw])
		}
		return crop(out, 2*cw, w, h)
	}
	// Replication (libjpeg's h2v1/h2v2/int_upsample).
	out := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		row := p[(y/vs)*cw:][:cw]
		for x := 0; x < w; x++ {
			out[y*w+x] = row[x/hs]
		}
	}
	return out
}

// crop keeps the top-left w×h of a plane with row length stride.
func crop(p []uint8, stride, w, h int) []uint8 {
	if stride == w && len(p) == w*h {
		return p
	}
	out := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		copy(out[y*w:(y+1)*w], p[y*stride:y*stride+w])
	}
	return out
}

// h2v1Fancy is jdsample.c h2v1_fancy_upsample for one row (len(in) > 2).
func h2v1Fancy(out, in []uint8) {
	n := len(in)
	out[0] = in[0]
	out[1] = uint8((3*int(in[0]) + int(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := 3 * int(in[i])
		out[2*i] = uint8((v + int(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int(in[i+1]) + 2) >> 2)
	}
	out[2*n-2] = uint8((3*int(in[n-1]) + int(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// h2v2Fancy is one output row of jdsample.c h2v2_fancy_upsample: cur is the
// nearer input row, other the row above (for the upper output row) or below.
func h2v2Fancy(out, cur, other []uint8) {
	n := len(cur)
	col := func(i int) int { return 3*int(cur[i]) + int(other[i]) }
	this, next := col(0), col(1)
	out[0] = uint8((this*4 + 8) >> 4)
	out[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	for i := 1; i < n-1; i++ {
		next = col(i + 1)
		out[2*i] = uint8((this*3 + last + 8) >> 4)
		out[2*i+1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	out[2*n-2] = uint8((this*3 + last + 8) >> 4)
	out[2*n-1] = uint8((this*4 + 7) >> 4)
}
