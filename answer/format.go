// Package answer names the answer formats a question template asks the
// model for. A template declares its format (datasets.Template.Format) and
// the extraction policies (metrics.Policy) read the output accordingly, so
// that no code decides how to score an output from a prompt's name.
package answer

import (
	"fmt"
	"strings"
)

// Format is the shape of the answer a template asks for. The zero value is
// Tagged.
type Format uint8

const (
	// Tagged: the answer letter is given inside <answer>…</answer> tags,
	// possibly after other text (the seed's complex and train prompts, and
	// every custom template that declares no format).
	Tagged Format = iota
	// LetterOnly: the whole output is the answer letter (the seed's simple
	// prompt, whose script compares the raw output with the solution).
	LetterOnly
)

// Formats lists the answer formats, Tagged first.
func Formats() []Format { return []Format{Tagged, LetterOnly} }

// String is the format's name as templates declare it: "tagged" or
// "letter-only".
func (f Format) String() string {
	switch f {
	case Tagged:
		return "tagged"
	case LetterOnly:
		return "letter-only"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Parse returns the format named s ("tagged" or "letter-only").
func Parse(s string) (Format, error) {
	names := make([]string, 0, 2)
	for _, f := range Formats() {
		if s == f.String() {
			return f, nil
		}
		names = append(names, f.String())
	}
	return Tagged, fmt.Errorf("unknown answer format %q (known: %s)", s, strings.Join(names, ", "))
}
