package grpo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/datasets"
)

func TestSynthCount(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	pa, err := SynthCount(a, 12, 3)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := SynthCount(b, 12, 3)
	ba, _ := os.ReadFile(pa)
	bb, _ := os.ReadFile(pb)
	if !bytes.Equal(ba, bb) {
		t.Error("same seed, different dataset")
	}
	samples, err := datasets.LoadJSON(pa, a)
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := datasets.Validate(t.Context(), pa, a); err != nil || len(problems) != 0 {
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
	if _, err := SynthCount(filepath.Join(a, "x"), 0, 1); err == nil {
		t.Error("n = 0 accepted")
	}
}

func TestCanonicalOptions(t *testing.T) {
	order := []string{"Upper left", "Upper right", "Lower left", "Lower right"}
	s := datasets.Sample{Index: 3, Record: datasets.Record{Question: "Q?", Options: []string{"Lower right", "Upper left", "Lower left", "Upper right"},
		Answer: "Lower left", Solution: "C"}}
	out, err := CanonicalOptions([]datasets.Sample{s}, order)
	if err != nil {
		t.Fatal(err)
	}
	r := out[0].Record
	if r.Solution != "C" || r.Problem != "Q?\nA) Upper left\nB) Upper right\nC) Lower left\nD) Lower right" || s.Record.Options[0] != "Lower right" {
		t.Errorf("got %+v", r)
	}
	s.Record.Answer = "Lower right"
	out, _ = CanonicalOptions([]datasets.Sample{s}, order)
	if out[0].Record.Solution != "D" {
		t.Errorf("solution %s, want D", out[0].Record.Solution)
	}
	s.Record.Options = []string{"Yes", "No", "Maybe", "Lower left"}
	if _, err := CanonicalOptions([]datasets.Sample{s}, order); err == nil {
		t.Error("non-permutation accepted")
	}
}
