package grpo

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/fixture"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// tinyModel writes the tiny fixture and a 56×56 test image.
func tinyModel(t *testing.T) (model, img string) {
	t.Helper()
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (run make setup): %v", err)
	}
	dir := t.TempDir()
	model = filepath.Join(dir, "model")
	if err := fixture.Write(context.Background(), model, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	im := image.NewGray(image.Rect(0, 0, 56, 56))
	for y := 0; y < 56; y++ {
		for x := 0; x < 56; x++ {
			v := uint8(40 + (x*3+y*5)%50)
			if x > 30 && x < 45 && y > 8 && y < 22 {
				v = 240
			}
			im.SetGray(x, y, color.Gray{Y: v})
		}
	}
	img = filepath.Join(dir, "img.png")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, im); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return model, img
}

// groupFor prepares a prompt with the ORT runner and attaches completions.
func groupFor(t *testing.T, r *qwen2vl.Runner, img string, comps [][]int) (Group, *qwen2vl.Prepared) {
	t.Helper()
	p, err := r.Prepare(runners.Request{ID: "0", Text: "Where is the lesion?\nA) Upper left\nB) Upper right", Images: []runners.Image{{Path: img}}})
	if err != nil {
		t.Fatal(err)
	}
	g := promptGroup(p)
	for _, c := range comps {
		c64 := make([]int64, len(c))
		for i, v := range c {
			c64[i] = int64(v)
		}
		g.Completions = append(g.Completions, c64)
	}
	return g, p
}

// ortLogProbs scores completions with ONNX Runtime (full forward, float64
// log-softmax).
func ortLogProbs(t *testing.T, r *qwen2vl.Runner, p *qwen2vl.Prepared, comps [][]int) [][]float64 {
	t.Helper()
	out := make([][]float64, len(comps))
	for b, c := range comps {
		logits, err := r.TokenLogits(context.Background(), p, c)
		if err != nil {
			t.Fatal(err)
		}
		V := len(logits) / len(c)
		for k, tok := range c {
			row := logits[k*V : (k+1)*V]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, float64(v))
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(float64(v) - m)
			}
			out[b] = append(out[b], float64(row[tok])-m-math.Log(s))
		}
	}
	return out
}

func maxDiff(a, b [][]float64) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return d
}

// TestEngineParity: at step 0 the GoMLX log-probs equal ONNX Runtime's
// within 1e-4, the ratio is exactly 1 and the KL exactly 0; after an
// update, the saved model directory runs in ONNX Runtime with the trained
// log-probs (within 1e-4) and the tied embedding copies stay equal.
// tinyRunner is tinyModel plus an ORT runner on it (closed at cleanup),
// for preparing prompts and scoring with ORT.
func tinyRunner(t *testing.T) (model, img string, r *qwen2vl.Runner) {
	t.Helper()
	model, img = tinyModel(t)
	r, err := qwen2vl.Open(context.Background(), qwen2vl.Config{ModelDir: model, Sampling: runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return model, img, r
}

func TestEngineParity(t *testing.T) {
	model, img, r := tinyRunner(t)
	ctx := context.Background()
	eos := r.EOS()[0]
	comps := [][]int{{5, 17, 40, 9, eos}, {33, eos}, {100, 101, 102, 103, 104, 105, 106}}
	g, p := groupFor(t, r, img, comps)
	e, err := NewEngine(EngineConfig{ModelDir: model, Reference: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if names := e.ParamNames(); !slices.ContainsFunc(names, func(s string) bool { return s == "embed/model.embed_tokens.weight = /decoder/ONNX/lm_head.weight" }) {
		t.Errorf("tied embedding not detected: %v", names)
	}
	lp, ent, err := e.LogProbs(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	want := ortLogProbs(t, r, p, comps)
	if d := maxDiff(lp, want); d > 1e-4 {
		t.Errorf("step 0: GoMLX vs ORT log-probs differ by %g", d)
	}
	for b := range ent {
		for _, h := range ent[b] {
			if h < 0 || h > math.Log(float64(e.head.vocab))+1e-4 {
				t.Errorf("entropy %v outside [0, log V]", h)
			}
		}
	}
	ref, err := e.RefLogProbs(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	seqs := make([]Sequence, len(lp))
	for i := range lp {
		seqs[i] = Sequence{LogP: lp[i], OldLogP: lp[i], RefLogP: ref[i], Advantage: float64(i) - 1}
	}
	loss, err := Loss(seqs, LossConfig{Type: LossGRPO, Beta: 0.04, EpsilonLow: 0.2, EpsilonHigh: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if loss.KL != 0 || loss.ClipRegion != 0 {
		t.Errorf("step 0: kl %v (want exactly 0), clipped %v", loss.KL, loss.ClipRegion)
	}
	// Ratio exactly 1: the gradient is −A·w per token, with no KL term.
	if loss.Grad[2][0] != -1.0/7/3 {
		t.Errorf("step 0 grad %v, want %v", loss.Grad[2][0], -1.0/7/3)
	}
	lp2, err := e.Backward(ctx, g, loss.Grad)
	if err != nil {
		t.Fatal(err)
	}
	if maxDiff(lp, lp2) != 0 {
		t.Error("Backward's log-probs differ from LogProbs' on the same weights")
	}
	norm, err := e.Step(1e-2, 1)
	if err != nil || norm <= 0 {
		t.Fatalf("step: norm %v, %v", norm, err)
	}
	lp3, _, err := e.LogProbs(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if maxDiff(lp, lp3) < 1e-3 {
		t.Error("update did not change the log-probs")
	}
	// The policy gradient raised the best completion's log-prob.
	if sum(lp3[2]) <= sum(lp[2]) {
		t.Errorf("log-prob of the positive-advantage completion fell: %v -> %v", sum(lp[2]), sum(lp3[2]))
	}
	ref2, _ := e.RefLogProbs(ctx, g)
	if maxDiff(ref, ref2) != 0 {
		t.Error("reference model changed")
	}
	out := filepath.Join(t.TempDir(), "ckpt")
	if err := e.Save(out); err != nil {
		t.Fatal(err)
	}
	r2, err := qwen2vl.Open(ctx, qwen2vl.Config{ModelDir: out, Sampling: runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if d := maxDiff(lp3, ortLogProbs(t, r2, p, comps)); d > 1e-4 {
		t.Errorf("saved model: ORT vs GoMLX log-probs differ by %g", d)
	}
	// Tied copies equal in the written files.
	embed := initializer(t, filepath.Join(out, "onnx", EmbedFile), "model.embed_tokens.weight")
	head := initializer(t, filepath.Join(out, "onnx", DecoderFile), "lm_head.weight")
	if !slices.Equal(embed, head) {
		t.Error("embed_tokens and lm_head differ after training")
	}
	orig := initializer(t, filepath.Join(model, "onnx", EmbedFile), "model.embed_tokens.weight")
	if slices.Equal(embed, orig) {
		t.Error("embedding not trained")
	}
}

func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

func initializer(t *testing.T, path, name string) []float32 {
	t.Helper()
	m, err := readONNX(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, init := range m.Proto.Graph.Initializer {
		if init.Name == name {
			return onnxpb.Float32sFromBytes(init.RawData)
		}
	}
	t.Fatalf("%s: no initializer %s", path, name)
	return nil
}
