package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medbench/medbench/runners"
)

// pngBytes is a 1×1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

// fakeServer answers /v1/models and /v1/chat/completions; handle decides
// each chat answer (nil: a normal answer). Bodies are kept raw.
type fakeServer struct {
	mu     sync.Mutex
	bodies []map[string]any
	auth   []string
	calls  atomic.Int64
	handle func(n int64, w http.ResponseWriter) bool
}

func (f *fakeServer) start(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		switch r.URL.Path {
		case "/v1/models":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"object":"list","data":[{"id":"med","object":"model","owned_by":"x"}]}`)
		case "/v1/chat/completions":
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("body is not JSON: %v", err)
			}
			f.mu.Lock()
			f.bodies = append(f.bodies, m)
			f.mu.Unlock()
			n := f.calls.Add(1)
			if f.handle != nil && f.handle(n, w) {
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"med","choices":[{"index":0,"message":{"role":"assistant","content":"<answer>B</answer>"},"finish_reason":"stop","token_ids":[5,6,7]}],"usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func open(t *testing.T, ts *httptest.Server, mod func(*Config)) *Runner {
	t.Helper()
	cfg := Config{Endpoint: ts.URL, Concurrency: 2, Timeout: 2 * time.Second, MaxRetries: 3,
		BackoffBase: time.Millisecond, BackoffCap: 20 * time.Millisecond, Sampling: runners.SeedPreset()}
	if mod != nil {
		mod(&cfg)
	}
	r, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Every sampling field arrives explicitly, temperature 0 included, and the
// vLLM extensions arrive as top-level fields; the message is the image as a
// data URI of the file's bytes, then the text byte for byte.
func TestRequestBodyArrives(t *testing.T) {
	f := &fakeServer{}
	ts := f.start(t)
	t.Setenv("OPENAI_API_KEY", "sk-must-not-leak")
	r := open(t, ts, func(c *Config) {
		c.Sampling.MinNewTokens = 2
		c.Sampling.RepetitionPenalty = 1.05
		c.MinPixels, c.MaxPixels = 3136, 12845056
	})
	text := "Question: which? <think> é\n"
	res, err := r.Generate(context.Background(), []runners.Request{{ID: "7", Prompt: "complex", Text: text, Seed: 99, Images: []runners.Image{{Bytes: pngBytes}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Text != "<answer>B</answer>" || res[0].FinishReason != "eos" || res[0].PromptTokens != 11 || res[0].CompletionTokens != 3 || len(res[0].TokenIDs) != 3 {
		t.Fatalf("result %+v", res[0])
	}
	b := f.bodies[0]
	want := map[string]any{"model": "med", "temperature": 0.0, "top_p": 1.0, "top_k": -1.0, "repetition_penalty": 1.05,
		"min_tokens": 2.0, "max_tokens": 512.0, "n": 1.0, "seed": 99.0, "return_token_ids": true}
	for k, v := range want {
		if got, ok := b[k]; !ok || got != v {
			t.Errorf("field %s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if kw, _ := b["mm_processor_kwargs"].(map[string]any); kw["min_pixels"] != 3136.0 || kw["max_pixels"] != 12845056.0 {
		t.Errorf("mm_processor_kwargs = %v", b["mm_processor_kwargs"])
	}
	msgs, _ := b["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("messages = %v", b["messages"])
	}
	m := msgs[0].(map[string]any)
	parts, _ := m["content"].([]any)
	if m["role"] != "user" || len(parts) != 2 {
		t.Fatalf("message = %v", m)
	}
	img := parts[0].(map[string]any)["image_url"].(map[string]any)["url"]
	if img != "data:image/png;base64,"+base64.StdEncoding.EncodeToString(pngBytes) {
		t.Errorf("image part = %v", img)
	}
	if p := parts[1].(map[string]any); p["type"] != "text" || p["text"] != text {
		t.Errorf("text part = %v", p)
	}
	for _, a := range f.auth {
		if a != "" {
			t.Errorf("Authorization %q sent without --api-key-env (environment leak)", a)
		}
	}
	if s := r.Info().Settings; s["api_model"] != "med" || s["models"] == nil || strings.Contains(jsonString(s), "sk-") {
		t.Errorf("info settings %v", s)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAPIKeySentAndNotRecorded(t *testing.T) {
	f := &fakeServer{}
	ts := f.start(t)
	r := open(t, ts, func(c *Config) { c.APIKey, c.APIKeyEnv = "secret-123", "MED_KEY" })
	if _, err := r.Generate(context.Background(), []runners.Request{{ID: "1", Text: "q"}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.auth {
		if a != "Bearer secret-123" {
			t.Errorf("Authorization %q", a)
		}
	}
	if s := jsonString(r.Info()); strings.Contains(s, "secret-123") || !strings.Contains(s, "MED_KEY") {
		t.Errorf("info %s", s)
	}
}

// 429 and 503 answers (with Retry-After) and dropped connections are
// retried; the sample ends with the answer.
func TestRetriesTransientFailures(t *testing.T) {
	f := &fakeServer{handle: func(n int64, w http.ResponseWriter) bool {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", time.Now().Add(-time.Second).UTC().Format(http.TimeFormat))
			http.Error(w, `{"error":{"message":"busy"}}`, http.StatusServiceUnavailable)
		case 3:
			panic(http.ErrAbortHandler) // connection dropped mid-answer
		default:
			return false
		}
		return true
	}}
	ts := f.start(t)
	r := open(t, ts, nil)
	res, err := r.Generate(context.Background(), []runners.Request{{ID: "1", Text: "q"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Text != "<answer>B</answer>" || f.calls.Load() != 4 {
		t.Fatalf("result %+v after %d calls", res[0], f.calls.Load())
	}
}

// Retries end: a server that keeps failing gives a transient error sample;
// a 400 is final at once and not transient.
func TestFailuresBecomeErrorSamples(t *testing.T) {
	f := &fakeServer{handle: func(n int64, w http.ResponseWriter) bool {
		http.Error(w, `{"error":{"message":"down"}}`, http.StatusBadGateway)
		return true
	}}
	r := open(t, f.start(t), func(c *Config) { c.MaxRetries = 2 })
	res, err := r.Generate(context.Background(), []runners.Request{{ID: "1", Text: "q"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || !errors.Is(res[0].Err, runners.ErrTransient) || res[0].Text != "" || res[0].FinishReason != "error" || f.calls.Load() != 3 {
		t.Fatalf("result %+v (err %v) after %d calls", res[0], res[0].Err, f.calls.Load())
	}
	g := &fakeServer{handle: func(n int64, w http.ResponseWriter) bool {
		http.Error(w, `{"error":{"message":"bad image"}}`, http.StatusBadRequest)
		return true
	}}
	r = open(t, g.start(t), nil)
	res, _ = r.Generate(context.Background(), []runners.Request{{ID: "1", Text: "q"}})
	if res[0].Err == nil || errors.Is(res[0].Err, runners.ErrTransient) || !strings.Contains(res[0].Err.Error(), "bad image") || g.calls.Load() != 1 {
		t.Fatalf("400: result err %v after %d calls", res[0].Err, g.calls.Load())
	}
}

// A hung server: each attempt times out, the sample fails, Generate ends.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	f := &fakeServer{handle: func(n int64, w http.ResponseWriter) bool {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		return true
	}}
	ts := f.start(t)
	defer close(release)
	r := open(t, ts, func(c *Config) { c.Timeout, c.MaxRetries = 100*time.Millisecond, 1 })
	start := time.Now()
	res, err := r.Generate(context.Background(), []runners.Request{{ID: "1", Text: "q"}, {ID: "2", Text: "q"}})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
	for _, x := range res {
		if x.Err == nil || !errors.Is(x.Err, runners.ErrTransient) || !strings.Contains(x.Err.Error(), "timeout") {
			t.Errorf("sample %s: err %v", x.ID, x.Err)
		}
	}
}

// Concurrency bounds the requests in flight.
func TestConcurrencyBound(t *testing.T) {
	var inflight, peak atomic.Int64
	f := &fakeServer{handle: func(n int64, w http.ResponseWriter) bool {
		c := inflight.Add(1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inflight.Add(-1)
		return false
	}}
	r := open(t, f.start(t), func(c *Config) { c.Concurrency = 3 })
	reqs := make([]runners.Request, 12)
	for i := range reqs {
		reqs[i] = runners.Request{ID: string(rune('a' + i)), Text: "q"}
	}
	res, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range res {
		if x.ID != reqs[i].ID || x.Err != nil {
			t.Errorf("result %d: %+v", i, x)
		}
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak in flight %d, want 3", p)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{"3": 3 * time.Second, "0": 0, now.Add(7 * time.Second).Format(http.TimeFormat): 7 * time.Second}
	for v, want := range cases {
		if d, ok := RetryAfter(v, now); !ok || d != want {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v", v, d, ok, want)
		}
	}
	for _, v := range []string{"", "-1", "soon"} {
		if _, ok := RetryAfter(v, now); ok {
			t.Errorf("RetryAfter(%q) accepted", v)
		}
	}
	r := &Runner{cfg: Config{BackoffBase: time.Second, BackoffCap: 4 * time.Second}}
	big := &statusError{code: 429, header: http.Header{"Retry-After": {"3600"}}}
	if d := r.backoff(0, big); d != 4*time.Second {
		t.Errorf("Retry-After 3600 s gave %v, want the 4 s cap", d)
	}
	for k := range 10 {
		if d := r.backoff(k, errors.New("reset")); d < 0 || d > min(4*time.Second, time.Second<<k) {
			t.Errorf("backoff(%d) = %v", k, d)
		}
	}
}

func TestEndpointAndMIME(t *testing.T) {
	for in, want := range map[string]string{"http://127.0.0.1:8000": "http://127.0.0.1:8000/v1/", "http://h/v1/": "http://h/v1/", "https://h/openai/v1": "https://h/openai/v1/"} {
		if got, err := NormalizeEndpoint(in); err != nil || got != want {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"ftp://h", "127.0.0.1:8000", "http://u:p@h"} {
		if _, err := NormalizeEndpoint(bad); err == nil {
			t.Errorf("NormalizeEndpoint(%q) accepted", bad)
		}
	}
	if ImageMIME(pngBytes) != "image/png" || ImageMIME([]byte("\xff\xd8\xff\xe0xxxx")) != "image/jpeg" || ImageMIME([]byte("II*\x00")) != "image/tiff" || ImageMIME([]byte("hello")) != "" {
		t.Error("ImageMIME")
	}
}
