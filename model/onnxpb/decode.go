package onnxpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// ModelInfo is what ReadModelInfo extracts from an ONNX file.
type ModelInfo struct {
	Path            string
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	// Opsets maps an operator-set domain ("" = ai.onnx) to its version.
	Opsets  map[string]int64
	Inputs  []ValueInfo
	Outputs []ValueInfo
	// Initializers is the number of initializer tensors; Parameters the total
	// number of their elements, FloatParameters the elements of floating-point
	// initializers (the weights).
	Initializers    int
	Parameters      int64
	FloatParameters int64
	// WeightTypes counts initializer elements by element type.
	WeightTypes map[DataType]int64
	// ExternalFiles are the distinct external data files referenced, in order
	// of first use; ExternalBytes is the sum of the external tensors' lengths.
	ExternalFiles []string
	ExternalBytes int64
	// Ops counts nodes by op type (top-level graph only).
	Ops map[string]int
	// InitializerNames are the initializers' names, in file order. Older IR
	// versions also list initializers among the graph inputs; RuntimeInputs
	// leaves those out.
	InitializerNames []string

	externalEnd map[string]int64 // largest offset+length per external file
}

// RuntimeInputs are the graph inputs a caller must feed: the declared inputs
// minus initializers listed among them (IR < 4 style).
func (m *ModelInfo) RuntimeInputs() []ValueInfo {
	if len(m.InitializerNames) == 0 {
		return m.Inputs
	}
	inits := make(map[string]bool, len(m.InitializerNames))
	for _, n := range m.InitializerNames {
		inits[n] = true
	}
	var out []ValueInfo
	for _, v := range m.Inputs {
		if !inits[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// Opset is the ai.onnx opset version (0 when not imported).
func (m *ModelInfo) Opset() int64 { return m.Opsets[""] }

// OpTypes lists the distinct op types, sorted.
func (m *ModelInfo) OpTypes() []string {
	ops := make([]string, 0, len(m.Ops))
	for op := range m.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Input returns the named graph input.
func (m *ModelInfo) Input(name string) (ValueInfo, bool) { return find(m.Inputs, name) }

// Output returns the named graph output.
func (m *ModelInfo) Output(name string) (ValueInfo, bool) { return find(m.Outputs, name) }

func find(vs []ValueInfo, name string) (ValueInfo, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v, true
		}
	}
	return ValueInfo{}, false
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed ONNX protobuf")

// ReadModelInfo reads an ONNX model file's header information. It does not
// load external data; it checks that referenced external files exist and are
// long enough.
func ReadModelInfo(path string) (*ModelInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnxpb: %w", err)
	}
	info, err := DecodeModelInfo(b)
	if err != nil {
		return nil, fmt.Errorf("onnxpb: %s: %w", path, err)
	}
	info.Path = path
	dir := filepath.Dir(path)
	for _, f := range info.ExternalFiles {
		if filepath.IsAbs(f) || f != filepath.Clean(f) || f == ".." || len(f) > 2 && f[:3] == "../" {
			return nil, fmt.Errorf("onnxpb: %s: external data location %q escapes the model directory", path, f)
		}
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("onnxpb: %s: external data: %w", path, err)
		}
		if end := info.externalEnd[f]; st.Size() < end {
			return nil, fmt.Errorf("onnxpb: %s: external data file %s has %d bytes, tensors need %d", path, f, st.Size(), end)
		}
	}
	return info, nil
}

// DecodeModelInfo decodes a ModelProto held in memory.
func DecodeModelInfo(b []byte) (*ModelInfo, error) {
	info := &ModelInfo{Opsets: map[string]int64{}, Ops: map[string]int{}, WeightTypes: map[DataType]int64{},
		externalEnd: map[string]int64{}}
	seenFile := map[string]bool{}
	err := fields(b, func(n protowire.Number, typ protowire.Type, v uint64, m []byte) error {
		switch {
		case n == modelIRVersion && typ == protowire.VarintType:
			info.IRVersion = int64(v)
		case n == modelProducerName && typ == protowire.BytesType:
			info.ProducerName = string(m)
		case n == modelProducerVersion && typ == protowire.BytesType:
			info.ProducerVersion = string(m)
		case n == modelOpsetImport && typ == protowire.BytesType:
			var dom string
			var ver int64
			if err := fields(m, func(n protowire.Number, typ protowire.Type, v uint64, m []byte) error {
				switch {
				case n == opsetDomain && typ == protowire.BytesType:
					dom = string(m)
				case n == opsetVersion && typ == protowire.VarintType:
					ver = int64(v)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			if dom == "ai.onnx" {
				dom = ""
			}
			info.Opsets[dom] = ver
		case n == modelGraph && typ == protowire.BytesType:
			return decodeGraph(m, info, seenFile)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// fields iterates over the top-level fields of message b. For varint and
// fixed fields v holds the value; for length-delimited ones m the bytes.
func fields(b []byte, f func(n protowire.Number, typ protowire.Type, v uint64, m []byte) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return fmt.Errorf("%w: %v", ErrMalformed, protowire.ParseError(l))
		}
		b = b[l:]
		var v uint64
		var m []byte
		switch typ {
		case protowire.VarintType:
			v, l = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, l = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, l = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			m, l = protowire.ConsumeBytes(b)
		default:
			l = protowire.ConsumeFieldValue(n, typ, b)
		}
		if l < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrMalformed, n, protowire.ParseError(l))
		}
		b = b[l:]
		if err := f(n, typ, v, m); err != nil {
			return err
		}
	}
	return nil
}

func decodeGraph(b []byte, info *ModelInfo, seenFile map[string]bool) error {
	return fields(b, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch n {
		case graphNode:
			op, err := decodeNodeOp(m)
			if err != nil {
				return fmt.Errorf("graph node: %w", err)
			}
			info.Ops[op]++
		case graphInitializer:
			t, err := decodeTensorHeader(m)
			if err != nil {
				return fmt.Errorf("initializer: %w", err)
			}
			info.Initializers++
			info.InitializerNames = append(info.InitializerNames, t.Name)
			ne := t.NumElements()
			info.Parameters += ne
			info.WeightTypes[t.Type] += ne
			if t.Type.IsFloat() {
				info.FloatParameters += ne
			}
			if t.External != nil {
				if !seenFile[t.External.Location] {
					seenFile[t.External.Location] = true
					info.ExternalFiles = append(info.ExternalFiles, t.External.Location)
				}
				info.ExternalBytes += t.External.Length
				if end := t.External.Offset + t.External.Length; end > info.externalEnd[t.External.Location] {
					info.externalEnd[t.External.Location] = end
				}
			}
		case graphInput, graphOutput:
			v, err := decodeValueInfo(m)
			if err != nil {
				return fmt.Errorf("graph input/output: %w", err)
			}
			if n == graphInput {
				info.Inputs = append(info.Inputs, v)
			} else {
				info.Outputs = append(info.Outputs, v)
			}
		}
		return nil
	})
}

func decodeNodeOp(b []byte) (string, error) {
	var op, dom string
	err := fields(b, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
		if typ == protowire.BytesType {
			switch n {
			case nodeOpType:
				op = string(m)
			case nodeDomain:
				dom = string(m)
			}
		}
		return nil
	})
	if dom != "" && dom != "ai.onnx" {
		op = dom + "." + op
	}
	return op, err
}

// decodeTensorHeader decodes a TensorProto's name, type, dims and external
// data reference; inline data is skipped.
func decodeTensorHeader(b []byte) (Tensor, error) {
	var t Tensor
	var ext ExternalData
	external := false
	var extErr error
	err := fields(b, func(n protowire.Number, typ protowire.Type, v uint64, m []byte) error {
		switch {
		case n == tensorDims && typ == protowire.VarintType:
			t.Dims = append(t.Dims, int64(v))
		case n == tensorDims && typ == protowire.BytesType: // packed
			for len(m) > 0 {
				x, l := protowire.ConsumeVarint(m)
				if l < 0 {
					return fmt.Errorf("%w: packed dims", ErrMalformed)
				}
				t.Dims = append(t.Dims, int64(x))
				m = m[l:]
			}
		case n == tensorDataType && typ == protowire.VarintType:
			t.Type = DataType(v)
		case n == tensorName && typ == protowire.BytesType:
			t.Name = string(m)
		case n == tensorDataLocation && typ == protowire.VarintType:
			external = v == dataLocationExternal
		case n == tensorExternalData && typ == protowire.BytesType:
			var key, val string
			if err := fields(m, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
				if typ == protowire.BytesType && n == entryKey {
					key = string(m)
				} else if typ == protowire.BytesType && n == entryValue {
					val = string(m)
				}
				return nil
			}); err != nil {
				return err
			}
			switch key {
			case "location":
				ext.Location = val
			case "offset", "length":
				x, err := strconv.ParseInt(val, 10, 64)
				if err != nil || x < 0 {
					extErr = fmt.Errorf("%w: external_data %s %q", ErrMalformed, key, val)
				}
				if key == "offset" {
					ext.Offset = x
				} else {
					ext.Length = x
				}
			}
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	if external {
		if extErr != nil {
			return t, fmt.Errorf("tensor %s: %w", t.Name, extErr)
		}
		if ext.Location == "" {
			return t, fmt.Errorf("tensor %s: %w: external data without location", t.Name, ErrMalformed)
		}
		if ext.Length == 0 {
			ext.Length = t.NumElements() * int64(t.Type.Size())
		}
		t.External = &ext
	}
	return t, nil
}

func decodeValueInfo(b []byte) (ValueInfo, error) {
	var v ValueInfo
	err := fields(b, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch n {
		case valueInfoName:
			v.Name = string(m)
		case valueInfoType:
			return fields(m, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
				if n != typeTensorType || typ != protowire.BytesType {
					return nil
				}
				return fields(m, func(n protowire.Number, typ protowire.Type, x uint64, m []byte) error {
					switch {
					case n == tensorElemType && typ == protowire.VarintType:
						v.Type = DataType(x)
					case n == tensorTypeShape && typ == protowire.BytesType:
						v.Dims = []Dim{}
						return fields(m, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
							if n != shapeDim || typ != protowire.BytesType {
								return nil
							}
							d := Dim{Value: -1}
							if err := fields(m, func(n protowire.Number, typ protowire.Type, x uint64, m []byte) error {
								switch {
								case n == dimValue && typ == protowire.VarintType:
									d.Value = int64(x)
								case n == dimParam && typ == protowire.BytesType:
									d.Param = string(m)
								}
								return nil
							}); err != nil {
								return err
							}
							if d.Param != "" {
								d.Value = 0
							}
							v.Dims = append(v.Dims, d)
							return nil
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return v, err
}

// ReadInitializers reads every initializer of an ONNX file with its data:
// inline raw_data, float_data/int64_data fields, or external data (read
// from the file beside the model). Intended for small models and tests.
func ReadInitializers(path string) ([]Tensor, error) {
	var out []Tensor
	err := EachInitializer(path, func(t Tensor) error {
		out = append(out, t)
		return nil
	})
	return out, err
}

// EachInitializer calls fn with every initializer of an ONNX file, in file
// order, with its data (external data read from the file beside the model
// one tensor at a time, so only one external tensor is in memory at once).
func EachInitializer(path string, fn func(t Tensor) error) error {
	ts, err := InitializerIndex(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	for i := range ts {
		t := ts[i]
		ts[i] = Tensor{}
		if t.External != nil {
			if err := LoadExternal(dir, &t); err != nil {
				return fmt.Errorf("onnxpb: %s: tensor %s: %w", path, t.Name, err)
			}
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

// InitializerIndex reads every initializer of an ONNX file: inline tensors
// with their data, external ones with their location only (LoadExternal
// reads them).
func InitializerIndex(path string) ([]Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnxpb: %w", err)
	}
	var out []Tensor
	err = fields(b, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
		if n != modelGraph || typ != protowire.BytesType {
			return nil
		}
		return fields(m, func(n protowire.Number, typ protowire.Type, _ uint64, m []byte) error {
			if n != graphInitializer || typ != protowire.BytesType {
				return nil
			}
			t, err := decodeTensor(m)
			if err != nil {
				return fmt.Errorf("initializer: %w", err)
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("onnxpb: %s: %w", path, err)
	}
	return out, nil
}

// LoadExternal reads an external tensor's bytes into t.Raw from its file
// in dir (the model file's directory).
func LoadExternal(dir string, t *Tensor) error {
	if t.External == nil {
		return nil
	}
	if loc := t.External.Location; filepath.IsAbs(loc) || loc != filepath.Clean(loc) || strings.HasPrefix(loc, "..") {
		return fmt.Errorf("external data location %q outside the model directory", loc)
	}
	f, err := os.Open(filepath.Join(dir, t.External.Location))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil && t.External.Offset+t.External.Length > st.Size() {
		err = fmt.Errorf("%s has %d bytes, tensor needs %d", t.External.Location, st.Size(), t.External.Offset+t.External.Length)
	}
	if err == nil {
		t.Raw = make([]byte, t.External.Length)
		_, err = f.ReadAt(t.Raw, t.External.Offset)
	}
	if err != nil {
		return fmt.Errorf("external data: %w", err)
	}
	return nil
}

// decodeTensor decodes a TensorProto including its inline data, normalised
// to little-endian Raw bytes.
func decodeTensor(b []byte) (Tensor, error) {
	t, err := decodeTensorHeader(b)
	if err != nil {
		return t, err
	}
	var raw []byte
	haveRaw := false
	err = fields(b, func(n protowire.Number, typ protowire.Type, v uint64, m []byte) error {
		switch {
		case n == tensorRawData && typ == protowire.BytesType:
			raw, haveRaw = append([]byte(nil), m...), true
		case n == tensorFloatData && typ == protowire.Fixed32Type:
			raw = binary.LittleEndian.AppendUint32(raw, uint32(v))
		case n == tensorFloatData && typ == protowire.BytesType:
			raw = append(raw, m...) // packed fixed32 is already little-endian
		case (n == tensorInt64Data || n == tensorInt32Data) && typ == protowire.VarintType:
			raw = appendInt(raw, t.Type, int64(v))
		case (n == tensorInt64Data || n == tensorInt32Data) && typ == protowire.BytesType:
			for len(m) > 0 {
				x, l := protowire.ConsumeVarint(m)
				if l < 0 {
					return fmt.Errorf("%w: packed integers", ErrMalformed)
				}
				raw = appendInt(raw, t.Type, int64(x))
				m = m[l:]
			}
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	if t.External == nil {
		want := t.NumElements() * int64(t.Type.Size())
		if int64(len(raw)) != want && !(haveRaw && t.Type.Size() == 0) {
			return t, fmt.Errorf("tensor %s: %w: %d data bytes for %v %v", t.Name, ErrMalformed, len(raw), t.Type, t.Dims)
		}
		t.Raw = raw
	}
	return t, nil
}

// appendInt appends an int32_data/int64_data value in the tensor's element
// encoding (int32_data also carries int8/16, uint8/16, bool and float16 bits).
func appendInt(b []byte, t DataType, v int64) []byte {
	switch t.Size() {
	case 1:
		return append(b, byte(v))
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(v))
	case 4:
		return binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(b, uint64(v))
}
