package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/model/imageproc"
)

// runPreprocessTool runs `medbench tools preprocess ARGS` in-process and
// returns stdout, the exit code run() would give and the error.
func runPreprocessTool(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	app := newApp(defaultRunners())
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, io.Discard
	err := app.Run(append([]string{"medbench", "tools", "preprocess"}, args...))
	code := 0
	if err != nil {
		code = 2
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
	}
	return out.String(), code, err
}

const preprocessGolden = "../../model/imageproc/testdata/golden"

func TestToolsPreprocess(t *testing.T) {
	var idx struct {
		Images []struct {
			Input, Resized, Error string
			ResizedWhite          string `json:"resized_white"`
			Lossless              bool
			MinPixels             int `json:"min_pixels"`
			MaxPixels             int `json:"max_pixels"`
			FetchMin              int `json:"fetch_min_pixels"`
			FetchMax              int `json:"fetch_max_pixels"`
			ResizedHeight         int `json:"resized_height"`
			ResizedWidth          int `json:"resized_width"`
		} `json:"images"`
	}
	data, err := os.ReadFile(filepath.Join(preprocessGolden, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	checked := 0
	for _, g := range idx.Images {
		if g.Error != "" || !g.Lossless || g.ResizedHeight*g.ResizedWidth > 100000 || checked == 3 {
			continue
		}
		checked++
		in := filepath.Join(preprocessGolden, g.Input)
		resized, pv := filepath.Join(dir, "r.png"), filepath.Join(dir, "pv.f32")
		out, code, err := runPreprocessTool(t, "--image", in, "--min-pixels", strconv.Itoa(g.MinPixels), "--max-pixels", strconv.Itoa(g.MaxPixels),
			"--fetch-min-pixels", strconv.Itoa(g.FetchMin), "--fetch-max-pixels", strconv.Itoa(g.FetchMax),
			"--resized", resized, "--pixel-values", pv)
		if code != 0 {
			t.Fatalf("%s: exit %d: %v", in, code, err)
		}
		var js struct {
			Height, Width int
			GridTHW       [3]int64 `json:"grid_thw"`
			ImageTokens   int      `json:"image_tokens"`
		}
		if err := json.Unmarshal([]byte(out), &js); err != nil {
			t.Fatalf("%s: output %q: %v", in, out, err)
		}
		h, w := g.ResizedHeight, g.ResizedWidth
		if js.Height != h || js.Width != w || js.GridTHW != [3]int64{1, int64(h / 14), int64(w / 14)} || js.ImageTokens != h*w/784 {
			t.Errorf("%s: printed %+v, want %dx%d", in, js, h, w)
		}
		wantResized := g.Resized
		if g.ResizedWhite != "" {
			wantResized = g.ResizedWhite
		}
		if got, want := readRGBPNG(t, resized), readRGBPNG(t, filepath.Join(preprocessGolden, wantResized)); !bytes.Equal(got, want) {
			t.Errorf("%s: --resized differs from Pillow's resize", in)
		}
		cfg := imageproc.DefaultConfig()
		cfg.MinPixels, cfg.MaxPixels = g.MinPixels, g.MaxPixels
		cfg.FetchMinPixels, cfg.FetchMaxPixels = g.FetchMin, g.FetchMax
		p, err := imageproc.PreprocessFile(in, cfg)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(pv)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 4*len(p.PixelValues) || len(p.PixelValues) != h*w/196*1176 {
			t.Fatalf("%s: --pixel-values has %d bytes, want 4×%d", in, len(raw), len(p.PixelValues))
		}
		for i, v := range p.PixelValues {
			if math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])) != v {
				t.Fatalf("%s: --pixel-values[%d] differs from imageproc.Preprocess", in, i)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no golden image checked")
	}
}

// TestToolsPreprocessRGBA: an RGBA image is pasted on white by default
// (qwen-vl-utils >= 0.0.9 to_rgb) and loses its alpha with
// --rgba qwen-vl-utils-0.0.8, each bit-exact with Pillow.
func TestToolsPreprocessRGBA(t *testing.T) {
	var idx struct {
		Images []struct {
			Input, Resized, Kind string
			ResizedWhite         string `json:"resized_white"`
			Lossless             bool
			MinPixels            int `json:"min_pixels"`
			MaxPixels            int `json:"max_pixels"`
			FetchMin             int `json:"fetch_min_pixels"`
			FetchMax             int `json:"fetch_max_pixels"`
		} `json:"images"`
	}
	data, err := os.ReadFile(filepath.Join(preprocessGolden, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	checked := 0
	for _, g := range idx.Images {
		if g.ResizedWhite == "" || !g.Lossless || g.Kind != "png-RGBA" {
			continue
		}
		checked++
		in := filepath.Join(preprocessGolden, g.Input)
		white, drop := readRGBPNG(t, filepath.Join(preprocessGolden, g.ResizedWhite)), readRGBPNG(t, filepath.Join(preprocessGolden, g.Resized))
		if bytes.Equal(white, drop) {
			t.Fatalf("%s: the golden white composite equals the alpha-dropped image: alpha untested", in)
		}
		for _, tc := range []struct {
			args []string
			want []byte
		}{{nil, white}, {[]string{"--rgba", "white"}, white}, {[]string{"--rgba", "qwen-vl-utils-0.0.8"}, drop}} {
			resized := filepath.Join(dir, "r.png")
			args := append([]string{"--image", in, "--min-pixels", strconv.Itoa(g.MinPixels), "--max-pixels", strconv.Itoa(g.MaxPixels),
				"--fetch-min-pixels", strconv.Itoa(g.FetchMin), "--fetch-max-pixels", strconv.Itoa(g.FetchMax), "--resized", resized}, tc.args...)
			if _, code, err := runPreprocessTool(t, args...); code != 0 {
				t.Fatalf("%s %v: exit %d: %v", in, tc.args, code, err)
			}
			if !bytes.Equal(readRGBPNG(t, resized), tc.want) {
				t.Errorf("%s %v: --resized differs from Pillow's", in, tc.args)
			}
		}
	}
	if checked == 0 {
		t.Fatal("the golden set has no 8-bit RGBA PNG")
	}
}

func TestToolsPreprocessErrors(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(notImage, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	var long string
	for _, name := range preprocessGlob(t, filepath.Join(preprocessGolden, "inputs", "*")) {
		if strings.Contains(name, "png-L") {
			if _, code, err := runPreprocessTool(t, "--image", name); code == 2 && err != nil && strings.Contains(err.Error(), "aspect ratio") {
				long = name
				break
			}
		}
	}
	if long == "" {
		t.Fatal("the golden set has no image over 200:1 rejected with exit 2")
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--image", filepath.Join(dir, "none.png")}, "none.png"},
		{"undecodable", []string{"--image", notImage}, "notes.png"},
		{"over 200:1", []string{"--image", long}, filepath.Base(long)},
		{"min above max", []string{"--image", notImage, "--min-pixels", "5000", "--max-pixels", "4000"}, "min_pixels"},
		{"bad config", []string{"--image", notImage, "--config", filepath.Join(dir, "none.json")}, "none.json"},
		{"stray argument", []string{"--image", notImage, "extra"}, "unexpected"},
		{"unknown rgba mode", []string{"--image", notImage, "--rgba", "black"}, "--rgba"},
	}
	for _, tc := range tests {
		_, code, err := runPreprocessTool(t, tc.args...)
		if code != 2 || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: exit %d, error %v; want exit 2 and a one-line error naming %q", tc.name, code, err, tc.want)
		}
	}
}

func readRGBPNG(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return imageproc.ToRGB(img).Pix
}

func preprocessGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("glob %s: %v (%d matches)", pattern, err, len(m))
	}
	return m
}
