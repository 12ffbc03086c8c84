// Package metrics extracts answers from model outputs under named, versioned
// policies, computes the MedVLM-R1 GRPO rewards, and summarizes accuracy per
// modality × prompt × policy with Wilson score intervals.
package metrics

import (
	"regexp"
	"strings"

	"github.com/medbench/medbench/answer"
)

// strictAnswerRe is the seed's r'<answer>\s*([A-Z])\s*</answer>' with
// Python's Unicode \s; case-sensitive.
var strictAnswerRe = pyRegexp(`<answer>\s*([A-Z])\s*</answer>`)

type strictPolicy struct{}

func (strictPolicy) Name() string { return "strict" }
func (strictPolicy) Version() int { return 1 }

// Note is shown beside strict's name in usage texts.
func (strictPolicy) Note() string { return "the seed's rule" }

// Extract implements the seed's rule (docs/reference/medvlm-r1-seed.md#scoring).
// For a letter-only template (the seed's simple prompt) the seed compares
// the whole decoded output with the ground-truth letter, so the extraction
// is the output itself when it is exactly one letter A–Z (no stripping) and
// nil otherwise. For a tagged template (complex, train and custom templates
// by default) it is the letter of the first match of
// <answer>\s*([A-Z])\s*</answer>, case-sensitive, with Python's \s.
func (strictPolicy) Extract(output string, format answer.Format, _ []string) *string {
	if format == answer.LetterOnly {
		if len(output) == 1 && output[0] >= 'A' && output[0] <= 'Z' {
			s := output
			return &s
		}
		return nil
	}
	m := strictAnswerRe.FindStringSubmatch(output)
	if m == nil {
		return nil
	}
	s := m[1]
	return &s
}

// Lenient answer-extraction regexes (Python \s; case-insensitive).
var (
	lenAnswerBlockRe = pyRegexp(`(?is)<answer>(.*?)</answer>`)
	lenAnswerOpenRe  = regexp.MustCompile(`(?i)<answer>`)
	lenThinkCloseRe  = regexp.MustCompile(`(?i)</think>`)
	// "B", "(B)", "[B]", "B.", "B)", "B:", "**B**"
	lenBareRe = pyRegexp(`(?i)\A[(\[]?\s*([A-Z])\s*[)\]]?[.:]?\z`)
	// "B) text", "B. text", "(B) text", "B: text", "B - text"
	lenLetterTextRe = pyRegexp(`(?is)\A(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z])(?:[.):]|\s+-))\s*(.+)\z`)
	// "Option B", "Answer: B", "The correct answer is (B)."
	lenPhraseRe = pyRegexp(`(?i)\A(?:the\s+)?(?:(?:correct|final|best)\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:\-]?\s*[(\[]?([A-Z])[)\]]?\.?\z`)
	// Statements inside free text: "answer is B", "option (c)", "choice: D".
	// Unbracketed letters must be upper-case here ("the answer is a mass").
	lenStatementRe = pyRegexp(`\b(?i:answer|option|choice)(?:\s+(?i:is))?\s*[:\-]?\s*(?:\(([A-Za-z])\)|\[([A-Za-z])\]|([A-Z])(?:[).,:;!?]|\s|\z))`)
)

type lenientPolicy struct{}

func (lenientPolicy) Name() string { return "lenient" }
func (lenientPolicy) Version() int { return 1 }

