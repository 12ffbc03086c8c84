package onnxpb

import (
	"fmt"
)

// Builder assembles a Graph node by node. Value names it generates are
// deterministic ("<prefix>/<op>_<n>"), so the same build sequence yields the
// same bytes. Methods never fail; Graph reports the first misuse (duplicate
// value names).
type Builder struct {
	g      Graph
	n      int
	scope  string
	values map[string]bool
	err    error
}

// NewBuilder starts an empty graph with the given name.
func NewBuilder(name string) *Builder {
	return &Builder{g: Graph{Name: name}, values: map[string]bool{}}
}

// SetScope sets the prefix of generated node and value names (e.g.
// "layers.0/attn"); "" resets it.
func (b *Builder) SetScope(scope string) { b.scope = scope }

func (b *Builder) define(name string) {
	if b.values[name] && b.err == nil {
		b.err = fmt.Errorf("onnxpb: graph %s: value %q defined twice", b.g.Name, name)
	}
	b.values[name] = true
}

func (b *Builder) fresh(op string) string {
	b.n++
	if b.scope == "" {
		return fmt.Sprintf("%s_%d", op, b.n)
	}
	return fmt.Sprintf("%s/%s_%d", b.scope, op, b.n)
}

// Input declares a graph input and returns its name.
func (b *Builder) Input(name string, t DataType, dims ...Dim) string {
	b.define(name)
	b.g.Inputs = append(b.g.Inputs, ValueInfo{Name: name, Type: t, Dims: nonNil(dims)})
	return name
}

// Output declares an existing value as a graph output.
func (b *Builder) Output(name string, t DataType, dims ...Dim) {
	if !b.values[name] && b.err == nil {
		b.err = fmt.Errorf("onnxpb: graph %s: output %q is not produced by any node", b.g.Name, name)
	}
	b.g.Outputs = append(b.g.Outputs, ValueInfo{Name: name, Type: t, Dims: nonNil(dims)})
}

func nonNil(d []Dim) []Dim {
	if d == nil {
		return []Dim{}
	}
	return d
}

// Initializer adds a weight tensor and returns its name.
func (b *Builder) Initializer(t Tensor) string {
	b.define(t.Name)
	b.g.Initializers = append(b.g.Initializers, t)
	return t.Name
}

// Op adds a single-output node and returns the generated output name.
func (b *Builder) Op(op string, inputs []string, attrs ...Attr) string {
	return b.OpTo(op, "", inputs, attrs...)
}

// OpTo adds a single-output node whose output has the given name (a graph
// output, say); an empty name is generated.
func (b *Builder) OpTo(op, out string, inputs []string, attrs ...Attr) string {
	name := b.fresh(op)
	if out == "" {
		out = name
	}
	b.define(out)
	b.g.Nodes = append(b.g.Nodes, Node{Name: name, OpType: op, Inputs: inputs, Outputs: []string{out}, Attrs: attrs})
	return out
}

// DomainOp adds a single-output node of an operator from another domain
// (e.g. MicrosoftDomain); the model must import that domain (Model.Domains).
func (b *Builder) DomainOp(domain, op string, inputs []string, attrs ...Attr) string {
	out := b.Op(op, inputs, attrs...)
	b.g.Nodes[len(b.g.Nodes)-1].Domain = domain
	return out
}

// OpN adds a node with n generated outputs.
func (b *Builder) OpN(op string, inputs []string, n int, attrs ...Attr) []string {
	name := b.fresh(op)
	outs := make([]string, n)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s:%d", name, i)
		b.define(outs[i])
	}
	b.g.Nodes = append(b.g.Nodes, Node{Name: name, OpType: op, Inputs: inputs, Outputs: outs, Attrs: attrs})
	return outs
}

// Const adds a Constant node holding t (t.Name is ignored) and returns its
// output name. Constants are not initializers, so importers that turn every
// initializer into a trainable variable (onnx-gomlx) keep them constant.
func (b *Builder) Const(t Tensor) string {
	name := b.fresh("Constant")
	t.Name = name + "_value"
	b.define(name)
	b.g.Nodes = append(b.g.Nodes, Node{Name: name, OpType: "Constant", Outputs: []string{name},
		Attrs: []Attr{TensorAttr("value", &t)}})
	return name
}

// ConstInt64 is a Constant int64 tensor; no dims means a 1-D tensor of len(v).
func (b *Builder) ConstInt64(v []int64, dims ...int64) string {
	if dims == nil {
		dims = []int64{int64(len(v))}
	}
	return b.Const(Tensor{Type: Int64, Dims: dims, Raw: Int64Bytes(v)})
}

// ScalarInt64 is a Constant int64 scalar.
func (b *Builder) ScalarInt64(v int64) string {
	return b.Const(Tensor{Type: Int64, Dims: []int64{}, Raw: Int64Bytes([]int64{v})})
}

// ConstFloat is a Constant float tensor of type t (Float or Float16).
func (b *Builder) ConstFloat(t DataType, v []float32, dims ...int64) string {
	if dims == nil {
		dims = []int64{int64(len(v))}
	}
	return b.Const(FloatTensor("", t, v, dims...))
}

// ScalarFloat is a Constant float scalar of type t (Float or Float16).
func (b *Builder) ScalarFloat(t DataType, v float32) string {
	return b.Const(FloatTensor("", t, []float32{v}))
}

// FloatTensor encodes v as a Float or Float16 tensor; no dims means a scalar
// when len(v) == 1 is intended, so callers pass dims explicitly otherwise.
func FloatTensor(name string, t DataType, v []float32, dims ...int64) Tensor {
	if dims == nil {
		dims = []int64{}
	}
	var raw []byte
	switch t {
	case Float16:
		raw = Float16Bytes(v)
	case Float:
		raw = Float32Bytes(v)
	default:
		panic(fmt.Sprintf("onnxpb: FloatTensor: unsupported type %v", t))
	}
	return Tensor{Name: name, Type: t, Dims: dims, Raw: raw}
}

// Graph returns the built graph, or the first error recorded while building.
func (b *Builder) Graph() (Graph, error) {
	if b.err != nil {
		return Graph{}, b.err
	}
	return b.g, nil
}
