package qwen2vl

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"time"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// genRow is one sequence of a batch.
type genRow struct {
	idx    int // index into the caller's requests
	prep   *Prepared
	rng    *rand.Rand
	ctx    []int // prompt + generated ids (repetition penalty context)
	out    []int
	reason string
	end    time.Time
	first  time.Time // when the first token was sampled
	delta  int64     // rope delta of the padded row
	mask   []int64   // the padded prompt's attention mask row
}

// prefillLogitsBudget bounds the logits one prefill chunk may produce when
// the graph cannot keep only the last position.
const prefillLogitsBudget = 256 << 20

func destroy(vs []ort.Value) {
	for i, v := range vs {
		if v != nil {
			v.Destroy()
			vs[i] = nil
		}
	}
}

// kvSet is one side of the ping-pong KV cache: per layer a key and a value
// buffer of capacity rows × kv_heads × maxLen × head_dim.
type kvSet []dbuf

// generate runs prefill and decoding for the rows as one left-padded batch.
func (r *Runner) generate(ctx context.Context, rows []*genRow) error {
	genStart := time.Now()
	lay := r.lay
	tok := r.meta.tok
	B := len(rows)
	prompts := make([][]int, B)
	var grids [][3]int64
	for i, row := range rows {
		prompts[i] = row.prep.InputIDs
		grids = append(grids, row.prep.GridTHW...)
		row.ctx = make([]int, len(row.prep.InputIDs), len(row.prep.InputIDs)+r.cfg.Sampling.MaxNewTokens)
		copy(row.ctx, row.prep.InputIDs)
		row.out = make([]int, 0, r.cfg.Sampling.MaxNewTokens)
	}
	ids, mask, S := leftPad(prompts, tok.pad)
	pos, deltas, err := ropeIndex(ids, mask, B, S, grids, tok)
	if err != nil {
		return err
	}
	for i, row := range rows {
		row.delta = deltas[i]
		row.mask = mask[i*S : (i+1)*S]
	}
	H, V, KV, HD, NL := lay.hidden, lay.vocab, lay.kvHeads, lay.headDim, lay.layers
	maxNew := r.cfg.Sampling.MaxNewTokens
	maxLen := S + maxNew

	// 1. embeddings of the padded prompt, image features merged in.
	emb := newDBuf(lay.embedDT, B*S*H)
	if err := r.runEmbed(ids, B, S, emb); err != nil {
		return err
	}
	if err := r.mergeImages(rows, ids, S, emb); err != nil {
		return err
	}

	// 2. KV ping-pong buffers, sized for the whole generation.
	sets := [2]kvSet{make(kvSet, 2*NL), make(kvSet, 2*NL)}
	for s := range sets {
		for i := range sets[s] {
			sets[s][i] = newDBuf(lay.kvDT, B*KV*maxLen*HD)
		}
	}
	cur := 0 // sets[cur] holds the cache (past)
	// One scratch shape for every KV tensor: onnxruntime_go clones the shape
	// into each tensor it makes, so reusing it saves an allocation per tensor.
	kvScratch := make(ort.Shape, 4)
	kvShape := func(b, l int) ort.Shape {
		kvScratch[0], kvScratch[1], kvScratch[2], kvScratch[3] = int64(b), int64(KV), int64(l), int64(HD)
		return kvScratch
	}
	past := make([]ort.Value, 2*NL)
	present := make([]ort.Value, 2*NL)
	defer destroy(past)
	defer destroy(present)
	// handOff makes this step's present KV the next step's past: the old
	// past is freed and the two buffer sets swap roles.
	handOff := func() {
		destroy(past)
		copy(past, present)
		clear(present)
		cur = 1 - cur
	}
	for i := range past {
		if past[i], err = sets[cur][i].tensor(kvShape(B, 0)); err != nil {
			return fmt.Errorf("qwen2vl: empty KV cache: %w", err)
		}
	}
	var keep ort.Value
	if lay.logitsToKeep {
		if keep, err = ort.NewScalar[int64](1); err != nil {
			return fmt.Errorf("qwen2vl: num_logits_to_keep: %w", err)
		}
		defer keep.Destroy()
	}
	inputs := make([]ort.Value, len(lay.decIn))
	outputs := make([]ort.Value, len(lay.decOut))
	runDecoder := func(embT, maskT, posT, logitsT ort.Value) error {
		inputs[0], inputs[1], inputs[2] = embT, maskT, posT
		copy(inputs[3:], past)
		if keep != nil {
			inputs[len(inputs)-1] = keep
		}
		outputs[0] = logitsT
		copy(outputs[1:], present)
		if err := r.run(r.decoder, inputs, outputs); err != nil {
			return fmt.Errorf("qwen2vl: %s: decoder: %w", r.describe(), err)
		}
		return nil
	}

	// 3. prefill, chunked.
	chunk := r.prefillChunk(B, S)
	keepN := func(c int) int {
		if lay.logitsToKeep {
			return 1
		}
		return c
	}
	logits := newDBuf(lay.logitsDT, B*keepN(min(chunk, S))*V)
	var logitsT ort.Value
	defer func() {
		if logitsT != nil {
			logitsT.Destroy()
		}
	}()
	L := 0
	for a := 0; a < S; a += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := min(chunk, S-a)
		e := emb
		if c != S {
			e = newDBuf(lay.embedDT, B*c*H)
			for b := 0; b < B; b++ {
				emb.copyTo(e, b*c*H, (b*S+a)*H, c*H)
			}
		}
		embT, err := e.tensor(ort.NewShape(int64(B), int64(c), int64(H)))
		if err != nil {
			return fmt.Errorf("qwen2vl: prefill embeddings: %w", err)
		}
		m := make([]int64, B*(a+c))
		for b := 0; b < B; b++ {
			copy(m[b*(a+c):], mask[b*S:b*S+a+c])
		}
		p := make([]int64, 3*B*c)
		for d := 0; d < 3; d++ {
			for b := 0; b < B; b++ {
				copy(p[(d*B+b)*c:], pos[d*B*S+b*S+a:d*B*S+b*S+a+c])
			}
		}
		maskT, err1 := ort.NewTensor(ort.NewShape(int64(B), int64(a+c)), m)
		posT, err2 := ort.NewTensor(ort.NewShape(3, int64(B), int64(c)), p)
		lt, err3 := logits.tensor(ort.NewShape(int64(B), int64(keepN(c)), int64(V)))
		for i := range present {
			if present[i], err = sets[1-cur][i].tensor(kvShape(B, a+c)); err != nil {
				break
			}
		}
		if err := firstErr(err, err1, err2, err3); err != nil {
			destroy([]ort.Value{embT, maskT, posT, lt})
			return fmt.Errorf("qwen2vl: prefill tensors: %w", err)
		}
		err = runDecoder(embT, maskT, posT, lt)
		destroy([]ort.Value{embT, maskT, posT})
		if logitsT != nil {
			logitsT.Destroy()
		}
		logitsT = lt
		if err != nil {
			return err
		}
		handOff()
		L = a + c
	}
	lastRow := func(b int) int { // offset of row b's last-position logits
		k := keepN(min(chunk, S))
		if !lay.logitsToKeep {
			k = S - (S-1)/chunk*chunk // positions in the last chunk
		}
		return (b*k + k - 1) * V
	}

	// 4. decode.
	active := slices.Clone(rows) // batch slot -> row
	row := make([]float32, V)
	stepIDs := make([]int64, B)
	stepPos := make([]int64, 3*B)
	stepEmb := newDBuf(lay.embedDT, B*H)
	stepLogits := newDBuf(lay.logitsDT, B*V)
	maskBuf := make([]int64, B*maxLen)
	var idsT, embT, posT, decLogitsT ort.Value
	defer func() { destroy([]ort.Value{idsT, embT, posT, decLogitsT}) }()
	curB := -1
	keepSlots := make([]int, 0, B)
	offset := lastRow
	src := logits
	r.prof.Prefill = time.Since(genStart)
	if r.kvMem != nil {
		return r.decodeBound(ctx, boundState{rows: rows, S: S, L: L, past: past, keep: keep, first: logits, firstOffset: lastRow})
	}
	ident := identity(B)
	stepStart := time.Now()
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		// sample one token per active row; drop the finished ones.
		next, keepSlots, err := r.sampleStep(active, ident[:len(active)], src, offset, row, active[:0], keepSlots[:0])
		if err != nil {
			return err
		}
		r.markStep(step, &stepStart)
		nb := len(next)
		if nb == 0 {
			return nil
		}
		if nb != len(active) {
			// Drop finished rows: compact the cache rows of the remaining
			// sequences in place (slot j <= keepSlots[j]) and re-wrap the
			// past tensors with the smaller batch.
			rowLen := KV * L * HD
			for i := range sets[cur] {
				for j, s := range keepSlots {
					if j != s {
						sets[cur][i].move(j*rowLen, s*rowLen, rowLen)
					}
				}
			}
			destroy(past)
			for i := range past {
				if past[i], err = sets[cur][i].tensor(kvShape(nb, L)); err != nil {
					return fmt.Errorf("qwen2vl: KV cache: %w", err)
				}
			}
		}
		active = next
		if nb != curB {
			destroy([]ort.Value{idsT, embT, posT, decLogitsT})
			var e1, e2, e3, e4 error
			idsT, e1 = ort.NewTensor(ort.NewShape(int64(nb), 1), stepIDs)
			embT, e2 = stepEmb.tensor(ort.NewShape(int64(nb), 1, int64(H)))
			posT, e3 = ort.NewTensor(ort.NewShape(3, int64(nb), 1), stepPos)
			decLogitsT, e4 = stepLogits.tensor(ort.NewShape(int64(nb), 1, int64(V)))
			if err := firstErr(e1, e2, e3, e4); err != nil {
				return fmt.Errorf("qwen2vl: decode tensors: %w", err)
			}
			curB = nb
		}
		// inputs of this step: the new token at cache length L.
		ids := idsT.(*ort.Tensor[int64]).GetData()
		p := posT.(*ort.Tensor[int64]).GetData()
		for j, rw := range active {
			ids[j] = int64(rw.out[len(rw.out)-1])
			for d := 0; d < 3; d++ {
				p[d*nb+j] = int64(L) + rw.delta
			}
			m := maskBuf[j*(L+1) : (j+1)*(L+1)]
			copy(m, rw.mask)
			for k := S; k <= L; k++ {
				m[k] = 1
			}
		}
		if err := r.run(r.embed, []ort.Value{idsT}, []ort.Value{embT}); err != nil {
			return fmt.Errorf("qwen2vl: %s: embed_tokens: %w", r.describe(), err)
		}
		maskT, err := ort.NewTensor(ort.NewShape(int64(nb), int64(L+1)), maskBuf)
		if err != nil {
			return fmt.Errorf("qwen2vl: attention mask: %w", err)
		}
		for i := range present {
			if present[i], err = sets[1-cur][i].tensor(kvShape(nb, L+1)); err != nil {
				maskT.Destroy()
				return fmt.Errorf("qwen2vl: KV cache: %w", err)
			}
		}
		err = runDecoder(embT, maskT, posT, decLogitsT)
		maskT.Destroy()
		if err != nil {
			return err
		}
		handOff()
		L++
		src = stepLogits
		offset = func(slot int) int { return slot * V }
	}
}

