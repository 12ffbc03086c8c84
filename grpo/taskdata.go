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

// BrightnessQuestion and BrightnessOptions define SynthBrightness's
// four-option question: the lesion's intensity level.
const BrightnessQuestion = "How bright is the lesion?"

// BrightnessOptions are the answers of BrightnessQuestion, darkest first;
// option i is correct when the lesion's gray level is brightnessLevels[i].
var BrightnessOptions = []string{"Faint", "Dim", "Bright", "Very bright"}

var brightnessLevels = [4]uint8{70, 120, 175, 235}

// SynthBrightness writes a synthetic four-option VQA dataset in the seed's
// JSON schema (out/dataset.json, out/images/*.png): 56×56 gray images
// (4 merged image tokens for Qwen2-VL) with one square lesion at a random
// place whose gray level sets the answer. The answer depends on the image
// content alone. It is the accuracy-rise task of the tiny fixture: its
// M-RoPE frequencies for the height/width rows (θ = 1e6, head dim 16) rotate
// by at most 0.03 rad between neighbouring image tokens, so the tiny decoder
// cannot tell where an image token lies, and datasets.Synth's quadrant
// question is beyond it; intensity is not. The output depends only on the
// arguments.
func SynthBrightness(out string, n int, seed uint64) (string, error) {
	if n <= 0 {
		return "", fmt.Errorf("grpo: synth brightness: n must be positive, got %d", n)
	}
	if err := os.MkdirAll(filepath.Join(out, "images"), 0o755); err != nil {
		return "", fmt.Errorf("grpo: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, 0x62726967)) // "brig"
	recs := make([]datasets.Record, n)
	for i := range recs {
		level := rng.IntN(4)
		im := image.NewGray(image.Rect(0, 0, 56, 56))
		for p := range im.Pix {
			im.Pix[p] = uint8(20 + rng.IntN(20))
		}
		side := 12 + rng.IntN(9)
		x0, y0 := rng.IntN(56-side), rng.IntN(56-side)
		for y := y0; y < y0+side; y++ {
			for x := x0; x < x0+side; x++ {
				im.Pix[y*56+x] = brightnessLevels[level] - uint8(rng.IntN(10))
			}
		}
		name := fmt.Sprintf("images/bright_%05d.png", i)
		var buf bytes.Buffer
		if err := png.Encode(&buf, im); err != nil {
			return "", fmt.Errorf("grpo: %w", err)
		}
		if err := os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644); err != nil {
			return "", fmt.Errorf("grpo: %w", err)
		}
		recs[i] = datasets.Record{
			Image: []string{name}, Problem: datasets.BuildProblem(BrightnessQuestion, BrightnessOptions),
			Solution: datasets.Letter(level), Question: BrightnessQuestion, Options: slices.Clone(BrightnessOptions),
			Answer: BrightnessOptions[level], Dataset: "medbench-synth-brightness", Subset: "MR (Mag-netic Resonance Imaging)",
		}
	}
	path := filepath.Join(out, "dataset.json")
	if err := datasets.WriteRecords(path, recs); err != nil {
		return "", err
	}
	return path, nil
}
