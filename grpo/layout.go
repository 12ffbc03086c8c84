package grpo

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medbench/medbench/runners/qwen2vl"
)

// Group is one prompt with its images and several completions of it: the
// unit the engine runs as one batch (B = len(Completions)).
type Group struct {
	// PromptIDs are the prompt's token ids, image pads expanded.
	PromptIDs []int64
	// Positions are the prompt's M-RoPE position ids (t, h, w rows) and
	// RopeDelta the offset of later positions
	// (docs/reference/qwen2vl.md#m-rope-positions).
	Positions [3][]int64
	RopeDelta int64
	// PixelValues [rows, PatchDim] (the model's qwen2vl.Geometry) and
	// GridTHW, one row per image.
	PixelValues []float32
	GridTHW     [][3]int64
	// Completions are the completion token ids (active tokens only: up to
	// and including the first EOS).
	Completions [][]int64
}

// promptGroup is the Group of a prompt the ORT runner prepared, without
// completions.
func promptGroup(p *qwen2vl.Prepared) Group {
	g := Group{PixelValues: p.PixelValues, GridTHW: p.GridTHW, Positions: p.PositionIDs, RopeDelta: p.RopeDelta}
	for _, id := range p.InputIDs {
		g.PromptIDs = append(g.PromptIDs, int64(id))
	}
	return g
}

// groupTensors are the graph inputs of one Group.
type groupTensors struct {
	args []any
	// C is the longest completion.
	C int
}

// tensorsFor lays out a group as graph inputs. Row b of the [B,S] batch is
// prompt ++ completion_b[:n_b−1], right-padded (attention 0); position
// P−1+k predicts completion token k. cpos [B,C] indexes those positions in
// the flattened [B·S] rows, targets/coef [B,C] hold the tokens and
// ∂Loss/∂logp (0 on padding).
func (e *Engine) tensorsFor(g Group, coef ...[][]float64) (groupTensors, error) {
	P := len(g.PromptIDs)
	if P == 0 {
		return groupTensors{}, fmt.Errorf("grpo: empty prompt")
	}
	for d := range 3 {
		if len(g.Positions[d]) != P {
			return groupTensors{}, fmt.Errorf("grpo: %d position ids (row %d) for %d prompt tokens", len(g.Positions[d]), d, P)
		}
	}
	B := len(g.Completions)
	if B == 0 {
		return groupTensors{}, fmt.Errorf("grpo: group without completions")
	}
	C := 0
	for i, c := range g.Completions {
		if len(c) == 0 {
			return groupTensors{}, fmt.Errorf("grpo: completion %d is empty", i)
		}
		C = max(C, len(c))
	}
	S := P + C - 1
	patchDim, merge := e.geom.PatchDim, int64(e.geom.MergeSize)
	if patchDim <= 0 || merge <= 0 {
		return groupTensors{}, fmt.Errorf("grpo: model geometry without patch size or merge size: %+v", e.geom)
	}
	nPatch := len(g.PixelValues) / patchDim
	if len(g.PixelValues)%patchDim != 0 || nPatch == 0 {
		return groupTensors{}, fmt.Errorf("grpo: pixel values (%d floats) are not [N, %d] with N > 0", len(g.PixelValues), patchDim)
	}
	nFeat := 0
	for _, gr := range g.GridTHW {
		nFeat += int(gr[0] * gr[1] * gr[2] / (merge * merge))
	}
	ids := make([]int64, B*S)
	mask := make([]int64, B*S)
	pos := make([]int64, 3*B*S)
	sel := make([]float32, B*S)
	idx := make([]int32, B*S)
	cpos := make([]int32, B*C)
	targets := make([]int32, B*C)
	co := make([][]float32, len(coef))
	for i := range co {
		co[i] = make([]float32, B*C)
	}
	for b, c := range g.Completions {
		row := b * S
		feat := 0
		for t := 0; t < S; t++ {
			var id int64
			switch {
			case t < P:
				id = g.PromptIDs[t]
			case t-P < len(c)-1:
				id = c[t-P]
			}
			ids[row+t] = id
			if t < P+len(c)-1 {
				mask[row+t] = 1
			}
			for d := range 3 {
				if t < P {
					pos[d*B*S+row+t] = g.Positions[d][t]
				} else {
					pos[d*B*S+row+t] = int64(t) + g.RopeDelta
				}
			}
			if t < P && id == e.cfg.ImagePadID {
				if feat >= nFeat {
					return groupTensors{}, fmt.Errorf("grpo: prompt has more image pads than the %d image features of grid %v", nFeat, g.GridTHW)
				}
				sel[row+t] = 1
				idx[row+t] = int32(feat)
				feat++
			}
		}
		if feat != nFeat {
			return groupTensors{}, fmt.Errorf("grpo: prompt has %d image pads but the images give %d features", feat, nFeat)
		}
		for k := 0; k < C; k++ {
			cpos[b*C+k] = int32(row)
			if k < len(c) {
				cpos[b*C+k] = int32(row + P - 1 + k)
				targets[b*C+k] = int32(c[k])
				for i, cf := range coef {
					co[i][b*C+k] = float32(cf[b][k])
				}
			}
		}
	}
	grid := make([]int64, 0, 3*len(g.GridTHW))
	for _, gr := range g.GridTHW {
		grid = append(grid, gr[:]...)
	}
	args := []any{
		tensors.FromFlatDataAndDimensions(g.PixelValues, nPatch, patchDim),
		tensors.FromFlatDataAndDimensions(grid, len(g.GridTHW), 3),
		tensors.FromFlatDataAndDimensions(ids, B, S),
		tensors.FromFlatDataAndDimensions(mask, B, S),
		tensors.FromFlatDataAndDimensions(pos, 3, B, S),
		tensors.FromFlatDataAndDimensions(sel, B, S, 1),
		tensors.FromFlatDataAndDimensions(idx, B, S),
		tensors.FromFlatDataAndDimensions(cpos, B, C),
		tensors.FromFlatDataAndDimensions(targets, B, C),
	}
	for _, c := range co {
		args = append(args, tensors.FromFlatDataAndDimensions(c, B, C))
	}
	return groupTensors{args: args, C: C}, nil
}
