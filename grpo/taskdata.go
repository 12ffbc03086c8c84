package grpo

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/medbench/medbench/datasets"
)

// CanonicalOptions returns copies of the samples with their options put in
// the given order (each sample's options must be a permutation of it) and
// the problem text and solution letter rebuilt as the seed does. On the
// synthetic quadrant data (datasets.QuadrantOptions) the answer letter then
// depends on the image alone, not on reading a shuffled option list: the
// accuracy-rise task of the tiny fixture uses this.
func CanonicalOptions(samples []datasets.Sample, order []string) ([]datasets.Sample, error) {
	out := make([]datasets.Sample, len(samples))
	for i, s := range samples {
		r := s.Record
		if len(r.Options) != len(order) {
			return nil, fmt.Errorf("grpo: sample %s: %d options, want %d (%q)", s.ID(), len(r.Options), len(order), order)
		}
		for _, o := range order {
			if !slices.Contains(r.Options, o) {
				return nil, fmt.Errorf("grpo: sample %s: options %q are not a permutation of %q", s.ID(), r.Options, order)
			}
		}
		letter, ok := datasets.SolutionLetter(order, r.Answer)
		if !ok {
			return nil, fmt.Errorf("grpo: sample %s: answer %q not among the options", s.ID(), r.Answer)
		}
		r.Options = slices.Clone(order)
		r.Problem = datasets.BuildProblem(r.Question, order)
		r.Solution = letter
		s.Record = r
		out[i] = s
	}
	return out, nil
}

// CountQuestion and CountOptions define SynthCount's four-option
// question: how many lesions the image shows.
const CountQuestion = "How many lesions are there?"

// CountOptions are the answers of CountQuestion: option i is correct for
// i+1 lesions.
var CountOptions = []string{"One", "Two", "Three", "Four"}

// SynthCount writes a synthetic four-option VQA dataset in the seed's JSON
// schema (out/dataset.json, out/images/*.png): 56×56 gray images (a 4×4
// grid of 14-pixel patches, 4 merged image tokens for Qwen2-VL) with one to
// four bright lesions, each filling one distinct patch; the count is the
// answer. It is the accuracy-rise task of the tiny fixture because the
// answer depends on image content the tiny model can represent:
//   - not on where the lesion is (datasets.Synth's quadrant question): the
//     tiny decoder's M-RoPE height/width frequencies (θ = 1e6, head dim 16)
//     rotate by at most 0.03 rad between neighbouring image tokens, so it
//     cannot tell image tokens apart by position;
//   - not on how bright it is: Qwen2-VL's vision LayerNorms map every
//     uniform patch to the same vector up to sign, erasing intensity.
//
// Lesion levels and the background vary a little; the output depends only
// on the arguments.
func SynthCount(out string, n int, seed uint64) (string, error) {
	if n <= 0 {
		return "", fmt.Errorf("grpo: synth count: n must be positive, got %d", n)
	}
	if err := os.MkdirAll(filepath.Join(out, "images"), 0o755); err != nil {
		return "", fmt.Errorf("grpo: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, 0x636f756e)) // "coun"
	recs := make([]datasets.Record, n)
	for i := range recs {
		k := 1 + rng.IntN(4)
		im := image.NewGray(image.Rect(0, 0, 56, 56))
		bg := uint8(20 + rng.IntN(20))
		for p := range im.Pix {
			im.Pix[p] = bg
		}
		for _, cell := range rng.Perm(16)[:k] {
			level := uint8(190 + rng.IntN(60))
			x0, y0 := cell%4*14, cell/4*14
			for y := y0; y < y0+14; y++ {
				for x := x0; x < x0+14; x++ {
					im.Pix[y*56+x] = level
				}
			}
		}
		name := fmt.Sprintf("images/count_%05d.png", i)
		var buf bytes.Buffer
		if err := png.Encode(&buf, im); err != nil {
			return "", fmt.Errorf("grpo: %w", err)
		}
		if err := os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644); err != nil {
			return "", fmt.Errorf("grpo: %w", err)
		}
		recs[i] = datasets.Record{
			Image: []string{name}, Problem: datasets.BuildProblem(CountQuestion, CountOptions),
			Solution: datasets.Letter(k - 1), Question: CountQuestion, Options: slices.Clone(CountOptions),
			Answer: CountOptions[k-1], Dataset: "medbench-synth-count", Subset: "MR (Mag-netic Resonance Imaging)",
		}
	}
	path := filepath.Join(out, "dataset.json")
	if err := datasets.WriteRecords(path, recs); err != nil {
		return "", err
	}
	return path, nil
}
