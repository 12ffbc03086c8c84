package qwen2vl

import (
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// TestDBufTensorErrorIsNil: a failed tensor creation returns a nil
// interface, so that destroy() skips it instead of calling Destroy on a nil
// *Tensor (which panicked).
func TestDBufTensorErrorIsNil(t *testing.T) {
	for _, dt := range []int32{onnxFloat, onnxFloat16} {
		d := newDBuf(dt, 8)
		v, err := d.tensor(ort.NewShape(-1, 2))
		if err == nil {
			t.Fatalf("dtype %d: negative shape accepted", dt)
		}
		if v != nil {
			t.Fatalf("dtype %d: error with a non-nil value %T", dt, v)
		}
		destroy([]ort.Value{v}) // must not panic
	}
}
