package checkpoint

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// TestHFGoldensAlpha runs transformers' answers on RGBA, gray+alpha and
// opaque images (testdata/hf/cases-alpha, qwen-vl-utils 0.0.10 on the HF
// side) through the imported tiny-legacy-fp32 checkpoint: with the default
// RGBA mode (white composite) every case gives HF's greedy ids and logits
// within 1e-4; with --rgba qwen-vl-utils-0.0.8 (alpha dropped) the RGBA
// cases must differ, the others must not.
func TestHFGoldensAlpha(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an imported model")
	}
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime unavailable: %v", err)
	}
	cases := readGolden(t, filepath.Join(hfDir, "tiny-legacy-fp32.alpha.golden.jsonl"))
	model := imp(t, filepath.Join(hfDir, "tiny-legacy-fp32"), ImportOptions{DType: "fp32"})
	ctx := context.Background()
	rgbaCases := 0
	for _, mode := range []imageproc.RGBAMode{imageproc.RGBAWhite, imageproc.RGBAQwenVLUtils008} {
		r, err := qwen2vl.Open(ctx, qwen2vl.Config{
			ModelDir: model, DType: "fp32", Device: "cpu", Threads: 1, RGBA: mode,
			Sampling: runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: cases[0].HF.RepetitionPenalty,
				MaxNewTokens: cases[0].HF.MaxNewTokens, Seed: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for _, g := range cases {
			req := runners.Request{ID: fmt.Sprint(g.Case), Prompt: "hf", Text: g.Text}
			isRGBA := g.Image != nil && strings.Contains(*g.Image, "_rgba_")
			if g.Image != nil {
				req.Images = []runners.Image{{Path: filepath.Join(hfDir, "cases-alpha", *g.Image)}}
			}
			if isRGBA && mode == imageproc.RGBAWhite {
				rgbaCases++
			}
			p, err := r.Prepare(req)
			if err != nil {
				t.Fatalf("%s case %d: %v", mode, g.Case, err)
			}
			res, err := r.Generate(ctx, []runners.Request{req})
			if err != nil || res[0].Err != nil {
				t.Fatalf("%s case %d: %v %v", mode, g.Case, err, res[0].Err)
			}
			logits, err := r.TokenLogits(ctx, p, g.GeneratedIDs[:1])
			if err != nil {
				t.Fatalf("%s case %d: %v", mode, g.Case, err)
			}
			d := 0.0
			for i, v := range logits {
				d = math.Max(d, math.Abs(float64(v)-float64(g.Logits[i])))
			}
			same := slices.Equal(res[0].TokenIDs, g.GeneratedIDs) && d <= 1e-4
			switch {
			case mode == imageproc.RGBAWhite:
				worst = math.Max(worst, d)
				if !same {
					t.Errorf("white composite, case %d (%v): greedy ids %v, HF %v; max |logit - HF| %.3g", g.Case, *g.Image, res[0].TokenIDs, g.GeneratedIDs, d)
				}
			case isRGBA && same:
				t.Errorf("alpha dropped, RGBA case %d (%s): still HF's answer: the golden does not test the composite", g.Case, *g.Image)
			case !isRGBA && !same:
				t.Errorf("alpha dropped, non-RGBA case %d: differs from HF (max |logit - HF| %.3g), but only RGBA images should", g.Case, d)
			}
		}
		if mode == imageproc.RGBAWhite {
			t.Logf("white composite: %d cases, max |logit - HF| = %.3g", len(cases), worst)
		}
		r.Close()
	}
	if rgbaCases == 0 {
		t.Fatal("no RGBA image among the cases")
	}
}
