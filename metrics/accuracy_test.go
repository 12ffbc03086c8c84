package metrics

import (
	"math"
	"reflect"
	"testing"

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/records"
)

func TestWilson(t *testing.T) {
	// Textbook values from the closed form
	// (2np + z² ± z·sqrt(z² + 4np(1−p))) / (2(n + z²)), computed in Python.
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.2775327998628892},
		{81, 263, 0.2552885198782742, 0.36620957698280004},
		{10, 10, 0.7224672001371107, 1},
		{1, 1, 0.20654931437723742, 1},
		{150, 300, 0.44377951613391686, 0.5562204838660831},
		{234, 300, 0.7297473820840871, 0.8231725540301672},
		{0, 0, 0, 1},
	}
	for _, c := range cases {
		lo, hi := Wilson(c.k, c.n, Z95)
		if math.Abs(lo-c.lo) > 1e-12 || math.Abs(hi-c.hi) > 1e-12 {
			t.Errorf("Wilson(%d, %d) = [%v, %v], want [%v, %v]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestScoreAndSummarize(t *testing.T) {
	mk := func(mod, prompt, id, sol, out, errStr string) records.ScoredSample {
		s := records.ScoredSample{ID: id, Modality: mod, Prompt: prompt, Solution: sol, Output: out, Error: errStr,
			Options: []string{"Hemorrhage", "Acute infarct", "Abscess formation", "Chronic infarct"}}
		format := answer.Tagged
		if prompt == "simple" { // the seed's simple template is letter-only
			format = answer.LetterOnly
		}
		Score(&s, format, DefaultPolicies().List())
		return s
	}
	samples := []records.ScoredSample{
		mk("MRI", "complex", "0", "D", "<think>x</think><answer>D</answer>", ""),
		mk("MRI", "complex", "1", "B", "<think>x</think><answer>B.</answer>", ""), // strict none, lenient B
		mk("MRI", "complex", "2", "A", "<answer>C</answer>", ""),
		mk("MRI", "complex", "3", "A", "", "replay: no output"),
		mk("CT", "simple", "300", "A", "A", ""),
		mk("CT", "simple", "301", "B", "B.", ""),
	}
	if got := samples[1].Extractions["strict"]; got != nil {
		t.Fatalf("strict extraction of B. = %q", *got)
	}
	if got := samples[1].Extractions["lenient"]; got == nil || *got != "B" {
		t.Fatalf("lenient extraction of B. = %v", got)
	}
	if samples[3].Correct["strict"] || samples[3].Extractions["lenient"] != nil {
		t.Fatal("failed sample scored")
	}
	cells := Summarize(samples)
	type row struct {
		mod, prompt, pol            string
		n, correct, parseFail, errs int
	}
	var got []row
	for _, c := range cells {
		got = append(got, row{c.Modality, c.Prompt, c.Policy, c.N, c.Correct, c.ParseFailures, c.Errors})
		if c.Accuracy != float64(c.Correct)/float64(c.N) || c.ParseFailureRate != float64(c.ParseFailures)/float64(c.N) {
			t.Errorf("%+v: inconsistent rates", c)
		}
		lo, hi := Wilson(c.Correct, c.N, Z95)
		if c.WilsonLow != lo || c.WilsonHigh != hi {
			t.Errorf("%+v: Wilson bounds", c)
		}
	}
	want := []row{
		{"CT", "simple", "lenient", 2, 2, 0, 0},
		{"CT", "simple", "strict", 2, 1, 1, 0},
		{"MRI", "complex", "lenient", 4, 2, 1, 1},
		{"MRI", "complex", "strict", 4, 1, 2, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summarize:\n got %v\nwant %v", got, want)
	}
	if Summarize(nil) == nil || len(Summarize(nil)) != 0 {
		t.Error("Summarize(nil) should be an empty, non-nil slice")
	}
}

func BenchmarkSummarize1800(b *testing.B) {
	samples := make([]records.ScoredSample, 1800)
	mods := []string{"MRI", "CT", "Xray"}
	for i := range samples {
		s := records.ScoredSample{ID: string(rune('0' + i%10)), Modality: mods[i%3], Prompt: []string{"simple", "complex"}[i%2],
			Solution: "B", Output: "<think>x</think><answer>B</answer>"}
		Score(&s, []answer.Format{answer.LetterOnly, answer.Tagged}[i%2], DefaultPolicies().List())
		samples[i] = s
	}
	for b.Loop() {
		Summarize(samples)
	}
}
