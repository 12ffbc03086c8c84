package main

import (
	"bufio"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/model/tokenizer"
)

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
			err = tok.RunLines(c.Context, c.App.Reader, w, tokenizer.LineOptions{Decode: c.Bool("decode"), SkipSpecial: c.Bool("skip-special")})
			if ferr := w.Flush(); err == nil && ferr != nil {
				err = fmt.Errorf("write: %w", ferr)
			}
			if err != nil {
				return inputErr(fmt.Errorf("tools tokenize: %w", err))
			}
			return nil
		},
	}
}
