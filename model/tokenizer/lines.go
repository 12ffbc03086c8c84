package tokenizer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// LineOptions configures RunLines.
type LineOptions struct {
	// Decode reads JSON arrays of ids and writes decoded JSON strings;
	// otherwise JSON strings are read and id arrays written.
	Decode bool
	// SkipSpecial drops special added tokens when decoding.
	SkipSpecial bool
}

// RunLines runs the line protocol of `medbench tools tokenize` from r to w:
// each input line a JSON string (encode) or a JSON array of ids (decode),
// each output line the JSON array of ids or the decoded string, written as
// JavaScript's JSON.stringify writes it. Invalid UTF-8 in a line is replaced
// as a WHATWG reader would. A malformed line stops with an error naming its
// line number; a cancelled ctx stops before the next line.
func (t *Tokenizer) RunLines(ctx context.Context, r io.Reader, w io.Writer, opts LineOptions) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var buf []byte
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted at stdin line %d", n)
		}
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read stdin line %d: %w", n, err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if !utf8.Valid(line) { // as a WHATWG (JavaScript) reader of stdin would see it
			line = []byte(ToValidUTF8(string(line)))
		}
		if opts.Decode {
			var ids []int
			if jerr := json.Unmarshal(line, &ids); jerr != nil || ids == nil {
				return fmt.Errorf("stdin line %d: want a JSON array of integer ids: %s", n, jsonProblem(jerr))
			}
			buf = AppendJSString(buf[:0], t.Decode(ids, opts.SkipSpecial))
			buf = append(buf, '\n')
		} else {
			var s *string
			if jerr := json.Unmarshal(line, &s); jerr != nil || s == nil {
				return fmt.Errorf("stdin line %d: want a JSON string: %s", n, jsonProblem(jerr))
			}
			buf = append(buf[:0], '[')
			for i, id := range t.Encode(*s) {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, int64(id), 10)
			}
			buf = append(buf, ']', '\n')
		}
		if _, werr := w.Write(buf); werr != nil {
			return fmt.Errorf("write: %w", werr)
		}
		if err == io.EOF {
			return nil
		}
	}
}

// AppendJSString appends s as a JSON string literal written the way
// JavaScript's JSON.stringify writes it (only '"', '\\' and control
// characters escaped; \b \f \n \r \t short forms; lower-case hex), so output
// lines compare byte for byte with the reference tools.
func AppendJSString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func jsonProblem(err error) string {
	if err == nil {
		return "got null"
	}
	return err.Error()
}