// Extract implements the lenient rules, version 1, whatever the template's
// answer format (they read tagged and bare answers alike):
//
//  1. Answer region. If the output has complete <answer>…</answer> blocks
//     (tags in any case), the region is the content of the LAST one; else if
//     it has an unclosed <answer> (generation cut off), the text after the
//     last one; else, if it has </think>, the text after the last </think>;
//     else the whole output. The region is stripped of Python whitespace and
//     of surrounding markdown emphasis (*, _, `).
//  2. In the region, in order, the first rule that applies decides:
//     a. a bare letter, optionally bracketed or followed by . : ) — "b", "(B)", "B.";
//     b. a letter with option text — "B) Acute infarct", "(B) …", "B. …", "B - …";
//     if the text names a different option exactly, the answer is ambiguous (nil);
//     c. an answer phrase making up the whole region — "Option B",
//     "Answer: b", "The answer is (B).";
//     d. the region equals one option's text (case-insensitive, whitespace
//     collapsed, trailing period ignored);
//     e. free text: every statement "answer/option/choice [is] [:] X" where X
//     is a bracketed letter, or an upper-case letter followed by punctuation,
//     whitespace or the end; if they all name the same letter, that letter;
//     if they disagree or there are none, nil.
//  3. A letter outside the record's options (when options are given) is nil.
//
// Except in rule e, letters are matched case-insensitively and returned upper-case. Anything
// else, or any conflict, yields nil rather than a guess.
func (lenientPolicy) Extract(output string, _ answer.Format, options []string) *string {
	l := lenientLetter(lenientRegion(output), options)
	if l == 0 {
		return nil
	}
	if len(options) > 0 && int(l-'A') >= len(options) {
		return nil
	}
	s := string(l)
	return &s
}

func lenientRegion(output string) string {
	if ms := lenAnswerBlockRe.FindAllStringSubmatch(output, -1); len(ms) > 0 {
		return trimRegion(ms[len(ms)-1][1])
	}
	if locs := lenAnswerOpenRe.FindAllStringIndex(output, -1); len(locs) > 0 {
		return trimRegion(output[locs[len(locs)-1][1]:])
	}
	if locs := lenThinkCloseRe.FindAllStringIndex(output, -1); len(locs) > 0 {
		return trimRegion(output[locs[len(locs)-1][1]:])
	}
	return trimRegion(output)
}

// trimRegion strips Python whitespace and surrounding markdown emphasis.
func trimRegion(s string) string {
	for {
		t := pyStrip(s)
		t = strings.TrimFunc(t, func(r rune) bool { return r == '*' || r == '_' || r == '`' })
		if t == s {
			return t
		}
		s = t
	}
}

func firstGroup(m []string) string {
	for _, g := range m[1:] {
		if g != "" {
			return g
		}
	}
	return ""
}

func upperLetter(s string) rune {
	if len(s) != 1 {
		return 0
	}
	c := rune(s[0])
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	if c < 'A' || c > 'Z' {
		return 0
	}
	return c
}

// normOption lower-cases, collapses whitespace and drops a trailing period.
func normOption(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), isPySpace)
	out := strings.Join(f, " ")
	return strings.TrimRight(out, ".")
}

// optionIndex returns the index of the single option whose normalized text
// equals text, or -1 (none, or several identical options).
func optionIndex(text string, options []string) int {
	n := normOption(text)
	if n == "" {
		return -1
	}
	idx := -1
	for i, o := range options {
		if normOption(o) == n {
			if idx >= 0 {
				return -1
			}
			idx = i
		}
	}
	return idx
}

func lenientLetter(region string, options []string) rune {
	if region == "" {
		return 0
	}
	if m := lenBareRe.FindStringSubmatch(region); m != nil {
		return upperLetter(m[1])
	}
	if m := lenLetterTextRe.FindStringSubmatch(region); m != nil {
		l := upperLetter(firstGroup(m[:4]))
		text := m[4]
		if len(options) > 0 {
			if i := optionIndex(text, options); i >= 0 && rune('A'+i) != l {
				return 0
			}
		}
		return l
	}
	if m := lenPhraseRe.FindStringSubmatch(region); m != nil {
		return upperLetter(m[1])
	}
	if i := optionIndex(region, options); i >= 0 {
		return rune('A' + i)
	}
	var stated rune
	for _, m := range lenStatementRe.FindAllStringSubmatch(region, -1) {
		l := upperLetter(firstGroup(m))
		if l == 0 {
			continue
		}
		if stated != 0 && stated != l {
			return 0
		}
		stated = l
	}
	return stated
}
