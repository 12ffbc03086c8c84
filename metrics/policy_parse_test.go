package metrics

import (
	"strings"
	"testing"
)

func TestPolicySetParse(t *testing.T) {
	ps, err := DefaultPolicies().Parse([]string{" lenient", "", "strict", "lenient"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name() != "lenient" || ps[1].Name() != "strict" {
		t.Errorf("parsed %v", ps)
	}
	if _, err := DefaultPolicies().Parse([]string{"", " "}); err == nil || err.Error() != "no policy given" {
		t.Errorf("blank: %v", err)
	}
	if _, err := DefaultPolicies().Parse([]string{"strict", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown extraction policy "nope"`) {
		t.Errorf("unknown: %v", err)
	}
}
