package onnxpb

import (
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto messages used by the encoder and decoder.
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelDocString       = 6
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphDocString   = 10
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName   = 1
	attrF      = 2
	attrI      = 3
	attrS      = 4
	attrT      = 5
	attrFloats = 7
	attrInts   = 8
	attrType   = 20

	tensorDims         = 1
	tensorDataType     = 2
	tensorFloatData    = 4
	tensorInt32Data    = 5
	tensorInt64Data    = 7
	tensorName         = 8
	tensorRawData      = 9
	tensorDoubleData   = 10
	tensorExternalData = 13
	tensorDataLocation = 14

	entryKey   = 1
	entryValue = 2

	valueInfoName = 1
	valueInfoType = 2

	typeTensorType  = 1
	tensorElemType  = 1
	tensorTypeShape = 2
	shapeDim        = 1
	dimValue        = 1
	dimParam        = 2

	dataLocationExternal = 1
)

func appendString(b []byte, n protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, n protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func appendVarint(b []byte, n protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// Marshal encodes the model as an ONNX ModelProto. It checks that every
// inline tensor's byte length matches its dims and type.
func (m *Model) Marshal() ([]byte, error) {
	g, err := m.Graph.marshal()
	if err != nil {
		return nil, err
	}
	b := appendVarint(nil, modelIRVersion, m.IRVersion)
	if m.ProducerName != "" {
		b = appendString(b, modelProducerName, m.ProducerName)
	}
	if m.ProducerVersion != "" {
		b = appendString(b, modelProducerVersion, m.ProducerVersion)
	}
	if m.Doc != "" {
		b = appendString(b, modelDocString, m.Doc)
	}
	b = appendBytes(b, modelGraph, g)
	op := appendString(nil, opsetDomain, "")
	op = appendVarint(op, opsetVersion, m.Opset)
	b = appendBytes(b, modelOpsetImport, op)
	for _, d := range m.Domains {
		op := appendString(nil, opsetDomain, d.Domain)
		op = appendVarint(op, opsetVersion, d.Version)
		b = appendBytes(b, modelOpsetImport, op)
	}
	for _, kv := range m.Metadata {
		e := appendString(nil, entryKey, kv[0])
		e = appendString(e, entryValue, kv[1])
		b = appendBytes(b, modelMetadataProps, e)
	}
	return b, nil
}

// WriteFile marshals the model and writes it to path.
func WriteFile(path string, m *Model) error {
	b, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("onnxpb: %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("onnxpb: %w", err)
	}
	return nil
}

func (g *Graph) marshal() ([]byte, error) {
	var b []byte
	for i := range g.Nodes {
		n, err := g.Nodes[i].marshal()
		if err != nil {
			return nil, fmt.Errorf("graph %s: %w", g.Name, err)
		}
		b = appendBytes(b, graphNode, n)
	}
	b = appendString(b, graphName, g.Name)
	for i := range g.Initializers {
		t, err := g.Initializers[i].marshal()
		if err != nil {
			return nil, fmt.Errorf("graph %s: initializer: %w", g.Name, err)
		}
		b = appendBytes(b, graphInitializer, t)
	}
	if g.Doc != "" {
		b = appendString(b, graphDocString, g.Doc)
	}
	for _, v := range g.Inputs {
		b = appendBytes(b, graphInput, v.marshal())
	}
	for _, v := range g.Outputs {
		b = appendBytes(b, graphOutput, v.marshal())
	}
	return b, nil
}

func (n *Node) marshal() ([]byte, error) {
	var b []byte
	for _, in := range n.Inputs {
		b = appendString(b, nodeInput, in)
	}
	for _, out := range n.Outputs {
		b = appendString(b, nodeOutput, out)
	}
	if n.Name != "" {
		b = appendString(b, nodeName, n.Name)
	}
	b = appendString(b, nodeOpType, n.OpType)
	for i := range n.Attrs {
		a, err := n.Attrs[i].marshal()
		if err != nil {
			return nil, fmt.Errorf("node %s (%s): %w", n.Name, n.OpType, err)
		}
		b = appendBytes(b, nodeAttribute, a)
	}
	if n.Domain != "" {
		b = appendString(b, nodeDomain, n.Domain)
	}
	return b, nil
}

func (a *Attr) marshal() ([]byte, error) {
	b := appendString(nil, attrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = appendVarint(b, attrI, a.I)
	case AttrString:
		b = appendString(b, attrS, a.S)
	case AttrTensor:
		if a.T == nil {
			return nil, fmt.Errorf("attribute %s: nil tensor", a.Name)
		}
		t, err := a.T.marshal()
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
		}
		b = appendBytes(b, attrT, t)
	case AttrFloats:
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, attrFloats, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttrInts:
		for _, v := range a.Ints {
			b = appendVarint(b, attrInts, v)
		}
	default:
		return nil, fmt.Errorf("attribute %s: unsupported type %d", a.Name, a.Type)
	}
	return appendVarint(b, attrType, int64(a.Type)), nil
}

func (t *Tensor) marshal() ([]byte, error) {
	var b []byte
	for _, d := range t.Dims {
		if d < 0 {
			return nil, fmt.Errorf("tensor %s: negative dim %d", t.Name, d)
		}
		b = appendVarint(b, tensorDims, d)
	}
	b = appendVarint(b, tensorDataType, int64(t.Type))
	b = appendString(b, tensorName, t.Name)
	want := t.NumElements() * int64(t.Type.Size())
	if t.External != nil {
		if t.Raw != nil {
			return nil, fmt.Errorf("tensor %s: both inline and external data", t.Name)
		}
		if t.External.Length != want {
			return nil, fmt.Errorf("tensor %s: external length %d, want %d for %v %v", t.Name, t.External.Length, want, t.Type, t.Dims)
		}
		for _, kv := range [][2]string{
			{"location", t.External.Location},
			{"offset", fmt.Sprint(t.External.Offset)},
			{"length", fmt.Sprint(t.External.Length)},
		} {
			e := appendString(nil, entryKey, kv[0])
			e = appendString(e, entryValue, kv[1])
			b = appendBytes(b, tensorExternalData, e)
		}
		return appendVarint(b, tensorDataLocation, dataLocationExternal), nil
	}
	if int64(len(t.Raw)) != want {
		return nil, fmt.Errorf("tensor %s: %d bytes of data, want %d for %v %v", t.Name, len(t.Raw), want, t.Type, t.Dims)
	}
	return appendBytes(b, tensorRawData, t.Raw), nil
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Dims {
		var db []byte
		switch {
		case d.Param != "":
			db = appendString(nil, dimParam, d.Param)
		case d.Value >= 0:
			db = appendVarint(nil, dimValue, d.Value)
		}
		shape = appendBytes(shape, shapeDim, db)
	}
	tt := appendVarint(nil, tensorElemType, int64(v.Type))
	if v.Dims != nil {
		tt = appendBytes(tt, tensorTypeShape, shape)
	}
	typ := appendBytes(nil, typeTensorType, tt)
	b := appendString(nil, valueInfoName, v.Name)
	return appendBytes(b, valueInfoType, typ)
}
