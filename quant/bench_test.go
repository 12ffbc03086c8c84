package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/medbench/medbench/runners/onnxpb"
)

// BenchmarkMatMul times x[M, 1536]·W[1536, 8960] (Qwen2-VL-2B's MLP
// up-projection, the largest decoder matmul) in ONNX Runtime on 2 threads:
// float32 MatMul against MatMulNBits 4 and 8 bits (accuracy level 0 = fp32
// compute, 4 = int8 compute) and the dynamic int8 pattern. M = 1 is a
// decode step, M = 256 a prefill. docs/quantization.md has the results.
func BenchmarkMatMul(b *testing.B) {
	const k, n = 1536, 8960
	r := rand.New(rand.NewPCG(1, 2))
	src := randFloats(r, k*n, 0.03)
	variants := []struct {
		name  string
		model func() []byte
	}{
		{"fp32", func() []byte {
			bb := onnxpb.NewBuilder("fp32")
			x := bb.Input("x", onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(k))
			w := bb.Initializer(onnxpb.FloatTensor("w", onnxpb.Float, src, k, n))
			y := bb.Op("MatMul", []string{x, w})
			bb.Output(y, onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(n))
			return model(b, bb)
		}},
		{"q4_acc0", nbits(b, src, k, n, 4, 0)},
		{"q4_acc4", nbits(b, src, k, n, 4, 4)},
		{"q8nbits_acc0", nbits(b, src, k, n, 8, 0)},
		{"q8nbits_acc4", nbits(b, src, k, n, 8, 4)},
		{"q8dynamic", func() []byte {
			w, err := QuantizeInt8(k, n, src)
			if err != nil {
				b.Fatal(err)
			}
			return dynamicModel(b, w)
		}},
	}
	for _, v := range variants {
		raw := v.model()
		s := newRunner(b, raw, k, n, 2)
		for _, m := range []int{1, 256} {
			x := randFloats(r, m*k, 1)
			b.Run(fmt.Sprintf("%s/M=%d", v.name, m), func(b *testing.B) {
				for b.Loop() {
					s.run(b, x, m)
				}
			})
		}
	}
}

func nbits(b *testing.B, src []float32, k, n, bits, acc int) func() []byte {
	return func() []byte {
		w, err := Quantize(Layout{K: k, N: n, Bits: bits, BlockSize: 32}, src)
		if err != nil {
			b.Fatal(err)
		}
		return nbitsModel(b, w, acc)
	}
}