// sampleStep samples one token for each row (its logits at offset(slot)
// in src), appends it, marks finished rows, and appends the rows still
// going and their slots to next and keep.
func (r *Runner) sampleStep(rows []*genRow, slots []int, src dbuf, offset func(int) int, buf []float32, next []*genRow, keep []int) ([]*genRow, []int, error) {
	maxNew := r.cfg.Sampling.MaxNewTokens
	for i, rw := range rows {
		src.readF32(buf, offset(slots[i]))
		ts := time.Now()
		id, err := r.sampler.Sample(buf, rw.ctx, len(rw.out), rw.rng)
		r.prof.Sampling += time.Since(ts)
		if err != nil {
			return nil, nil, fmt.Errorf("qwen2vl: sample %d: %w", rw.idx, err)
		}
		rw.out = append(rw.out, id)
		rw.ctx = append(rw.ctx, id)
		if len(rw.out) == 1 {
			rw.first = time.Now()
		}
		switch {
		case slices.Contains(r.eos, id):
			rw.reason = "eos"
		case len(rw.out) >= maxNew:
			rw.reason = "length"
		}
		if rw.reason != "" {
			rw.end = time.Now()
			continue
		}
		next = append(next, rw)
		keep = append(keep, slots[i])
	}
	return next, keep, nil
}

