package qwen2vl

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/fixture"
)

// tinyDir writes the tiny fixture (fp32 or fp16) once per test binary.
var (
	tinyOnce sync.Map // dtype -> *tinyEntry
)

type tinyEntry struct {
	once sync.Once
	dir  string
	err  error
}

func tinyModel(t testing.TB, dtype string) string {
	t.Helper()
	return fixtureModel(t, "tiny", dtype)
}

// fixtureModel writes a fixture preset (seed 1) once per test binary.
func fixtureModel(t testing.TB, preset, dtype string) string {
	t.Helper()
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
	}
	v, _ := tinyOnce.LoadOrStore(preset+"/"+dtype, &tinyEntry{})
	e := v.(*tinyEntry)
	e.once.Do(func() {
		dir, err := os.MkdirTemp("", "qwen2vl-"+preset+"-"+dtype+"-")
		if err != nil {
			e.err = err
			return
		}
		e.dir = dir
		e.err = fixture.Write(context.Background(), dir, fixture.Options{Preset: preset, DType: dtype, Seed: 1})
	})
	if e.err != nil {
		t.Fatalf("fixture: %v", e.err)
	}
	return e.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	tinyOnce.Range(func(_, v any) bool {
		if e := v.(*tinyEntry); e.dir != "" {
			os.RemoveAll(e.dir)
		}
		return true
	})
	os.Exit(code)
}

// testPNG draws a deterministic w×h image (mode: "rgb", "gray", "rgba").
func testPNG(t testing.TB, w, h int, mode string, seed int) []byte {
	t.Helper()
	var img image.Image
	px := func(x, y, c int) uint8 { return uint8((x*7 + y*13 + c*29 + seed*31 + (x*y)%17) % 256) }
	switch mode {
	case "gray":
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.SetGray(x, y, color.Gray{px(x, y, 0)})
			}
		}
		img = g
	case "rgba":
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetNRGBA(x, y, color.NRGBA{px(x, y, 0), px(x, y, 1), px(x, y, 2), uint8(128 + (x+y)%128)})
			}
		}
		img = m
	default:
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetRGBA(x, y, color.RGBA{px(x, y, 0), px(x, y, 1), px(x, y, 2), 255})
			}
		}
		img = m
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func openTiny(t testing.TB, dtype string, s runners.Sampling, mod func(*Config)) *Runner {
	t.Helper()
	return openFixture(t, "tiny", dtype, s, mod)
}

