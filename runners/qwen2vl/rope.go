package qwen2vl

import "fmt"

// ropeIndex computes Qwen2-VL's multimodal rotary position ids for a
// left-padded batch (Hugging Face Qwen2VLModel.get_rope_index): text tokens
// advance all three axes (temporal, height, width) together; the
// <|image_pad|> run that follows each <|vision_start|> gets the image's merged
// patch grid coordinates offset by the position reached so far.
//
// ids and mask are [B*S] row-major; grids lists one [t, h, w] per image in
// prompt order across the whole batch (in patch units, before merging).
// It returns position ids [3*B*S] (axis-major: pos[d*B*S + b*S + s]) and one
// rope delta per row, max position + 1 - S, so that a decode step at cache
// length L uses position L + delta. Padded slots get position 1, as in HF.
func ropeIndex(ids, mask []int64, B, S int, grids [][3]int64, tok specialTokens) (pos []int64, deltas []int64, err error) {
	if len(ids) != B*S || len(mask) != B*S {
		return nil, nil, fmt.Errorf("qwen2vl: rope index: ids %d, mask %d, want %d×%d", len(ids), len(mask), B, S)
	}
	merge := int64(tok.merge)
	pos = make([]int64, 3*B*S)
	for i := range pos {
		pos[i] = 1
	}
	deltas = make([]int64, B)
	img := 0
	// scratch: the valid (unpadded) slots of a row
	slots := make([]int, 0, S)
	for b := 0; b < B; b++ {
		row, mrow := ids[b*S:(b+1)*S], mask[b*S:(b+1)*S]
		slots = slots[:0]
		for s, m := range mrow {
			if m != 0 {
				slots = append(slots, s)
			}
		}
		n := len(slots)
		at := func(k int) int64 { return row[slots[k]] }
		var next int64 // first position of the next segment (max so far + 1)
		var maxPos int64 = -1
		write := func(k int, t, h, w int64) {
			s := slots[k]
			pos[0*B*S+b*S+s] = t
			pos[1*B*S+b*S+s] = h
			pos[2*B*S+b*S+s] = w
			maxPos = max(maxPos, t, h, w)
		}
		k := 0
		for k < n {
			// next image run: a vision_start immediately followed by image pads
			ed := -1
			for j := k; j+1 < n; j++ {
				if at(j) == int64(tok.visionStart) && at(j+1) == int64(tok.imagePad) {
					ed = j + 1
					break
				}
			}
			if ed < 0 {
				break
			}
			for j := k; j < ed; j++ { // text before the image
				write(j, next+int64(j-k), next+int64(j-k), next+int64(j-k))
			}
			base := next + int64(ed-k)
			if img >= len(grids) {
				return nil, nil, fmt.Errorf("qwen2vl: rope index: row %d has more images than the %d image grids given", b, len(grids))
			}
			g := grids[img]
			img++
			if g[0] <= 0 || g[1]%merge != 0 || g[2]%merge != 0 || g[1] <= 0 || g[2] <= 0 {
				return nil, nil, fmt.Errorf("qwen2vl: rope index: bad image grid %v (h and w must be positive multiples of %d)", g, merge)
			}
			lt, lh, lw := g[0], g[1]/merge, g[2]/merge
			cnt := int(lt * lh * lw)
			if ed+cnt > n {
				return nil, nil, fmt.Errorf("qwen2vl: rope index: row %d: image %d needs %d image tokens, only %d tokens remain", b, img-1, cnt, n-ed)
			}
			for i := 0; i < cnt; i++ {
				ii := int64(i)
				if at(ed+i) != int64(tok.imagePad) {
					return nil, nil, fmt.Errorf("qwen2vl: rope index: row %d: image %d has %d image tokens, grid %v needs %d", b, img-1, i, g, cnt)
				}
				write(ed+i, base+ii/(lh*lw), base+(ii/lw)%lh, base+ii%lw)
			}
			if ed+cnt < n && at(ed+cnt) == int64(tok.imagePad) {
				return nil, nil, fmt.Errorf("qwen2vl: rope index: row %d: image %d has more image tokens than grid %v gives (%d)", b, img-1, g, cnt)
			}
			next = maxPos + 1
			k = ed + cnt
		}
		for j := k; j < n; j++ { // trailing text
			write(j, next+int64(j-k), next+int64(j-k), next+int64(j-k))
		}
		if len(grids) == 0 && n < S {
			// HF's text-only branch takes the max over the whole row, whose
			// padded slots hold 1.
			maxPos = max(maxPos, 1)
		}
		deltas[b] = maxPos + 1 - int64(S)
	}
	if img != len(grids) {
		return nil, nil, fmt.Errorf("qwen2vl: rope index: %d image grids given, the prompts hold %d images", len(grids), img)
	}
	return pos, deltas, nil
}
