package datasets

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestSynthCount(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	pa, err := SynthCount(t.Context(), a, 12, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := SynthCount(t.Context(), b, 12, 3, nil)
	ba, _ := os.ReadFile(pa)
	bb, _ := os.ReadFile(pb)
	if !bytes.Equal(ba, bb) {
		t.Error("same seed, different dataset")
	}
	samples, err := LoadJSON(pa, a)
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := Validate(t.Context(), pa, a); err != nil || len(problems) != 0 {
		t.Fatalf("validate: %v %v", problems, err)
	}
	letters := map[string]int{}
	for _, s := range samples {
		letters[s.Record.Solution]++
		// The answer is the number of lit 28×28 cells; every cell is
		// uniform (one merged image token).
		f, err := os.Open(s.ImagePaths[0])
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g, ok := im.(*image.Gray)
		if !ok || g.Rect.Dx() != 56 || g.Rect.Dy() != 56 {
			t.Fatalf("%s: want a 56×56 gray image, got %T %v", s.ImagePaths[0], im, im.Bounds())
		}
		lit := 0
		for cell := range 4 {
			x0, y0 := cell%2*28, cell/2*28
			v := g.GrayAt(x0, y0).Y
			for y := y0; y < y0+28; y++ {
				for x := x0; x < x0+28; x++ {
					if g.GrayAt(x, y).Y != v {
						t.Fatalf("%s: cell %d is not uniform", s.ImagePaths[0], cell)
					}
				}
			}
			if v >= 128 {
				lit++
			}
		}
		if want := Letter(lit - 1); s.Record.Solution != want {
			t.Errorf("%s: %d lesions, solution %s (want %s)", s.ImagePaths[0], lit, s.Record.Solution, want)
		}
	}
	if len(letters) < 3 {
		t.Errorf("answers not spread: %v", letters)
	}
	if _, err := SynthCount(t.Context(), filepath.Join(a, "x"), 0, 1, nil); err == nil {
		t.Error("n = 0 accepted")
	}
	// Modality blocks: 12 records over three modalities, 4 each, in order.
	c := t.TempDir()
	pc, err := SynthCount(t.Context(), c, 12, 3, []string{MRI, CT, Xray})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := LoadJSON(pc, c)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sc {
		if want := []string{MRI, CT, Xray}[i/4]; s.Modality != want {
			t.Errorf("record %d: modality %s, want %s", i, s.Modality, want)
		}
		if s.Record.Problem != samples[i].Record.Problem || s.Record.Solution != samples[i].Record.Solution {
			t.Errorf("record %d: modalities changed the question or answer", i)
		}
	}
	if _, err := SynthCount(t.Context(), filepath.Join(a, "y"), 4, 1, []string{"Retina"}); err == nil {
		t.Error("unknown modality accepted")
	}
}