func openFixture(t testing.TB, preset, dtype string, s runners.Sampling, mod func(*Config)) *Runner {
	t.Helper()
	dir := fixtureModel(t, preset, dtype)
	cfg := Config{ModelDir: dir, DType: dtype, Sampling: s, Threads: 1}
	if mod != nil {
		mod(&cfg)
	}
	r, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func greedy(n int) runners.Sampling {
	s := runners.SeedPreset()
	s.MaxNewTokens = n
	return s
}

// mixedRequests are n requests with different images, prompt templates and
// lengths (so a batch needs left padding), one of them with two images.
func mixedRequests(t testing.TB, n int) []runners.Request {
	sizes := [][2]int{{56, 56}, {84, 56}, {56, 112}, {112, 84}, {140, 56}, {84, 84}, {168, 112}, {56, 196}}
	modes := []string{"rgb", "gray", "rgba"}
	var reqs []runners.Request
	for i := 0; i < n; i++ {
		s := sizes[i%len(sizes)]
		imgs := []runners.Image{{Bytes: testPNG(t, s[0], s[1], modes[i%3], i)}}
		if i == 3 {
			imgs = append(imgs, runners.Image{Bytes: testPNG(t, 56, 56, "rgb", 99)})
		}
		text := strings.Repeat("Which finding is shown? ", 1+i%4) + "A) one B) two"
		reqs = append(reqs, runners.Request{ID: fmt.Sprint(i), Prompt: "simple", Images: imgs, Text: text})
	}
	return reqs
}

func TestBatchEqualsSingle(t *testing.T) {
	s := greedy(20)
	s.RepetitionPenalty = 2
	r := openTiny(t, "fp32", s, nil)
	reqs := mixedRequests(t, 8)
	batch, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	lengths := map[int]bool{}
	finish := map[string]bool{}
	for i, q := range reqs {
		one, err := r.Generate(context.Background(), []runners.Request{q})
		if err != nil {
			t.Fatal(err)
		}
		if batch[i].Err != nil || one[0].Err != nil {
			t.Fatalf("request %d: %v / %v", i, batch[i].Err, one[0].Err)
		}
		if !slices.Equal(batch[i].TokenIDs, one[0].TokenIDs) {
			t.Errorf("request %d: batch %v, alone %v", i, batch[i].TokenIDs, one[0].TokenIDs)
		}
		if batch[i].PromptTokens != one[0].PromptTokens || batch[i].Text != one[0].Text || batch[i].FinishReason != one[0].FinishReason {
			t.Errorf("request %d: result fields differ: %+v vs %+v", i, batch[i], one[0])
		}
		lengths[batch[i].PromptTokens] = true
		finish[batch[i].FinishReason] = true
	}
	if len(lengths) < 4 {
		t.Errorf("prompt lengths %v: the batch should need left padding", lengths)
	}
	t.Logf("finish reasons %v", finish)
}

func TestEOSStopsAndIsIncluded(t *testing.T) {
	// Make the first greedy token an EOS id: it must be returned and end the row.
	r := openTiny(t, "fp32", greedy(8), nil)
	req := mixedRequests(t, 1)[0]
	res, err := r.Generate(context.Background(), []runners.Request{req})
	if err != nil {
		t.Fatal(err)
	}
	first := res[0].TokenIDs[0]
	r2 := openTiny(t, "fp32", greedy(8), func(c *Config) { c.EOS = []int{first} })
	res2, err := r2.Generate(context.Background(), []runners.Request{req})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res2[0].TokenIDs, []int{first}) || res2[0].FinishReason != "eos" || res2[0].CompletionTokens != 1 {
		t.Fatalf("got %+v", res2[0])
	}
	// min_new_tokens suppresses that EOS until 3 tokens exist.
	s := greedy(8)
	s.MinNewTokens = 3
	r3 := openTiny(t, "fp32", s, func(c *Config) { c.EOS = []int{first} })
	res3, err := r3.Generate(context.Background(), []runners.Request{req})
	if err != nil {
		t.Fatal(err)
	}
	if len(res3[0].TokenIDs) < 3 || slices.Contains(res3[0].TokenIDs[:2], first) {
		t.Fatalf("min_new_tokens: %v", res3[0].TokenIDs)
	}
	if res[0].FinishReason != "length" || len(res[0].TokenIDs) != 8 {
		t.Fatalf("max_new_tokens: %+v", res[0])
	}
}

func TestSampledReproducible(t *testing.T) {
	s := runners.Sampling{DoSample: true, Temperature: 1.5, TopK: 40, TopP: 0.95, RepetitionPenalty: 1.1, MaxNewTokens: 16, Seed: 7}
	r := openTiny(t, "fp32", s, nil)
	reqs := mixedRequests(t, 5)
	a, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	// a sample's output does not depend on the batch it lands in
	c, err := r.Generate(context.Background(), []runners.Request{reqs[4], reqs[2]})
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for i := range reqs {
		if !slices.Equal(a[i].TokenIDs, b[i].TokenIDs) {
			t.Errorf("request %d: run 1 %v, run 2 %v", i, a[i].TokenIDs, b[i].TokenIDs)
		}
		distinct[fmt.Sprint(a[i].TokenIDs)] = true
	}
	if !slices.Equal(c[0].TokenIDs, a[4].TokenIDs) || !slices.Equal(c[1].TokenIDs, a[2].TokenIDs) {
		t.Errorf("sampled output depends on the batch: %v vs %v", c[0].TokenIDs, a[4].TokenIDs)
	}
	greedyRes, err := openTiny(t, "fp32", greedy(16), nil).Generate(context.Background(), reqs[:1])
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(greedyRes[0].TokenIDs, a[0].TokenIDs) {
		t.Errorf("sampling gave the greedy output %v", a[0].TokenIDs)
	}
	// another run seed gives other samples
	s.Seed = 8
	d, err := openTiny(t, "fp32", s, nil).Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range reqs {
		if slices.Equal(d[i].TokenIDs, a[i].TokenIDs) {
			same++
		}
	}
	if same == len(reqs) {
		t.Error("run seed has no effect")
	}
}

