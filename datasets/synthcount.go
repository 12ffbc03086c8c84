package datasets

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
)

// CountQuestion and CountOptions define SynthCount's four-option
// question: how many lesions the image shows.
const CountQuestion = "How many lesions are there?"

// CountOptions are the answers of CountQuestion: option i is correct for
// i+1 lesions.
var CountOptions = []string{"One", "Two", "Three", "Four"}

// SynthCount writes a synthetic four-option VQA dataset in the seed's JSON
// schema (out/dataset.json, out/images/*.png): 56×56 gray images split
// into four 28×28 cells, one to four of which hold a bright lesion; the
// count is the answer. A cell is exactly one merged Qwen2-VL image token
// (2×2 patches of 14 pixels), so the answer is how many of the image's
// four tokens show a lesion. It is the accuracy-rise task of the tiny
// fixture because that is image content the tiny model can represent:
//   - not where the lesion is (Synth's quadrant question): the tiny
//     decoder's M-RoPE height/width frequencies (θ = 1e6, head dim 16)
//     rotate by at most 0.03 rad between neighbouring image tokens, so it
//     cannot tell image tokens apart by position;
//   - not how bright it is: Qwen2-VL's vision LayerNorms map every
//     uniform patch to the same vector up to sign, erasing intensity;
//   - not lesions of single 14-pixel patches: a token then mixes lit and
//     dark patches in 16 patterns, and one epoch of SFT on the correct
//     letters reaches only 41% on 100 held-out items (100% with cells).
//
// Lesion levels and the background vary a little. Records come in equal
// blocks per modality (nil: all MRI); the output depends only on the
// arguments.
func SynthCount(ctx context.Context, out string, n int, seed uint64, modalities []string) (string, error) {
	if n <= 0 {
		return "", fmt.Errorf("datasets: synth count: n must be positive, got %d", n)
	}
	if err := os.MkdirAll(filepath.Join(out, "images"), 0o755); err != nil {
		return "", fmt.Errorf("datasets: %w", err)
	}
	if len(modalities) == 0 {
		modalities = []string{MRI}
	}
	mods, err := resolveModalities(modalities)
	if err != nil {
		return "", fmt.Errorf("datasets: synth count: %w", err)
	}
	subsets := make([]string, len(mods))
	for j, m := range mods {
		subsets[j], _ = SubsetOf(m)
	}
	rng := rand.New(rand.NewPCG(seed, 0x636f756e)) // "coun"
	recs := make([]Record, n)
	for i := range recs {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		k := 1 + rng.IntN(4)
		im := image.NewGray(image.Rect(0, 0, 56, 56))
		bg := uint8(20 + rng.IntN(20))
		for p := range im.Pix {
			im.Pix[p] = bg
		}
		for _, cell := range rng.Perm(4)[:k] {
			level := uint8(190 + rng.IntN(60))
			x0, y0 := cell%2*28, cell/2*28
			for y := y0; y < y0+28; y++ {
				for x := x0; x < x0+28; x++ {
					im.Pix[y*56+x] = level
				}
			}
		}
		name := fmt.Sprintf("images/count_%05d.png", i)
		var buf bytes.Buffer
		if err := png.Encode(&buf, im); err != nil {
			return "", fmt.Errorf("datasets: %w", err)
		}
		if err := os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644); err != nil {
			return "", fmt.Errorf("datasets: %w", err)
		}
		recs[i] = Record{
			Image: []string{name}, Problem: BuildProblem(CountQuestion, CountOptions),
			Solution: Letter(k - 1), Question: CountQuestion, Options: slices.Clone(CountOptions),
			Answer: CountOptions[k-1], Dataset: "medbench-synth-count", Subset: subsets[i*len(subsets)/n],
		}
	}
	path := filepath.Join(out, "dataset.json")
	if err := WriteRecords(path, recs); err != nil {
		return "", err
	}
	return path, nil
}
