package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/ort/ortlib"
)

func initORT(t testing.TB) {
	t.Helper()
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime unavailable: %v", err)
	}
}

func randFloats(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (r.Float32()*2 - 1) * scale
	}
	return v
}

// matmul is the float64-accumulated reference x[M,K]·w[K,N].
func matmul(x, w []float32, m, k, n int) []float32 {
	y := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += float64(x[i*k+l]) * float64(w[l*n+j])
			}
			y[i*n+j] = float32(s)
		}
	}
	return y
}

// model wraps a one-graph builder into a model that imports com.microsoft.
func model(t testing.TB, b *onnxpb.Builder) []byte {
	t.Helper()
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.Model{IRVersion: 8, Opset: 17, Domains: []onnxpb.OpsetID{{Domain: onnxpb.MicrosoftDomain, Version: 1}}, Graph: g}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// nbitsModel is y = x·B with B quantized as w, x float32 [M, K].
func nbitsModel(t testing.TB, w *Weight, accuracyLevel int) []byte {
	b := onnxpb.NewBuilder("nbits")
	x := b.Input("x", onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(int64(w.K)))
	for _, tt := range w.Tensors("w") {
		b.Initializer(tt)
	}
	dn, sn, zn := TensorNames("w", w.Bits)
	y := MatMulNBits(b, x, w.Layout, dn, sn, zn, accuracyLevel)
	b.Output(y, onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(int64(w.N)))
	return model(t, b)
}

// dynamicModel is y = x·W with W an int8 weight, x dynamically quantized.
func dynamicModel(t testing.TB, w *Int8Weight) []byte {
	b := onnxpb.NewBuilder("dynamic")
	x := b.Input("x", onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(int64(w.K)))
	for _, tt := range w.Tensors("w") {
		b.Initializer(tt)
	}
	dn, sn, zn := Int8TensorNames("w")
	y := DynamicMatMul(b, x, dn, sn, zn)
	b.Output(y, onnxpb.Float, onnxpb.Sym("M"), onnxpb.D(int64(w.N)))
	return model(t, b)
}

// runner is an ORT session of a one-input, one-output float model.
type runner struct {
	s    *ort.DynamicAdvancedSession
	k, n int
}

func newRunner(t testing.TB, raw []byte, k, n, threads int) *runner {
	t.Helper()
	initORT(t)
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(raw, []string{"x"}, []string{outName(raw)}, opts)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	t.Cleanup(func() { s.Destroy() })
	return &runner{s: s, k: k, n: n}
}

// outName finds the graph output's name (the builder generates it).
func outName(raw []byte) string {
	info, err := onnxpb.DecodeModelInfo(raw)
	if err != nil || len(info.Outputs) != 1 {
		panic(fmt.Sprintf("outName: %v", err))
	}
	return info.Outputs[0].Name
}

func (r *runner) run(t testing.TB, x []float32, m int) []float32 {
	t.Helper()
	in, err := ort.NewTensor(ort.NewShape(int64(m), int64(r.k)), x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(m), int64(r.n)))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	if err := r.s.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		t.Fatalf("run: %v", err)
	}
	return append([]float32(nil), out.GetData()...)
}

// maxRel is max |a−b| / max |b|.
func maxRel(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d / m
}

