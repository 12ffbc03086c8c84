package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/modelref"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/serve"
)

// serveCommand is `medbench serve` over the runners of reg that take
// per-request sampling (serve.Generator: the ONNX runner).
func serveCommand(reg *runners.Registry) *cli.Command {
	// In-process model runners: a server answers with its own model.
	reg = reg.Filter(func(d runners.Driver) bool { return d.Samples && d.Remote == "" })
	flags := []cli.Flag{
		&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8000", Usage: "listen `HOST:PORT` (loopback unless --allow-remote)"},
		&cli.BoolFlag{Name: "allow-remote", Usage: "allow a non-loopback --addr (set --api-key-env too)"},
		&cli.StringFlag{Name: "api-key-env", Usage: "environment `VAR` holding the API key clients must send as a bearer token"},
		&cli.StringFlag{Name: "served-model-name", Usage: "model `NAME` in /v1/models and answers (default: the model folder's name; ORG/NAME for hf:ORG/NAME)"},
		&cli.IntFlag{Name: "max-batch", Value: 8, Usage: "sequences per batch at most `N`"},
		&cli.DurationFlag{Name: "batch-window", Value: 5 * time.Millisecond, Usage: "how long the first queued request waits for others to batch with"},
		&cli.Int64Flag{Name: "max-body-bytes", Value: 64 << 20, Usage: "request body cap in `BYTES`"},
		&cli.IntFlag{Name: "max-image-pixels", Value: 4096 * 4096, Usage: "image cap: width x height from the image header, in `PIXELS`"},
		&cli.IntFlag{Name: "default-max-tokens", Value: 512, Usage: "new tokens when a request sends no max_tokens"},
		&cli.DurationFlag{Name: "grace", Value: 2 * time.Minute, Usage: "how long shutdown waits for requests in flight"},
	}
	// serve's own --api-key-env and --max-image-pixels win over the runners'.
	flags = append(flags, runnerFlags(reg, "onnx", "api-key-env", "max-image-pixels")...)
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a Qwen2-VL ONNX model over an OpenAI-compatible API (/v1/chat/completions, /v1/models, /health)",
		UsageText: "medbench serve --model DIR [--addr 127.0.0.1:8000] [--max-batch 8] [--batch-window 5ms] [--api-key-env VAR]",
		Description: "Answers chat-completion requests with one user message: image_url parts (base64 data URIs only;\n" +
			"http(s) and file URLs are refused), then the text. The prompt is Qwen2-VL's chat template with its\n" +
			"default system message, as vLLM applies it. Sampling fields: temperature (0 = greedy), top_p, n, seed,\n" +
			"max_tokens / max_completion_tokens, and vLLM's top_k, repetition_penalty, min_tokens,\n" +
			"mm_processor_kwargs (must equal the server's pixel bounds). Answers carry usage and, per choice,\n" +
			"token_ids (the generated ids, as vLLM's return_token_ids). Concurrent requests with identical\n" +
			"sampling settings are batched: the first waits up to --batch-window for up to --max-batch sequences.\n" +
			"Listens on loopback unless --allow-remote. SIGTERM or Ctrl-C: new requests get 503, requests in\n" +
			"flight finish (up to --grace), then it exits. One log line per request on stderr (id, status,\n" +
			"latency, tokens; never the API key nor image bytes).",
		Flags:  flags,
		Action: func(c *cli.Context) error { return serveAction(c, reg) },
	}
}

func serveAction(c *cli.Context, reg *runners.Registry) error {
	if c.Args().Len() > 0 {
		return usageErr("serve: unexpected arguments %q", c.Args().Slice())
	}
	if err := serve.CheckAddr(c.String("addr"), c.Bool("allow-remote")); err != nil {
		return usageErr("%v", err)
	}
	var key string
	if v := c.String("api-key-env"); v != "" {
		if key = os.Getenv(v); key == "" {
			return usageErr("serve: --api-key-env %s: the variable is not set or empty", v)
		}
	}
	modelArg := c.String("model") // before the runner resolves hf:ORG/NAME to a folder
	opened, err := openRunner(c, reg, "serve", nil)
	if err != nil {
		return err
	}
	r := opened.runner
	defer r.Close()
	gen, ok := r.(serve.Generator)
	if !ok {
		return usageErr("serve: --runner %s cannot serve: it does not take per-request sampling", opened.driver.Name)
	}
	info := r.Info()
	name := modelref.ServedName(c.String("served-model-name"), modelArg, c.String("model"))
	logger := log.New(c.App.ErrWriter, "", log.LstdFlags|log.Lmicroseconds)
	srv, err := serve.New(gen, serve.Config{
		ModelID: name, APIKey: key, MaxBatch: c.Int("max-batch"), BatchWindow: c.Duration("batch-window"),
		MaxBodyBytes: c.Int64("max-body-bytes"), MaxImagePixels: c.Int("max-image-pixels"),
		DefaultMaxTokens: c.Int("default-max-tokens"), Pixels: serve.PixelBounds(info), Log: logger,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.ListenAndServe(ctx, c.String("addr"), c.Duration("grace"), func(addr net.Addr) {
		logger.Printf("serve: %s (%s, %s) on http://%s/v1; max batch %d, window %v", name, info.Device, strings.TrimSpace(c.String("dtype")), addr, c.Int("max-batch"), c.Duration("batch-window"))
	}); err != nil {
		return inputErr(fmt.Errorf("serve: %w", err))
	}
	logger.Printf("serve: stopped")
	return nil
}
