package datasets

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func synthT(t *testing.T, o SynthOptions) (string, []Record) {
	t.Helper()
	if o.Out == "" {
		o.Out = t.TempDir()
	}
	p, err := Synth(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRecords(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, recs
}

// readTree returns every file under dir by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSynthDeterministic(t *testing.T) {
	o := SynthOptions{N: 24, Seed: 42, MaxSide: 200}
	o.Out = t.TempDir()
	synthT(t, o)
	a := readTree(t, o.Out)
	o.Out = t.TempDir()
	synthT(t, o)
	b := readTree(t, o.Out)
	if len(a) != 25 || len(a) != len(b) {
		t.Fatalf("%d and %d files, want 25", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Errorf("%s differs between runs with the same seed", k)
		}
	}
	o.Out, o.Seed = t.TempDir(), 43
	synthT(t, o)
	c := readTree(t, o.Out)
	if bytes.Equal(a["dataset.json"], c["dataset.json"]) {
		t.Error("seeds 42 and 43 gave the same dataset.json")
	}
}

// luminance returns the image as gray levels in [0, 1] (alpha ignored, as
// PIL's convert("RGB") does for the straight-alpha PNGs written here). With
// pilClip, 16-bit gray is read the way PIL 9 reads it (mode "I", levels
// clipped to 255 by convert("RGB")) instead of scaled by 1/257.
func luminance(img image.Image, pilClip bool) ([]float64, int, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float64, w*h)
	g16, is16 := img.(*image.Gray16)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if is16 && pilClip {
				out[y*w+x] = float64(min(g16.Gray16At(b.Min.X+x, b.Min.Y+y).Y, 255)) / 255
				continue
			}
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			out[y*w+x] = (0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)) / 65535
		}
	}
	return out, w, h
}

// TestSynthAnswerFollowsImage checks, from the decoded pixels alone, that
// every answer is what the image shows: the bright pixels' centroid lies in
// the answered quadrant, and bright pixels exist iff the answer is Yes.
func TestSynthAnswerFollowsImage(t *testing.T) {
	dir := t.TempDir()
	p, recs := synthT(t, SynthOptions{Out: dir, N: 60, Seed: 3, MaxSide: 160, Modalities: []string{"all"}})
	_ = p
	for i, r := range recs {
		f, err := os.ReadFile(JoinImagePath(dir, r.Image[0]))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(f))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for _, pil := range []bool{false, true} {
			checkAnswer(t, i, r, img, pil)
		}
	}
}

func checkAnswer(t *testing.T, i int, r Record, img image.Image, pilClip bool) {
	t.Helper()
	{
		lum, w, h := luminance(img, pilClip)
		var n, sx, sy float64
		for k, v := range lum {
			if v > 0.75 {
				n++
				sx += float64(k%w) + 0.5
				sy += float64(k/w) + 0.5
			}
		}
		switch r.Question {
		case PresenceQuestion:
			if (n > 0) != (r.Answer == "Yes") {
				t.Errorf("record %d (PIL clip %v): %v bright pixels, answer %s", i, pilClip, n, r.Answer)
			}
		case QuadrantQuestion:
			if n == 0 {
				t.Fatalf("record %d: no bright pixels", i)
			}
			q := 0
			if sx/n > float64(w)/2 {
				q++
			}
			if sy/n > float64(h)/2 {
				q += 2
			}
			if QuadrantOptions[q] != r.Answer {
				t.Errorf("record %d (%s %dx%d, PIL clip %v): lesion in %s, answer %s", i, r.Image[0], w, h, pilClip, QuadrantOptions[q], r.Answer)
			}
		default:
			t.Errorf("record %d: question %q", i, r.Question)
		}
	}
}

