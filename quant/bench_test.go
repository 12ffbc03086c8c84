package quant

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/medbench/medbench/model/onnxpb"
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

// BenchmarkMatMulInterleaved times the same variants as BenchmarkMatMul
// (less MatMulNBits 8-bit at accuracy level 0, two orders of magnitude
// slower) in rounds: each iteration runs every variant once at M = 1 and at
// M = 256, in turn, so that the load of a shared machine touches all alike.
// It reports each variant's median milliseconds per call as a metric
// (<variant>/M=<m>-ms). Run with -benchtime=Nx for N rounds.
//
// lm_head is the LM head's shape with a quarter of Qwen2-VL's 151936-token
// vocabulary (the same kernels; a quarter keeps the float32 copy at 233 MB),
// float32 as the fixture writes it, Gemm with transB=1 over [V, D].
func BenchmarkMatMulInterleaved(b *testing.B) {
	b.Run("up_proj", func(b *testing.B) { interleaved(b, 1536, 8960, false) })
	b.Run("lm_head", func(b *testing.B) { interleaved(b, 1536, 151936/4, true) })
}

func interleaved(b *testing.B, k, n int, lmHead bool) {
	r := rand.New(rand.NewPCG(1, 2))
	src := randFloats(r, k*n, 0.03) // [K, N]; for lm_head read as [N, K]
	type variant struct {
		name string
		s    *runner
	}
	var vs []variant
	add := func(name string, raw []byte) { vs = append(vs, variant{name, newRunner(b, raw, k, n, 2)}) }
	{
		bb := onnxpb.NewBuilder("fp32")
		x := bb.Input("x", onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(int64(k)))
		var y string
		if lmHead {
			w := bb.Initializer(onnxpb.FloatTensor("w", onnxpb.Float, src, int64(n), int64(k)))
			y = bb.Op("Gemm", []string{x, w}, onnxpb.Int("transB", 1))
		} else {
			w := bb.Initializer(onnxpb.FloatTensor("w", onnxpb.Float, src, int64(k), int64(n)))
			y = bb.Op("MatMul", []string{x, w})
		}
		bb.Output(y, onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(int64(n)))
		add("fp32", model(b, bb))
	}
	q := func(bits, acc int) []byte {
		l := Layout{K: k, N: n, Bits: bits, BlockSize: 32}
		quantizeFn := Quantize
		if lmHead {
			quantizeFn = QuantizeTransposed
		}
		w, err := quantizeFn(l, src)
		if err != nil {
			b.Fatal(err)
		}
		return nbitsModel(b, w, acc)
	}
	if !lmHead {
		add("q4_acc0", q(4, 0))
	}
	add("q4_acc4", q(4, 4))
	add("q8nbits_acc4", q(8, 4))
	if !lmHead {
		w8, err := QuantizeInt8(k, n, src)
		if err != nil {
			b.Fatal(err)
		}
		add("q8dynamic", dynamicModel(b, w8))
	}
	ms := []int{1, 256}
	if lmHead {
		ms = []int{1} // the runner keeps only the last position's logits
	}
	xs := map[int][]float32{}
	for _, m := range ms {
		xs[m] = randFloats(r, m*k, 1)
	}
	times := map[string][]float64{}
	for _, v := range vs { // warm-up: first calls allocate and pack
		for _, m := range ms {
			v.s.run(b, xs[m], m)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, m := range ms {
			for _, v := range vs {
				reps := 1
				if m == 1 {
					reps = 20 // M = 1 calls take about a millisecond: time 20
				}
				t0 := time.Now()
				for range reps {
					v.s.run(b, xs[m], m)
				}
				key := fmt.Sprintf("%s/M=%d-ms", v.name, m)
				times[key] = append(times[key], float64(time.Since(t0).Microseconds())/1000/float64(reps))
			}
		}
	}
	keys := make([]string, 0, len(times))
	for key := range times {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		ts := times[key]
		sort.Float64s(ts)
		b.ReportMetric(ts[len(ts)/2], key)
		b.Logf("%-22s median %8.3f ms [min %.3f, max %.3f] over %d rounds", key, ts[len(ts)/2], ts[0], ts[len(ts)-1], len(ts))
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
