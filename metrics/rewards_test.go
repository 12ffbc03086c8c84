package metrics

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/medbench/medbench/answer"
)

// seedGolden is the golden table of docs/reference/medvlm-r1-seed.md#golden-table
// (ground truth B), verbatim.
var seedGolden = []struct {
	completion string
	accuracy   float64
	format     float64
	extract    string // "" = None
}{
	{"<think>x</think><answer>B</answer>", 1.0, 1.0, "B"},
	{"<think>x</think>\n\n<answer> b </answer>", 1.0, 1.0, ""},
	{"<think>x</think><answer>B.</answer>", 0.5, 1.0, ""},
	{"<think>x</think><answer>(B)</answer>", 0.5, 1.0, ""},
	{"<think>x</think><answer>B) Acute infarct</answer>", 0.0, 1.0, ""},
	{"<think>x</think><answer>Option B</answer>", 0.0, 1.0, ""},
	{"<think>x</think><answer>BB</answer>", 0.0, 1.0, ""},
	{"<think>x</think><answer>A</answer>", 0.0, 1.0, "A"},
	{"<think>x</think><answer>B</answer>\n", 1.0, 0.0, "B"},
	{" <think>x</think><answer>B</answer>", 1.0, 0.0, "B"},
	{"<answer>B</answer>", 1.0, 0.0, "B"},
	{"<think>x</think><answer>B</answer><answer>C</answer>", 1.0, 1.0, "B"},
	{"<THINK>x</THINK><ANSWER>B</ANSWER>", 1.0, 0.0, ""},
	{"B", 0.0, 0.0, ""},
}

func strOrNil(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestSeedGoldenTable(t *testing.T) {
	for _, c := range seedGolden {
		if got := AccuracyReward(c.completion, "B"); got != c.accuracy {
			t.Errorf("AccuracyReward(%q, B) = %v, want %v", c.completion, got, c.accuracy)
		}
		if got := FormatReward(c.completion); got != c.format {
			t.Errorf("FormatReward(%q) = %v, want %v", c.completion, got, c.format)
		}
		if got := strOrNil(Strict.Extract(c.completion, answer.Tagged, nil)); got != c.extract {
			t.Errorf("Strict.Extract(%q, complex) = %q, want %q", c.completion, got, c.extract)
		}
	}
}

// TestSeedGoldenPython checks against values produced by running the seed's
// Python code (testdata/seed_golden.py) on extra cases, including Python's
// Unicode \s (NBSP, ideographic space, \v, \x1c, NEL, U+2028 vs zero-width
// space U+200B, which is not whitespace) and str.upper() special cases.
func TestSeedGoldenPython(t *testing.T) { checkPythonGolden(t, "testdata/seed_golden.json", 30) }

// TestSeedRandomPython is a differential test against the seed's Python code
// on 3000 generated completions (testdata/seed_random.py): tag-case
// variants, Python-only whitespace and Unicode case-mapping corner cases.
func TestSeedRandomPython(t *testing.T) { checkPythonGolden(t, "testdata/seed_random.json", 3000) }

func checkPythonGolden(t *testing.T, path string, minRows int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < minRows {
		t.Fatalf("only %d golden rows", len(rows))
	}
	for i, r := range rows {
		comp, sol := r[0].(string), r[1].(string)
		acc, form := r[2].(float64), r[3].(float64)
		ext := ""
		if r[4] != nil {
			ext = r[4].(string)
		}
		if got := AccuracyReward(comp, sol); got != acc {
			t.Errorf("row %d: AccuracyReward(%q, %q) = %v, python %v", i, comp, sol, got, acc)
		}
		if got := FormatReward(comp); got != form {
			t.Errorf("row %d: FormatReward(%q) = %v, python %v", i, comp, got, form)
		}
		if got := strOrNil(Strict.Extract(comp, answer.Tagged, nil)); got != ext {
			t.Errorf("row %d: Strict.Extract(%q) = %q, python %q", i, comp, got, ext)
		}
	}
}

func BenchmarkAccuracyReward(b *testing.B) {
	c := "<think>The image shows a chronic infarct in the left MCA territory.</think>\n<answer>D</answer>"
	for b.Loop() {
		AccuracyReward(c, "D")
		FormatReward(c)
	}
}
