// Package openai is a runner that sends each sample to an OpenAI-compatible
// chat-completions endpoint (vLLM, SGLang, medbench serve) through the
// official Go client, github.com/openai/openai-go/v3.
//
// Every sampling field is sent explicitly (temperature 0 for greedy
// decoding, so that a server never falls back to the checkpoint's
// generation_config.json), vLLM's extension fields (top_k,
// repetition_penalty, min_tokens, mm_processor_kwargs, return_token_ids) go
// through the client's extra-fields option, and retries follow this
// package's own policy (the client's are switched off): exponential backoff
// with full jitter on 429, 5xx, timeouts and connection failures, honouring
// Retry-After, never beyond a cap. A request that still fails becomes an
// error sample (Result.Err), never an answer.
package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/medbench/medbench/runners"
)

// Name is the runner's name in manifests.
const Name = "openai"

// MaxImageBytes caps one image file sent as a data URI.
const MaxImageBytes = 32 << 20

// Config configures the runner.
type Config struct {
	// Endpoint is the server's base URL: http://host:port (then /v1 is
	// appended) or a URL whose path already names the API root.
	Endpoint string
	// Model is the served model id; empty selects the only model the server
	// lists.
	Model string
	// APIKey is sent as a bearer token when set. It is never logged nor
	// recorded; APIKeyEnv (the variable's name) is.
	APIKey    string
	APIKeyEnv string
	// Concurrency bounds the requests in flight (default 1).
	Concurrency int
	// Timeout bounds one attempt (default 5 minutes).
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt.
	MaxRetries int
	// BackoffBase and BackoffCap shape the retry delays: attempt k waits a
	// uniform random time in [0, min(cap, base·2^k)], or the server's
	// Retry-After capped at BackoffCap (defaults 0.5 s and 30 s).
	BackoffBase, BackoffCap time.Duration
	// Sampling is sent with every request (Hugging Face semantics: greedy
	// unless DoSample).
	Sampling runners.Sampling
	// MinPixels and MaxPixels, when > 0, go to the server as
	// mm_processor_kwargs.
	MinPixels, MaxPixels int
	// HTTPClient overrides the transport (tests).
	HTTPClient *http.Client
}

// Runner is the OpenAI-compatible runner. Generate may be called from one
// goroutine at a time; it runs up to Concurrency requests at once.
type Runner struct {
	cfg      Config
	base     string
	chat     oa.ChatCompletionService
	models   json.RawMessage
	modelIDs []string
	sleep    func(ctx context.Context, d time.Duration) error
}

var _ runners.Runner = (*Runner)(nil)

