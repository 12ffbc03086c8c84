// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors, docs/checkpoints.md): an
// 8-byte little-endian header length N, N bytes of JSON header (an object of
// tensor entries {"dtype", "shape", "data_offsets"} plus an optional
// "__metadata__" map of strings), then the tensors' little-endian bytes.
//
// The reader memory-maps each file, validates the header as strictly as the
// Rust library (offsets contiguous from 0, in bounds, sizes matching the
// dtype and shape, the whole buffer covered, no duplicates) and converts
// BF16, F16 and F32 tensors to float32 in chunks. The writer produces the
// bytes the Rust library and transformers' save_pretrained write.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"
)

// DType is a safetensors element type name.
type DType string

// Element types.
const (
	F64     DType = "F64"
	F32     DType = "F32"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I64     DType = "I64"
	I32     DType = "I32"
	I16     DType = "I16"
	I8      DType = "I8"
	U64     DType = "U64"
	U32     DType = "U32"
	U16     DType = "U16"
	U8      DType = "U8"
	Bool    DType = "BOOL"
	F8E5M2  DType = "F8_E5M2"
	F8E4M3  DType = "F8_E4M3"
	metaKey       = "__metadata__"
)

// MaxHeader is the largest header the reader accepts (the Rust library's
// limit, 100 MB).
const MaxHeader = 100_000_000

// rustOrder is the Rust Dtype enum order: the writer sorts tensors by it,
// descending (larger alignment first), then by name.
var rustOrder = []DType{Bool, U8, I8, F8E5M2, F8E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64}

// Size is the element size in bytes (0 for unknown types).
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, Bool, F8E5M2, F8E4M3:
		return 1
	}
	return 0
}

func (d DType) rank() int {
	for i, x := range rustOrder {
		if x == d {
			return i
		}
	}
	return -1
}

// TensorInfo is one header entry. Begin and End are byte offsets relative
// to the start of the data (after the header).
type TensorInfo struct {
	Name       string
	DType      DType
	Shape      []int64
	Begin, End int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t *TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Header is a parsed, validated header.
type Header struct {
	Metadata map[string]string // nil when absent
	Tensors  []TensorInfo      // in data order
	// DataStart is the file offset of the data (8 + N).
	DataStart int64
}

// ErrFormat marks a malformed file.
var ErrFormat = errors.New("malformed safetensors")

// ParseHeader parses and validates the header of a safetensors file of
// fileSize bytes whose first bytes are head (at least the 8-byte length
// and the header itself). name is the file's name, for messages; every
// error names it and, where one is at fault, the tensor.
func ParseHeader(name string, head []byte, fileSize int64) (*Header, error) {
	bad := func(format string, a ...any) (*Header, error) {
		return nil, fmt.Errorf("%s: %w: "+format, append([]any{name, ErrFormat}, a...)...)
	}
	if fileSize < 8 || len(head) < 8 {
		return bad("file too small (%d bytes)", fileSize)
	}
	n := binary.LittleEndian.Uint64(head[:8])
	if n > MaxHeader || n > uint64(fileSize-8) {
		return bad("header length %d invalid for a %d-byte file", n, fileSize)
	}
	if uint64(len(head)-8) < n {
		return bad("header truncated: %d of %d bytes", len(head)-8, n)
	}
	raw := head[8 : 8+n]
	if !utf8.Valid(raw) {
		return bad("header is not UTF-8")
	}
	if len(raw) == 0 || raw[0] != '{' {
		return bad("header does not start with '{'")
	}
	h := &Header{DataStart: 8 + int64(n)}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("header is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("header JSON: %v", err)
		}
		key := tok.(string) // object keys are strings
		if seen[key] {
			return bad("duplicate entry %q", key)
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return bad("entry %q: %v", key, err)
		}
		if key == metaKey {
			if err := json.Unmarshal(val, &h.Metadata); err != nil || h.Metadata == nil {
				return bad("__metadata__ must map strings to strings")
			}
			continue
		}
		t, err := parseEntry(key, val)
		if err != nil {
			return bad("tensor %s: %v", key, err)
		}
		h.Tensors = append(h.Tensors, t)
	}
	if _, err := dec.Token(); err != nil {
		return bad("header JSON: %v", err)
	}
	if rest := raw[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return bad("bytes after the header object")
	}
	sort.SliceStable(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		return a.Begin < b.Begin || (a.Begin == b.Begin && a.End < b.End)
	})
	end := int64(0)
	dataLen := fileSize - h.DataStart
	for _, t := range h.Tensors {
		if t.End > dataLen {
			return bad("tensor %s: data_offsets [%d, %d] past the end of the data (%d bytes; file truncated?)", t.Name, t.Begin, t.End, dataLen)
		}
		if t.Begin != end {
			return bad("tensor %s: data_offsets [%d, %d] not contiguous (expected start %d)", t.Name, t.Begin, t.End, end)
		}
		end = t.End
	}
	if end != dataLen {
		return bad("tensors cover %d bytes, the file has %d after the header", end, dataLen)
	}
	return h, nil
}

// parseEntry validates one tensor entry: exactly dtype, shape and
// data_offsets; a known dtype; non-negative dims; a byte length equal to
// elements × element size.
func parseEntry(name string, val json.RawMessage) (TensorInfo, error) {
	var e struct {
		DType   *string       `json:"dtype"`
		Shape   []json.Number `json:"shape"`
		Offsets []json.Number `json:"data_offsets"`
	}
	dec := json.NewDecoder(bytes.NewReader(val))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return TensorInfo{}, fmt.Errorf("entry: %v", err)
	}
	if e.DType == nil || e.Shape == nil || len(e.Offsets) != 2 {
		return TensorInfo{}, fmt.Errorf("entry needs dtype, shape and two data_offsets")
	}
	t := TensorInfo{Name: name, DType: DType(*e.DType)}
	if t.DType.Size() == 0 {
		return t, fmt.Errorf("unknown dtype %q", *e.DType)
	}
	elems := uint64(1)
	for _, d := range e.Shape {
		v, err := d.Int64()
		if err != nil || v < 0 {
			return t, fmt.Errorf("bad shape %v", e.Shape)
		}
		t.Shape = append(t.Shape, v)
		if v != 0 && elems > math.MaxInt64/uint64(v) {
			return t, fmt.Errorf("shape %v overflows", e.Shape)
		}
		elems *= uint64(v)
	}
	var off [2]int64
	for i, o := range e.Offsets {
		v, err := o.Int64()
		if err != nil || v < 0 {
			return t, fmt.Errorf("bad data_offsets %v", e.Offsets)
		}
		off[i] = v
	}
	t.Begin, t.End = off[0], off[1]
	if t.End < t.Begin {
		return t, fmt.Errorf("data_offsets [%d, %d] end before begin", t.Begin, t.End)
	}
	if elems > math.MaxInt64/uint64(t.DType.Size()) || int64(elems)*int64(t.DType.Size()) != t.End-t.Begin {
		return t, fmt.Errorf("%d bytes for shape %v %s", t.End-t.Begin, t.Shape, t.DType)
	}
	return t, nil
}
