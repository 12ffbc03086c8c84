package grpo

import (
	"context"
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX graph building reads best unqualified
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"
)

// graphKind selects what graphFn computes beyond log-probs and entropies.
type graphKind int

const (
	// graphLogProbs: log-probs and entropies only.
	graphLogProbs graphKind = iota
	// graphGrad: also ∂Σ(coef·logp)/∂θ for a given coef input [B,C].
	graphGrad
	// graphOnPolicy: also ∂Σ(coef·logp)/∂θ with coef = lin + klw·(1 −
	// exp(ref − logp)) formed from this pass's log-probs (inputs lin, klw,
	// ref [B,C]: OnPolicyCoefs), so that one pass replaces LogProbs then
	// Backward on the policy that generated the batch.
	graphOnPolicy
)

// graphFn builds the engine's computation: vision features merged into the
// token embeddings, the decoder up to its last hidden state, the LM head on
// the completion positions only, log-softmax, the targets' log-probs and
// the entropies, plus the gradients kind asks for. No Slice is on the
// gradient path (simplego cannot differentiate it): positions are selected
// with Gather.
func (e *Engine) graphFn(kind graphKind) func(ctx *mlctx.Context, in []*Node) []*Node {
	return func(ctx *mlctx.Context, in []*Node) []*Node {
		g := in[0].Graph()
		pixels, grid, ids, mask, pos, sel, idx, cpos, targets := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]
		feats := e.models["vision"].CallGraph(ctx.In("vision"), g, map[string]*Node{"pixel_values": pixels, "grid_thw": grid})[0]
		emb := e.models["embed"].CallGraph(ctx.In("embed"), g, map[string]*Node{"input_ids": ids})[0] // [B,S,D]
		img := Gather(feats, ExpandAxes(idx, -1))                                                     // [B,S,D]
		emb = Add(Mul(emb, OneMinus(sel)), Mul(img, sel))
		hidden := e.models["decoder"].CallGraph(ctx.In("decoder"), g, map[string]*Node{
			"inputs_embeds": emb, "attention_mask": mask, "position_ids": pos,
		}, e.head.hidden)[0]
		D := hidden.Shape().Dimensions[hidden.Rank()-1]
		hidden = Reshape(hidden, -1, D)            // [B·S,D]
		hc := Gather(hidden, ExpandAxes(cpos, -1)) // [B,C,D]
		w := ctx.In("decoder").In(onnx.ModelScope).GetVariable(onnx.SafeVarName(e.head.weight)).ValueGraph(g)
		wAxis := 0
		if e.head.transB {
			wAxis = 1
		}
		logits := DotGeneral(hc, []int{2}, nil, w, []int{wAxis}, nil) // [B,C,V]
		lsm := LogSoftmax(logits, -1)
		logp := ReduceSum(Mul(lsm, OneHot(targets, e.head.vocab, dtypes.Float32)), -1)
		ent := Neg(ReduceSum(Mul(Exp(lsm), lsm), -1))
		out := []*Node{StopGradient(logp), StopGradient(ent)}
		if kind != graphLogProbs {
			coef := in[9]
			if kind == graphOnPolicy {
				lin, klw, ref := in[9], in[10], in[11]
				// d = ref − logp on tokens with a KL weight, 0 elsewhere
				// (padding's logp is arbitrary: exp must not overflow there).
				zero := ZerosLike(klw)
				d := Where(NotEqual(klw, zero), Sub(ref, StopGradient(logp)), zero)
				coef = Add(lin, Mul(klw, OneMinus(Exp(d))))
			}
			loss := ReduceAllSum(Mul(logp, StopGradient(coef)))
			nodes := make([]*Node, 0, len(e.params))
			for _, p := range e.params {
				for _, v := range p.vars {
					nodes = append(nodes, v.ValueGraph(g))
				}
			}
			out = append(out, Gradient(loss, nodes...)...)
		}
		return out
	}
}

// run executes an exec, turning GoMLX panics into errors.
func run(exec *mlctx.Exec, args []any) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("grpo: GoMLX: %v", r)
		}
	}()
	out, err = exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("grpo: GoMLX: %w", err)
	}
	return out, nil
}

// perToken extracts [b][k] values of the completion tokens from [B,C].
func perToken(t *tensors.Tensor, g Group, C int) ([][]float64, error) {
	flat, err := tensors.CopyFlatData[float32](t)
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	out := make([][]float64, len(g.Completions))
	for b, c := range g.Completions {
		out[b] = make([]float64, len(c))
		for k := range c {
			out[b][k] = float64(flat[b*C+k])
		}
	}
	return out, nil
}