// NormalizeEndpoint returns the API root with a trailing slash: /v1 is
// appended to a bare host URL. Only http and https are accepted.
func NormalizeEndpoint(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("openai: endpoint %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("openai: endpoint %q: want an http:// or https:// URL", s)
	}
	if u.User != nil {
		return "", fmt.Errorf("openai: endpoint %q: credentials in the URL are not accepted; use --api-key-env", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/v1"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String() + "/", nil
}

// Open checks the configuration, asks the server for /models (with the
// retry policy) and resolves the served model id.
func Open(ctx context.Context, cfg Config) (*Runner, error) {
	base, err := NormalizeEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("openai: concurrency %d: want 1 or more", cfg.Concurrency)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Timeout < 0 || cfg.MaxRetries < 0 {
		return nil, fmt.Errorf("openai: timeout %v, max retries %d: want positive values", cfg.Timeout, cfg.MaxRetries)
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffCap <= 0 {
		cfg.BackoffCap = 30 * time.Second
	}
	if cfg.Sampling.MaxNewTokens < 1 {
		return nil, fmt.Errorf("openai: max new tokens %d: want 1 or more", cfg.Sampling.MaxNewTokens)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// Keep a connection per request slot: the default transport keeps
		// only 2 idle connections per host and would reconnect the others.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = max(cfg.Concurrency, 2)
		hc = &http.Client{Transport: tr}
	}
	// Only the options given here: openai.NewClient would also read
	// OPENAI_API_KEY, OPENAI_BASE_URL and friends from the environment and
	// could send a real OpenAI key to an arbitrary endpoint.
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
		option.WithAPIKey(cfg.APIKey),
	}
	r := &Runner{cfg: cfg, base: base, chat: oa.NewChatCompletionService(opts...), sleep: sleepCtx}
	if err := r.listModels(ctx, hc); err != nil {
		return nil, err
	}
	switch {
	case cfg.Model == "" && len(r.modelIDs) == 1:
		r.cfg.Model = r.modelIDs[0]
	case cfg.Model == "":
		return nil, fmt.Errorf("openai: %smodels lists %d models (%s): name one with --api-model", base, len(r.modelIDs), strings.Join(r.modelIDs, ", "))
	case !slices.Contains(r.modelIDs, cfg.Model):
		return nil, fmt.Errorf("openai: %smodels does not list model %q (it serves %s)", base, cfg.Model, strings.Join(r.modelIDs, ", "))
	}
	return r, nil
}

// listModels fetches GET /models, retrying like a generation request, and
// keeps the answer for the manifest.
func (r *Runner) listModels(ctx context.Context, hc *http.Client) error {
	var last error
	for attempt := 0; attempt <= r.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			if err := r.sleep(ctx, r.backoff(attempt-1, last)); err != nil {
				return err
			}
		}
		body, err := r.getModels(ctx, hc)
		if err == nil {
			var ans struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &ans); err != nil {
				return fmt.Errorf("openai: %smodels: %w", r.base, err)
			}
			for _, m := range ans.Data {
				r.modelIDs = append(r.modelIDs, m.ID)
			}
			r.models = body
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryable(err) {
			break
		}
	}
	return fmt.Errorf("openai: %smodels: %w", r.base, last)
}

func (r *Runner) getModels(ctx context.Context, hc *http.Client) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, r.base+"models", nil)
	if err != nil {
		return nil, err
	}
	if r.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body, 1<<20)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{code: resp.StatusCode, header: resp.Header, body: brief(body)}
	}
	return body, nil
}

// Info describes the runner for the manifest: endpoint, served model id and
// the server's /models answer. The API key is never included.
func (r *Runner) Info() runners.Info {
	var models any
	_ = json.Unmarshal(r.models, &models)
	settings := map[string]any{
		"endpoint":    r.base,
		"api_model":   r.cfg.Model,
		"models":      models,
		"concurrency": r.cfg.Concurrency,
		"timeout":     r.cfg.Timeout.String(),
		"max_retries": r.cfg.MaxRetries,
		"sampling":    r.cfg.Sampling,
	}
	if r.cfg.APIKeyEnv != "" {
		settings["api_key_env"] = r.cfg.APIKeyEnv
	}
	if r.cfg.MinPixels > 0 || r.cfg.MaxPixels > 0 {
		settings["mm_processor_kwargs"] = r.mmKwargs()
	}
	return runners.Info{Name: Name, Model: r.cfg.Model, Runtime: "openai-compatible " + r.base, Settings: settings}
}

// Close releases nothing: connections are pooled by the HTTP client.
func (r *Runner) Close() error { return nil }

// Generate sends every request, up to Concurrency at a time, and returns
// one Result per request in order. A request that fails after its retries
// is an error sample. The returned error is only ever the context's.
func (r *Runner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	res := make([]runners.Result, len(reqs))
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range reqs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			res[i] = r.one(ctx, reqs[i])
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// one runs a request with retries.
func (r *Runner) one(ctx context.Context, q runners.Request) runners.Result {
	start := time.Now()
	fail := func(err error) runners.Result {
		return runners.Result{ID: q.ID, FinishReason: "error", Latency: time.Since(start),
			Err: fmt.Errorf("openai: sample %s: %w", q.ID, err)}
	}
	params, err := r.params(q)
	if err != nil {
		return fail(err)
	}
	extra := r.extraFields()
	var last error
	attempts := 0
	for attempt := 0; attempt <= r.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			if err := r.sleep(ctx, r.backoff(attempt-1, last)); err != nil {
				return fail(err)
			}
		}
		attempts++
		res, err := r.attempt(ctx, params, extra)
		if err == nil {
			res.ID, res.Latency = q.ID, time.Since(start)
			return res
		}
		last = err
		if ctx.Err() != nil || !retryable(err) {
			break
		}
	}
	if retryable(last) {
		return fail(fmt.Errorf("%w after %d attempt(s): %w", runners.ErrTransient, attempts, last))
	}
	return fail(fmt.Errorf("%d attempt(s): %w", attempts, last))
}

