package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// qwen2Pattern is the Split pre-tokenizer regex of the Qwen2 family, as it is
// written in tokenizer.json. The splitter below implements it by hand: Go's
// regexp has no lookahead and an ASCII-only \s, and a backtracking engine is
// ten times too slow for the hot path.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Character classes of the pattern. \s is Unicode White_Space (as in the
// reference implementations, which rewrite JavaScript's \s to
// \p{White_Space}); "other" is everything that is not a letter, a number or
// white space.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

// asciiClass classifies the ASCII range without table look-ups. It is filled
// once at package initialisation and never written again.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		t[r] = slowClass(r)
	}
	return t
}()

func slowClass(r rune) uint8 {
	switch {
	case unicode.Is(tableL, r):
		return classLetter
	case unicode.Is(tableN, r):
		return classNumber
	case unicode.Is(tableWhiteSpace, r):
		return classSpace
	}
	return classOther
}

// classAt decodes the rune at s[i:] and returns its class and width. Invalid
// UTF-8 (which Encode never passes in) counts as one "other" byte.
func classAt(s string, i int) (class uint8, r rune, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], rune(c), 1
	}
	r, size = utf8.DecodeRuneInString(s[i:])
	return slowClass(r), r, size
}

// spanClass returns the end of the run of runes of class want starting at i.
func spanClass(s string, i int, want uint8) int {
	for i < len(s) {
		c, _, n := classAt(s, i)
		if c != want {
			break
		}
		i += n
	}
	return i
}

// isLetterFold reports whether c is the ASCII letter lower in either case.
func isLetterFold(c, lower byte) bool { return c|0x20 == lower }

// contractionEnd returns the end of a contraction ('s 't 're 've 'm 'll 'd,
// ASCII case-insensitive) starting at i, or -1. s[i] must be an apostrophe.
func contractionEnd(s string, i int) int {
	if i+1 >= len(s) {
		return -1
	}
	c := s[i+1]
	switch {
	case isLetterFold(c, 's'), isLetterFold(c, 't'), isLetterFold(c, 'm'), isLetterFold(c, 'd'):
		return i + 2
	case isLetterFold(c, 'r'), isLetterFold(c, 'v'):
		if i+2 < len(s) && isLetterFold(s[i+2], 'e') {
			return i + 3
		}
	case isLetterFold(c, 'l'):
		if i+2 < len(s) && isLetterFold(s[i+2], 'l') {
			return i + 3
		}
	}
	return -1
}

// nextPiece returns the end of the pre-token that starts at p (p < len(s)).
// It is the leftmost-first match of qwen2Pattern at p; every rune is covered by
// some branch, so the pieces tile the input.
func nextPiece(s string, p int) int {
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if s[p] == '\'' {
		if e := contractionEnd(s, p); e > 0 {
			return e
		}
	}
	class, r, n := classAt(s, p)
	// \p{L}+
	if class == classLetter {
		return spanClass(s, p+n, classLetter)
	}
	q := p + n
	// [^\r\n\p{L}\p{N}]\p{L}+
	if class != classNumber && r != '\r' && r != '\n' && q < len(s) {
		if c2, _, n2 := classAt(s, q); c2 == classLetter {
			return spanClass(s, q+n2, classLetter)
		}
	}
	switch class {
	case classNumber: // \p{N}
		return q
	case classOther: // [^\s\p{L}\p{N}]+[\r\n]*
		return spanNewlines(s, spanClass(s, q, classOther))
	}
	// " ?[^\s\p{L}\p{N}]+[\r\n]*" with the optional space.
	if r == ' ' && q < len(s) {
		if c2, _, n2 := classAt(s, q); c2 == classOther {
			return spanNewlines(s, spanClass(s, q+n2, classOther))
		}
	}
	// White space at p: W is the maximal white-space run.
	// \s*[\r\n]+ matches W up to and including its last \r or \n.
	lastNL := -1
	runes := 0
	last := p
	e := p
	for e < len(s) {
		c, r, n := classAt(s, e)
		if c != classSpace {
			break
		}
		if r == '\r' || r == '\n' {
			lastNL = e + 1
		}
		runes++
		last = e
		e += n
	}
	if lastNL >= 0 {
		return lastNL
	}
	// \s+(?!\S): at the end of the input, or when followed by white space, W
	// itself; before a non-space rune, W less its last rune, if that leaves one.
	// \s+ otherwise (a single space rune before a non-space).
	if e < len(s) && runes >= 2 {
		return last
	}
	return e
}

// spanNewlines extends i over a run of \r and \n.
func spanNewlines(s string, i int) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// splitQwen2 appends the pre-tokens of s to dst.
func splitQwen2(dst []string, s string) []string {
	for p := 0; p < len(s); {
		e := nextPiece(s, p)
		dst = append(dst, s[p:e])
		p = e
	}
	return dst
}