// LogProbs returns the current policy's per-token log-probs and entropies
// of every completion of the group.
func (e *Engine) LogProbs(ctx context.Context, g Group) (logp, entropy [][]float64, err error) {
	return e.logProbs(ctx, e.logpExec, g)
}

// RefLogProbs returns the frozen reference policy's per-token log-probs.
func (e *Engine) RefLogProbs(ctx context.Context, g Group) ([][]float64, error) {
	if e.closed {
		return nil, errClosed
	}
	if e.refExec == nil {
		return nil, fmt.Errorf("grpo: engine has no reference model (EngineConfig.Reference)")
	}
	lp, _, err := e.logProbs(ctx, e.refExec, g)
	return lp, err
}

// logProbs runs a log-prob executable (policy or reference) on g.
func (e *Engine) logProbs(ctx context.Context, exec *mlctx.Exec, g Group) (logp, entropy [][]float64, err error) {
	if e.closed {
		return nil, nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	_, logp, entropy, err = e.runLogProbs(exec, g)
	if err != nil {
		return nil, nil, err
	}
	return logp, entropy, nil
}

// runLogProbs runs exec on g's tensors (with the per-token inputs coef) and
// returns its outputs with the per-token log-probs and entropies (outputs 0
// and 1) split by completion.
func (e *Engine) runLogProbs(exec *mlctx.Exec, g Group, coef ...[][]float64) (out []*tensors.Tensor, logp, entropy [][]float64, err error) {
	gt, err := e.tensorsFor(g, coef...)
	if err != nil {
		return nil, nil, nil, err
	}
	if out, err = run(exec, gt.args); err != nil {
		return nil, nil, nil, err
	}
	if logp, err = perToken(out[0], g, gt.C); err != nil {
		return nil, nil, nil, err
	}
	if entropy, err = perToken(out[1], g, gt.C); err != nil {
		return nil, nil, nil, err
	}
	return out, logp, entropy, nil
}

// Backward accumulates ∇θ Σ_b,k coef[b][k]·logp[b][k] over the group's
// completions (coef = ∂Loss/∂logp from Loss or SFTLoss) and returns the
// log-probs it was computed at.
func (e *Engine) Backward(ctx context.Context, g Group, coef [][]float64) ([][]float64, error) {
	if e.closed {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(coef) != len(g.Completions) {
		return nil, fmt.Errorf("grpo: %d coefficient rows for %d completions", len(coef), len(g.Completions))
	}
	for b, c := range g.Completions {
		if len(coef[b]) != len(c) {
			return nil, fmt.Errorf("grpo: completion %d: %d coefficients for %d tokens", b, len(coef[b]), len(c))
		}
	}
	gt, err := e.tensorsFor(g, coef)
	if err != nil {
		return nil, err
	}
	out, err := run(e.gradExec, gt.args)
	if err != nil {
		return nil, err
	}
	logp, err := perToken(out[0], g, gt.C)
	if err != nil {
		return nil, err
	}
	if err := e.accumulate(out[2:]); err != nil {
		return nil, err
	}
	return logp, nil
}

// BackwardOnPolicy is LogProbs and Backward in one pass, for the policy
// that generated the completions (importance ratio exactly 1): it
// accumulates the gradient of Σ coef·logp with coef formed from this pass's
// log-probs by c (OnPolicy, one per completion), and returns the log-probs
// and entropies. The gradient equals Backward's with the coefficients Loss
// computes from those log-probs (tested), at the cost of one forward pass
// less.
func (e *Engine) BackwardOnPolicy(ctx context.Context, g Group, c []OnPolicyCoefs) (logp, entropy [][]float64, err error) {
	if e.closed {
		return nil, nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if len(c) != len(g.Completions) {
		return nil, nil, fmt.Errorf("grpo: %d coefficient rows for %d completions", len(c), len(g.Completions))
	}
	lin, klw, ref := make([][]float64, len(c)), make([][]float64, len(c)), make([][]float64, len(c))
	for b, cb := range c {
		n := len(g.Completions[b])
		if len(cb.Lin) != n || len(cb.KLW) != n || len(cb.Ref) != n {
			return nil, nil, fmt.Errorf("grpo: completion %d: coefficients of %d/%d/%d tokens for %d tokens", b, len(cb.Lin), len(cb.KLW), len(cb.Ref), n)
		}
		lin[b], klw[b], ref[b] = cb.Lin, cb.KLW, cb.Ref
	}
	out, logp, entropy, err := e.runLogProbs(e.onPolicyExec, g, lin, klw, ref)
	if err != nil {
		return nil, nil, err
	}
	if err := e.accumulate(out[2:]); err != nil {
		return nil, nil, err
	}
	return logp, entropy, nil
}
