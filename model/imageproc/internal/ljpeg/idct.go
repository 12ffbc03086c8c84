package ljpeg

// This file replaces image/jpeg's dct.go: a port of libjpeg-turbo's
// jidctint.c (jpeg_idct_islow, 8-bit samples), the IDCT libjpeg-turbo, and so
// Pillow, uses by default. The input is already dequantised.

const blockSize = 8 * 8 // the number of coefficients in an 8×8 block

// block holds one 8×8 block of dequantised coefficients in natural order.
type block [blockSize]int32

const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// descale is libjpeg's DESCALE: a rounding arithmetic right shift.
func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit is libjpeg's post-IDCT range_limit[x & RANGE_MASK] table
// (jdmaster.c prepare_range_limit_table) minus the +128 level shift, which
// the caller adds back: wrapped values land on 0 or 255 the way libjpeg's do.
func rangeLimit(x int64) int32 {
	v := x & 1023
	switch {
	case v < 128:
		return int32(v)
	case v < 512:
		return 127
	case v < 896:
		return -128
	default:
		return int32(v - 1024)
	}
}

// idct performs jpeg_idct_islow on b in place. Outputs are in [-128, 127]
// (sample - 128).
func idct(b *block) {
	var ws [blockSize]int32
	// Pass 1: columns from input, results scaled up by 2^pass1Bits into ws.
	for c := 0; c < 8; c++ {
		in := func(k int) int64 { return int64(b[k*8+c]) }
		if b[8+c] == 0 && b[16+c] == 0 && b[24+c] == 0 && b[32+c] == 0 &&
			b[40+c] == 0 && b[48+c] == 0 && b[56+c] == 0 {
			dc := int32(in(0) << pass1Bits)
			for k := 0; k < 8; k++ {
				ws[k*8+c] = dc
			}
			continue
		}
		z2, z3 := in(2), in(6)
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2, z3 = in(0), in(4)
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		t0, t1, t2, t3 := odd(in(7), in(5), in(3), in(1))
		const n = constBits - pass1Bits
		ws[0*8+c] = int32(descale(tmp10+t3, n))
		ws[1*8+c] = int32(descale(tmp11+t2, n))
		ws[2*8+c] = int32(descale(tmp12+t1, n))
		ws[3*8+c] = int32(descale(tmp13+t0, n))
		ws[4*8+c] = int32(descale(tmp13-t0, n))
		ws[5*8+c] = int32(descale(tmp12-t1, n))
		ws[6*8+c] = int32(descale(tmp11-t2, n))
		ws[7*8+c] = int32(descale(tmp10-t3, n))
	}
	// Pass 2: rows from ws, descaled by 2^(pass1Bits+3) and range-limited.
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8]
		out := b[r*8 : r*8+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			dc := rangeLimit(descale(int64(w[0]), pass1Bits+3))
			for k := range out {
				out[k] = dc
			}
			continue
		}
		z2, z3 := int64(w[2]), int64(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp0 := (int64(w[0]) + int64(w[4])) << constBits
		tmp3 := z1 + z2*fix0_765366865
		tmp1 := (int64(w[0]) - int64(w[4])) << constBits
		tmp2 := z1 + z3*-fix1_847759065
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		t0, t1, t2, t3 := odd(int64(w[7]), int64(w[5]), int64(w[3]), int64(w[1]))
		const n = constBits + pass1Bits + 3
		out[0] = rangeLimit(descale(tmp10+t3, n))
		out[1] = rangeLimit(descale(tmp11+t2, n))
		out[2] = rangeLimit(descale(tmp12+t1, n))
		out[3] = rangeLimit(descale(tmp13+t0, n))
		out[4] = rangeLimit(descale(tmp13-t0, n))
		out[5] = rangeLimit(descale(tmp12-t1, n))
		out[6] = rangeLimit(descale(tmp11-t2, n))
		out[7] = rangeLimit(descale(tmp10-t3, n))
	}
}

// odd is the odd part of jidctint's 1-D IDCT: inputs tmp0..tmp3 are the
// coefficients 7, 5, 3, 1 of the column or row.
func odd(tmp0, tmp1, tmp2, tmp3 int64) (o0, o1, o2, o3 int64) {
	z4 := tmp1 + tmp3
	z3 := tmp0 + tmp2
	z2 := tmp1 + tmp2
	z1 := tmp0 + tmp3
	z5 := (z3 + z4) * fix1_175875602
	tmp3 *= fix1_501321110
	tmp2 *= fix3_072711026
	tmp1 *= fix2_053119869
	tmp0 *= fix0_298631336
	z4 = z4*-fix0_390180644 + z5
	z3 = z3*-fix1_961570560 + z5
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	return tmp0 + z1 + z3, tmp1 + z2 + z4, tmp2 + z2 + z3, tmp3 + z1 + z4
}
