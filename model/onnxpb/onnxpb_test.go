package onnxpb

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	onnxgomlx "github.com/gomlx/onnx-gomlx/onnx"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/ort/ortlib"
)

func TestFloat16Bits(t *testing.T) {
	// Expected bits from the IEEE-754 binary16 definition.
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff},
		{65519, 0x7bff}, {65520, 0x7c00}, {1e6, 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
		{float32(math.Copysign(0, -1)), 0x8000}, {0, 0},
		{0x1p-14, 0x0400}, {0x1p-24, 0x0001}, {0x1p-25, 0}, {0x1.8p-25, 0x0001}, {0x3p-26, 0x0001},
		{0x1.ff8p-15, 0x03ff}, {0x1.ffcp-15, 0x0400}, // largest subnormal; + half ulp rounds (to even) into the smallest normal
		{1 + 0x1p-11, 0x3c00}, {1 + 0x3p-11, 0x3c02}, // ties to even
		{0.1, 0x2e66}, {1.0 / 3, 0x3555}, {-1.5, 0xbe00},
	} {
		if got := Float16Bits(tc.f); got != tc.want {
			t.Errorf("Float16Bits(%g) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	if got := Float16Bits(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("Float16Bits(NaN) = %#04x, not a NaN", got)
	}
	// Every non-NaN half converts to float32 and back unchanged.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue
		}
		if got := Float16Bits(Float16ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip of %#04x gave %#04x", h, got)
		}
	}
	if got := Float16ToFloat32(0x0001); got != 0x1p-24 {
		t.Errorf("smallest subnormal = %g", got)
	}
}

// testModel builds y = Gemm(Transpose(x), W, alpha=2, transB=1) + c, where c
// is a Constant node; x [2, batch] symbolic, W [3, 2] initializer.
func testModel(t *testing.T, external bool) *Model {
	t.Helper()
	b := NewBuilder("test")
	x := b.Input("x", Float, D(2), Sym("batch"))
	w := Tensor{Name: "W", Type: Float, Dims: []int64{3, 2}, Raw: Float32Bytes([]float32{1, 2, 3, 4, 5, 6})}
	if external {
		w.Raw = nil
		w.External = &ExternalData{Location: "test.onnx_data", Offset: 8, Length: 24}
	}
	wn := b.Initializer(w)
	xt := b.Op("Transpose", []string{x}, Ints("perm", 1, 0))
	y := b.Op("Gemm", []string{xt, wn}, Flt("alpha", 2), Int("transB", 1))
	c := b.ConstFloat(Float, []float32{10, 20, 30}, 3)
	b.OpTo("Add", "y", []string{y, c})
	b.Output("y", Float, Sym("batch"), D(3))
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	return &Model{IRVersion: 8, Opset: 17, ProducerName: "onnxpb-test", Graph: g, Metadata: [][2]string{{"k", "v"}}}
}

func TestRoundTripInfo(t *testing.T) {
	m := testModel(t, false)
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	info, err := DecodeModelInfo(raw)
	if err != nil {
		t.Fatal(err)
	}
	if info.IRVersion != 8 || info.Opset() != 17 || info.ProducerName != "onnxpb-test" {
		t.Errorf("header: ir %d opset %d producer %q", info.IRVersion, info.Opset(), info.ProducerName)
	}
	wantIn := []ValueInfo{{Name: "x", Type: Float, Dims: []Dim{D(2), Sym("batch")}}}
	wantOut := []ValueInfo{{Name: "y", Type: Float, Dims: []Dim{Sym("batch"), D(3)}}}
	if !reflect.DeepEqual(info.Inputs, wantIn) || !reflect.DeepEqual(info.Outputs, wantOut) {
		t.Errorf("I/O: %+v %+v", info.Inputs, info.Outputs)
	}
	if info.Initializers != 1 || info.Parameters != 6 || info.FloatParameters != 6 || info.WeightTypes[Float] != 6 {
		t.Errorf("initializers %d params %d float %d", info.Initializers, info.Parameters, info.FloatParameters)
	}
	if got := strings.Join(info.OpTypes(), ","); got != "Add,Constant,Gemm,Transpose" {
		t.Errorf("ops %s", got)
	}

	// An independent protobuf decoder (onnx-gomlx's generated types) reads
	// the same structure.
	gm, err := onnxgomlx.Parse(raw)
	if err != nil {
		t.Fatalf("onnx-gomlx: %v", err)
	}
	if gm.Proto.IrVersion != 8 || gm.Proto.OpsetImport[0].Version != 17 || len(gm.Proto.Graph.Node) != 4 {
		t.Errorf("onnx-gomlx sees ir %d opset %d, %d nodes", gm.Proto.IrVersion, gm.Proto.OpsetImport[0].Version, len(gm.Proto.Graph.Node))
	}
	gemm := gm.Proto.Graph.Node[1]
	if gemm.OpType != "Gemm" || gemm.Attribute[0].F != 2 || gemm.Attribute[1].I != 1 {
		t.Errorf("onnx-gomlx sees Gemm attrs %v", gemm.Attribute)
	}
	if p := gm.Proto.Graph.Node[0].Attribute[0].Ints; !reflect.DeepEqual(p, []int64{1, 0}) {
		t.Errorf("onnx-gomlx sees perm %v", p)
	}
	if md := gm.Proto.MetadataProps; len(md) != 1 || md[0].Key != "k" || md[0].Value != "v" {
		t.Errorf("metadata %v", md)
	}
}

