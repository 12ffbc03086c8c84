package tokenizer

import (
	"unicode/utf8"
)

// byteToRune is GPT-2's bytes_to_unicode: printable bytes 33-126, 161-172
// and 174-255 stand for themselves; the other 68 bytes, in increasing order,
// map to U+0100, U+0101, ... (so space is U+0120 'Ġ' and '\n' is U+010A 'Ċ').
var byteToRune = func() (t [256]rune) {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255) {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

// runeToByte inverts byteToRune; index is the rune, only runes < 324 occur.
// A value of -1 marks a rune that is not a byte-level symbol.
var runeToByte = func() (t [324]int16) {
	for i := range t {
		t[i] = -1
	}
	for b, r := range byteToRune {
		t[r] = int16(b)
	}
	return t
}()

// byteLevelString maps raw bytes to their byte-level symbol string.
func byteLevelString(b []byte) string {
	out := make([]rune, len(b))
	for i, c := range b {
		out[i] = byteToRune[c]
	}
	return string(out)
}

// byteLevelBytes maps a byte-level symbol string back to raw bytes. ok is
// false when the string holds a rune that is no byte-level symbol.
func byteLevelBytes(s string) (b []byte, ok bool) {
	b = make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return nil, false
		}
		b = append(b, byte(runeToByte[r]))
	}
	return b, true
}

// appendDecodedUTF8 appends b decoded as UTF-8 to dst, replacing each maximal
// subpart of an ill-formed sequence with one U+FFFD: the WHATWG Encoding
// Standard's UTF-8 decoder, which is what TextDecoder (the JavaScript
// reference) and Python's errors="replace" do. A byte-order mark is kept.
func appendDecodedUTF8(dst []byte, b []byte) []byte {
	const repl = "\uFFFD"
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			dst = append(dst, c)
			i++
			continue
		}
		var need int
		lo, hi := byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c == 0xED:
			need, hi = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			need = 2
		case c == 0xF0:
			need, lo = 3, 0x90
		case c == 0xF4:
			need, hi = 3, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		default: // 0x80-0xC1, 0xF5-0xFF: never valid lead bytes
			dst = append(dst, repl...)
			i++
			continue
		}
		j := i + 1
		for k := 0; k < need; k++ {
			if j >= len(b) || b[j] < lo || b[j] > hi {
				break
			}
			lo, hi = 0x80, 0xBF
			j++
		}
		if j-i == need+1 {
			dst = append(dst, b[i:j]...)
		} else {
			dst = append(dst, repl...)
		}
		i = j
	}
	return dst
}

// ToValidUTF8 returns s with every maximal subpart of an ill-formed UTF-8
// sequence replaced by one U+FFFD, as the WHATWG decoder (JavaScript's
// TextDecoder, Node's stream decoding) and Python's errors="replace" do. This
// differs from strings.ToValidUTF8, which replaces whole runs, and from
// ranging over the string, which replaces byte by byte. Decode applies the
// same rule to the bytes of the tokens.
func ToValidUTF8(s string) string { return validUTF8(s) }

// validUTF8 returns s if it is valid UTF-8, else s with ill-formed sequences
// replaced by U+FFFD as appendDecodedUTF8 does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendDecodedUTF8(nil, []byte(s)))
}
