package openai

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/runners"
)

// Driver is the OpenAI-compatible runner as the command line offers it
// (--runner openai): its flags, its opening from them, and its manifest
// config entries.
func Driver() runners.Driver {
	return runners.Driver{
		Name:    "openai",
		Usage:   "an OpenAI-compatible server: vLLM, SGLang, medbench serve; see --endpoint",
		Flags:   append(flags(), runners.ImageBoundFlags()...),
		Samples: true,
		Remote:  "onnx",
		Open:    runners.OpenFromFlags(ConfigFromFlags, Open),
		Config: func(v runners.Values) map[string]any {
			return map[string]any{"endpoint": v.String("endpoint"), "concurrency": v.Int("concurrency")}
		},
	}
}

// flags are the runner's own command-line flags; ConfigFromFlags reads
// them.
func flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "endpoint", Usage: "openai: server `URL` (http://host:port, /v1 appended; or the API root), e.g. vLLM, SGLang or medbench serve"},
		&cli.StringFlag{Name: "api-model", Usage: "openai: served model `NAME` (default: the only model /v1/models lists)"},
		&cli.StringFlag{Name: "api-key-env", Usage: "openai: environment `VAR` holding the API key, sent as a bearer token (the key is never logged or recorded)"},
		&cli.IntFlag{Name: "concurrency", Value: 4, Usage: "openai: requests in flight at most `N` (eval's --batch defaults to it)"},
		&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "openai: per-request (per-attempt) timeout"},
		&cli.IntFlag{Name: "max-retries", Value: 5, Usage: "openai: retries `N` after a 429/5xx answer, a timeout or a connection failure (exponential backoff with full jitter, honouring Retry-After, at most 30 s apart)"},
	}
}

// ConfigFromFlags builds the runner configuration from the flags and the
// resolved sampling settings. Errors are usage errors.
func ConfigFromFlags(c runners.Values, s runners.Sampling) (Config, error) {
	cfg := Config{
		Endpoint:    c.String("endpoint"),
		Model:       c.String("api-model"),
		APIKeyEnv:   c.String("api-key-env"),
		Concurrency: c.Int("concurrency"),
		Timeout:     c.Duration("timeout"),
		MaxRetries:  c.Int("max-retries"),
		Sampling:    s,
		MinPixels:   c.Int("min-pixels"),
		MaxPixels:   c.Int("max-pixels"),
	}
	if cfg.Endpoint == "" {
		return cfg, fmt.Errorf("--runner openai needs --endpoint URL (e.g. http://127.0.0.1:8000)")
	}
	if _, err := NormalizeEndpoint(cfg.Endpoint); err != nil {
		return cfg, fmt.Errorf("--endpoint: %w", err)
	}
	if cfg.Concurrency < 1 && c.IsSet("concurrency") {
		return cfg, fmt.Errorf("--concurrency %d: want 1 or more", cfg.Concurrency)
	}
	if cfg.Timeout <= 0 {
		return cfg, fmt.Errorf("--timeout %v: want a positive duration", cfg.Timeout)
	}
	if cfg.MaxRetries < 0 {
		return cfg, fmt.Errorf("--max-retries %d: want 0 or more", cfg.MaxRetries)
	}
	if cfg.APIKeyEnv != "" {
		key, ok := os.LookupEnv(cfg.APIKeyEnv)
		if !ok || key == "" {
			return cfg, fmt.Errorf("--api-key-env %s: the variable is not set or empty", cfg.APIKeyEnv)
		}
		cfg.APIKey = key
	}
	return cfg, nil
}
