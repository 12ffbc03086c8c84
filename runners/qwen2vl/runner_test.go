package qwen2vl

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/fixture"
	"github.com/medbench/medbench/runners/ortlib"
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
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (run `make setup`): %v", err)
	}
	v, _ := tinyOnce.LoadOrStore(dtype, &tinyEntry{})
	e := v.(*tinyEntry)
	e.once.Do(func() {
		dir, err := os.MkdirTemp("", "qwen2vl-tiny-"+dtype+"-")
		if err != nil {
			e.err = err
			return
		}
		e.dir = dir
		e.err = fixture.Write(context.Background(), dir, fixture.Options{Preset: "tiny", DType: dtype, Seed: 1})
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
	dir := tinyModel(t, dtype)
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

func TestGenerateSmoke(t *testing.T) {
	r := openTiny(t, "fp32", greedy(16), nil)
	req := runners.Request{ID: "0", Prompt: "simple", Images: []runners.Image{{Bytes: testPNG(t, 56, 84, "rgb", 1)}}, Text: "What modality is this?"}
	res, err := r.Generate(context.Background(), []runners.Request{req})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res[0])
	if res[0].Err != nil || len(res[0].TokenIDs) == 0 {
		t.Fatalf("%+v", res[0])
	}
	_ = filepath.Join
}
