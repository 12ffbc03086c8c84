package onnxpb

import (
	"math"
	"testing"
)

func TestFloat16Cases(t *testing.T) {
	for _, tc := range []struct {
		f float32
		h uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, // rounds to Inf
		{float32(math.Inf(1)), 0x7c00}, {5.960464477539063e-08, 0x0001}, // smallest subnormal
		{6.103515625e-05, 0x0400}, {0.333251953125, 0x3555}, {1.0009765625, 0x3c01},
		{1.00048828125, 0x3c00},     // tie → even
		{1.00146484375, 0x3c02},     // tie → even (up)
		{2.9802322387695312e-08, 0}, // half the smallest subnormal: tie → 0
	} {
		if got := Float16Bits(tc.f); got != tc.h {
			t.Errorf("Float16Bits(%g) = %#04x, want %#04x", tc.f, got, tc.h)
		}
	}
	// every finite half round-trips exactly
	for h := 0; h < 0x10000; h++ {
		if h&0x7c00 == 0x7c00 {
			continue
		}
		f := Float16ToFloat32(uint16(h))
		if back := Float16Bits(f); back != uint16(h) && !(f == 0 && back&0x7fff == 0) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
	if !math.IsNaN(float64(Float16ToFloat32(Float16Bits(float32(math.NaN()))))) {
		t.Error("NaN lost")
	}
}
