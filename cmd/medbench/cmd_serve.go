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
	"github.com/medbench/medbench/runners/qwen2vl"
	"github.com/medbench/medbench/serve"
)

func init() { register(serveCommand) }

func serveCommand() *cli.Command {
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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: "Qwen2-VL model `DIR` (onnx-community layout) or hf:ORG/NAME[@REVISION]"},
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
			&cli.StringFlag{Name: "dtype", Value: "fp32", Usage: "weight variant `DTYPE` (fp32, fp16, q8/quantized, int8, uint8, q4, q4f16, bnb4)"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "`DEVICE` cpu, cuda, cuda:N or auto"},
			&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads `N` (0 = ORT default)"},
			&cli.StringFlag{Name: "ort-lib", Usage: "ONNX Runtime library `PATH` (default: $MEDBENCH_ORT_LIB, then .cache/ort/1.29.0)"},
			&cli.IntFlag{Name: "max-pixels", Usage: "image max_pixels (0 = the model's preprocessor_config.json)"},
			&cli.IntFlag{Name: "min-pixels", Usage: "image min_pixels (0 = the model's preprocessor_config.json)"},
		},
		Action: serveAction,
	}
}

func serveAction(c *cli.Context) error {
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
	modelArg := c.String("model") // before onnxConfig resolves hf:ORG/NAME to a folder
	cfg, err := onnxConfig(c)
	if err != nil {
		return err
	}
	r, err := qwen2vl.Open(c.Context, cfg)
	if err != nil {
		return inputErr(fmt.Errorf("serve: %w", err))
	}
	defer r.Close()
	info := r.Info()
	name := modelref.ServedName(c.String("served-model-name"), modelArg, cfg.ModelDir)
	pixels := map[string]int{}
	for _, k := range []string{"min_pixels", "max_pixels"} {
		if v, ok := info.Settings[k].(int); ok {
			pixels[k] = v
		}
	}
	logger := log.New(c.App.ErrWriter, "", log.LstdFlags|log.Lmicroseconds)
	srv, err := serve.New(r, serve.Config{
		ModelID: name, APIKey: key, MaxBatch: c.Int("max-batch"), BatchWindow: c.Duration("batch-window"),
		MaxBodyBytes: c.Int64("max-body-bytes"), MaxImagePixels: c.Int("max-image-pixels"),
		DefaultMaxTokens: c.Int("default-max-tokens"), Pixels: pixels, Log: logger,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return inputErr(fmt.Errorf("serve: %w", err))
	}
	logger.Printf("serve: %s (%s, %s) on http://%s/v1; max batch %d, window %v", name, info.Device, strings.TrimSpace(cfg.DType), ln.Addr(), c.Int("max-batch"), c.Duration("batch-window"))
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx, ln, c.Duration("grace")); err != nil {
		return inputErr(fmt.Errorf("serve: %w", err))
	}
	logger.Printf("serve: stopped")
	return nil
}
