package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/model/onnxpb"
)

// f32Data writes v as little-endian float32.
func f32Data(v []float32) []byte {
	b, _ := AppendFloat32(nil, F32, v)
	return b
}

// TestWriterBytes checks the writer against a file laid out by hand from
// the format spec: 8-byte length, compact JSON with __metadata__ first,
// tensors sorted by dtype (F32 before BF16 in the Rust enum order,
// descending) then name, contiguous offsets, spaces to a multiple of 8.
func TestWriterBytes(t *testing.T) {
	ts := []WriteTensor{
		{Name: "b", DType: BF16, Shape: []int64{2}},
		{Name: "z", DType: F32, Shape: []int64{1}},
		{Name: "a", DType: F32, Shape: []int64{2, 1}},
	}
	payload := map[string][]byte{
		"a": f32Data([]float32{1, 2}),
		"z": f32Data([]float32{3}),
		"b": {0x80, 0x3f, 0x00, 0x40}, // bf16 1, 2
	}
	var got bytes.Buffer
	err := Write(&got, map[string]string{"format": "pt"}, ts, func(t WriteTensor, w io.Writer) error {
		_, err := w.Write(payload[t.Name])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	head := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},` +
		`"z":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}}`
	for len(head)%8 != 0 {
		head += " "
	}
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(head)))
	want = append(want, head...)
	want = append(want, payload["a"]...)
	want = append(want, payload["z"]...)
	want = append(want, payload["b"]...)
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("writer bytes\n got %q\nwant %q", got.Bytes(), want)
	}
	// A data callback writing the wrong length fails, naming the tensor.
	err = Write(io.Discard, nil, ts, func(t WriteTensor, w io.Writer) error { _, err := w.Write([]byte{1}); return err })
	if err == nil || !strings.Contains(err.Error(), "tensor a") {
		t.Errorf("short tensor data: %v", err)
	}
}

func writeFile(t *testing.T, dir, name string, ts []WriteTensor, vals map[string][]float32) string {
	t.Helper()
	p := filepath.Join(dir, name)
	err := WriteFile(p, map[string]string{"format": "pt"}, ts, func(wt WriteTensor, w io.Writer) error {
		b, err := AppendFloat32(nil, wt.DType, vals[wt.Name])
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTripF32BF16(t *testing.T) {
	dir := t.TempDir()
	big := make([]float32, 3*chunkBytes/4+5) // spans several conversion chunks (F32) and an odd tail
	for i := range big {
		big[i] = float32(i) * 0.25
	}
	vals := map[string][]float32{"w": big, "h": {1, -2.5, 3.140625, 0}}
	p := writeFile(t, dir, "x.safetensors", []WriteTensor{
		{Name: "w", DType: F32, Shape: []int64{int64(len(big))}},
		{Name: "h", DType: BF16, Shape: []int64{2, 2}},
	}, vals)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["format"] != "pt" || len(f.Tensors) != 2 {
		t.Errorf("metadata %v, %d tensors", f.Metadata, len(f.Tensors))
	}
	for name, want := range vals {
		got := make([]float32, len(want))
		if err := f.ReadFloat32(name, got); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	// The same through the ReaderAt fallback.
	f.data = nil
	got := make([]float32, len(big))
	if err := f.ReadFloat32("w", got); err != nil || got[len(big)-1] != big[len(big)-1] || got[chunkBytes/4] != big[chunkBytes/4] {
		t.Errorf("ReaderAt path: %v", err)
	}
	if err := f.ReadFloat32("nope", got); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing tensor: %v", err)
	}
}

func TestBF16RoundToNearestEven(t *testing.T) {
	for _, tc := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // 1 + 2^-8: tie, to even (down)
		{0x3f818000, 0x3f82}, // tie, to even (up)
		{0x3f808001, 0x3f81}, // above the tie
		{0x3f807fff, 0x3f80}, // below the tie
		{0x7f7fffff, 0x7f80}, // max float rounds to +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7f800001, 0x7fc0}, // signalling NaN stays NaN (quiet)
		{0x80000000, 0x8000}, // -0
	} {
		if got := BF16Bits(math.Float32frombits(tc.in)); got != tc.want {
			t.Errorf("BF16Bits(%#08x) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

func TestHalfToFloat32AllValues(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		got := HalfToFloat32(uint16(h))
		want := onnxpb.Float16ToFloat32(uint16(h))
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("HalfToFloat32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

// raw builds a file from a header string and n data bytes.
func raw(header string, n int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), make([]byte, n)...)
}

func TestHeaderValidation(t *testing.T) {
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}`
	if _, err := ParseHeader("f", raw(ok, 10), int64(len(raw(ok, 10)))); err != nil {
		t.Fatalf("valid header rejected: %v", err)
	}
	for _, tc := range []struct {
		name, header string
		data         int
		want         string
	}{
		{"gap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[9,11]}}`, 11, "tensor b: data_offsets [9, 11] not contiguous"},
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8, "not contiguous"},
		{"size", `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8, "tensor a: 8 bytes for shape [3] F32"},
		{"out of bounds", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4, "tensor a: data_offsets [0, 8] past the end"},
		{"unused tail", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 12, "cover 8 bytes, the file has 12"},
		{"dtype", `{"a":{"dtype":"F42","shape":[2],"data_offsets":[0,8]}}`, 8, `tensor a: unknown dtype "F42"`},
		{"extra field", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, 8, "tensor a"},
		{"missing field", `{"a":{"dtype":"F32","data_offsets":[0,8]}}`, 8, "tensor a"},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, 8, "tensor a: bad shape"},
		{"overflow", `{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, 8, "tensor a"},
		{"duplicate", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2, `duplicate entry "a"`},
		{"metadata", `{"__metadata__":{"format":1}}`, 0, "__metadata__"},
		{"not object", `["a"]`, 0, "start with '{'"},
		{"trailing", `{}x`, 0, "after the header"},
		{"bad json", `{"a":`, 0, "entry"},
	} {
		f := raw(tc.header, tc.data)
		_, err := ParseHeader("dir/m.safetensors", f, int64(len(f)))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "dir/m.safetensors") || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want an ErrFormat naming the file and %q", tc.name, err, tc.want)
		}
	}
	// Length field larger than the file, and a file shorter than 8 bytes.
	f := raw(ok, 10)
	if _, err := ParseHeader("f", f[:40], 40); err == nil || !strings.Contains(err.Error(), "header length") {
		t.Errorf("truncated header: %v", err)
	}
	if _, err := ParseHeader("f", f[:5], 5); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("5-byte file: %v", err)
	}
}

