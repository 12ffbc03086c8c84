package metrics

import (
	"testing"

	"github.com/medbench/medbench/answer"
)

func TestStrictSimple(t *testing.T) {
	// Seed: model_answer = original_output; correct iff == ground truth.
	cases := []struct{ out, want string }{
		{"D", "D"},
		{"A", "A"},
		{"Z", "Z"},
		{"D.", ""},
		{"D) Chronic infarct", ""},
		{" D", ""},
		{"D\n", ""},
		{"d", ""},
		{"", ""},
		{"<answer>D</answer>", ""},
		{"\u00a0D", ""},
	}
	for _, c := range cases {
		if got := strOrNil(Strict.Extract(c.out, answer.LetterOnly, []string{"a", "b", "c", "d"})); got != c.want {
			t.Errorf("Strict.Extract(%q, letter-only) = %q, want %q", c.out, got, c.want)
		}
	}
}

func TestStrictComplexWhitespace(t *testing.T) {
	// Python's \s matches these; Go's RE2 \s matches only [\t\n\f\r ].
	cases := []struct{ out, want string }{
		{"<answer>\u00a0B\u00a0</answer>", "B"},
		{"<answer>\u3000C\u3000</answer>", "C"},
		{"<answer>\vA\v</answer>", "A"},
		{"<answer>\u0085D\u2029</answer>", "D"},
		{"<answer>\x1cE\x1f</answer>", "E"},
		{"<answer>\u200bB</answer>", ""}, // zero-width space is not whitespace
		{"<answer>\ufeffB</answer>", ""}, // nor is the BOM
		{"<answer>\n\n B \t</answer>", "B"},
		{"<answer>b</answer>", ""},
		{"<Answer>B</Answer>", ""},
		{"<answer>B</answer> then <answer>C</answer>", "B"},
		{"<answer>BC</answer><answer>D</answer>", "D"},
		{"<answer>", ""},
		{"", ""},
	}
	for _, c := range cases {
		if got := strOrNil(Strict.Extract(c.out, answer.Tagged, nil)); got != c.want {
			t.Errorf("Strict.Extract(%q) = %q, want %q", c.out, got, c.want)
		}
	}
}

func TestLenient(t *testing.T) {
	opts := []string{"Hemorrhage", "Acute infarct", "Abscess formation", "Chronic infarct"}
	yesNo := []string{"No", "Yes."}
	cases := []struct {
		name, out string
		options   []string
		want      string
	}{
		{"bare", "B", opts, "B"},
		{"lower", "b", opts, "B"},
		{"dot", "B.", opts, "B"},
		{"paren", "(B)", opts, "B"},
		{"bracket", "[c]", opts, "C"},
		{"close paren", "B)", opts, "B"},
		{"markdown", "**D**", opts, "D"},
		{"letter text", "B) Acute infarct", opts, "B"},
		{"letter dot text", "d. chronic infarct", opts, "D"},
		{"paren letter text", "(A) Hemorrhage", opts, "A"},
		{"letter text contradicts", "B) Chronic infarct", opts, ""},
		{"letter dash text", "C - Abscess formation", opts, "C"},
		{"option phrase", "Option B", opts, "B"},
		{"answer colon", "Answer: b", opts, "B"},
		{"the answer is", "The correct answer is (C).", opts, "C"},
		{"option text", "Chronic infarct", opts, "D"},
		{"option text case", "chronic  INFARCT.", opts, "D"},
		{"option text yes", "yes", yesNo, "B"},
		{"tags", "<think>x</think><answer>B</answer>", opts, "B"},
		{"tags case", "<THINK>x</THINK><ANSWER> b </ANSWER>", opts, "B"},
		{"last block", "<answer>A</answer> wait <answer>C</answer>", opts, "C"},
		{"block with text", "<think>x</think><answer>B) Acute infarct</answer>", opts, "B"},
		{"block option text", "<answer>Abscess formation</answer>", opts, "C"},
		{"unclosed block", "<think>long</think><answer>D", opts, "D"},
		{"after think", "<think>it is A or B</think>\nC", opts, "C"},
		{"nbsp", "\u00a0B\u3000", opts, "B"},
		{"free text statement", "Looking at the scan, the answer is B because of the lesion.", opts, "B"},
		{"free text two statements agree", "Answer: C. So the final answer is C.", opts, "C"},
		{"free text conflict", "The answer is A. Actually, the answer is B.", opts, ""},
		{"free text article", "the answer is a mass in the left lobe", opts, ""},
		{"free text none", "I cannot determine this from the image.", opts, ""},
		{"two letters", "BB", opts, ""},
		{"A or B", "A or B", opts, ""},
		{"out of range", "E", opts, ""},
		{"out of range yes/no", "C", yesNo, ""},
		{"no options any letter", "F", nil, "F"},
		{"empty", "", opts, ""},
		{"empty block", "<answer> </answer>", opts, ""},
		{"block unparseable", "<answer>maybe</answer>", opts, ""},
		{"duplicate options", "same", []string{"same", "same"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := strOrNil(Lenient.Extract(c.out, answer.Tagged, c.options)); got != c.want {
				t.Errorf("Lenient.Extract(%q) = %q, want %q", c.out, got, c.want)
			}
		})
	}
}

