package grpo

import (
	"reflect"
	"slices"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX v0.26's DotGeneral gradient multiplies broadcast operands and then
// reduces (materializing e.g. [B·S, D_in, D_out] for every MatMul), which
// makes one backward pass of the tiny fixture take ~13 s on 2 cores. The
// gradient of a contraction is itself a contraction: matmulVJP computes
// ∂/∂lhs = v·rhsᵀ and ∂/∂rhs = lhsᵀ·v as DotGeneral calls (same math,
// ~50× faster). It is installed into GoMLX's VJPRegistration once per
// process (installDotVJP); the original stays the fallback for degenerate
// shapes, and TestMatmulVJP checks both agree.
//
// Replacing the entry is GoMLX's own public mechanism: VJPRegistration is an
// exported map documented as "one can dynamically change this". These two
// variables are the package's only global state, because that registry is
// itself process-wide.
var (
	installOnce    sync.Once
	originalDotVJP VJP
)

// installDotVJP replaces GoMLX's DotGeneral gradient by matmulVJP, once
// per process.
func installDotVJP() {
	installOnce.Do(func() {
		originalDotVJP = VJPRegistration[NodeTypeDotGeneral]
		VJPRegistration[NodeTypeDotGeneral] = matmulVJP
	})
}

// dotAxes are a DotGeneral node's contracting and batch axes.
type dotAxes struct {
	lhsContract, lhsBatch, rhsContract, rhsBatch []int
}

// dotGeneralAxes reads a DotGeneral node's axes. It is the one place that
// reaches into GoMLX's unexported fields, through reflection, because the
// pinned GoMLX (v0.26.0) has no public way to get them: *graph.Node exposes
// Type, Inputs (the operand nodes only), Shape and String, and the axes
// live in the unexported node.inputs (*nodeInputsDotGeneral:
// lhsContractingAxes, lhsBatchAxes, rhsContractingAxes, rhsBatchAxes),
// which GoMLX's own dotGeneralVJP reads as package-internal code. Its one
// public custom-gradient hook, IdentityWithCustomGradient, applies to an
// Identity node the caller creates, whereas these DotGenerals are created
// inside onnx-gomlx's MatMul/Gemm converters, out of the engine's reach.
// When the fields are not found, ok is false and matmulVJP falls back to
// GoMLX's gradient (correct, slow); TestDotGeneralAxes fails loudly when a
// GoMLX upgrade renames or moves them.
func dotGeneralAxes(node *Node) (axes dotAxes, ok bool) {
	v := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !v.IsValid() || v.IsNil() {
		return dotAxes{}, false
	}
	p := v.Elem()
	if p.Kind() != reflect.Pointer {
		return dotAxes{}, false
	}
	p = p.Elem()
	if p.Kind() != reflect.Struct {
		return dotAxes{}, false
	}
	ints := func(name string) ([]int, bool) {
		f := p.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Int {
			return nil, false
		}
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out, true
	}
	var ok1, ok2, ok3, ok4 bool
	axes.lhsContract, ok1 = ints("lhsContractingAxes")
	axes.lhsBatch, ok2 = ints("lhsBatchAxes")
	axes.rhsContract, ok3 = ints("rhsContractingAxes")
	axes.rhsBatch, ok4 = ints("rhsBatchAxes")
	return axes, ok1 && ok2 && ok3 && ok4
}

// crossAxes are the axes of a rank-rank operand that are neither
// contracted nor batch axes, ascending.
func crossAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := 0; a < rank; a++ {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

// matmulVJP is DotGeneral's gradient written as two DotGeneral calls (see
// the comment at the top of this file).
func matmulVJP(node *Node, vjpOutputs []*Node, outShape shapes.Shape) []*Node {
	in := node.Inputs()
	axes, ok := dotGeneralAxes(node)
	if !ok || len(in) != 2 || node.Type() != NodeTypeDotGeneral {
		return originalDotVJP(node, vjpOutputs, outShape)
	}
	lc, lb, rc, rb := axes.lhsContract, axes.lhsBatch, axes.rhsContract, axes.rhsBatch
	lhs, rhs := in[0], in[1]
	lx := crossAxes(lhs.Rank(), lc, lb)
	rx := crossAxes(rhs.Rank(), rc, rb)
	if len(lx) == 0 || len(rx) == 0 || len(lc) == 0 {
		return originalDotVJP(node, vjpOutputs, outShape)
	}
	v := vjpOutputs[0] // [batch..., lhsCross..., rhsCross...]
	nb := len(lb)
	iota := func(from, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = from + i
		}
		return out
	}
	vBatch := iota(0, nb)
	vL := iota(nb, len(lx))
	vR := iota(nb+len(lx), len(rx))
	grad := func(this *Node, thisBatch, thisContract, thisCross []int, vOther []int, other *Node, otherBatch, otherContract, otherCross []int) *Node {
		// r: [batch..., thisCross..., otherContract (ascending other axes)...]
		r := DotGeneral(v, vOther, vBatch, other, otherCross, otherBatch)
		perm := make([]int, this.Rank())
		for i, a := range thisBatch {
			perm[a] = i
		}
		for i, a := range thisCross {
			perm[a] = nb + i
		}
		free := slices.Clone(otherContract)
		slices.Sort(free)
		for j, oa := range free {
			k := slices.Index(otherContract, oa)
			perm[thisContract[k]] = nb + len(thisCross) + j
		}
		identity := true
		for i, p := range perm {
			if i != p {
				identity = false
			}
		}
		if identity {
			return r
		}
		return TransposeAllAxes(r, perm...)
	}
	return []*Node{
		grad(lhs, lb, lc, lx, vR, rhs, rb, rc, rx),
		grad(rhs, rb, rc, rx, vL, lhs, lb, lc, lx),
	}
}