func TestChunkedPrefillMatches(t *testing.T) {
	s := greedy(12)
	s.RepetitionPenalty = 2
	reqs := mixedRequests(t, 3)
	full, err := openTiny(t, "fp32", s, nil).Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := openTiny(t, "fp32", s, func(c *Config) { c.PrefillChunk = 7 }).Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range reqs {
		if !slices.Equal(full[i].TokenIDs, chunked[i].TokenIDs) {
			t.Errorf("request %d: full %v, chunked %v", i, full[i].TokenIDs, chunked[i].TokenIDs)
		}
	}
}

func TestPerSampleErrors(t *testing.T) {
	r := openTiny(t, "fp32", greedy(4), nil)
	reqs := mixedRequests(t, 3)
	reqs[1].Images = []runners.Image{{Bytes: []byte("not an image")}}
	reqs[2].Text = "sneaky <|image_pad|> token"
	res, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || len(res[0].TokenIDs) != 4 {
		t.Errorf("good sample: %+v", res[0])
	}
	for _, i := range []int{1, 2} {
		if res[i].Err == nil || !strings.HasPrefix(res[i].Err.Error(), "qwen2vl: sample "+reqs[i].ID) || res[i].FinishReason != "error" {
			t.Errorf("request %d: %+v", i, res[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Generate(ctx, reqs[:1]); err == nil {
		t.Error("cancelled context must stop generation")
	}
}

func TestPrepare(t *testing.T) {
	r := openTiny(t, "fp32", greedy(4), nil)
	req := mixedRequests(t, 4)[3] // two images: 84x112? no: sizes[3] = 112x84 and 56x56
	p, err := r.Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.GridTHW) != 2 || p.GridTHW[0] != [3]int64{1, 6, 8} || p.GridTHW[1] != [3]int64{1, 4, 4} {
		t.Fatalf("grids %v", p.GridTHW)
	}
	pads := 0
	for _, id := range p.InputIDs {
		if id == r.meta.tok.imagePad {
			pads++
		}
	}
	if pads != 12+4 || len(p.PixelValues) != (48+16)*1176 {
		t.Fatalf("pads %d, pixels %d", pads, len(p.PixelValues))
	}
	want := r.Tokenizer().Encode(ChatPrompt(req.Text, 2))
	if len(p.InputIDs) != len(want)+pads-2 {
		t.Fatalf("ids %d, template %d", len(p.InputIDs), len(want))
	}
	var maxPos int64
	for d := 0; d < 3; d++ {
		if len(p.PositionIDs[d]) != len(p.InputIDs) {
			t.Fatal("position rows")
		}
		for _, v := range p.PositionIDs[d] {
			maxPos = max(maxPos, v)
		}
	}
	if p.RopeDelta != maxPos+1-int64(len(p.InputIDs)) || p.RopeDelta >= 0 {
		t.Fatalf("delta %d", p.RopeDelta)
	}
}

// TestBatchRowDropping: rows that hit EOS early leave the batch (their KV
// rows are compacted away) while the others go on, with the same tokens as
// when each runs alone.
func TestBatchRowDropping(t *testing.T) {
	s := greedy(20)
	s.RepetitionPenalty = 2
	reqs := mixedRequests(t, 8)
	b := openTiny(t, "fp32", s, nil)
	base, err := b.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	// rows of base may already end at the model's own EOS ids: keep them
	defEOS, _ := b.Info().Settings["eos_token_ids"].([]int)
	// an EOS id that ends some rows early and not others
	eos := -1
	for _, id := range base[0].TokenIDs[3:] {
		if slices.Contains(defEOS, id) {
			continue
		}
		n := 0
		for _, b := range base {
			if slices.Contains(b.TokenIDs, id) {
				n++
			}
		}
		if n < len(base) && !slices.Contains(base[0].TokenIDs[:3], id) {
			eos = id
			break
		}
	}
	if eos < 0 {
		t.Fatalf("no usable EOS id in %v", base[0].TokenIDs)
	}
	r := openTiny(t, "fp32", s, func(c *Config) { c.EOS = append(slices.Clone(defEOS), eos) })
	batch, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for i, q := range reqs {
		one, err := r.Generate(context.Background(), []runners.Request{q})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(batch[i].TokenIDs, one[0].TokenIDs) || batch[i].FinishReason != one[0].FinishReason {
			t.Errorf("request %d: batch %v (%s), alone %v (%s)", i, batch[i].TokenIDs, batch[i].FinishReason, one[0].TokenIDs, one[0].FinishReason)
		}
		want := base[i].TokenIDs
		if k := slices.Index(want, eos); k >= 0 {
			want = want[:k+1]
		}
		if !slices.Equal(batch[i].TokenIDs, want) {
			t.Errorf("request %d: %v, want the prefix %v", i, batch[i].TokenIDs, want)
		}
		reasons[batch[i].FinishReason]++
	}
	if reasons["eos"] == 0 || reasons["length"] == 0 {
		t.Errorf("finish reasons %v: want both eos and length", reasons)
	}
}

func TestGenerateSmoke(t *testing.T) {
	r := openTiny(t, "fp32", greedy(16), nil)
	req := runners.Request{ID: "0", Prompt: "simple", Images: []runners.Image{{Bytes: testPNG(t, 56, 84, "rgb", 1)}}, Text: "What modality is this?"}
	res, err := r.Generate(context.Background(), []runners.Request{req})
	if err != nil {
		t.Fatal(err)
	}
	got := res[0]
	if got.Err != nil || got.ID != "0" || len(got.TokenIDs) != 16 || got.CompletionTokens != 16 || got.FinishReason != "length" ||
		got.Text != r.Tokenizer().Decode(got.TokenIDs, true) || got.PromptTokens < 20 || got.Latency <= 0 {
		t.Fatalf("%+v", got)
	}
}

// GRPO-style batches repeat one prompt with different seeds: the image is
// encoded once per batch and every row equals its own run alone.
func TestRepeatedPromptBatch(t *testing.T) {
	s := runners.Sampling{DoSample: true, Temperature: 1.4, TopP: 0.95, RepetitionPenalty: 1, MaxNewTokens: 12}
	r := openTiny(t, "fp32", s, nil)
	base := mixedRequests(t, 2)
	var reqs []runners.Request
	for g := 0; g < 4; g++ {
		for _, q := range base {
			q.ID = fmt.Sprintf("%s-%d", q.ID, g)
			q.Seed = uint64(100 + g)
			reqs = append(reqs, q)
		}
	}
	batch, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for i, q := range reqs {
		one, err := r.Generate(context.Background(), []runners.Request{q})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(batch[i].TokenIDs, one[0].TokenIDs) {
			t.Errorf("request %s: batch %v, alone %v", q.ID, batch[i].TokenIDs, one[0].TokenIDs)
		}
		distinct[fmt.Sprint(batch[i].TokenIDs)] = true
	}
	if len(distinct) < 4 {
		t.Errorf("only %d distinct completions from 8 seeded rows", len(distinct))
	}
}
