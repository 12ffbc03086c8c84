package datasets

import (
	"strconv"
	"strings"
	"testing"
)

func TestCheckSamplesAnswerKeys(t *testing.T) {
	good := func(i int) Item {
		opts := []string{"yes", "no", "maybe"}
		return Item{Index: i, Modality: "MRI", Record: Record{Image: []string{"a.png"}, Question: "Q?",
			Options: opts, Answer: "no", Solution: "B", Problem: BuildProblem("Q?", opts), Subset: "MRI"}}
	}
	outside, lower, contra, empty := good(1), good(2), good(3), good(4)
	outside.Record.Solution = "E"
	lower.Record.Solution = "b"
	contra.Record.Solution = "C"
	empty.Record.Options = nil
	samples := []Item{good(0), outside, lower, contra, empty}
	probs := CheckSamples(samples, DefaultModalityMap())
	want := map[int]string{
		1: `"E", but there are only 3 options`,
		2: `"b" is not a single letter A..J`,
		3: `"C", but the answer "no" is option B`,
		4: `empty list`,
	}
	byIdx := InvalidByIndex(probs)
	if _, ok := byIdx[0]; ok {
		t.Errorf("valid record flagged: %q", byIdx[0])
	}
	for i, w := range want {
		if !strings.Contains(byIdx[i], w) {
			t.Errorf("record %d: got %q, want it to contain %q", i, byIdx[i], w)
		}
	}
	lines := strings.Split(ProblemLines("d.json", probs, 2), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "d.json: record 1: field \"solution\"") ||
		!strings.HasPrefix(lines[2], "... and "+strconv.Itoa(len(probs)-2)+" more problem(s)") {
		t.Errorf("ProblemLines capped at 2:\n%s", strings.Join(lines, "\n"))
	}
}