// TestOpenTruncatedFile: a file cut inside its data is rejected at Open,
// naming the file, without reading past its end.
func TestOpenTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "model.safetensors", []WriteTensor{{Name: "w", DType: F32, Shape: []int64{64}}}, map[string][]float32{"w": make([]float32, 64)})
	b, _ := os.ReadFile(p)
	for _, n := range []int{0, 7, 8, 20, len(b) - 1} {
		os.WriteFile(p, b[:n], 0o644)
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("truncated to %d bytes: %v", n, err)
		}
	}
}

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	vals := map[string][]float32{"a": {1, 2}, "b": {3}, "c": {4, 5, 6}}
	writeFile(t, dir, "model-00001-of-00002.safetensors", []WriteTensor{{Name: "a", DType: F32, Shape: []int64{2}}, {Name: "b", DType: BF16, Shape: []int64{1}}}, vals)
	writeFile(t, dir, "model-00002-of-00002.safetensors", []WriteTensor{{Name: "c", DType: F32, Shape: []int64{3}}}, vals)
	index := func(m string) {
		os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"metadata":{"total_size":22},"weight_map":{`+m+`}}`), 0o644)
	}
	index(`"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"`)
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Names(), ","); got != "a,b,c" {
		t.Errorf("names %s", got)
	}
	dims, v, err := c.ReadFloat32("c")
	if err != nil || len(dims) != 1 || dims[0] != 3 || v[2] != 6 {
		t.Errorf("c: %v %v %v", dims, v, err)
	}
	c.Close()
	for _, tc := range []struct{ m, want string }{
		{`"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00002-of-00002.safetensors"`, "tensor b is in model-00001-of-00002.safetensors"},
		{`"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors","d":"model-00002-of-00002.safetensors"`, "tensor d"},
		{`"a":"../x.safetensors"`, "not a file in the directory"},
		{`"a":"model-00003-of-00002.safetensors"`, "model-00003-of-00002.safetensors"},
	} {
		index(tc.m)
		if c, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			if c != nil {
				c.Close()
			}
			t.Errorf("index %s: %v, want %q", tc.m, err, tc.want)
		}
	}
}

// FuzzParseHeader: any bytes give a header or an error, never a panic; an
// accepted header's tensors tile the data exactly.
func FuzzParseHeader(f *testing.F) {
	f.Add(raw(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Add(raw(`{"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}`, 2))
	f.Add(raw(`{}`, 0))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, '{'})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader("fuzz", b, int64(len(b)))
		if err != nil {
			return
		}
		end := int64(0)
		for _, ti := range h.Tensors {
			if ti.Begin != end || ti.End-ti.Begin != ti.NumElements()*int64(ti.DType.Size()) {
				t.Fatalf("accepted inconsistent tensor %+v", ti)
			}
			end = ti.End
		}
		if h.DataStart+end != int64(len(b)) {
			t.Fatalf("accepted header covering %d of %d bytes", h.DataStart+end, len(b))
		}
	})
}