// attempt sends one request under the per-attempt timeout.
func (r *Runner) attempt(ctx context.Context, params oa.ChatCompletionNewParams, extra map[string]any) (runners.Result, error) {
	actx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	params.SetExtraFields(extra)
	var raw []byte
	_, err := r.chat.New(actx, params, option.WithResponseBodyInto(&raw))
	if err != nil {
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return runners.Result{}, &timeoutError{after: r.cfg.Timeout}
		}
		var ae *oa.Error
		if errors.As(err, &ae) && ae.Message != "" {
			return runners.Result{}, fmt.Errorf("%w: %s", err, ae.Message)
		}
		return runners.Result{}, err
	}
	return parseCompletion(raw)
}

// completion is the part of a chat-completion answer the runner reads,
// including vLLM's token_ids extension (also returned by medbench serve).
type completion struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
		TokenIDs     []int  `json:"token_ids"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// parseCompletion reads the answer. A malformed answer (no choice, no
// content) is not retried: it is a server bug, recorded as an error sample.
func parseCompletion(raw []byte) (runners.Result, error) {
	var c completion
	if err := json.Unmarshal(raw, &c); err != nil {
		return runners.Result{}, permanent(fmt.Errorf("answer: %w", err))
	}
	if len(c.Choices) == 0 {
		return runners.Result{}, permanent(errors.New("answer has no choices"))
	}
	ch := c.Choices[0]
	if ch.Message.Content == nil {
		return runners.Result{}, permanent(errors.New("answer's first choice has no message content"))
	}
	res := runners.Result{Text: *ch.Message.Content, TokenIDs: ch.TokenIDs}
	switch ch.FinishReason {
	case "stop":
		res.FinishReason = "eos"
	case "length":
		res.FinishReason = "length"
	default:
		res.FinishReason = ch.FinishReason
	}
	if c.Usage != nil {
		res.PromptTokens, res.CompletionTokens = c.Usage.PromptTokens, c.Usage.CompletionTokens
	} else {
		res.CompletionTokens = len(ch.TokenIDs)
	}
	return res, nil
}

// params builds the request: one user message, the images as data URIs of
// the original file bytes, then the text, and every standard sampling field.
func (r *Runner) params(q runners.Request) (oa.ChatCompletionNewParams, error) {
	parts := make([]oa.ChatCompletionContentPartUnionParam, 0, len(q.Images)+1)
	for i, im := range q.Images {
		uri, err := DataURI(im)
		if err != nil {
			return oa.ChatCompletionNewParams{}, fmt.Errorf("image %d: %w", i, err)
		}
		parts = append(parts, oa.ImageContentPart(oa.ChatCompletionContentPartImageImageURLParam{URL: uri}))
	}
	parts = append(parts, oa.TextContentPart(q.Text))
	s := r.cfg.Sampling
	temp, topP := 0.0, 1.0
	if s.DoSample {
		temp, topP = s.Temperature, s.TopP
	}
	return oa.ChatCompletionNewParams{
		Model:       r.cfg.Model,
		Messages:    []oa.ChatCompletionMessageParamUnion{oa.UserMessage(parts)},
		Temperature: oa.Float(temp),
		TopP:        oa.Float(topP),
		MaxTokens:   oa.Int(int64(s.MaxNewTokens)),
		N:           oa.Int(1),
		Seed:        oa.Int(int64(q.Seed)),
	}, nil
}

// extraFields are vLLM's sampling extensions (also accepted by SGLang and
// medbench serve): top_k (-1 = off), repetition_penalty (1 = off),
// min_tokens, mm_processor_kwargs and return_token_ids.
func (r *Runner) extraFields() map[string]any {
	s := r.cfg.Sampling
	topK := -1
	if s.DoSample && s.TopK > 0 {
		topK = s.TopK
	}
	rp := s.RepetitionPenalty
	if rp == 0 {
		rp = 1
	}
	m := map[string]any{
		"top_k":              topK,
		"repetition_penalty": rp,
		"min_tokens":         s.MinNewTokens,
		"return_token_ids":   true,
	}
	if r.cfg.MinPixels > 0 || r.cfg.MaxPixels > 0 {
		m["mm_processor_kwargs"] = r.mmKwargs()
	}
	return m
}

func (r *Runner) mmKwargs() map[string]int {
	kw := map[string]int{}
	if r.cfg.MinPixels > 0 {
		kw["min_pixels"] = r.cfg.MinPixels
	}
	if r.cfg.MaxPixels > 0 {
		kw["max_pixels"] = r.cfg.MaxPixels
	}
	return kw
}

// DataURI encodes an image's original file bytes (Bytes, or the file at
// Path) as a base64 data URI with the MIME type its content shows.
func DataURI(im runners.Image) (string, error) {
	b := im.Bytes
	if b == nil {
		f, err := os.Open(im.Path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if b, err = readCapped(f, MaxImageBytes); err != nil {
			return "", fmt.Errorf("%s: %w", im.Path, err)
		}
	} else if len(b) > MaxImageBytes {
		return "", fmt.Errorf("image of %d bytes exceeds %d", len(b), MaxImageBytes)
	}
	mime := ImageMIME(b)
	if mime == "" {
		name := im.Path
		if name == "" {
			name = "embedded image"
		}
		return "", fmt.Errorf("%s: not a PNG, JPEG, GIF, WebP, BMP or TIFF file", name)
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b), nil
}

// ImageMIME returns the image MIME type of b by its magic bytes, or "".
func ImageMIME(b []byte) string {
	if len(b) >= 4 && (string(b[:4]) == "II*\x00" || string(b[:4]) == "MM\x00*") {
		return "image/tiff"
	}
	if t := http.DetectContentType(b); strings.HasPrefix(t, "image/") {
		return t
	}
	return ""
}

// statusError is a non-200 answer to a request made without the client.
type statusError struct {
	code   int
	header http.Header
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

// timeoutError is an attempt that ran past the per-request timeout.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within the %v request timeout", e.after)
}

// permanentError is never retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// status returns the HTTP status and headers of an error answer.
func status(err error) (int, http.Header) {
	var ae *oa.Error
	if errors.As(err, &ae) {
		var h http.Header
		if ae.Response != nil {
			h = ae.Response.Header
		}
		return ae.StatusCode, h
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.code, se.header
	}
	return 0, nil
}

// retryable: 408, 429 and 5xx answers, timeouts and transport failures
// (refused or reset connections, truncated answers). Other 4xx answers and
// malformed answers are final.
func retryable(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return false
	}
	if code, _ := status(err); code != 0 {
		return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
	}
	return true
}

// backoff is the delay before retry k+1 (k = 0 for the first retry): the
// server's Retry-After when it sent one, else full jitter over
// min(cap, base·2^k); never more than BackoffCap.
func (r *Runner) backoff(k int, last error) time.Duration {
	if _, h := status(last); h != nil {
		if d, ok := RetryAfter(h.Get("Retry-After"), time.Now()); ok {
			return min(d, r.cfg.BackoffCap)
		}
	}
	ceil := r.cfg.BackoffCap
	if k < 30 {
		ceil = min(ceil, r.cfg.BackoffBase<<k)
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// RetryAfter parses a Retry-After value: delay seconds or an HTTP date.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > 1<<20 {
			n = 1 << 20
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readCapped reads at most limit bytes and fails beyond.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

// brief shortens an error body for a message.
func brief(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
