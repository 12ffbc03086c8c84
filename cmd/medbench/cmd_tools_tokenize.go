package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/medbench/medbench/runners/tokenizer"
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
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
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
		if decode {
			var ids []int
			if jerr := json.Unmarshal(line, &ids); jerr != nil || ids == nil {
				return fmt.Errorf("tools tokenize: stdin line %d: want a JSON array of integer ids: %s", n, jsonProblem(jerr))
			}
			if eerr := enc.Encode(tok.Decode(ids, skipSpecial)); eerr != nil {
				return fmt.Errorf("tools tokenize: write: %w", eerr)
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

func jsonProblem(err error) string {
	if err == nil {
		return "got null"
	}
	return err.Error()
}
