package bench

import (
	"errors"
	"strings"
	"testing"
)

func TestSettingsComplete(t *testing.T) {
	base := Settings{N: 4, Repeats: 1, Batches: []int{1}, MaxNew: 8, MinNew: 8, Peer: PeerNone, Out: "b.json", DType: "fp32", ModelDir: "m"}
	ok := func(Variant) error { return nil }
	s := base
	if err := s.Complete("complex", []string{"q8", "q4@other"}, ok); err != nil {
		t.Fatal(err)
	}
	if s.Prompt.Name != "complex" || len(s.Variants) != 3 || s.Variants[0] != (Variant{"fp32", "m"}) || s.Variants[2] != (Variant{"q4", "other"}) {
		t.Errorf("completed %+v", s)
	}
	for _, c := range []struct {
		prompt   string
		variants []string
		check    func(Variant) error
		change   func(*Settings)
		want     string
	}{
		{"complex", nil, ok, func(s *Settings) { s.N = 0 }, "bench: --n 0"},
		{"nope", nil, ok, nil, "bench: --prompt: "},
		{"complex", nil, func(Variant) error { return errors.New("no such dtype") }, nil, "bench: no such dtype"},
		{"complex", []string{"fp32"}, ok, nil, `bench: --variant "fp32": fp32 on m is measured already`},
	} {
		s := base
		if c.change != nil {
			c.change(&s)
		}
		if err := s.Complete(c.prompt, c.variants, c.check); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q %v: error %v, want %q", c.prompt, c.variants, err, c.want)
		}
	}
}
