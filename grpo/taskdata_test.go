package grpo

import (
	"testing"

	"github.com/medbench/medbench/datasets"
)

func TestCanonicalOptions(t *testing.T) {
	order := []string{"Upper left", "Upper right", "Lower left", "Lower right"}
	s := datasets.Item{Index: 3, Record: datasets.Record{Question: "Q?", Options: []string{"Lower right", "Upper left", "Lower left", "Upper right"},
		Answer: "Lower left", Solution: "C"}}
	out, err := CanonicalOptions([]datasets.Item{s}, order)
	if err != nil {
		t.Fatal(err)
	}
	r := out[0].Record
	if r.Solution != "C" || r.Problem != "Q?\nA) Upper left\nB) Upper right\nC) Lower left\nD) Lower right" || s.Record.Options[0] != "Lower right" {
		t.Errorf("got %+v", r)
	}
	s.Record.Answer = "Lower right"
	out, _ = CanonicalOptions([]datasets.Item{s}, order)
	if out[0].Record.Solution != "D" {
		t.Errorf("solution %s, want D", out[0].Record.Solution)
	}
	s.Record.Options = []string{"Yes", "No", "Maybe", "Lower left"}
	if _, err := CanonicalOptions([]datasets.Item{s}, order); err == nil {
		t.Error("non-permutation accepted")
	}
}
