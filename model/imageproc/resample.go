package imageproc

import "math"

// precisionBits is Pillow's fixed-point precision for 8-bit resampling
// (PRECISION_BITS = 32 - 8 - 2 in Resample.c).
const precisionBits = 32 - 8 - 2

// bicubicSupport is the support of Pillow's BICUBIC filter at scale 1.
const bicubicSupport = 2.0

// bicubicFilter is Pillow's bicubic kernel with a = -0.5 (Keys / Catmull-Rom).
func bicubicFilter(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// coeffs are the fixed-point resampling weights of one axis: output index i
// reads input samples bounds[2i] .. bounds[2i]+bounds[2i+1]-1 with the weights
// k[i*ksize:].
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// precomputeCoeffs ports Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc for the full-image box [0, inSize).
func precomputeCoeffs(inSize, outSize int) coeffs {
	// Pillow computes (double)(in1 - in0) with float in0, in1; exact for
	// image sizes.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		xmin := int(center - support + 0.5) // C truncation toward zero
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := bicubicFilter((float64(x+xmin) - center + 0.5) * ss)
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			// normalize_coeffs_8bpc: round half away from zero, C int cast.
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.bounds[2*xx] = xmin
		c.bounds[2*xx+1] = xmax
	}
	return c
}

// clip8 is Pillow's clip8: the fixed-point accumulator to a byte.
func clip8(in int32) uint8 {
	if in >= 1<<precisionBits<<8 {
		return 255
	}
	if in <= 0 {
		return 0
	}
	return uint8(in >> precisionBits)
}

// ResizeBicubic resizes src to w×h exactly as Pillow's
// Image.resize((w, h), Image.BICUBIC) does for an RGB image: Resample.c's
// two-pass 8-bit fixed-point convolution, horizontal first into an 8-bit
// temporary holding only the rows the vertical pass reads, then vertical.
// A pass is skipped when its dimension is unchanged; same-size input is
// copied. A non-positive target size gives an empty image, an empty source
// a black one.
func ResizeBicubic(src *RGB, w, h int) *RGB {
	if w <= 0 || h <= 0 {
		return &RGB{W: max(w, 0), H: max(h, 0)}
	}
	if src.W <= 0 || src.H <= 0 || len(src.Pix) < 3*src.W*src.H {
		return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	}
	if w == src.W && h == src.H {
		return &RGB{W: w, H: h, Pix: append([]uint8(nil), src.Pix...)}
	}
	cur := src
	var vert coeffs
	needV := h != src.H
	if needV {
		vert = precomputeCoeffs(src.H, h)
	}
	if w != src.W {
		horiz := precomputeCoeffs(src.W, w)
		first, last := 0, src.H
		if needV {
			first = vert.bounds[0]
			last = vert.bounds[2*h-2] + vert.bounds[2*h-1]
			for i := 0; i < h; i++ {
				vert.bounds[2*i] -= first
			}
		}
		cur = resampleHorizontal(src, w, first, last-first, horiz)
	}
	if needV {
		cur = resampleVertical(cur, h, vert)
	}
	return cur
}

// resampleHorizontal ports ImagingResampleHorizontal_8bpc: rows
// [offset, offset+rows) of src, resampled to width w.
func resampleHorizontal(src *RGB, w, offset, rows int, c coeffs) *RGB {
	out := &RGB{W: w, H: rows, Pix: make([]uint8, 3*w*rows)}
	for yy := 0; yy < rows; yy++ {
		in := src.Pix[3*src.W*(yy+offset) : 3*src.W*(yy+offset+1)]
		o := out.Pix[3*w*yy : 3*w*(yy+1)]
		for xx := 0; xx < w; xx++ {
			xmin, xmax := c.bounds[2*xx], c.bounds[2*xx+1]
			k := c.k[xx*c.ksize : xx*c.ksize+xmax]
			p := in[3*xmin : 3*(xmin+xmax)]
			ss0, ss1, ss2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			for x, kv := range k {
				ss0 += int32(p[3*x]) * kv
				ss1 += int32(p[3*x+1]) * kv
				ss2 += int32(p[3*x+2]) * kv
			}
			o[3*xx], o[3*xx+1], o[3*xx+2] = clip8(ss0), clip8(ss1), clip8(ss2)
		}
	}
	return out
}

// resampleVertical ports ImagingResampleVertical_8bpc. It accumulates whole
// rows (same integer sums as Pillow's per-pixel loop, in a cache-friendly
// order).
func resampleVertical(src *RGB, h int, c coeffs) *RGB {
	stride := 3 * src.W
	out := &RGB{W: src.W, H: h, Pix: make([]uint8, stride*h)}
	acc := make([]int32, stride)
	for yy := 0; yy < h; yy++ {
		ymin, ymax := c.bounds[2*yy], c.bounds[2*yy+1]
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		for y, kv := range c.k[yy*c.ksize : yy*c.ksize+ymax] {
			row := src.Pix[(ymin+y)*stride : (ymin+y+1)*stride]
			for i, v := range row {
				acc[i] += int32(v) * kv
			}
		}
		o := out.Pix[stride*yy : stride*(yy+1)]
		for i, v := range acc {
			o[i] = clip8(v)
		}
	}
	return out
}
