package quant

import (
	"fmt"
	"math"

	"github.com/medbench/medbench/model/onnxpb"
)

// Int8Weight is a [K, N] weight quantized symmetrically to int8 with one
// scale per column (zero point 0), as ONNX Runtime's quantize_dynamic does
// for weights with per_channel: scale = max|column| / 127,
// q = clamp(round-half-even(v / scale), −127, 127).
type Int8Weight struct {
	K, N   int
	Data   []int8    // row-major [K, N]
	Scales []float32 // [N]
}

// QuantizeInt8 quantizes src, a row-major [K, N] float32 matrix.
func QuantizeInt8(k, n int, src []float32) (*Int8Weight, error) {
	if k <= 0 || n <= 0 || len(src) != k*n {
		return nil, fmt.Errorf("quant: int8 weight [%d, %d]: got %d values", k, n, len(src))
	}
	w := &Int8Weight{K: k, N: n, Data: make([]int8, k*n), Scales: make([]float32, n)}
	for c := 0; c < n; c++ {
		var m float32
		for r := 0; r < k; r++ {
			m = max(m, float32(math.Abs(float64(src[r*n+c]))))
		}
		s := m / 127
		w.Scales[c] = s
		if s == 0 {
			continue
		}
		for r := 0; r < k; r++ {
			q := math.RoundToEven(float64(src[r*n+c] / s))
			w.Data[r*n+c] = int8(min(max(q, -127), 127))
		}
	}
	return w, nil
}

// Dequantize returns the row-major [K, N] matrix q · scale.
func (w *Int8Weight) Dequantize() []float32 {
	out := make([]float32, w.K*w.N)
	for i, q := range w.Data {
		out[i] = float32(q) * w.Scales[i%w.N]
	}
	return out
}

// Int8TensorNames are the initializer names of an int8 weight called name.
func Int8TensorNames(name string) (data, scales, zeroPoints string) {
	return name + "_quantized", name + "_scale", name + "_zero_point"
}

// Tensors returns the weight's initializers (inline): int8 data [K, N],
// float32 scales [N] and int8 zero points [N] (all 0).
func (w *Int8Weight) Tensors(name string) []onnxpb.Tensor {
	dn, sn, zn := Int8TensorNames(name)
	raw := make([]byte, len(w.Data))
	for i, q := range w.Data {
		raw[i] = byte(q)
	}
	return []onnxpb.Tensor{
		{Name: dn, Type: onnxpb.Int8, Dims: []int64{int64(w.K), int64(w.N)}, Raw: raw},
		{Name: sn, Type: onnxpb.Float, Dims: []int64{int64(w.N)}, Raw: onnxpb.Float32Bytes(w.Scales)},
		{Name: zn, Type: onnxpb.Int8, Dims: []int64{int64(w.N)}, Raw: make([]byte, w.N)},
	}
}

// DynamicMatMul adds y = x·W for a float32 x in the pattern quantize_dynamic
// writes (x quantized to uint8 per call):
//
//	xq, xs, xzp = DynamicQuantizeLinear(x)
//	y = Cast<float>(MatMulInteger(xq, Wq, xzp, Wzp)) · (xs · Ws)
//
// which ONNX Runtime's graph optimizer fuses into DynamicQuantizeMatMul.
func DynamicMatMul(b *onnxpb.Builder, x, data, scales, zeroPoints string) string {
	q := b.OpN("DynamicQuantizeLinear", []string{x}, 3)
	mm := b.Op("MatMulInteger", []string{q[0], data, q[2], zeroPoints})
	f := b.Op("Cast", []string{mm}, onnxpb.Int("to", int64(onnxpb.Float)))
	return b.Op("Mul", []string{f, b.Op("Mul", []string{q[1], scales})})
}
