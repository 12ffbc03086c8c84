package qwen2vl

import (
	"context"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// TokenLogits scores a completion under the model with one full forward
// pass (no KV cache): it returns len(completion) rows of vocabulary-width
// float32 logits, row k being the logits that predict completion[k] from the
// prompt and completion[:k] (the decoder's output at position
// len(p.InputIDs)-1+k). Log-softmax of row k at completion[k] is the token's
// log-probability, as the GRPO trainer needs. Completion tokens get the
// decode-time positions (cache length + rope delta).
func (r *Runner) TokenLogits(ctx context.Context, p *Prepared, completion []int) ([]float32, error) {
	if len(completion) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lay := r.lay
	S, C := len(p.InputIDs), len(completion)
	T := S + C
	H, V, KV, HD := lay.hidden, lay.vocab, lay.kvHeads, lay.headDim
	ids := make([]int64, T)
	mask := make([]int64, T)
	pos := make([]int64, 3*T)
	for i, id := range p.InputIDs {
		ids[i], mask[i] = int64(id), 1
		for d := 0; d < 3; d++ {
			pos[d*T+i] = p.PositionIDs[d][i]
		}
	}
	for k, id := range completion {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("qwen2vl: completion token %d = %d outside the vocabulary (%d)", k, id, V)
		}
		ids[S+k], mask[S+k] = int64(id), 1
		for d := 0; d < 3; d++ {
			pos[d*T+S+k] = int64(S+k) + p.RopeDelta
		}
	}
	emb := newDBuf(lay.embedDT, T*H)
	if err := r.runEmbed(ids, 1, T, emb); err != nil {
		return nil, err
	}
	if err := r.mergeImages([]*genRow{{prep: p}}, ids, T, emb); err != nil {
		return nil, err
	}
	keep := T
	var vals []ort.Value
	defer func() { destroy(vals) }()
	track := func(v ort.Value, err error) (ort.Value, error) {
		if v != nil {
			vals = append(vals, v)
		}
		return v, err
	}
	embT, e1 := track(emb.tensor(ort.NewShape(1, int64(T), int64(H))))
	maskT, e2 := track(ort.NewTensor(ort.NewShape(1, int64(T)), mask))
	posT, e3 := track(ort.NewTensor(ort.NewShape(3, 1, int64(T)), pos))
	if err := firstErr(e1, e2, e3); err != nil {
		return nil, fmt.Errorf("qwen2vl: forward tensors: %w", err)
	}
	inputs := []ort.Value{embT, maskT, posT}
	outputs := make([]ort.Value, len(lay.decOut))
	empty := newDBuf(lay.kvDT, 0)
	for i := 0; i < 2*lay.layers; i++ {
		v, err := track(empty.tensor(ort.NewShape(1, int64(KV), 0, int64(HD))))
		if err != nil {
			return nil, fmt.Errorf("qwen2vl: empty KV cache: %w", err)
		}
		inputs = append(inputs, v)
		pres, err := track(newDBuf(lay.kvDT, KV*T*HD).tensor(ort.NewShape(1, int64(KV), int64(T), int64(HD))))
		if err != nil {
			return nil, fmt.Errorf("qwen2vl: KV cache: %w", err)
		}
		outputs[1+i] = pres
	}
	if lay.logitsToKeep {
		keep = C + 1
		k, err := track(ort.NewScalar[int64](int64(keep)))
		if err != nil {
			return nil, fmt.Errorf("qwen2vl: num_logits_to_keep: %w", err)
		}
		inputs = append(inputs, k)
	}
	logits := newDBuf(lay.logitsDT, keep*V)
	lt, err := track(logits.tensor(ort.NewShape(1, int64(keep), int64(V))))
	if err != nil {
		return nil, fmt.Errorf("qwen2vl: logits: %w", err)
	}
	outputs[0] = lt
	if err := r.decoder.Run(inputs, outputs); err != nil {
		return nil, fmt.Errorf("qwen2vl: %s: decoder: %w", r.describe(), err)
	}
	out := make([]float32, C*V)
	first := keep - C - 1 // row of position S-1 within the returned logits
	for k := 0; k < C; k++ {
		logits.readF32(out[k*V:(k+1)*V], (first+k)*V)
	}
	return out, nil
}
