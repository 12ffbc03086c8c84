package metrics

import (
	"reflect"
	"strings"
	"testing"

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/records"
)

// firstLetterPolicy is a toy policy: the first upper-case letter of the
// output, whatever the answer format.
type firstLetterPolicy struct{}

func (firstLetterPolicy) Name() string { return "first" }
func (firstLetterPolicy) Version() int { return 3 }
func (firstLetterPolicy) Extract(output string, _ answer.Format, _ []string) *string {
	for _, r := range output {
		if r >= 'A' && r <= 'Z' {
			s := string(r)
			return &s
		}
	}
	return nil
}

func TestDefaultPolicies(t *testing.T) {
	set := DefaultPolicies()
	if got := set.Names(); !reflect.DeepEqual(got, []string{"strict", "lenient"}) {
		t.Errorf("Names = %q", got)
	}
	if got := set.IDs(); !reflect.DeepEqual(got, []string{"strict/v1", "lenient/v1"}) {
		t.Errorf("IDs = %q", got)
	}
	// The eval --policy help text and error, as they read before the set.
	if got := set.Usage(); got != "strict (the seed's rule) and/or lenient" {
		t.Errorf("Usage = %q", got)
	}
	if _, err := set.ByName("fuzzy"); err == nil || err.Error() != `metrics: unknown extraction policy "fuzzy" (known: strict, lenient)` {
		t.Errorf("ByName(fuzzy): %v", err)
	}
	l := set.List()
	l[0] = Lenient
	if set.List()[0] != Strict {
		t.Error("List shares the set's slice")
	}
}

func TestCustomPolicyInSet(t *testing.T) {
	set := NewPolicySet(Strict, Lenient, firstLetterPolicy{})
	if got := set.Names(); !reflect.DeepEqual(got, []string{"strict", "lenient", "first"}) {
		t.Errorf("Names = %q", got)
	}
	if got := set.IDs(); got[2] != "first/v3" {
		t.Errorf("IDs = %q", got)
	}
	if got := set.Usage(); got != "strict (the seed's rule), lenient and/or first" {
		t.Errorf("Usage = %q", got)
	}
	p, err := set.ByName("first")
	if err != nil {
		t.Fatal(err)
	}
	s := records.ScoredSample{Output: "maybe C, not B", Solution: "C"}
	Score(&s, answer.Tagged, []Policy{p, Strict})
	if got := s.Extractions["first"]; got == nil || *got != "C" || !s.Correct["first"] || s.Correct["strict"] {
		t.Errorf("scored %+v", s)
	}
	if _, err := DefaultPolicies().ByName("first"); err == nil {
		t.Error("the default set knows a policy added to another set")
	}
	if got := NewPolicySet(firstLetterPolicy{}).Usage(); got != "first" {
		t.Errorf("one-policy Usage = %q", got)
	}
	if got := (PolicySet{}).Usage(); got != "" || len(PolicySet{}.List()) != 0 {
		t.Errorf("empty set: %q", got)
	}
}

func TestNewPolicySetRefusesRepeatedNames(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"strict"`) {
			t.Errorf("recover() = %v", r)
		}
	}()
	NewPolicySet(Strict, Lenient, Strict)
}

// TestFormatNotName: the answer format, not the prompt's name, decides how
// strict reads an output.
func TestFormatNotName(t *testing.T) {
	for _, c := range []struct {
		prompt string
		format answer.Format
		out    string
		want   string
	}{
		{"simple", answer.Tagged, "D", ""},
		{"simple", answer.Tagged, "<answer>D</answer>", "D"},
		{"mine", answer.LetterOnly, "D", "D"},
		{"mine", answer.LetterOnly, "<answer>D</answer>", ""},
	} {
		s := records.ScoredSample{Prompt: c.prompt, Output: c.out, Solution: "D"}
		Score(&s, c.format, []Policy{Strict})
		if got := strOrNil(s.Extractions["strict"]); got != c.want || s.Correct["strict"] != (c.want == "D") {
			t.Errorf("%s as %v, %q: strict %q, correct %v; want %q", c.prompt, c.format, c.out, got, s.Correct["strict"], c.want)
		}
	}
}
