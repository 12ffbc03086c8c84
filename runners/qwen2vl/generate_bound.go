package qwen2vl

import (
	"context"
	"fmt"
	"slices"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medbench/medbench/ort/ortbind"
)

// KV cache placement (Config.KVCache).
const (
	// KVAuto keeps the cache on the device on CUDA and in host buffers on CPU.
	KVAuto = "auto"
	// KVHost keeps the cache in host buffers (ping-pong, no copies on CPU;
	// on CUDA every step copies it device → host → device).
	KVHost = "host"
	// KVDevice binds the decoder's present key/values to device memory and
	// feeds them back as the next step's past without a copy (IoBinding).
	// On CPU the "device" is host memory owned by ONNX Runtime, which tests
	// the same path.
	KVDevice = "device"
)

// boundState is what decodeBound takes over from the prefill.
type boundState struct {
	rows        []*genRow
	S, L        int         // padded prompt length, cache length after prefill
	past        []ort.Value // the cache after prefill, host tensors [B, KV, L, HD]
	keep        ort.Value   // num_logits_to_keep, when the graph declares it
	first       dbuf        // prefill logits
	firstOffset func(int) int
}

// decodeBound runs the decode steps with the decoder's present key/values
// bound to device memory (ortbind): each step's present becomes the next
// step's past without leaving the device; only the logits (bound to a host
// buffer) and the step's small inputs cross. The batch keeps its size until
// every row is done (finished rows are fed their last token and their
// outputs ignored), so the device cache never needs compacting; rows are
// independent, so the tokens equal the host path's.
func (r *Runner) decodeBound(ctx context.Context, st boundState) error {
	lay := r.lay
	B, H, V, NL := len(st.rows), lay.hidden, lay.vocab, lay.layers
	pastNames := lay.decIn[3 : 3+2*NL]
	presentNames := lay.decOut[1 : 1+2*NL]
	b, err := r.decoder.CreateIoBinding()
	if err != nil {
		return fmt.Errorf("qwen2vl: IoBinding: %w", err)
	}
	defer b.Destroy()

	stepIDs := make([]int64, B)
	stepPos := make([]int64, 3*B)
	stepEmb := newDBuf(lay.embedDT, B*H)
	stepLogits := newDBuf(lay.logitsDT, B*V)
	maskBuf := make([]int64, B*(st.L+r.cfg.Sampling.MaxNewTokens+1))
	idsT, e1 := ort.NewTensor(ort.NewShape(int64(B), 1), stepIDs)
	embT, e2 := stepEmb.tensor(ort.NewShape(int64(B), 1, int64(H)))
	posT, e3 := ort.NewTensor(ort.NewShape(3, int64(B), 1), stepPos)
	logitsT, e4 := stepLogits.tensor(ort.NewShape(int64(B), 1, int64(V)))
	host := []ort.Value{idsT, embT, posT, logitsT}
	defer destroy(host)
	if err := firstErr(e1, e2, e3, e4); err != nil {
		return fmt.Errorf("qwen2vl: decode tensors: %w", err)
	}
	bind := func(name string, v ort.Value) error {
		if err := b.BindInput(name, v); err != nil {
			return fmt.Errorf("qwen2vl: bind %s: %w", name, err)
		}
		return nil
	}
	if err := firstErr(bind(lay.decIn[0], embT), bind(lay.decIn[2], posT)); err != nil {
		return err
	}
	if st.keep != nil {
		if err := bind(lay.decIn[len(lay.decIn)-1], st.keep); err != nil {
			return err
		}
	}
	for i, name := range pastNames {
		if err := bind(name, st.past[i]); err != nil {
			return err
		}
	}
	var devPast []*ortbind.Value // the cache on the device, once the first step ran
	defer func() {
		for _, v := range devPast {
			v.Release()
		}
	}()

	active := slices.Clone(st.rows) // compacted in place; st.rows keeps every batch row
	slots := identity(B)
	buf := make([]float32, V)
	src, offset := st.first, st.firstOffset
	L := st.L
	stepStart := time.Now()
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		active, slots, err = r.sampleStep(active, slots, src, offset, buf, active[:0], slots[:0]) // in place: writes never pass reads
		if err != nil {
			return err
		}
		r.markStep(step, &stepStart)
		if len(active) == 0 {
			return nil
		}
		// Inputs of this step for every row of the batch (finished rows
		// repeat their last token).
		for j, rw := range st.rows {
			stepIDs[j] = int64(rw.out[len(rw.out)-1])
			for d := 0; d < 3; d++ {
				stepPos[d*B+j] = int64(L) + rw.delta
			}
			m := maskBuf[j*(L+1) : (j+1)*(L+1)]
			copy(m, rw.mask)
			for k := st.S; k <= L; k++ {
				m[k] = 1
			}
		}
		if err := r.run(r.embed, []ort.Value{idsT}, []ort.Value{embT}); err != nil {
			return fmt.Errorf("qwen2vl: %s: embed_tokens: %w", r.describe(), err)
		}
		maskT, err := ort.NewTensor(ort.NewShape(int64(B), int64(L+1)), maskBuf[:B*(L+1)])
		if err != nil {
			return fmt.Errorf("qwen2vl: attention mask: %w", err)
		}
		err = bind(lay.decIn[1], maskT)
		if err == nil {
			err = r.runBound(b, logitsT, presentNames)
		}
		maskT.Destroy()
		if err != nil {
			return err
		}
		outs, err := ortbind.Outputs(b)
		if err != nil {
			return fmt.Errorf("qwen2vl: %s: decoder outputs: %w", r.describe(), err)
		}
		if len(outs) != 1+len(presentNames) {
			for _, v := range outs {
				v.Release()
			}
			return fmt.Errorf("qwen2vl: decoder returned %d bound outputs, want %d", len(outs), 1+len(presentNames))
		}
		outs[0].Release() // the logits are in stepLogits already
		for i, name := range pastNames {
			if err := ortbind.BindInput(b, name, outs[1+i]); err != nil {
				for _, v := range outs[1+i:] {
					v.Release()
				}
				return fmt.Errorf("qwen2vl: %w", err)
			}
			if devPast != nil {
				devPast[i].Release()
			}
		}
		devPast = outs[1:]
		L++
		src, offset = stepLogits, func(slot int) int { return slot * V }
	}
}

// runBound binds the step's outputs (logits to the host buffer, present
// key/values to the device) and runs the decoder.
func (r *Runner) runBound(b *ort.IoBinding, logitsT ort.Value, presentNames []string) error {
	if err := b.BindOutput(r.lay.decOut[0], logitsT); err != nil {
		return fmt.Errorf("qwen2vl: bind logits: %w", err)
	}
	for _, name := range presentNames {
		if err := ortbind.BindOutputToDevice(b, name, r.kvMem); err != nil {
			return fmt.Errorf("qwen2vl: %w", err)
		}
	}
	t := time.Now()
	err := r.decoder.RunWithBinding(b)
	r.prof.Runtime += time.Since(t)
	if err != nil {
		return fmt.Errorf("qwen2vl: %s: decoder: %w", r.describe(), err)
	}
	return nil
}
