package metrics

import (
	"regexp"
	"strings"
	"unicode"
)

// pySpaceClass is the body of a character class matching exactly the code
// points Python's re module matches with \s on str patterns (and the ones
// str.isspace() and str.strip() use): ASCII \t\n\v\f\r and space, the
// information separators \x1c-\x1f, NEL, NBSP and the Unicode space
// separators, line and paragraph separators. Go's RE2 \s is only [\t\n\f\r ].
const pySpaceClass = `\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

// pyRegexp compiles a pattern written with Python semantics for \s: every
// `\s` outside a character class is replaced by the Python whitespace class.
// Patterns given to it must not use \s inside [...] (none here do).
func pyRegexp(pattern string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(pattern, `\s`, `[`+pySpaceClass+`]`))
}

// isPySpace reports whether r is whitespace for Python's str.isspace(),
// str.strip() and re's \s.
func isPySpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1c && r <= 0x20, r == 0x85, r == 0xa0, r == 0x1680,
		r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// pyStrip is Python's str.strip() with no arguments.
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

// pyRemoveSpace is re.sub(r"\s+", "", s) under Python semantics.
func pyRemoveSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if isPySpace(r) {
			return -1
		}
		return r
	}, s)
}

// pyFullUpper maps the code points whose Python str.upper() is a multi-rune
// full case mapping (Unicode SpecialCasing.txt, unconditional entries of the
// Latin script) to that mapping. Go's strings.ToUpper applies only simple
// one-to-one mappings, under which these characters stay unchanged; several
// of them expand to ASCII letters that the seed's [A-J] letter count sees.
// The Greek and Armenian entries expand to non-ASCII letters only and need no
// special handling for the rewards' purposes, but are included for fidelity.
var pyFullUpper = map[rune]string{
	0x00df: "SS",           // ß
	0x0149: "\u02bcN",      // ŉ
	0x01f0: "J\u030c",      // ǰ
	0x1e96: "H\u0331",      // ẖ
	0x1e97: "T\u0308",      // ẗ
	0x1e98: "W\u030a",      // ẘ
	0x1e99: "Y\u030a",      // ẙ
	0x1e9a: "A\u02be",      // ẚ
	0xfb00: "FF",           // ﬀ
	0xfb01: "FI",           // ﬁ
	0xfb02: "FL",           // ﬂ
	0xfb03: "FFI",          // ﬃ
	0xfb04: "FFL",          // ﬄ
	0xfb05: "ST",           // ﬅ
	0xfb06: "ST",           // ﬆ
	0x0587: "\u0535\u0552", // և
	0xfb13: "\u0544\u0546", // ﬓ
	0xfb14: "\u0544\u0535", // ﬔ
	0xfb15: "\u0544\u053b", // ﬕ
	0xfb16: "\u054e\u0546", // ﬖ
	0xfb17: "\u0544\u053d", // ﬗ
	0x0390: "\u0399\u0308\u0301",
	0x03b0: "\u03a5\u0308\u0301",
}

// pyUpper approximates Python's str.upper(): Go's simple upper-case mapping
// plus the full (multi-rune) mappings in pyFullUpper.
func pyUpper(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if m, ok := pyFullUpper[r]; ok {
			b.WriteString(m)
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// pyFoldEqualASCII reports whether r matches the ASCII letter l under
// Python's re.IGNORECASE for str patterns: l itself, its other case, and the
// extra equivalences of Python's sre (dotless ı for i/I, long ſ for s/S,
// Kelvin sign for k/K).
func pyFoldEqualASCII(r, l rune) bool {
	lo := unicode.ToLower(l)
	if unicode.ToLower(r) == lo && r < 0x80 {
		return true
	}
	switch lo {
	case 'i':
		return r == 0x131
	case 's':
		return r == 0x17f
	case 'k':
		return r == 0x212a
	}
	return false
}