func TestRunsInORT(t *testing.T) {
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime unavailable: %v", err)
	}
	for _, external := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "test.onnx")
		if err := WriteFile(path, testModel(t, external)); err != nil {
			t.Fatal(err)
		}
		if external {
			data := append(make([]byte, 8), Float32Bytes([]float32{1, 2, 3, 4, 5, 6})...)
			if err := os.WriteFile(filepath.Join(dir, "test.onnx_data"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			info, err := ReadModelInfo(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(info.ExternalFiles, []string{"test.onnx_data"}) || info.ExternalBytes != 24 {
				t.Errorf("external: %v %d", info.ExternalFiles, info.ExternalBytes)
			}
			ts, err := ReadInitializers(path)
			if err != nil || len(ts) != 1 || !reflect.DeepEqual(Float32sFromBytes(ts[0].Raw), []float32{1, 2, 3, 4, 5, 6}) {
				t.Errorf("ReadInitializers: %v %v", ts, err)
			}
		}
		s, err := ort.NewDynamicAdvancedSession(path, []string{"x"}, []string{"y"}, nil)
		if err != nil {
			t.Fatalf("external=%v: %v", external, err)
		}
		// x = [[1, 2], [3, 4]] ([2, batch=2]); xᵀ rows (1,3) and (2,4).
		x, _ := ort.NewTensor(ort.NewShape(2, 2), []float32{1, 2, 3, 4})
		out := []ort.Value{nil}
		if err := s.Run([]ort.Value{x}, out); err != nil {
			t.Fatal(err)
		}
		got := out[0].(*ort.Tensor[float32]).GetData()
		// 2·xᵀ·Wᵀ + c with W rows (1,2), (3,4), (5,6).
		want := []float32{2*(1+6) + 10, 2*(3+12) + 20, 2*(5+18) + 30, 2*(2+8) + 10, 2*(6+16) + 20, 2*(10+24) + 30}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("external=%v: y = %v, want %v", external, got, want)
		}
		x.Destroy()
		out[0].Destroy()
		s.Destroy()
	}
}

func TestReadModelInfoErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "test.onnx")
	if err := WriteFile(path, testModel(t, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModelInfo(path); err == nil || !strings.Contains(err.Error(), "test.onnx_data") {
		t.Errorf("missing external file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test.onnx_data"), make([]byte, 20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModelInfo(path); err == nil || !strings.Contains(err.Error(), "tensors need 32") {
		t.Errorf("short external file: %v", err)
	}
	raw, _ := testModel(t, false).Marshal()
	for _, n := range []int{len(raw) - 1, len(raw) / 2, 3} {
		if _, err := DecodeModelInfo(raw[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d bytes: %v", n, err)
		}
	}
	if _, err := ReadModelInfo(filepath.Join(dir, "none.onnx")); err == nil || !strings.HasPrefix(err.Error(), "onnxpb: ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestBuilderAndMarshalErrors(t *testing.T) {
	b := NewBuilder("g")
	x := b.Input("x", Float, D(1))
	b.OpTo("Identity", "x", []string{x})
	if _, err := b.Graph(); err == nil || !strings.Contains(err.Error(), `"x" defined twice`) {
		t.Errorf("duplicate value: %v", err)
	}
	b = NewBuilder("g")
	b.Output("nothing", Float)
	if _, err := b.Graph(); err == nil {
		t.Error("undefined output accepted")
	}
	m := &Model{IRVersion: 8, Opset: 17, Graph: Graph{Name: "g", Initializers: []Tensor{{Name: "w", Type: Float, Dims: []int64{3}, Raw: make([]byte, 8)}}}}
	if _, err := m.Marshal(); err == nil || !strings.Contains(err.Error(), "tensor w: 8 bytes of data, want 12") {
		t.Errorf("short tensor: %v", err)
	}
}

func FuzzDecodeModelInfo(f *testing.F) {
	for _, ext := range []bool{false, true} {
		b := NewBuilder("test")
		x := b.Input("x", Float, D(2))
		w := Tensor{Name: "W", Type: Float, Dims: []int64{2}, Raw: Float32Bytes([]float32{1, 2})}
		if ext {
			w.Raw, w.External = nil, &ExternalData{Location: "d", Length: 8}
		}
		b.OpTo("Add", "y", []string{x, b.Initializer(w)})
		b.Output("y", Float, D(2))
		g, _ := b.Graph()
		raw, _ := (&Model{IRVersion: 8, Opset: 17, Graph: g}).Marshal()
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := DecodeModelInfo(b)
		if err == nil && info == nil {
			t.Fatal("nil info without error")
		}
	})
}
