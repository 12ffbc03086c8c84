package grpo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestMatmulVJP compares the contraction-based DotGeneral gradient with
// GoMLX's own on MatMul layouts the fixture uses (batched, transposed,
// several contracting and batch axes).
func TestMatmulVJP(t *testing.T) {
	installDotVJP()
	backend, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	randT := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	cases := []struct {
		name           string
		ld, rd         []int
		lc, lb, rc, rb []int
	}{
		{"matmul", []int{5, 3}, []int{3, 4}, []int{1}, nil, []int{0}, nil},
		{"seq", []int{2, 5, 3}, []int{3, 4}, []int{2}, nil, []int{0}, nil},
		{"transB", []int{2, 5, 3}, []int{4, 3}, []int{2}, nil, []int{1}, nil},
		{"attn", []int{2, 3, 5, 4}, []int{2, 3, 6, 4}, []int{3}, []int{0, 1}, []int{3}, []int{0, 1}},
		{"attnT", []int{2, 3, 5, 4}, []int{2, 3, 4, 6}, []int{3}, []int{0, 1}, []int{2}, []int{0, 1}},
		{"two contracting", []int{3, 4, 5}, []int{5, 2, 4}, []int{2, 1}, nil, []int{0, 2}, nil},
		{"batch middle", []int{4, 2, 3}, []int{3, 2, 5}, []int{2}, []int{1}, []int{0}, []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, r, w := randT(c.ld...), randT(c.rd...), (*tensors.Tensor)(nil)
			fn := func(l, r, w *Node) []*Node {
				y := DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)
				loss := ReduceAllSum(Mul(y, w))
				return Gradient(loss, l, r)
			}
			// Output shape for the weights: build once.
			shapeExec := MustNewExec(backend, func(l, r *Node) *Node { return DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb) })
			y := shapeExec.MustExec(l, r)[0]
			w = randT(y.Shape().Dimensions...)
			fast := MustNewExec(backend, fn).MustExec(l, r, w)
			VJPRegistration[NodeTypeDotGeneral] = originalDotVJP
			slow := MustNewExec(backend, fn).MustExec(l, r, w)
			VJPRegistration[NodeTypeDotGeneral] = matmulVJP
			for i := range 2 {
				a, _ := tensors.CopyFlatData[float32](fast[i])
				b, _ := tensors.CopyFlatData[float32](slow[i])
				if len(a) != len(b) {
					t.Fatalf("grad %d: sizes %d vs %d", i, len(a), len(b))
				}
				for j := range a {
					if math.Abs(float64(a[j]-b[j])) > 1e-4 {
						t.Fatalf("grad %d[%d]: %v vs GoMLX %v", i, j, a[j], b[j])
					}
				}
			}
		})
	}
}

// TestDotGeneralAxes reads the axes of DotGeneral nodes built with known
// axes through dotGeneralAxes, the engine's one reflective access to
// GoMLX's unexported fields. If a GoMLX upgrade renames or restructures
// them this fails, instead of matmulVJP silently falling back to GoMLX's
// slow gradient.
func TestDotGeneralAxes(t *testing.T) {
	backend, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	cases := []struct {
		ld, rd []int
		want   dotAxes
	}{
		{[]int{5, 3}, []int{3, 4}, dotAxes{[]int{1}, []int{}, []int{0}, []int{}}},
		{[]int{2, 3, 5, 4}, []int{2, 3, 4, 6}, dotAxes{[]int{3}, []int{0, 1}, []int{2}, []int{0, 1}}},
		{[]int{3, 4, 5}, []int{5, 2, 4}, dotAxes{[]int{2, 1}, []int{}, []int{0, 2}, []int{}}},
	}
	for _, c := range cases {
		var got dotAxes
		var ok bool
		exec := MustNewExec(backend, func(l, r *Node) *Node {
			y := DotGeneral(l, c.want.lhsContract, c.want.lhsBatch, r, c.want.rhsContract, c.want.rhsBatch)
			got, ok = dotGeneralAxes(y)
			return y
		})
		exec.MustExec(tensors.FromShape(shapes.Make(dtypes.Float32, c.ld...)), tensors.FromShape(shapes.Make(dtypes.Float32, c.rd...)))
		if !ok {
			t.Fatalf("dotGeneralAxes cannot read GoMLX's DotGeneral node (%v·%v): the unexported fields it reflects on "+
				"(Node.inputs → *nodeInputsDotGeneral{lhsContractingAxes, lhsBatchAxes, rhsContractingAxes, rhsBatchAxes}) changed; "+
				"update dotGeneralAxes or use a public accessor if the new GoMLX has one", c.ld, c.rd)
		}
		for _, p := range [][2][]int{{got.lhsContract, c.want.lhsContract}, {got.lhsBatch, c.want.lhsBatch}, {got.rhsContract, c.want.rhsContract}, {got.rhsBatch, c.want.rhsBatch}} {
			if !slices.Equal(p[0], p[1]) {
				t.Fatalf("%v·%v: dotGeneralAxes read %+v, want %+v", c.ld, c.rd, got, c.want)
			}
		}
	}
}
