package imageproc

import "image"

// libwebp's VP8 Y'CbCr (BT.601 limited range) → RGB, src/dsp/yuv.h:
// 14-bit fixed point with a 6-bit final descale.
const (
	webpFix2 = 6
	webpMask = 256<<webpFix2 - 1
)

func webpMultHi(v, coeff int) int { return v * coeff >> 8 }

func webpClip8(v int) uint8 {
	if v&^webpMask == 0 {
		return uint8(v >> webpFix2)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func webpYUVToRGB(dst []uint8, y, u, v int) {
	dst[0] = webpClip8(webpMultHi(y, 19077) + webpMultHi(v, 26149) - 14234)
	dst[1] = webpClip8(webpMultHi(y, 19077) - webpMultHi(u, 6419) - webpMultHi(v, 13320) + 8708)
	dst[2] = webpClip8(webpMultHi(y, 19077) + webpMultHi(u, 33050) - 17685)
}

// webpUpsamplePair is libwebp's UpsampleRgbLinePair (src/dsp/upsampling.c):
// "fancy" 9-3-3-1 chroma interpolation for one or two output rows of width n.
// topU/topV are the chroma row nearer to topY, curU/curV the one nearer to
// bottomY (nil for a single row). Outputs are packed RGB.
func webpUpsamplePair(topY, bottomY, topU, topV, curU, curV, topDst, bottomDst []uint8, n int) {
	load := func(u, v uint8) uint32 { return uint32(u) | uint32(v)<<16 }
	put := func(dst []uint8, x int, y uint8, uv uint32) {
		webpYUVToRGB(dst[3*x:], int(y), int(uv&0xff), int(uv>>16))
	}
	last := (n - 1) >> 1
	tl, l := load(topU[0], topV[0]), load(curU[0], curV[0])
	put(topDst, 0, topY[0], (3*tl+l+0x00020002)>>2)
	if bottomY != nil {
		put(bottomDst, 0, bottomY[0], (3*l+tl+0x00020002)>>2)
	}
	for x := 1; x <= last; x++ {
		t, uv := load(topU[x], topV[x]), load(curU[x], curV[x])
		avg := tl + t + l + uv + 0x00080008
		diag12 := (avg + 2*(t+l)) >> 3
		diag03 := (avg + 2*(tl+uv)) >> 3
		put(topDst, 2*x-1, topY[2*x-1], (diag12+tl)>>1)
		put(topDst, 2*x, topY[2*x], (diag03+t)>>1)
		if bottomY != nil {
			put(bottomDst, 2*x-1, bottomY[2*x-1], (diag03+l)>>1)
			put(bottomDst, 2*x, bottomY[2*x], (diag12+uv)>>1)
		}
		tl, l = t, uv
	}
	if n&1 == 0 {
		put(topDst, n-1, topY[n-1], (3*tl+l+0x00020002)>>2)
		if bottomY != nil {
			put(bottomDst, n-1, bottomY[n-1], (3*l+tl+0x00020002)>>2)
		}
	}
}

// webpToRGB converts a lossy WebP's 4:2:0 planes the way libwebp's default
// RGB(A) output does (io_dec.c EmitFancyRGB): the first row pairs chroma row
// 0 with itself, rows 2k-1 and 2k interpolate chroma rows k-1 and k, and the
// last row of an even-height image uses the last chroma row alone. Returns
// nil for other subsampling ratios.
func webpToRGB(m *image.YCbCr) *RGB {
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return nil
	}
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	yrow := func(y int) []uint8 { return m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:w] }
	cw := (w + 1) / 2
	crow := func(p []uint8, cy int) []uint8 { return p[m.COffset(b.Min.X, b.Min.Y+2*cy):][:cw] }
	orow := func(y int) []uint8 { return out.Pix[3*w*y : 3*w*(y+1)] }
	u0, v0 := crow(m.Cb, 0), crow(m.Cr, 0)
	webpUpsamplePair(yrow(0), nil, u0, v0, u0, v0, orow(0), nil, w)
	y := 1
	for ; y+1 < h; y += 2 {
		k := (y + 1) / 2
		webpUpsamplePair(yrow(y), yrow(y+1), crow(m.Cb, k-1), crow(m.Cr, k-1), crow(m.Cb, k), crow(m.Cr, k), orow(y), orow(y+1), w)
	}
	if y < h { // even height: the last row
		k := (h - 1) / 2
		u, v := crow(m.Cb, k), crow(m.Cr, k)
		webpUpsamplePair(yrow(y), nil, u, v, u, v, orow(y), nil, w)
	}
	return out
}
