package qwen2vl

import (
	"encoding/binary"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/model/onnxpb"
)

// dbuf is a flat host buffer of float32 or float16 elements that ONNX Runtime
// tensors are created over (no copy). float16 data lives in bytes because
// onnxruntime_go has no float16 Go type; its tensors are CustomDataTensors.
type dbuf struct {
	dt int32 // onnxFloat or onnxFloat16
	f  []float32
	h  []byte
}

func newDBuf(dt int32, n int) dbuf {
	if dt == onnxFloat16 {
		return dbuf{dt: dt, h: make([]byte, 2*max(n, 1))}
	}
	return dbuf{dt: onnxFloat, f: make([]float32, n)}
}

func (d dbuf) len() int {
	if d.dt == onnxFloat16 {
		return len(d.h) / 2
	}
	return len(d.f)
}

// tensor wraps the buffer's first shape.FlattenedSize() elements. An empty
// float16 tensor still gets a 2-byte buffer (NewCustomDataTensor rejects an
// empty slice; ORT accepts a buffer larger than the shape needs).
func (d dbuf) tensor(shape ort.Shape) (ort.Value, error) {
	n := int(shape.FlattenedSize())
	if n > d.len() {
		return nil, fmt.Errorf("qwen2vl: internal: tensor %v needs %d elements, buffer has %d", shape, n, d.len())
	}
	// Return an untyped nil on error: a nil *Tensor inside the ort.Value
	// interface would be non-nil, and destroy() would call Destroy on it.
	if d.dt == onnxFloat16 {
		t, err := ort.NewCustomDataTensor(shape, d.h[:2*max(n, 1)], ort.TensorElementDataTypeFloat16)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	t, err := ort.NewTensor(shape, d.f)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (d dbuf) get(i int) float32 {
	if d.dt == onnxFloat16 {
		return onnxpb.Float16ToFloat32(binary.LittleEndian.Uint16(d.h[2*i:]))
	}
	return d.f[i]
}

func (d dbuf) set(i int, v float32) {
	if d.dt == onnxFloat16 {
		binary.LittleEndian.PutUint16(d.h[2*i:], onnxpb.Float16Bits(v))
		return
	}
	d.f[i] = v
}

// move copies n elements from src to dst inside the buffer (memmove).
func (d dbuf) move(dst, src, n int) {
	if d.dt == onnxFloat16 {
		copy(d.h[2*dst:2*(dst+n)], d.h[2*src:2*(src+n)])
		return
	}
	copy(d.f[dst:dst+n], d.f[src:src+n])
}

// copyTo copies n elements starting at src into dst (any dtype) at off.
func (d dbuf) copyTo(dst dbuf, off, src, n int) {
	if d.dt == dst.dt {
		if d.dt == onnxFloat16 {
			copy(dst.h[2*off:2*(off+n)], d.h[2*src:2*(src+n)])
		} else {
			copy(dst.f[off:off+n], d.f[src:src+n])
		}
		return
	}
	for i := 0; i < n; i++ {
		dst.set(off+i, d.get(src+i))
	}
}

// readF32 converts n elements starting at src into out (float32).
func (d dbuf) readF32(out []float32, src int) {
	if d.dt == onnxFloat16 {
		for i := range out {
			out[i] = onnxpb.Float16ToFloat32(binary.LittleEndian.Uint16(d.h[2*(src+i):]))
		}
		return
	}
	copy(out, d.f[src:src+len(out)])
}
