package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/model/tokenizer"
)

// runTokenizeTool runs `medbench tools tokenize args...` with stdin and
// returns stdout, the exit code run() would return, and the error.
func runTokenizeTool(t *testing.T, stdin string, args ...string) (string, int, error) {
	t.Helper()
	app := newApp(defaultRunners())
	app.Reader = strings.NewReader(stdin)
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, io.Discard
	err := app.Run(append([]string{"medbench", "tools", "tokenize"}, args...))
	code := 0
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		code = exitUsage
	}
	return out.String(), code, err
}

func TestToolsTokenize(t *testing.T) {
	added := []tokenizer.AddedToken{{Content: "<|endoftext|>", Special: true}, {Content: "<|im_start|>", Special: true}, {Content: "<think>"}}
	b, err := tokenizer.Train([]string{"the patient presents with knee pain", "What can be observed in this image?", "数字 and emoji 🙂"}, 300, added)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{"the knee", "<|im_start|>user\n<think>x", "", "数字 🙂 \u00a0 e\u0301"}
	var stdin, want strings.Builder
	for _, s := range inputs {
		fmt.Fprintf(&stdin, "%q\r\n", s) // Go-quoted ASCII strings are valid JSON here
		fmt.Fprintf(&want, "%s\n", strings.ReplaceAll(fmt.Sprint(tok.Encode(s)), " ", ","))
	}
	got, code, err := runTokenizeTool(t, strings.TrimSuffix(stdin.String(), "\r\n"), "--tokenizer", path)
	if code != 0 || got != want.String() {
		t.Fatalf("encode: code %d err %v\n got %q\nwant %q", code, err, got, want.String())
	}
	ids := tok.Encode("<|im_start|>the <think>knee<|endoftext|>")
	line := strings.ReplaceAll(fmt.Sprint(ids), " ", ",") + "\n[]\n"
	if got, code, err := runTokenizeTool(t, line, "--tokenizer", path, "--decode"); code != 0 || got != "\"<|im_start|>the <think>knee<|endoftext|>\"\n\"\"\n" {
		t.Errorf("decode: code %d err %v out %q", code, err, got)
	}
	if got, code, err := runTokenizeTool(t, line, "--tokenizer", path, "--decode", "--skip-special"); code != 0 || got != "\"the <think>knee\"\n\"\"\n" {
		t.Errorf("decode --skip-special: code %d err %v out %q", code, err, got)
	}

	for _, c := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"bad json", "\"ok\"\nnot json\n", []string{"--tokenizer", path}, "stdin line 2"},
		{"not a string", "[1,2]\n", []string{"--tokenizer", path}, "stdin line 1: want a JSON string"},
		{"null", "\"a\"\n\"b\"\nnull\n", []string{"--tokenizer", path}, "stdin line 3"},
		{"decode not ids", "[1]\n\"x\"\n", []string{"--tokenizer", path, "--decode"}, "stdin line 2: want a JSON array of integer ids"},
		{"decode fraction", "[1.5]\n", []string{"--tokenizer", path, "--decode"}, "stdin line 1"},
		{"skip without decode", "", []string{"--tokenizer", path, "--skip-special"}, "--skip-special needs --decode"},
		{"missing file", "", []string{"--tokenizer", path + ".missing"}, path + ".missing"},
		{"no tokenizer flag", "", nil, "tokenizer"},
		{"extra args", "", []string{"--tokenizer", path, "x"}, "unexpected arguments"},
	} {
		_, code, err := runTokenizeTool(t, c.stdin, c.args...)
		if code != exitUsage || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: code %d err %v, want exit 2 mentioning %q", c.name, code, err, c.want)
		}
	}
}