// markStep records the time to first token (step 0) or a decode step.
func (r *Runner) markStep(step int, stepStart *time.Time) {
	if now := time.Now(); step == 0 {
		r.prof.FirstToken = now.Sub(r.callStart)
	} else {
		r.prof.DecodeSteps = append(r.prof.DecodeSteps, now.Sub(*stepStart))
	}
	*stepStart = time.Now()
}

// identity returns [0, 1, ..., n-1].
func identity(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// prefillChunk is the number of prompt tokens per prefill decoder call.
func (r *Runner) prefillChunk(B, S int) int {
	if r.cfg.PrefillChunk > 0 {
		return min(r.cfg.PrefillChunk, S)
	}
	if r.lay.logitsToKeep {
		return min(1024, S)
	}
	per := B * r.lay.vocab * 4
	return max(1, min(S, prefillLogitsBudget/per))
}

// runEmbed runs embed_tokens on the padded [B, S] ids into emb.
func (r *Runner) runEmbed(ids []int64, B, S int, emb dbuf) error {
	in, err := ort.NewTensor(ort.NewShape(int64(B), int64(S)), ids)
	if err != nil {
		return fmt.Errorf("qwen2vl: input_ids: %w", err)
	}
	defer in.Destroy()
	out, err := emb.tensor(ort.NewShape(int64(B), int64(S), int64(r.lay.hidden)))
	if err != nil {
		return fmt.Errorf("qwen2vl: inputs_embeds: %w", err)
	}
	defer out.Destroy()
	if err := r.run(r.embed, []ort.Value{in}, []ort.Value{out}); err != nil {
		return fmt.Errorf("qwen2vl: %s: embed_tokens: %w", r.describe(), err)
	}
	return nil
}

// mergeImages runs the vision encoder once per image and writes the
// features over the <|image_pad|> embeddings of its row, in order.
func (r *Runner) mergeImages(rows []*genRow, ids []int64, S int, emb dbuf) error {
	H := r.lay.hidden
	pd := r.lay.patchDim
	if pd <= 0 {
		pd = r.img.PatchDim()
	}
	merge2 := r.meta.tok.merge * r.meta.tok.merge
	// Identical images in one batch (GRPO's G completions of a prompt) are
	// encoded once.
	type encoded struct {
		pix  []float32
		grid [3]int64
		feat dbuf
	}
	seed := maphash.MakeSeed()
	cache := map[uint64][]encoded{}
	for b, row := range rows {
		var slots []int
		for s := 0; s < S; s++ {
			if ids[b*S+s] == int64(r.meta.tok.imagePad) {
				slots = append(slots, b*S+s)
			}
		}
		k, off := 0, 0
		for i, g := range row.prep.GridTHW {
			n := int(g[0] * g[1] * g[2])
			nTok := n / merge2
			if off+n*pd > len(row.prep.PixelValues) {
				return fmt.Errorf("qwen2vl: sample %d image %d: %d pixel values for grid %v", row.idx, i, len(row.prep.PixelValues)-off, g)
			}
			pix := row.prep.PixelValues[off : off+n*pd]
			h := maphash.Bytes(seed, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(pix))), 4*len(pix)))
			var feat dbuf
			found := false
			for _, e := range cache[h] {
				if e.grid == g && slices.Equal(e.pix, pix) {
					feat, found = e.feat, true
					break
				}
			}
			if !found {
				var err error
				if feat, err = r.runVision(pix, g, nTok); err != nil {
					return fmt.Errorf("qwen2vl: sample %d image %d: %w", row.idx, i, err)
				}
				cache[h] = append(cache[h], encoded{pix, g, feat})
			}
			off += n * pd
			if k+nTok > len(slots) {
				return fmt.Errorf("qwen2vl: sample %d: image features (%d rows so far) and image tokens (%d) do not match", row.idx, k+nTok, len(slots))
			}
			for t := 0; t < nTok; t++ {
				feat.copyTo(emb, slots[k]*H, t*H, H)
				k++
			}
		}
		if k != len(slots) {
			return fmt.Errorf("qwen2vl: sample %d: image features (%d rows) and image tokens (%d) do not match", row.idx, k, len(slots))
		}
	}
	return nil
}