// TestMatMulNBitsInORT runs one MatMulNBits node in ONNX Runtime and checks
// it against Go's dequantize-then-matmul (tight: the only difference is
// float32 summation order) and against the float32 matmul (loose: the
// quantization error, bounded per element by scale/2 per weight).
func TestMatMulNBitsInORT(t *testing.T) {
	cases := []struct {
		k, n, bits, block int
	}{
		{64, 48, 4, 32},
		{100, 37, 4, 32}, // K not a multiple of the block, N odd, odd block count
		{72, 33, 4, 16},  // 5 blocks: the unused zero-point nibble
		{64, 48, 8, 32},
		{100, 37, 8, 32},
		{200, 9, 4, 128},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("K%d_N%d_b%d_blk%d", c.k, c.n, c.bits, c.block), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(c.k), uint64(c.n)))
			src := randFloats(r, c.k*c.n, 0.5)
			// A column of zeros and a column of one sign exercise scale 0
			// and zero points at the ends of the range.
			for k := 0; k < c.k; k++ {
				src[k*c.n] = 0
				src[k*c.n+1] = float32(math.Abs(float64(src[k*c.n+1])))
			}
			w, err := Quantize(Layout{K: c.k, N: c.n, Bits: c.bits, BlockSize: c.block}, src)
			if err != nil {
				t.Fatal(err)
			}
			const m = 5
			x := randFloats(r, m*c.k, 1)
			got := newRunner(t, nbitsModel(t, w, 0), c.k, c.n, 1).run(t, x, m)
			deq := matmul(x, w.Dequantize(), m, c.k, c.n)
			if d := maxRel(got, deq); d > 2e-6 {
				t.Errorf("ORT vs dequantized reference: max rel diff %.3g > 2e-6", d)
			}
			// Each weight is off by at most half its block's scale, so
			// |y − x·W| ≤ Σ_k |x_k|·scale_k/2 (plus float32 rounding).
			exact := matmul(x, src, m, c.k, c.n)
			blocks := w.Blocks()
			for i := 0; i < m; i++ {
				for j := 0; j < c.n; j++ {
					var bound float64
					for l := 0; l < c.k; l++ {
						bound += math.Abs(float64(x[i*c.k+l])) * float64(w.Scales[j*blocks+l/c.block]) / 2
					}
					if d := math.Abs(float64(got[i*c.n+j] - exact[i*c.n+j])); d > bound*1.001+1e-5 {
						t.Errorf("y[%d,%d]: |ORT − fp32| = %.3g > bound %.3g", i, j, d, bound)
					}
				}
			}
			if d := maxRel(got, exact); d == 0 {
				t.Errorf("ORT equals the fp32 matmul: nothing was quantized")
			}
			for i := 0; i < m; i++ {
				if got[i*c.n] != 0 {
					t.Errorf("row %d: zero column gives %g", i, got[i*c.n])
				}
			}
		})
	}
}

// TestDynamicMatMulInORT runs the DynamicQuantizeLinear → MatMulInteger
// pattern in ONNX Runtime against the float32 matmul.
func TestDynamicMatMulInORT(t *testing.T) {
	for _, kn := range [][2]int{{64, 48}, {100, 37}} {
		t.Run(fmt.Sprintf("K%d_N%d", kn[0], kn[1]), func(t *testing.T) {
			k, n := kn[0], kn[1]
			r := rand.New(rand.NewPCG(3, uint64(k)))
			src := randFloats(r, k*n, 0.5)
			w, err := QuantizeInt8(k, n, src)
			if err != nil {
				t.Fatal(err)
			}
			const m = 4
			x := randFloats(r, m*k, 1)
			got := newRunner(t, dynamicModel(t, w), k, n, 1).run(t, x, m)
			exact := matmul(x, src, m, k, n)
			// uint8 activations (range/255 steps) and int8 weights.
			if d := maxRel(got, exact); d > 0.03 {
				t.Errorf("ORT vs fp32 matmul: max rel diff %.3g > 0.03", d)
			}
			if d := maxRel(got, exact); d == 0 {
				t.Errorf("no quantization error at all: the weights were not quantized")
			}
		})
	}
}

// TestBatchInvariance is why q8 is MatMulNBits and not dynamic
// quantization: at accuracy level 4 MatMulNBits quantizes each row of A by
// blocks on its own, so a row's output does not depend on the other rows
// of the call (the other requests of a batch, padding); DynamicQuantizeLinear
// takes one scale for the whole A, so adding a row with larger values
// changes the first row's result.
func TestBatchInvariance(t *testing.T) {
	const k, n = 96, 40
	r := rand.New(rand.NewPCG(7, 8))
	src := randFloats(r, k*n, 0.5)
	row := randFloats(r, k, 1)
	big := randFloats(r, k, 20) // a batch-mate with a 20× wider range
	pair := append(append([]float32{}, row...), big...)

	w8, err := Quantize(Layout{K: k, N: n, Bits: 8, BlockSize: 32}, src)
	if err != nil {
		t.Fatal(err)
	}
	nb := newRunner(t, nbitsModel(t, w8, 4), k, n, 1)
	alone, batched := nb.run(t, row, 1), nb.run(t, pair, 2)[:n]
	if d := maxRel(batched, alone); d != 0 {
		t.Errorf("MatMulNBits accuracy level 4: row 0 changes by %.3g when batched", d)
	}

	wi, err := QuantizeInt8(k, n, src)
	if err != nil {
		t.Fatal(err)
	}
	dy := newRunner(t, dynamicModel(t, wi), k, n, 1)
	alone, batched = dy.run(t, row, 1), dy.run(t, pair, 2)[:n]
	if d := maxRel(batched, alone); d < 1e-3 {
		t.Errorf("dynamic quantization: row 0 changes by only %.3g when batched with a wider row; the per-call activation scale should show", d)
	} else {
		t.Logf("dynamic quantization: row 0 changes by %.3g (relative) when batched", d)
	}
}
