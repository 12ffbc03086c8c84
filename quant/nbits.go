// Package quant quantizes float32 MatMul weights for ONNX Runtime's CPU
// kernels: block-wise 4- or 8-bit weights for the contrib operator
// MatMulNBits (domain com.microsoft), bit for bit in the layout ONNX
// Runtime's own MatMulNBitsQuantizer writes (the layout of onnx-community's
// _q4 files), and per-column int8 weights for the dynamic-quantization
// pattern DynamicQuantizeLinear → MatMulInteger that ONNX Runtime fuses into
// DynamicQuantizeMatMul. docs/quantization.md describes both formats, the
// rounding and the packing.
package quant

import (
	"fmt"
	"math"

	"github.com/medbench/medbench/model/onnxpb"
)

// Layout is the shape of a MatMulNBits weight: B is [K, N] (x·B, B stored
// [in, out]), quantized in blocks of BlockSize consecutive elements of one
// column (along K).
type Layout struct {
	K, N      int
	Bits      int // 4 or 8
	BlockSize int // a power of two, at least 16
}

// Validate reports a layout ONNX Runtime's CPU kernel does not accept.
func (l Layout) Validate() error {
	if l.K <= 0 || l.N <= 0 {
		return fmt.Errorf("quant: weight [%d, %d]: dims must be positive", l.K, l.N)
	}
	if l.Bits != 4 && l.Bits != 8 {
		return fmt.Errorf("quant: bits %d: want 4 or 8", l.Bits)
	}
	if l.BlockSize < 16 || l.BlockSize&(l.BlockSize-1) != 0 {
		return fmt.Errorf("quant: block size %d: want a power of two ≥ 16", l.BlockSize)
	}
	return nil
}

// Blocks is the number of blocks per column, ceil(K / BlockSize); the last
// one is padded when K is not a multiple of the block size.
func (l Layout) Blocks() int { return (l.K + l.BlockSize - 1) / l.BlockSize }

// BlobSize is the bytes of one packed block.
func (l Layout) BlobSize() int { return l.BlockSize * l.Bits / 8 }

// zpStride is the bytes of packed zero points per column.
func (l Layout) zpStride() int { return (l.Blocks()*l.Bits + 7) / 8 }

func (l Layout) maxQ() int { return 1<<l.Bits - 1 }

// DataDims is the shape of input B: [N, blocks, blob_size], uint8.
func (l Layout) DataDims() []int64 {
	return []int64{int64(l.N), int64(l.Blocks()), int64(l.BlobSize())}
}

// ScaleDims is the shape of input scales: [N·blocks], the type of A.
func (l Layout) ScaleDims() []int64 { return []int64{int64(l.N * l.Blocks())} }

// ZeroPointDims is the shape of input zero_points: [N·ceil(blocks·bits/8)],
// uint8, packed like the data.
func (l Layout) ZeroPointDims() []int64 { return []int64{int64(l.N * l.zpStride())} }

// Weight is a quantized [K, N] weight in MatMulNBits layout.
type Weight struct {
	Layout
	// Data is B: column n's block b occupies bytes
	// [(n·blocks+b)·blob, (n·blocks+b+1)·blob); with 4 bits, element 2i of a
	// column sits in the low nibble of its byte i, element 2i+1 in the high.
	Data []byte
	// Scales holds column n's block b at n·blocks + b.
	Scales []float32
	// ZeroPoints packs the unsigned zero points like Data (4 bits: block 2j
	// in the low nibble of byte n·ceil(blocks/2)+j); the unused high nibble
	// of an odd block count holds 8, the kernel's default zero point.
	ZeroPoints []byte
}

// Quantize quantizes src, a row-major [K, N] float32 matrix, asymmetrically
// with one scale and zero point per block, exactly as ONNX Runtime's
// MlasQuantizeBlockwise (column-wise, with zero points) does:
//
//	lo, hi = min(0, min block), max(0, max block)
//	scale  = (hi − lo) / (2^bits − 1)              (float32)
//	zp     = clamp(roundf(−lo / scale), 0, 2^bits − 1)  (0 when scale = 0)
//	q      = clamp(roundf(v · (1/scale) + zp), 0, 2^bits − 1)
//
// roundf rounds halves away from zero. Padding elements of the last block
// are zero bits.
func Quantize(l Layout, src []float32) (*Weight, error) { return quantize(l, src, false) }

// QuantizeTransposed is Quantize for a weight given as its transpose: src
// is row-major [N, K] (a Gemm transB=1 weight such as lm_head [V, D]), and B
// = srcᵀ is quantized without materializing the transpose.
func QuantizeTransposed(l Layout, src []float32) (*Weight, error) { return quantize(l, src, true) }

