package quant

import (
	"bytes"
	"testing"
)

// TestQuantizePacking checks scales, zero points and nibble order on values
// whose quantization is exact by hand: K = 40 in blocks of 16 (3 blocks, the
// last padded), N = 2 (column 1 all zeros).
func TestQuantizePacking(t *testing.T) {
	const k, n = 40, 2
	src := make([]float32, k*n)
	for r := 0; r < k; r++ {
		switch {
		case r < 16:
			src[r*n] = float32(r - 5) // [-5, 10]: scale 1, zp 5, q = r
		case r < 32:
			src[r*n] = float32(-(r - 16)) // [-15, 0]: scale 1, zp 15, q = 15-(r-16)
		default:
			src[r*n] = 0.5 * float32(r-32) // [0, 3.5]: scale 3.5/15, zp 0
		}
	}
	w, err := Quantize(Layout{K: k, N: n, Bits: 4, BlockSize: 16}, src)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.DataDims(), []int64{2, 3, 8}; !equal(got, want) {
		t.Fatalf("data dims %v, want %v", got, want)
	}
	want := make([]byte, 2*3*8)
	for i := 0; i < 8; i++ {
		want[i] = byte(2*i) | byte(2*i+1)<<4           // block 0: q = r
		want[8+i] = byte(15-2*i) | byte(15-(2*i+1))<<4 // block 1
	}
	copy(want[16:], []byte{0x20, 0x64, 0xb9, 0xfd}) // block 2: q 0,2,4,6,9,11,13,15; padding 0
	// column 1 (zeros): scale 0, zp 0, q 0.
	if !bytes.Equal(w.Data, want) {
		t.Errorf("data\n got %x\nwant %x", w.Data, want)
	}
	if got := w.Scales; got[0] != 1 || got[1] != 1 || got[2] != float32(3.5)/15 || got[3] != 0 || got[4] != 0 || got[5] != 0 {
		t.Errorf("scales %v", got)
	}
	// 3 blocks → 2 bytes per column; the unused high nibble holds 8.
	if want := []byte{0xf5, 0x80, 0x00, 0x80}; !bytes.Equal(w.ZeroPoints, want) {
		t.Errorf("zero points %x, want %x", w.ZeroPoints, want)
	}
	deq := w.Dequantize()
	for r := 0; r < 32; r++ {
		if deq[r*n] != src[r*n] {
			t.Errorf("row %d: dequantized %g, want %g (exact)", r, deq[r*n], src[r*n])
		}
	}
}

func TestQuantize8BitRoundsHalfAwayFromZero(t *testing.T) {
	// One block [0, 255·s]: scale s, zp 0; v = 2.5·s must give q = 3
	// (roundf), not 2 (round half to even).
	const k = 16
	src := make([]float32, k)
	src[0] = 255
	src[1] = 2.5
	src[2] = 3.5
	w, err := Quantize(Layout{K: k, N: 1, Bits: 8, BlockSize: 16}, src)
	if err != nil {
		t.Fatal(err)
	}
	if w.Scales[0] != 1 || w.ZeroPoints[0] != 0 {
		t.Fatalf("scale %g zp %d, want 1 and 0", w.Scales[0], w.ZeroPoints[0])
	}
	if w.Data[0] != 255 || w.Data[1] != 3 || w.Data[2] != 4 {
		t.Errorf("q = %v, want 255 3 4", w.Data[:3])
	}
}

func TestQuantizeRejects(t *testing.T) {
	for _, l := range []Layout{
		{K: 32, N: 4, Bits: 3, BlockSize: 32},
		{K: 32, N: 4, Bits: 4, BlockSize: 24},
		{K: 32, N: 4, Bits: 4, BlockSize: 8},
		{K: 0, N: 4, Bits: 4, BlockSize: 32},
	} {
		if _, err := Quantize(l, make([]float32, max(l.K*l.N, 1))); err == nil {
			t.Errorf("%+v: no error", l)
		}
	}
	if _, err := Quantize(Layout{K: 32, N: 4, Bits: 4, BlockSize: 32}, make([]float32, 100)); err == nil {
		t.Error("wrong value count: no error")
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQuantizeTransposedMatchesQuantize(t *testing.T) {
	const k, n = 70, 9
	src := make([]float32, k*n)
	for i := range src {
		src[i] = float32((i*7919)%113) - 56
	}
	tr := make([]float32, k*n) // [N, K]
	for r := 0; r < k; r++ {
		for c := 0; c < n; c++ {
			tr[c*k+r] = src[r*n+c]
		}
	}
	l := Layout{K: k, N: n, Bits: 4, BlockSize: 32}
	a, err := Quantize(l, src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := QuantizeTransposed(l, tr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Data, b.Data) || !bytes.Equal(a.ZeroPoints, b.ZeroPoints) {
		t.Error("packed data or zero points differ")
	}
	for i := range a.Scales {
		if a.Scales[i] != b.Scales[i] {
			t.Fatalf("scale %d: %g vs %g", i, a.Scales[i], b.Scales[i])
		}
	}
}
