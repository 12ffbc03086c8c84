package grpo

import (
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"
)

// param is one trained tensor; tied copies (the LM head duplicating the
// token embedding) share one param and receive the sum of their gradients.
type param struct {
	name   string // canonical "<session>/<initializer>"
	dims   []int
	vars   []*mlctx.Variable
	transp []bool // copy i holds the transpose of the canonical value
}

// tensorFloats copies a float32 tensor's values.
func tensorFloats(t *tensors.Tensor) ([]float32, error) {
	if t.DType() != dtypes.Float32 {
		return nil, fmt.Errorf("dtype %s", t.DType())
	}
	return tensors.CopyFlatData[float32](t)
}

// collectParams lists the trainable float32 variables and ties exact
// duplicates (equal, or equal after transposition) into one parameter.
func (e *Engine) collectParams(freeze []*regexp.Regexp) error {
	type cand struct {
		name string
		v    *mlctx.Variable
		vals []float32
		dims []int
	}
	var cands []cand
	for _, s := range sessions {
		for v := range e.ctx.In(s.scope).In(onnx.ModelScope).IterVariablesInScope() {
			name := s.scope + "/" + v.Name()
			if v.DType() != dtypes.Float32 || v.Shape().Size() == 0 {
				v.SetTrainable(false)
				continue
			}
			frozen := false
			for _, f := range freeze {
				if f.MatchString(name) {
					frozen = true
				}
			}
			if frozen {
				v.SetTrainable(false)
				continue
			}
			t, err := v.Value()
			if err != nil {
				return fmt.Errorf("grpo: variable %s: %w", name, err)
			}
			vals, err := tensorFloats(t)
			if err != nil {
				return fmt.Errorf("grpo: variable %s: %w", name, err)
			}
			cands = append(cands, cand{name, v, vals, v.Shape().Dimensions})
		}
	}
	used := make([]bool, len(cands))
	for i, c := range cands {
		if used[i] {
			continue
		}
		p := &param{name: c.name, dims: c.dims, vars: []*mlctx.Variable{c.v}, transp: []bool{false}}
		if len(c.dims) == 2 && len(c.vals) >= 64 {
			for j := i + 1; j < len(cands); j++ {
				d := cands[j]
				if used[j] || len(d.dims) != 2 || len(d.vals) != len(c.vals) {
					continue
				}
				if slices.Equal(d.dims, c.dims) && slices.Equal(d.vals, c.vals) {
					p.vars, p.transp, used[j] = append(p.vars, d.v), append(p.transp, false), true
				} else if d.dims[0] == c.dims[1] && d.dims[1] == c.dims[0] && slices.Equal(transpose(d.vals, d.dims[0], d.dims[1]), c.vals) {
					p.vars, p.transp, used[j] = append(p.vars, d.v), append(p.transp, true), true
				}
			}
		}
		e.params = append(e.params, p)
	}
	return nil
}

// transpose returns the [c, r] transpose of a row-major [r, c] matrix.
func transpose[T any](x []T, r, c int) []T {
	out := make([]T, len(x))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = x[i*c+j]
		}
	}
	return out
}

// NumParams returns the number of trained values (tied copies counted once).
func (e *Engine) NumParams() int {
	n := 0
	for _, p := range e.params {
		k := 1
		for _, d := range p.dims {
			k *= d
		}
		n += k
	}
	return n
}

// ParamNames lists the trained parameters and the copies tied to them.
func (e *Engine) ParamNames() []string {
	var out []string
	for _, p := range e.params {
		s := p.name
		for i, v := range p.vars[1:] {
			s += " = " + v.Scope() + "/" + v.Name()
			if p.transp[i+1] {
				s += "ᵀ"
			}
		}
		out = append(out, s)
	}
	return out
}

// accumulate adds one pass's parameter gradients (graph outputs in e.params
// order, one per variable copy) to the accumulators.
func (e *Engine) accumulate(grads []*tensors.Tensor) error {
	k := 0
	for _, p := range e.params {
		acc := e.grads[p.name]
		if acc == nil {
			acc = make([]float64, len(e.paramValues(p)))
			e.grads[p.name] = acc
		}
		for i := range p.vars {
			gr, err := tensors.CopyFlatData[float32](grads[k])
			k++
			if err != nil {
				return fmt.Errorf("grpo: gradient of %s: %w", p.name, err)
			}
			if p.transp[i] {
				d := grads[k-1].Shape().Dimensions
				gr = transpose(gr, d[0], d[1])
			}
			for j, v := range gr {
				acc[j] += float64(v)
			}
		}
	}
	e.nAccum++
	return nil
}

// paramValues copies p's current (canonical) values.
func (e *Engine) paramValues(p *param) []float32 {
	t := p.vars[0].MustValue()
	v, _ := tensors.CopyFlatData[float32](t)
	return v
}

// Step applies the accumulated gradients: clip to maxGradNorm, one AdamW
// update with learning rate lr, tied copies set equal, accumulators
// cleared. It returns the gradient norm before clipping.
func (e *Engine) Step(lr, maxGradNorm float64) (float64, error) {
	if e.closed {
		return 0, errClosed
	}
	if e.nAccum == 0 {
		return 0, fmt.Errorf("grpo: optimizer step without gradients")
	}
	norm := ClipGradNorm(e.grads, maxGradNorm)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("grpo: gradient norm is %v", norm)
	}
	values := make(map[string][]float32, len(e.params))
	for _, p := range e.params {
		values[p.name] = e.paramValues(p)
	}
	if err := e.opt.Update(values, e.grads, lr); err != nil {
		return norm, err
	}
	for _, p := range e.params {
		if err := e.setParam(p, values[p.name]); err != nil {
			return norm, err
		}
	}
	clear(e.grads)
	e.nAccum = 0
	return norm, nil
}

// setParam sets every copy of p to vals (transposed where tied so).
func (e *Engine) setParam(p *param, vals []float32) error {
	for i, v := range p.vars {
		x := vals
		dims := p.dims
		if p.transp[i] {
			x = transpose(vals, p.dims[0], p.dims[1])
			dims = []int{p.dims[1], p.dims[0]}
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(slices.Clone(x), dims...)); err != nil {
			return fmt.Errorf("grpo: set %s: %w", p.name, err)
		}
	}
	return nil
}