func TestSynthCoverage(t *testing.T) {
	dir := t.TempDir()
	_, recs := synthT(t, SynthOptions{Out: dir, N: 48, Seed: 9, MaxSide: 300})
	models := map[color.Model]int{}
	names := map[string]bool{}
	for i, r := range recs {
		f, err := os.Open(JoinImagePath(dir, r.Image[0]))
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		models[cfg.ColorModel]++
		names[format] = true
		if cfg.Width < 20 || cfg.Height < 20 || cfg.Width > 300 || cfg.Height > 300 {
			t.Errorf("record %d: size %dx%d outside [20, 300]", i, cfg.Width, cfg.Height)
		}
		if i == 0 && min(cfg.Width, cfg.Height) != 20 {
			t.Errorf("record 0 should be at the minimum side: %dx%d", cfg.Width, cfg.Height)
		}
		if i == 15 && max(cfg.Width, cfg.Height) != 300 {
			t.Errorf("record 15 should be at the maximum side: %dx%d", cfg.Width, cfg.Height)
		}
	}
	for _, m := range []color.Model{color.GrayModel, color.Gray16Model, color.NRGBAModel, color.RGBAModel, color.YCbCrModel} {
		if models[m] == 0 {
			t.Errorf("no image with color model %T", m)
		}
	}
	if !names["png"] || !names["jpeg"] {
		t.Errorf("formats %v", names)
	}
	var space, pct, paren bool
	for _, r := range recs {
		space = space || strings.Contains(r.Image[0], " ")
		pct = pct || strings.Contains(r.Image[0], "%20")
		paren = paren || strings.Contains(r.Image[0], "(")
	}
	if !space || !pct || !paren {
		t.Errorf("file names lack spaces/%%20/parentheses: %v %v %v", space, pct, paren)
	}
}

func TestSynthLettersAndSubsets(t *testing.T) {
	_, recs := synthT(t, SynthOptions{N: 90, Seed: 5, MaxSide: 64})
	subsets := []string{SubsetMRI, SubsetCT, SubsetXray}
	for b := 0; b < 3; b++ {
		counts := map[string]int{}
		for _, r := range recs[b*30 : b*30+30] {
			if r.Subset != subsets[b] || r.Dataset != SynthDataset {
				t.Fatalf("block %d: subset %q dataset %q", b, r.Subset, r.Dataset)
			}
			if len(r.Options) == 4 {
				counts[r.Solution]++
			}
		}
		// 24 quadrant items per block: exactly 6 per letter.
		for _, l := range []string{"A", "B", "C", "D"} {
			if counts[l] != 6 {
				t.Errorf("block %d letter counts %v, want 6 each", b, counts)
				break
			}
		}
	}
	// Blocks of 300 make the seed's positional slices agree with subsets.
	samples := make([]Item, 900)
	for i := range samples {
		samples[i] = Item{Index: i, Modality: []string{MRI, CT, Xray}[i/300]}
	}
	if !AllAgree(SelectionAgreement(samples)) {
		t.Error("block layout does not match the seed slices")
	}
}

func TestSynthMaxSide56(t *testing.T) {
	dir := t.TempDir()
	_, recs := synthT(t, SynthOptions{Out: dir, N: 20, Seed: 1, MinSide: 28, MaxSide: 56, Modalities: []string{"MRI"}})
	for i, r := range recs {
		f, _ := os.Open(JoinImagePath(dir, r.Image[0]))
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width < 28 || cfg.Height < 28 || cfg.Width > 56 || cfg.Height > 56 {
			t.Errorf("record %d: %dx%d %v", i, cfg.Width, cfg.Height, err)
		}
	}
}

func TestSynthLargeImage(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a 2000 px image")
	}
	dir := t.TempDir()
	_, recs := synthT(t, SynthOptions{Out: dir, N: 16, Seed: 2, Formats: []string{FormatPNG}, Modes: []string{ModeGray}})
	f, _ := os.Open(JoinImagePath(dir, recs[15].Image[0]))
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || max(cfg.Width, cfg.Height) != 2000 {
		t.Errorf("record 15: %dx%d %v, want a 2000 px side", cfg.Width, cfg.Height, err)
	}
}

func TestSynthOptionErrors(t *testing.T) {
	for _, o := range []SynthOptions{
		{N: 1},
		{Out: "x", N: 0},
		{Out: "x", N: 1, Modalities: []string{"Endoscopy"}},
		{Out: "x", N: 1, MinSide: 50, MaxSide: 40},
		{Out: "x", N: 1, Formats: []string{"gif"}},
		{Out: "x", N: 1, Modes: []string{"cmyk"}},
	} {
		if _, err := Synth(context.Background(), o); err == nil || !strings.HasPrefix(err.Error(), "datasets: synth:") {
			t.Errorf("%+v: error %v", o, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Synth(ctx, SynthOptions{Out: t.TempDir(), N: 50}); err == nil {
		t.Error("cancelled context: no error")
	}
}
