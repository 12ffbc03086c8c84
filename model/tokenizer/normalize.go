package tokenizer

import (
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:generate node gen_unicode.mjs
//go:generate go run ./internal/gennorm

// NFC. Two things keep x/text's NFC from matching ICU's everywhere. First,
// x/text implements the Stream-Safe Text Format and breaks runs of more than
// 30 non-starters with U+034F; such runs take nfcExtended. Second,
// golang.org/x/text implements Unicode 15.0, while the reference runs on
// a newer Unicode (normUnicodeVersion). By the Unicode normalization
// stability policy, NFC of a string of 15.0 characters is the same in every
// later version, and characters unassigned in 15.0 behave in x/text as
// starters that neither decompose nor compose. So x/text is exact unless the
// string holds one of the few newer characters with a combining class,
// decomposition or composition (normTrigger); those strings take nfcExtended,
// a direct implementation of UAX #15 over x/text's data plus norm_tables.go.

type cccEntry struct {
	r   rune
	ccc uint8
}

type decompEntry struct {
	r rune
	d string
}

type composeEntry struct{ a, b, c rune }

// nfc returns s in Unicode Normalization Form C, as ICU (JavaScript's
// String.prototype.normalize) computes it.
func nfc(s string) string {
	i := indexExtended(s)
	if i < 0 {
		return nfcXText(s)
	}
	// Only the segment around each newer character, between boundaries that
	// nothing combines across, takes the extended path.
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		start := i
		for start > 0 {
			r, n := utf8.DecodeLastRuneInString(s[:start])
			start -= n
			if isNFCBoundary(r) {
				break
			}
		}
		end := i
		for end < len(s) {
			_, n := utf8.DecodeRuneInString(s[end:])
			end += n
			if end < len(s) {
				if r, _ := utf8.DecodeRuneInString(s[end:]); isNFCBoundary(r) {
					break
				}
			}
		}
		b.WriteString(nfcXText(s[:start]))
		b.WriteString(nfcExtended(s[start:end]))
		s = s[end:]
		i = indexExtended(s)
	}
	b.WriteString(nfcXText(s))
	return b.String()
}

func nfcXText(s string) string {
	if norm.NFC.IsNormalString(s) {
		return s
	}
	return norm.NFC.String(s)
}

// isNFCBoundary reports whether NFC never combines or reorders r with what
// precedes it, so that NFC(xy) = NFC(x) NFC(y) when y starts with r.
func isNFCBoundary(r rune) bool {
	if r < utf8.RuneSelf {
		return true
	}
	if isTrigger(r) {
		return false
	}
	return norm.NFC.PropertiesString(string(r)).BoundaryBefore()
}

func isTrigger(r rune) bool {
	if r < normTrigger[0] || r > normTrigger[len(normTrigger)-1] {
		return false
	}
	_, ok := slices.BinarySearch(normTrigger, r)
	return ok
}

// longMarkRun is the number of consecutive characters that may combine with
// what precedes them (non-starters, and starters such as Jamo V/T that x/text
// counts as non-starters) from which x/text's NFC could reach its
// stream-safe limit of 30 non-starters and insert U+034F COMBINING GRAPHEME
// JOINER, which ICU never does. A character counts for at most 3, as does
// the boundary character before the run, so a shorter run stays below
// 3 + 3*7 = 24.
const longMarkRun = 8

// indexExtended returns the byte index of the first place in s that x/text's
// NFC would get wrong, or -1: a character of normTrigger, or the start of a
// run of at least longMarkRun characters that may combine backwards.
func indexExtended(s string) int {
	run, runStart := 0, 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			run = 0
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if isTrigger(r) {
			return i
		}
		if r >= 0x300 && !norm.NFC.PropertiesString(s[i:i+n]).BoundaryBefore() {
			if run == 0 {
				runStart = i
			}
			if run++; run >= longMarkRun {
				return runStart
			}
		} else {
			run = 0
		}
		i += n
	}
	return -1
}

// combiningClass returns the canonical combining class of r.
func combiningClass(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	if i, ok := slices.BinarySearchFunc(newCCC, r, func(e cccEntry, r rune) int { return int(e.r - r) }); ok {
		return newCCC[i].ccc
	}
	return norm.NFC.PropertiesString(string(r)).CCC()
}

// appendDecomposition appends the full canonical decomposition of r.
func appendDecomposition(dst []rune, r rune) []rune {
	if r < 0xC0 {
		return append(dst, r)
	}
	if i, ok := slices.BinarySearchFunc(newDecomp, r, func(e decompEntry, r rune) int { return int(e.r - r) }); ok {
		return append(dst, []rune(newDecomp[i].d)...)
	}
	return append(dst, []rune(norm.NFD.String(string(r)))...)
}

// primaryComposite returns the primary composite of starter a and b, if any.
func primaryComposite(a, b rune) (rune, bool) {
	i, ok := slices.BinarySearchFunc(newCompose, [2]rune{a, b}, func(e composeEntry, k [2]rune) int {
		if e.a != k[0] {
			return int(e.a - k[0])
		}
		return int(e.b - k[1])
	})
	if ok {
		return newCompose[i].c, true
	}
	// x/text knows every pair of older characters: a and b compose to c when
	// NFC(a b) is the single character c whose decomposition is a's then b's.
	ab := string(a) + string(b)
	c := norm.NFC.String(ab)
	if r, n := utf8.DecodeRuneInString(c); n == len(c) && r != a && norm.NFD.String(c) == norm.NFD.String(ab) {
		return r, true
	}
	return 0, false
}

// nfcExtended is NFC by the book: full canonical decomposition, canonical
// ordering, canonical composition.
func nfcExtended(s string) string {
	var rs []rune
	for _, r := range s {
		rs = appendDecomposition(rs, r)
	}
	cc := make([]uint8, len(rs))
	for i, r := range rs {
		cc[i] = combiningClass(r)
	}
	// Canonical ordering: stable insertion sort of each run of non-starters.
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && cc[j] != 0 && cc[j-1] > cc[j]; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
			cc[j], cc[j-1] = cc[j-1], cc[j]
		}
	}
	// Canonical composition.
	out := rs[:0]
	starter, last := -1, -1 // index of the last starter in out; class of the last char after it (-1: none)
	for i, r := range rs {
		c := int(cc[i])
		if starter >= 0 && (last == -1 || (last != 0 && last < c)) {
			if comp, ok := primaryComposite(out[starter], r); ok {
				out[starter] = comp
				continue
			}
		}
		if c == 0 {
			starter, last = len(out), -1
		} else {
			last = c
		}
		out = append(out, r)
	}
	return string(out)
}
