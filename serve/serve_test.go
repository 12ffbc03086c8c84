package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbench/medbench/runners"
)

// echoGen answers each request with its text and image count, and records
// the batches it was called with.
type echoGen struct {
	mu      sync.Mutex
	batches [][]runners.Request
	samps   []runners.Sampling
	delay   time.Duration
}

func (g *echoGen) GenerateWith(ctx context.Context, s runners.Sampling, reqs []runners.Request) ([]runners.Result, error) {
	g.mu.Lock()
	g.batches = append(g.batches, reqs)
	g.samps = append(g.samps, s)
	g.mu.Unlock()
	time.Sleep(g.delay)
	out := make([]runners.Result, len(reqs))
	for i, q := range reqs {
		out[i] = runners.Result{ID: q.ID, Text: fmt.Sprintf("%s|%d|%d", q.Text, len(q.Images), q.Seed), TokenIDs: []int{1, 2, 151645},
			PromptTokens: 10, CompletionTokens: 3, FinishReason: "eos"}
	}
	return out, nil
}

func pngURI(t *testing.T, w, h int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// start serves on 127.0.0.1:0 until the returned stop is called.
func start(t *testing.T, g Generator, cfg Config) (string, func()) {
	t.Helper()
	if cfg.ModelID == "" {
		cfg.ModelID = "tiny"
	}
	var logBuf bytes.Buffer
	cfg.Log = log.New(&lockedWriter{w: &logBuf}, "", 0)
	s, err := New(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 10*time.Second) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func post(t *testing.T, url, key string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func chatBody(content any, extra map[string]any) map[string]any {
	b := map[string]any{"model": "tiny", "messages": []any{map[string]any{"role": "user", "content": content}}, "temperature": 0}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func TestChatAnswer(t *testing.T) {
	g := &echoGen{}
	url, _ := start(t, g, Config{})
	content := []any{
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": pngURI(t, 28, 28)}},
		map[string]any{"type": "text", "text": "What? é"},
	}
	code, m := post(t, url, "", chatBody(content, map[string]any{"n": 2, "seed": 41, "max_tokens": 7, "top_k": -1, "repetition_penalty": 1.1, "min_tokens": 1}))
	if code != 200 {
		t.Fatalf("status %d: %v", code, m)
	}
	ch := m["choices"].([]any)
	if len(ch) != 2 {
		t.Fatalf("choices %v", ch)
	}
	c0 := ch[0].(map[string]any)
	if c0["message"].(map[string]any)["content"] != "What? é|1|41" || c0["finish_reason"] != "stop" || len(c0["token_ids"].([]any)) != 3 {
		t.Errorf("choice 0 %v", c0)
	}
	if ch[1].(map[string]any)["message"].(map[string]any)["content"] != "What? é|1|42" {
		t.Errorf("choice 1 seed: %v", ch[1])
	}
	if u := m["usage"].(map[string]any); u["prompt_tokens"] != 10.0 || u["completion_tokens"] != 6.0 || u["total_tokens"] != 16.0 {
		t.Errorf("usage %v", u)
	}
	s := g.samps[0]
	if s.DoSample || s.MaxNewTokens != 7 || s.RepetitionPenalty != 1.1 || s.MinNewTokens != 1 {
		t.Errorf("sampling %+v", s)
	}
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var ml struct{ Data []struct{ ID string } }
	json.NewDecoder(resp.Body).Decode(&ml)
	resp.Body.Close()
	if len(ml.Data) != 1 || ml.Data[0].ID != "tiny" {
		t.Errorf("/v1/models %+v", ml)
	}
}

// Bad input is refused with 400 (or 413/401/404) and never reaches the model.
func TestRefusals(t *testing.T) {
	g := &echoGen{}
	url, _ := start(t, g, Config{APIKey: "k", MaxImagePixels: 100 * 100, MaxBodyBytes: 1 << 16, Pixels: map[string]int{"max_pixels": 1000}})
	img := func(u string) []any {
		return []any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": u}}, map[string]any{"type": "text", "text": "q"}}
	}
	cases := []struct {
		name string
		key  string
		body any
		code int
		msg  string
	}{
		{"no key", "", chatBody("q", nil), 401, "API key"},
		{"http url", "k", chatBody(img("http://example.com/x.png"), nil), 400, "data URI"},
		{"file url", "k", chatBody(img("file:///etc/passwd"), nil), 400, "data URI"},
		{"too many pixels", "k", chatBody(img(pngURI(t, 101, 100)), nil), 400, "at most 10000 pixels"},
		{"not an image", "k", chatBody(img("data:image/png;base64,aGVsbG8="), nil), 400, "image header"},
		{"text first", "k", chatBody([]any{map[string]any{"type": "text", "text": "q"}, img(pngURI(t, 28, 28))[0]}, nil), 400, "precede"},
		{"system", "k", map[string]any{"messages": []any{map[string]any{"role": "system", "content": "x"}, map[string]any{"role": "user", "content": "q"}}}, 400, "exactly one message"},
		{"model", "k", map[string]any{"model": "other", "messages": []any{map[string]any{"role": "user", "content": "q"}}}, 404, "not served"},
		{"stream", "k", chatBody("q", map[string]any{"stream": true}), 400, "stream"},
		{"max_tokens", "k", chatBody("q", map[string]any{"max_tokens": 0}), 400, "max_tokens"},
		{"mm kwargs", "k", chatBody("q", map[string]any{"mm_processor_kwargs": map[string]any{"max_pixels": 5}}), 400, "mm_processor_kwargs"},
		{"body cap", "k", chatBody(strings.Repeat("x", 1<<16), nil), 413, "request body"},
	}
	for _, c := range cases {
		code, m := post(t, url, c.key, c.body)
		msg, _ := m["message"].(string)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: status %d %q, want %d containing %q", c.name, code, msg, c.code, c.msg)
		}
	}
	if len(g.batches) != 0 {
		t.Errorf("refused requests reached the model: %d batches", len(g.batches))
	}
	if code, _ := post(t, url, "k", chatBody("q", map[string]any{"mm_processor_kwargs": map[string]any{"max_pixels": 1000}})); code != 200 {
		t.Errorf("matching mm_processor_kwargs refused: %d", code)
	}
}

// Concurrent requests with the same sampling share a batch of at most
// MaxBatch sequences; different sampling never shares one.
func TestDynamicBatching(t *testing.T) {
	g := &echoGen{delay: 20 * time.Millisecond}
	url, _ := start(t, g, Config{MaxBatch: 4, BatchWindow: 200 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			extra := map[string]any{}
			if i%2 == 1 {
				extra["temperature"] = 0.7
				extra["seed"] = i
			}
			if code, m := post(t, url, "", chatBody(fmt.Sprint("q", i), extra)); code != 200 {
				t.Errorf("request %d: %d %v", i, code, m)
			}
		}()
	}
	wg.Wait()
	total := 0
	for i, b := range g.batches {
		total += len(b)
		if len(b) > 4 {
			t.Errorf("batch %d has %d sequences", i, len(b))
		}
	}
	if total != 8 || len(g.batches) >= 8 {
		t.Errorf("%d sequences in %d batches (want 8 in fewer than 8)", total, len(g.batches))
	}
	for i, b := range g.batches {
		for _, q := range b {
			var n int
			fmt.Sscan(strings.TrimPrefix(q.Text, "q"), &n)
			if (n%2 == 1) != g.samps[i].DoSample {
				t.Errorf("batch %d mixes sampling settings (request %d)", i, n)
			}
		}
	}
}

// Shutdown: the request in flight finishes, then new ones are refused.
func TestGracefulShutdown(t *testing.T) {
	g := &echoGen{delay: 300 * time.Millisecond}
	url, stop := start(t, g, Config{BatchWindow: 0})
	res := make(chan int, 1)
	go func() { code, _ := post(t, url, "", chatBody("q", nil)); res <- code }()
	for range 100 { // wait until the request reached the model
		g.mu.Lock()
		n := len(g.batches)
		g.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if code := <-res; code != 200 {
		t.Errorf("in-flight request got %d", code)
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestCheckAddr(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8000", "[::1]:80", "localhost:1"} {
		if err := CheckAddr(a, false); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"0.0.0.0:8000", ":8000", "10.0.0.1:80"} {
		if err := CheckAddr(a, false); err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("%s accepted: %v", a, err)
		}
		if err := CheckAddr(a, true); err != nil {
			t.Errorf("%s with allow-remote: %v", a, err)
		}
	}
}

// While draining, new requests and /health get 503.
func TestDrainingRefusesNew(t *testing.T) {
	g := &echoGen{}
	s, err := New(g, Config{ModelID: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	s.draining.Store(true)
	for _, req := range []*http.Request{
		httptestRequest(http.MethodPost, "/v1/chat/completions", `{"messages":[{"role":"user","content":"q"}]}`),
		httptestRequest(http.MethodGet, "/health", ""),
	} {
		rec := &recorder{header: http.Header{}}
		s.Handler().ServeHTTP(rec, req)
		if rec.code != http.StatusServiceUnavailable {
			t.Errorf("%s while draining: %d", req.URL.Path, rec.code)
		}
	}
	if len(g.batches) != 0 {
		t.Error("draining server generated")
	}
}

func httptestRequest(method, path, body string) *http.Request {
	r, _ := http.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
	return r
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(c int) { r.code = c }
