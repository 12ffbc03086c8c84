package ortbind

import (
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/ort/ortlib"
)

// addOne is y = Concat(x, x + 1) along the last axis: its output grows each
// run, like a KV cache, so that chaining y as the next x exercises outputs
// the runtime allocates with a shape known only after the run.
func addOne(t *testing.T) *ort.DynamicAdvancedSession {
	t.Helper()
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime not found (make setup): %v", err)
	}
	b := onnxpb.NewBuilder("grow")
	x := b.Input("x", onnxpb.Float, onnxpb.D(1), onnxpb.Sym("n"))
	one := b.ConstFloat(onnxpb.Float, []float32{1}, 1)
	b.OpTo("Concat", "y", []string{x, b.Op("Add", []string{x, one})}, onnxpb.Int("axis", 1))
	b.Output("y", onnxpb.Float, onnxpb.D(1), onnxpb.Sym("m"))
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := (&onnxpb.Model{IRVersion: 8, Opset: 17, Graph: g}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(raw, []string{"x"}, []string{"y"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Destroy() })
	if err := Init(ortlib.Initialized()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestChainOnDevice binds y to (CPU) device memory, then binds the
// runtime-owned y as the next run's x, three times, and checks the values:
// the path the decoder's KV cache takes on CUDA, run on CPU.
func TestChainOnDevice(t *testing.T) {
	s := addOne(t)
	mem, err := NewMemoryInfo("Cpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Destroy()
	b, err := s.CreateIoBinding()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	x, err := ort.NewTensor(ort.NewShape(1, 2), []float32{3, 5})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Destroy()
	if err := b.BindInput("x", x); err != nil {
		t.Fatal(err)
	}
	want := []float32{3, 5}
	var prev *Value
	for step := 0; step < 3; step++ {
		if err := BindOutputToDevice(b, "y", mem); err != nil {
			t.Fatal(err)
		}
		if err := s.RunWithBinding(b); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		outs, err := Outputs(b)
		if err != nil || len(outs) != 1 {
			t.Fatalf("step %d: %d outputs, %v", step, len(outs), err)
		}
		y := outs[0]
		n := len(want)
		for i := 0; i < n; i++ {
			want = append(want, want[i]+1)
		}
		shape, err := y.Shape()
		if err != nil || len(shape) != 2 || shape[1] != int64(len(want)) {
			t.Fatalf("step %d: shape %v (%v), want [1 %d]", step, shape, err, len(want))
		}
		got, err := y.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("step %d: y = %v, want %v", step, got, want)
			}
		}
		if err := BindInput(b, "x", y); err != nil {
			t.Fatal(err)
		}
		prev.Release() // bound no more: the new x replaced it
		prev = y
	}
	prev.Release()
}

func TestNewMemoryInfoErrors(t *testing.T) {
	addOne(t)
	if _, err := NewMemoryInfo("NoSuchDevice", 0); err == nil {
		t.Error("unknown memory info name accepted")
	}
}

// TestRawSession: the OrtSession pointer reached through onnxruntime_go's
// struct layout is a live session (its input count is the graph's).
func TestRawSession(t *testing.T) {
	s := addOne(t)
	if n, err := inputCount(s); err != nil || n != 1 {
		t.Fatalf("input count %d, %v: onnxruntime_go's session layout changed (see rawSession)", n, err)
	}
}

// TestMaxInUse: the CPU arena's peak grows with the largest tensor a run
// allocated, and never shrinks.
func TestMaxInUse(t *testing.T) {
	s := addOne(t)
	mem, err := NewMemoryInfo("Cpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Destroy()
	run := func(n int) int64 {
		t.Helper()
		x, err := ort.NewTensor(ort.NewShape(1, int64(n)), make([]float32, n))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Destroy()
		out := []ort.Value{nil}
		if err := s.Run([]ort.Value{x}, out); err != nil {
			t.Fatal(err)
		}
		out[0].Destroy()
		peak, err := MaxInUse(s, mem)
		if err != nil {
			t.Fatal(err)
		}
		return peak
	}
	small := run(1 << 10)
	large := run(1 << 20)
	again := run(1 << 10)
	// y and the Add's intermediate are 4 MiB and 8 MiB for the large input.
	if small <= 0 || large < 8<<20 || again != large {
		t.Errorf("MaxInUse: %d after a 4 KiB input, %d after a 4 MiB one, %d after a small one again", small, large, again)
	}
}
