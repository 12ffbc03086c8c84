package imageproc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTJSPixelValues runs transformers.js 4.3.1's Qwen2VLImageProcessor
// (testtools, installed by `make testtools`) on images that need no resize
// and checks that TJSNormalize reproduces its pixel_values bit for bit, and
// that the default (Hugging Face) normalisation differs from it only by
// float32 rounding. Skipped when node or the test tools are missing.
func TestTJSPixelValues(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node (about a second); skipped with -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	tools, err := filepath.Abs(filepath.Join("..", "..", "testtools"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tools, "node_modules", "@huggingface", "transformers", "package.json")); err != nil {
		t.Skip("testtools not installed (make testtools)")
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var imgs []*RGB
	for _, sz := range [][2]int{{56, 84}, {112, 56}, {28 * 5, 28 * 3}} {
		m := &RGB{W: sz[0], H: sz[1], Pix: make([]uint8, 3*sz[0]*sz[1])}
		for i := range m.Pix {
			m.Pix[i] = uint8(rng.IntN(256))
		}
		imgs = append(imgs, m)
	}
	dir := t.TempDir()
	args := []string{filepath.Join("testdata", "tjs_pixel_values.cjs"), tools, dir}
	for i, m := range imgs {
		p := filepath.Join(dir, fmt.Sprintf("%d.rgb", i))
		if err := os.WriteFile(p, m.Pix, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, fmt.Sprint(m.W), fmt.Sprint(m.H), p)
	}
	cmd := exec.Command(node, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for i, m := range imgs {
		if !sc.Scan() {
			t.Fatalf("image %d: no output from node", i)
		}
		var res struct {
			GridTHW [3]int64 `json:"grid_thw"`
			Dims    []int    `json:"dims"`
		}
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			t.Fatalf("image %d: %v: %s", i, err, sc.Bytes())
		}
		raw, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.f32", i)))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(raw)/4)
		for j := range want {
			want[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
		}
		cfg := DefaultConfig()
		cfg.TJSNormalize = true
		got, err := PreprocessRGB(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got.GridTHW != res.GridTHW || len(got.PixelValues) != len(want) {
			t.Fatalf("image %dx%d: grid %v, %d values; transformers.js grid %v dims %v", m.W, m.H, got.GridTHW, len(got.PixelValues), res.GridTHW, res.Dims)
		}
		for j := range want {
			if math.Float32bits(got.PixelValues[j]) != math.Float32bits(want[j]) {
				t.Fatalf("image %dx%d: pixel_values[%d][%d] = %g, transformers.js %g", m.W, m.H, j/1176, j%1176, got.PixelValues[j], want[j])
			}
		}
		hf, err := PreprocessRGB(m, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		differ, maxd := 0, 0.0
		for j := range want {
			if hf.PixelValues[j] != want[j] {
				differ++
				maxd = math.Max(maxd, math.Abs(float64(hf.PixelValues[j]-want[j])))
			}
		}
		if maxd > 1e-6 {
			t.Errorf("image %dx%d: HF normalisation differs from transformers.js by up to %g", m.W, m.H, maxd)
		}
		t.Logf("image %dx%d: TJSNormalize bit-exact; HF normalisation differs on %.1f%% of values (max %.2g)", m.W, m.H, 100*float64(differ)/float64(len(want)), maxd)
	}
}