func quantize(l Layout, src []float32, transposed bool) (*Weight, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if len(src) != l.K*l.N {
		return nil, fmt.Errorf("quant: weight [%d, %d]: got %d values", l.K, l.N, len(src))
	}
	blocks, blob, zs := l.Blocks(), l.BlobSize(), l.zpStride()
	w := &Weight{
		Layout:     l,
		Data:       make([]byte, l.N*blocks*blob),
		Scales:     make([]float32, l.N*blocks),
		ZeroPoints: make([]byte, l.N*zs),
	}
	maxQ := float32(l.maxQ())
	mid := byte(1 << (l.Bits - 1))
	if l.Bits == 4 {
		for i := range w.ZeroPoints {
			w.ZeroPoints[i] = mid<<4 | mid
		}
	}
	rowStride, colStride := l.N, 1 // element (r, n) of B is src[r·rowStride + n·colStride]
	if transposed {
		rowStride, colStride = 1, l.K
	}
	for n := 0; n < l.N; n++ {
		for b := 0; b < blocks; b++ {
			r0, r1 := b*l.BlockSize, min((b+1)*l.BlockSize, l.K)
			lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
			for r := r0; r < r1; r++ {
				v := src[r*rowStride+n*colStride]
				lo, hi = min(lo, v), max(hi, v)
			}
			lo, hi = min(lo, 0), max(hi, 0)
			scale := float32(hi-lo) / maxQ
			zpf := lo
			if scale != 0 {
				zpf = 0 - float32(lo/scale)
			}
			var zp byte
			switch {
			case zpf < 0:
				zp = 0
			case zpf > maxQ:
				zp = byte(maxQ)
			default:
				zp = byte(roundf(zpf))
			}
			w.Scales[n*blocks+b] = scale
			w.setZeroPoint(n, b, zp)
			var rs float32
			if scale != 0 {
				rs = 1 / scale
			}
			base := (n*blocks + b) * blob
			for r := r0; r < r1; r++ {
				q := roundf(float32(src[r*rowStride+n*colStride]*rs) + float32(zp))
				q = min(max(q, 0), maxQ)
				w.set(base, r-r0, byte(q))
			}
		}
	}
	return w, nil
}

// roundf is C's roundf: halves away from zero (float32 → float32).
func roundf(x float32) float32 { return float32(math.Round(float64(x))) }

// set stores element i of the block whose blob starts at base.
func (w *Weight) set(base, i int, q byte) {
	if w.Bits == 8 {
		w.Data[base+i] = q
		return
	}
	p := &w.Data[base+i/2]
	if i%2 == 0 {
		*p = *p&0xf0 | q
	} else {
		*p = *p&0x0f | q<<4
	}
}

func (w *Weight) get(base, i int) int {
	if w.Bits == 8 {
		return int(w.Data[base+i])
	}
	return int(w.Data[base+i/2]>>(4*(i%2))) & 0xf
}

func (w *Weight) setZeroPoint(n, b int, zp byte) {
	zs := w.zpStride()
	if w.Bits == 8 {
		w.ZeroPoints[n*zs+b] = zp
		return
	}
	p := &w.ZeroPoints[n*zs+b/2]
	if b%2 == 0 {
		*p = *p&0xf0 | zp
	} else {
		*p = *p&0x0f | zp<<4
	}
}

func (w *Weight) zeroPoint(n, b int) int {
	zs := w.zpStride()
	if w.Bits == 8 {
		return int(w.ZeroPoints[n*zs+b])
	}
	return int(w.ZeroPoints[n*zs+b/2]>>(4*(b%2))) & 0xf
}

// Dequantize returns the row-major [K, N] float32 matrix the kernel
// multiplies by: (q − zp) · scale, in float32.
func (w *Weight) Dequantize() []float32 {
	out := make([]float32, w.K*w.N)
	blocks, blob := w.Blocks(), w.BlobSize()
	for n := 0; n < w.N; n++ {
		for b := 0; b < blocks; b++ {
			s := w.Scales[n*blocks+b]
			zp := w.zeroPoint(n, b)
			base := (n*blocks + b) * blob
			for r := b * w.BlockSize; r < min((b+1)*w.BlockSize, w.K); r++ {
				out[r*w.N+n] = float32(w.get(base, r-b*w.BlockSize)-zp) * s
			}
		}
	}
	return out
}

// TensorNames are the initializer names of a quantized weight called name,
// as ONNX Runtime's quantizer names them.
func TensorNames(name string, bits int) (data, scales, zeroPoints string) {
	return fmt.Sprintf("%s_Q%d", name, bits), name + "_scales", name + "_zero_points"
}

// Tensors returns the three initializers (inline), named by TensorNames.
// Scales are float32 (the activation type of fp32 graphs).
func (w *Weight) Tensors(name string) []onnxpb.Tensor {
	dn, sn, zn := TensorNames(name, w.Bits)
	return []onnxpb.Tensor{
		{Name: dn, Type: onnxpb.Uint8, Dims: w.DataDims(), Raw: w.Data},
		{Name: sn, Type: onnxpb.Float, Dims: w.ScaleDims(), Raw: onnxpb.Float32Bytes(w.Scales)},
		{Name: zn, Type: onnxpb.Uint8, Dims: w.ZeroPointDims(), Raw: w.ZeroPoints},
	}
}

// Attrs are the MatMulNBits attributes of the layout. accuracyLevel is the
// kernel's minimum compute precision: 0 (unset) computes in the type of A;
// 4 lets the CPU kernel quantize A to int8 per block and use integer dot
// products (faster, slightly less accurate).
func (l Layout) Attrs(accuracyLevel int) []onnxpb.Attr {
	a := []onnxpb.Attr{
		onnxpb.Int("K", int64(l.K)), onnxpb.Int("N", int64(l.N)),
		onnxpb.Int("bits", int64(l.Bits)), onnxpb.Int("block_size", int64(l.BlockSize)),
	}
	if accuracyLevel != 0 {
		a = append(a, onnxpb.Int("accuracy_level", int64(accuracyLevel)))
	}
	return a
}

// MatMulNBits adds the node y = x·B to b; data, scales and zeroPoints name
// the initializers. The model must import onnxpb.MicrosoftDomain.
func MatMulNBits(b *onnxpb.Builder, x string, l Layout, data, scales, zeroPoints string, accuracyLevel int) string {
	return b.DomainOp(onnxpb.MicrosoftDomain, "MatMulNBits", []string{x, data, scales, zeroPoints}, l.Attrs(accuracyLevel)...)
}
