package datasets

import (
	"bytes"
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
		// The answer is the lesion's level: the brightest pixel decides it.
		img, err := os.ReadFile(s.ImagePaths[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(img) == 0 {
			t.Fatal("empty image")
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
