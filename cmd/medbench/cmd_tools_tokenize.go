package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/medbench/medbench/model/tokenizer"
	"github.com/urfave/cli/v2"
)

func init() { registerTool(toolsTokenizeCommand) }

func toolsTokenizeCommand() *cli.Command {
	return &cli.Command{
		Name:  "tokenize",
		Usage: "encode JSON strings to token ids (or decode ids) with a Hugging Face tokenizer.json",
		Description: "Reads stdin line by line. Encode (default): each line is a JSON string, each output\n" +
			"line the JSON array of its token ids (added tokens such as <|im_start|> in the text are\n" +
			"recognised; nothing is prepended or appended). With --decode: each line is a JSON array\n" +
			"of ids, each output line the decoded JSON string (invalid UTF-8 becomes U+FFFD; no\n" +
			"clean-up of tokenization spaces). The tokenizer must have the Qwen2 structure (byte-level\n" +
			"BPE, NFC, Qwen2 pre-tokenizer pattern). A malformed line stops with an error naming its\n" +
			"line number (exit 2).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tokenizer", Usage: "path of the tokenizer.json `FILE`", Required: true},
			&cli.BoolFlag{Name: "decode", Usage: "decode id arrays to strings instead of encoding"},
			&cli.BoolFlag{Name: "skip-special", Usage: "with --decode: drop special added tokens (skip_special_tokens)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usageErr("tools tokenize: unexpected arguments %q (input is read from stdin)", c.Args().Slice())
			}
			if c.Bool("skip-special") && !c.Bool("decode") {
				return usageErr("tools tokenize: --skip-special needs --decode")
			}
			tok, err := tokenizer.Load(c.String("tokenizer"))
			if err != nil {
				return inputErr(err)
			}
			w := bufio.NewWriterSize(c.App.Writer, 1<<16)
			err = tokenizeLines(c.Context.Done(), tok, c.App.Reader, w, c.Bool("decode"), c.Bool("skip-special"))
			if ferr := w.Flush(); err == nil && ferr != nil {
				err = fmt.Errorf("tools tokenize: write: %w", ferr)
			}
			return inputErr(err)
		},
	}
}

// tokenizeLines runs the line protocol of `tools tokenize` from r to w.
func tokenizeLines(done <-chan struct{}, tok *tokenizer.Tokenizer, r io.Reader, w *bufio.Writer, decode, skipSpecial bool) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var buf []byte
	for n := 1; ; n++ {
		select {
		case <-done:
			return fmt.Errorf("tools tokenize: interrupted at stdin line %d", n)
		default:
		}
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("tools tokenize: read stdin line %d: %w", n, err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if !utf8.Valid(line) { // as a WHATWG (JavaScript) reader of stdin would see it
			line = []byte(tokenizer.ToValidUTF8(string(line)))
		}
		if decode {
			var ids []int
			if jerr := json.Unmarshal(line, &ids); jerr != nil || ids == nil {
				return fmt.Errorf("tools tokenize: stdin line %d: want a JSON array of integer ids: %s", n, jsonProblem(jerr))
			}
			buf = appendJSString(buf[:0], tok.Decode(ids, skipSpecial))
			buf = append(buf, '\n')
			if _, werr := w.Write(buf); werr != nil {
				return fmt.Errorf("tools tokenize: write: %w", werr)
			}
		} else {
			var s *string
			if jerr := json.Unmarshal(line, &s); jerr != nil || s == nil {
				return fmt.Errorf("tools tokenize: stdin line %d: want a JSON string: %s", n, jsonProblem(jerr))
			}
			buf = append(buf[:0], '[')
			for i, id := range tok.Encode(*s) {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, int64(id), 10)
			}
			buf = append(buf, ']', '\n')
			if _, werr := w.Write(buf); werr != nil {
				return fmt.Errorf("tools tokenize: write: %w", werr)
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// appendJSString appends s as a JSON string literal written the way
// JavaScript's JSON.stringify writes it (only '"', '\\' and control
// characters escaped; \b \f \n \r \t short forms; lower-case hex), so output
// lines compare byte for byte with the reference tools.
func appendJSString(dst []byte, s string) []byte {
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