func TestPolicyByName(t *testing.T) {
	set := DefaultPolicies()
	for _, p := range set.List() {
		q, err := set.ByName(p.Name())
		if err != nil || q != p {
			t.Errorf("ByName(%q) = %v, %v", p.Name(), q, err)
		}
		if p.Version() < 1 {
			t.Errorf("%s: version %d", p.Name(), p.Version())
		}
	}
	if _, err := set.ByName("fuzzy"); err == nil {
		t.Error("ByName(fuzzy): no error")
	}
	if got := PolicyID(Strict); got != "strict/v1" {
		t.Errorf("PolicyID(Strict) = %q", got)
	}
}

func checkLetter(t *testing.T, name string, p *string) {
	if p == nil {
		return
	}
	if len(*p) != 1 || (*p)[0] < 'A' || (*p)[0] > 'Z' {
		t.Fatalf("%s returned %q, not one letter A-Z", name, *p)
	}
}

func FuzzStrict(f *testing.F) {
	for _, c := range seedGolden {
		f.Add(c.completion, false)
	}
	f.Add("D", true)
	f.Add("<answer>\u3000B\u3000</answer>", false)
	f.Fuzz(func(t *testing.T, out string, letterOnly bool) {
		format := answer.Tagged
		if letterOnly {
			format = answer.LetterOnly
		}
		got := Strict.Extract(out, format, nil)
		checkLetter(t, "Strict", got)
		if letterOnly && got != nil && *got != out {
			t.Fatalf("letter-only: %q extracted from %q", *got, out)
		}
		// The rewards must not panic and stay in their ranges.
		if r := AccuracyReward(out, "B"); r != 0 && r != 0.5 && r != 1 {
			t.Fatalf("AccuracyReward = %v", r)
		}
		if r := FormatReward(out); r != 0 && r != 1 {
			t.Fatalf("FormatReward = %v", r)
		}
	})
}

func FuzzLenient(f *testing.F) {
	for _, c := range seedGolden {
		f.Add(c.completion, "Acute infarct")
	}
	f.Add("The answer is (C).", "Abscess")
	f.Add("<answer>d. chronic", "Chronic")
	f.Fuzz(func(t *testing.T, out, opt string) {
		opts := []string{"Hemorrhage", opt, "Abscess formation"}
		got := Lenient.Extract(out, answer.Tagged, opts)
		checkLetter(t, "Lenient", got)
		if got != nil && (*got)[0]-'A' >= byte(len(opts)) {
			t.Fatalf("Lenient returned %q for %d options", *got, len(opts))
		}
		checkLetter(t, "Lenient without options", Lenient.Extract(out, answer.LetterOnly, nil))
	})
}

func BenchmarkLenient(b *testing.B) {
	out := "<think>The lesion is hypodense with no mass effect, consistent with an old infarct.</think>\n<answer>D) Chronic infarct</answer>"
	opts := []string{"Hemorrhage", "Acute infarct", "Abscess formation", "Chronic infarct"}
	for b.Loop() {
		Lenient.Extract(out, answer.Tagged, opts)
	}
}
