package answer

import "testing"

func TestParseRoundTrip(t *testing.T) {
	for _, f := range Formats() {
		got, err := Parse(f.String())
		if err != nil || got != f {
			t.Errorf("Parse(%q) = %v, %v; want %v", f.String(), got, err, f)
		}
	}
	if Format(0) != Tagged {
		t.Error("the zero Format is not Tagged")
	}
	if LetterOnly.String() != "letter-only" || Tagged.String() != "tagged" {
		t.Errorf("names: %q, %q", LetterOnly, Tagged)
	}
	for _, s := range []string{"", "letter", "Tagged", " tagged"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
	if got := Format(9).String(); got != "Format(9)" {
		t.Errorf("Format(9).String() = %q", got)
	}
}
