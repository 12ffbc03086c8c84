// Package onnxpb writes and reads ONNX model files (onnx.proto ModelProto)
// with google.golang.org/protobuf/encoding/protowire, without generated
// protobuf types: an encoder for the subset medbench's fixtures need (graphs,
// nodes, attributes, initializers inline or in external data files, symbolic
// dims) and a decoder that extracts what `medbench model inspect` and layout
// checks need (I/O names, dtypes and dims, opsets, parameter counts, external
// data references, op histogram).
//
// Field numbers follow onnx/onnx.proto (stable since IR version 3).
package onnxpb

import "fmt"

// DataType is onnx.proto's TensorProto.DataType.
type DataType int32

// Element types used by medbench models.
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Uint16    DataType = 4
	Int16     DataType = 5
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Bool      DataType = 9
	Float16   DataType = 10
	Double    DataType = 11
	Uint32    DataType = 12
	Uint64    DataType = 13
	BFloat16  DataType = 16
)

var dtypeNames = map[DataType]string{
	Undefined: "undefined", Float: "float32", Uint8: "uint8", Int8: "int8", Uint16: "uint16",
	Int16: "int16", Int32: "int32", Int64: "int64", String: "string", Bool: "bool",
	Float16: "float16", Double: "float64", Uint32: "uint32", Uint64: "uint64", BFloat16: "bfloat16",
}

// String returns the numpy-style name of the type (float32, int64, ...).
func (d DataType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Size is the element size in bytes (0 for string and unknown types).
func (d DataType) Size() int {
	switch d {
	case Float, Int32, Uint32:
		return 4
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Int64, Double, Uint64:
		return 8
	}
	return 0
}

// IsFloat reports whether d is a floating-point type.
func (d DataType) IsFloat() bool {
	return d == Float || d == Float16 || d == Double || d == BFloat16
}

// Dim is one dimension of a value's shape: a fixed size (Value >= 0), a
// named symbol (Param), or unknown (Value < 0 and no Param).
type Dim struct {
	Value int64
	Param string
}

// D is a fixed dimension.
func D(v int64) Dim { return Dim{Value: v} }

// Sym is a symbolic (named) dimension.
func Sym(name string) Dim { return Dim{Param: name} }

// Unknown is a dimension with neither a size nor a name.
func Unknown() Dim { return Dim{Value: -1} }

// String renders the dim as its size, its symbol, or "?".
func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value >= 0:
		return fmt.Sprint(d.Value)
	}
	return "?"
}

// ValueInfo is a graph input or output: name, element type and shape.
type ValueInfo struct {
	Name string
	Type DataType
	Dims []Dim
}

// ExternalData locates a tensor's bytes in a file beside the model.
type ExternalData struct {
	// Location is the file name, relative to the model file's directory.
	Location string
	Offset   int64
	Length   int64
}

// Tensor is an initializer or a constant: its bytes are either inline (Raw,
// little-endian) or in an external data file.
type Tensor struct {
	Name     string
	Type     DataType
	Dims     []int64
	Raw      []byte
	External *ExternalData
}

// NumElements is the product of the dims (1 for a scalar).
func (t *Tensor) NumElements() int64 { return NumElements(t.Dims) }

// NumElements is the product of dims (1 for a scalar).
func NumElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// AttrType is onnx.proto's AttributeProto.AttributeType.
type AttrType int32

// Attribute types.
const (
	AttrFloat   AttrType = 1
	AttrInt     AttrType = 2
	AttrString  AttrType = 3
	AttrTensor  AttrType = 4
	AttrFloats  AttrType = 6
	AttrInts    AttrType = 7
	AttrStrings AttrType = 8
)

// Attr is a node attribute. Type selects which value field is encoded.
type Attr struct {
	Name   string
	Type   AttrType
	F      float32
	I      int64
	S      string
	T      *Tensor
	Floats []float32
	Ints   []int64
}

// Int is an INT attribute.
func Int(name string, v int64) Attr { return Attr{Name: name, Type: AttrInt, I: v} }

// Flt is a FLOAT attribute.
func Flt(name string, v float32) Attr { return Attr{Name: name, Type: AttrFloat, F: v} }

// Ints is an INTS attribute.
func Ints(name string, v ...int64) Attr { return Attr{Name: name, Type: AttrInts, Ints: v} }

// Str is a STRING attribute.
func Str(name, v string) Attr { return Attr{Name: name, Type: AttrString, S: v} }

// TensorAttr is a TENSOR attribute.
func TensorAttr(name string, t *Tensor) Attr { return Attr{Name: name, Type: AttrTensor, T: t} }

// Node is one operator application.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// OpsetID is one operator-set import: a domain and its version.
type OpsetID struct {
	Domain  string
	Version int64
}

// MicrosoftDomain is the domain of ONNX Runtime's contrib operators
// (MatMulNBits, ...); version 1 is the only one.
const MicrosoftDomain = "com.microsoft"

// Graph is a computation graph with its initializers and I/O declarations.
type Graph struct {
	Name         string
	Doc          string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Model is a ModelProto with an ai.onnx opset import and, optionally, more
// operator-set imports (e.g. com.microsoft for ONNX Runtime contrib ops).
type Model struct {
	IRVersion int64
	Opset     int64
	// Domains are further opset imports, written in slice order after ai.onnx.
	Domains         []OpsetID
	ProducerName    string
	ProducerVersion string
	Doc             string
	// Metadata is written as metadata_props, in slice order.
	Metadata [][2]string
	Graph    Graph
}
