package grpo

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
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/runners/fixture"
	"github.com/medbench/medbench/runners/ortlib"
)

func expCount(out string, n int, seed uint64, block int) (string, error) {
	os.MkdirAll(filepath.Join(out, "images"), 0o755)
	rng := rand.New(rand.NewPCG(seed, 0x636f756e))
	cells := (56 / block) * (56 / block)
	per := 56 / block
	recs := make([]datasets.Record, n)
	for i := range recs {
		k := 1 + rng.IntN(4)
		im := image.NewGray(image.Rect(0, 0, 56, 56))
		bg := uint8(20 + rng.IntN(20))
		for p := range im.Pix {
			im.Pix[p] = bg
		}
		for _, cell := range rng.Perm(cells)[:k] {
			level := uint8(190 + rng.IntN(60))
			x0, y0 := cell%per*block, cell/per*block
			for y := y0; y < y0+block; y++ {
				for x := x0; x < x0+block; x++ {
					im.Pix[y*56+x] = level
				}
			}
		}
		name := fmt.Sprintf("images/count_%05d.png", i)
		var buf bytes.Buffer
		png.Encode(&buf, im)
		os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644)
		recs[i] = datasets.Record{Image: []string{name}, Problem: datasets.BuildProblem(datasets.CountQuestion, datasets.CountOptions),
			Solution: datasets.Letter(k - 1), Question: datasets.CountQuestion, Options: slices.Clone(datasets.CountOptions),
			Answer: datasets.CountOptions[k-1], Dataset: "x", Subset: "MRI"}
	}
	path := filepath.Join(out, "dataset.json")
	return path, datasets.WriteRecords(path, recs)
}

func TestExpSFT(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	ortlib.Init("")
	ctx := context.Background()
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := fixture.Write(ctx, model, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	path, err := expCount(filepath.Join(dir, "data"), 600, 7, envInt("BLOCK", 14))
	if err != nil {
		t.Fatal(err)
	}
	all, err := datasets.LoadJSON(path, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	nEval := envInt("NEVAL", 100)
	train, eval := all[nEval:nEval+400], all[:nEval]
	tmpl := datasets.Template{Name: "short", Text: taskTemplateText}
	res, err := SFT(ctx, SFTConfig{ModelDir: model, Samples: train, Template: tmpl, Out: filepath.Join(dir, "sft"),
		Epochs: envInt("EP", 1), Batch: 4, Answers: "solution", Completion: taskCompletion, LR: envFloat("LR", 3e-3),
		Seed: 1, EvalSamples: eval, EvalTemplate: tmpl, EvalMaxNewTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("block %d: %.3f -> %.3f", envInt("BLOCK", 14), res.EvalBefore, res.EvalAfter)
}