// runVision encodes one image ([n, patch_dim] pixels, grid [1,3]).
func (r *Runner) runVision(pix []float32, g [3]int64, nTok int) (dbuf, error) {
	H := r.lay.hidden
	pd := int64(len(pix) / int(g[0]*g[1]*g[2]))
	var in ort.Value
	var err error
	shape := ort.NewShape(g[0]*g[1]*g[2], pd)
	if r.lay.pixelDT == onnxFloat16 {
		h := newDBuf(onnxFloat16, len(pix))
		for i, v := range pix {
			h.set(i, v)
		}
		in, err = h.tensor(shape)
	} else {
		in, err = ort.NewTensor(shape, pix)
	}
	if err != nil {
		return dbuf{}, fmt.Errorf("pixel_values: %w", err)
	}
	defer in.Destroy()
	grid, err := ort.NewTensor(ort.NewShape(1, 3), []int64{g[0], g[1], g[2]})
	if err != nil {
		return dbuf{}, fmt.Errorf("grid_thw: %w", err)
	}
	defer grid.Destroy()
	feat := newDBuf(r.lay.featDT, nTok*H)
	out, err := feat.tensor(ort.NewShape(int64(nTok), int64(H)))
	if err != nil {
		return dbuf{}, fmt.Errorf("image_features: %w", err)
	}
	defer out.Destroy()
	if err := r.run(r.vision, []ort.Value{in, grid}, []ort.Value{out}); err != nil {
		return dbuf{}, fmt.Errorf("%s: vision_encoder (grid %v, expecting %d feature rows): %w", r.describe(), g, nTok, err)
	}
	return feat, nil
}
