package tokenizer

import (
	"os"
	"strings"
	"testing"
)

// TestConformanceJSExtended is a larger, slower conformance run (~40,000
// strings: long random mixes, long repetitive pieces that take the heap BPE
// loop, long runs of random code points). Opt in with
// MEDBENCH_TOKENIZER_STRESS=1.
func TestConformanceJSExtended(t *testing.T) {
	if os.Getenv("MEDBENCH_TOKENIZER_STRESS") == "" {
		t.Skip("set MEDBENCH_TOKENIZER_STRESS=1 for the extended JS conformance run")
	}
	node := requireNode(t)
	tok := qwenTokenizer(t)
	r := newTestRand(12345)
	var corpus []string
	for range 30000 {
		corpus = append(corpus, randomMix(r, 1+r.IntN(40)))
	}
	words := []string{"a", "ab", "x", "中", "🙂", "é", "!", "-", " ", "\u00a0", "1", "'s", "aa", "ñ", "\u0301"}
	for range 2000 {
		var b strings.Builder
		w := pick(r, words)
		for range 50 + r.IntN(400) {
			if r.IntN(20) == 0 {
				b.WriteString(pick(r, words))
			} else {
				b.WriteString(w)
			}
		}
		corpus = append(corpus, b.String())
	}
	for range 3000 {
		rs := make([]rune, 1+r.IntN(60))
		for i := range rs {
			rs[i] = randomRune(r)
		}
		corpus = append(corpus, string(rs))
	}
	compareWithReference(t, node, qwenTokenizerPath, tok, corpus, nil)
}
