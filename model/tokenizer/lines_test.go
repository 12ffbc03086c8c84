package tokenizer

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// AppendJSString must write what JavaScript's JSON.stringify writes.
func TestAppendJSString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
		{"<&>\u2028\u00e9🙂\ufffd", "\"<&>\u2028\u00e9🙂\ufffd\""},
	} {
		if got := string(AppendJSString(nil, c.in)); got != c.want {
			t.Errorf("AppendJSString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func linesTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	added := []AddedToken{{Content: "<|endoftext|>", Special: true}, {Content: "<think>"}}
	b, err := Train([]string{"the patient presents with knee pain", "数字 and emoji 🙂"}, 280, added)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := LoadBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRunLines(t *testing.T) {
	tok := linesTokenizer(t)
	var out bytes.Buffer
	in := "\"the knee<|endoftext|>\"\r\n\"\"\n\"数字\""
	if err := tok.RunLines(context.Background(), strings.NewReader(in), &out, LineOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || lines[1] != "[]" {
		t.Fatalf("encode: %q", out.String())
	}
	var dec bytes.Buffer
	if err := tok.RunLines(context.Background(), strings.NewReader(lines[0]+"\n"+lines[2]+"\n"), &dec, LineOptions{Decode: true, SkipSpecial: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := dec.String(), "\"the knee\"\n\"数字\"\n"; got != want {
		t.Errorf("decode = %q, want %q", got, want)
	}
	for _, c := range []struct {
		in     string
		decode bool
		want   string
	}{
		{"\"a\"\n3\n", false, "stdin line 2: want a JSON string"},
		{"null", false, "stdin line 1: want a JSON string: got null"},
		{"[1]\n[\"x\"]", true, "stdin line 2: want a JSON array of integer ids"},
	} {
		err := tok.RunLines(context.Background(), strings.NewReader(c.in), &bytes.Buffer{}, LineOptions{Decode: c.decode})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.in, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tok.RunLines(ctx, strings.NewReader("\"a\"\n"), &bytes.Buffer{}, LineOptions{}); err == nil || err.Error() != "interrupted at stdin line 1" {
		t.Errorf("cancelled: err %v", err)
	}
}
