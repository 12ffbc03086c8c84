package grpo

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// Python's json module writes non-finite floats as the bare tokens NaN,
// Infinity and -Infinity (allow_nan=True, its default), so a Hugging Face
// trainer_state.json can hold them (a NaN grad_norm after an overflow, say).
// Go's encoding/json rejects them. pyNonFinite rewrites each such token that
// stands outside a string into a JSON string carrying a marker that no
// ordinary string holds; toFloat turns the marker back into the float.

// pyMarker prefixes the strings that stand for a Python non-finite token.
const pyMarker = "\x00python-float:"

var pyTokens = []string{"-Infinity", "Infinity", "NaN"}

// pyNonFinite returns b with NaN, Infinity and -Infinity outside strings
// replaced by marker strings (b itself when it has none).
func pyNonFinite(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	var out bytes.Buffer
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			out.WriteByte(c)
			continue
		}
		if c == '"' {
			inStr = true
			out.WriteByte(c)
			continue
		}
		matched := false
		for _, tok := range pyTokens {
			if bytes.HasPrefix(b[i:], []byte(tok)) {
				out.WriteString(`"\u0000python-float:` + tok + `"`) // decodes to pyMarker+tok
				i += len(tok) - 1
				matched = true
				break
			}
		}
		if !matched {
			out.WriteByte(c)
		}
	}
	return out.Bytes()
}

// pyFloat decodes a marker string from pyNonFinite.
func pyFloat(s string) (float64, bool) {
	switch s {
	case pyMarker + "NaN":
		return math.NaN(), true
	case pyMarker + "Infinity":
		return math.Inf(1), true
	case pyMarker + "-Infinity":
		return math.Inf(-1), true
	}
	return 0, false
}

// marshalPyMetrics writes m as one JSON object with sorted keys, non-finite
// values as Python's json writes them (NaN, Infinity, -Infinity).
func marshalPyMetrics(m Metrics) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k))
		b.WriteByte(':')
		b.WriteString(pyFloatText(m[k]))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// pyFloatText formats v as encoding/json does for finite values and as
// Python's json for the others.
func pyFloatText(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	b, _ := json.Marshal(v) // a finite float always marshals
	return string(b)
}
