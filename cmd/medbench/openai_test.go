package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/qwen2vl"
	"github.com/medbench/medbench/serve"
)

// These tests run `medbench eval --runner openai` against medbench serve
// over the tiny fixture model, in-process, on 127.0.0.1 only. Every request
// loop is bounded by --max-retries and --timeout.

// medbenchRun runs the CLI with its output captured in a buffer (safe while
// servers run in other goroutines) and returns the exit code and output.
func medbenchRun(args ...string) (int, string) {
	app := newApp(defaultRunners())
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(append([]string{"medbench"}, args...))
	if err == nil {
		return 0, out.String()
	}
	code := 2
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	return code, out.String() + err.Error()
}

// openFixtureRunner opens the tiny fixture model for serving.
func openFixtureRunner(t *testing.T, model string) *qwen2vl.Runner {
	t.Helper()
	cfg := qwen2vl.Config{ModelDir: model, DType: "fp32", Device: "cpu", Threads: 1, Sampling: runners.SeedPreset()}
	r, err := qwen2vl.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// startServe serves r with medbench serve's server on 127.0.0.1:0 until the
// test ends; it returns the base URL.
func startServe(t *testing.T, r *qwen2vl.Runner, maxBatch int) string {
	t.Helper()
	s, err := serve.New(r, serve.Config{ModelID: "tiny", MaxBatch: maxBatch, BatchWindow: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 30*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// faultProxy forwards to a server; fault may answer a chat request itself
// (returning true). kill closes its listener and every connection at once,
// as a killed server process would.
type faultProxy struct {
	srv   *http.Server
	addr  string
	chats atomic.Int64
	once  sync.Once
}

func startProxy(t *testing.T, target, addr string, fault func(p *faultProxy, n int64, w http.ResponseWriter) bool) *faultProxy {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	p := &faultProxy{}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			n := p.chats.Add(1)
			if fault != nil && fault(p, n, w) {
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	var ln net.Listener
	var err error
	for range 50 { // a restarted proxy may wait for the old port to be free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	go p.srv.Serve(ln)
	t.Cleanup(p.kill)
	return p
}

func (p *faultProxy) kill()       { p.once.Do(func() { p.srv.Close() }) }
func (p *faultProxy) url() string { return "http://" + p.addr }

// openaiFixture is the shared setup: the tiny model, a 6-record dataset and
// the reference run of `eval --runner onnx`.
type openaiFixture struct {
	model, data string
	runner      *qwen2vl.Runner
	ref         *records.Run
}

// evalCommon are the flags every run of these tests shares.
func (f *openaiFixture) evalArgs(out string, extra ...string) []string {
	return append([]string{"eval", "--data", f.data, "--out", out, "--prompt", "complex,simple", "--preset", "medvlm-r1",
		"--max-new-tokens", "8", "--seed", "3"}, extra...)
}

func newOpenAIFixture(t *testing.T) *openaiFixture {
	t.Helper()
	f := &openaiFixture{model: tinyFixture(t), data: evalSynth(t, 6)}
	out := filepath.Join(t.TempDir(), "onnx")
	if code, msg := medbenchRun(f.evalArgs(out, "--model", f.model, "--threads", "1")...); code != 0 {
		t.Fatalf("eval --runner onnx: exit %d: %s", code, msg)
	}
	ref, err := records.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	f.ref = ref
	f.runner = openFixtureRunner(t, f.model)
	return f
}

// sameOpenAIRecord compares an openai run with the onnx reference: per sample the
// text, ids and token counts; and the summary cells.
func sameOpenAIRecord(t *testing.T, label string, ref *records.Run, dir string) *records.Run {
	t.Helper()
	run, err := records.ReadRun(dir)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if run.Summary == nil || run.Summary.Errors != 0 || len(run.Samples) != len(ref.Samples) {
		t.Fatalf("%s: summary %+v, %d samples (want %d)", label, run.Summary, len(run.Samples), len(ref.Samples))
	}
	want := map[string]records.ScoredSample{}
	for _, s := range ref.Samples {
		want[s.Key()] = s
	}
	for _, s := range run.Samples {
		w, ok := want[s.Key()]
		if !ok || s.Output != w.Output || !reflect.DeepEqual(s.TokenIDs, w.TokenIDs) || s.PromptTokens != w.PromptTokens ||
			s.CompletionTokens != w.CompletionTokens || s.FinishReason != w.FinishReason || s.Error != "" {
			t.Errorf("%s: %s: got %q %v (%d+%d, %s, err %q), onnx %q %v (%d+%d, %s)", label, s.Key(), s.Output, s.TokenIDs,
				s.PromptTokens, s.CompletionTokens, s.FinishReason, s.Error, w.Output, w.TokenIDs, w.PromptTokens, w.CompletionTokens, w.FinishReason)
		}
	}
	if !reflect.DeepEqual(run.Summary.Cells, ref.Summary.Cells) || run.Summary.Samples != ref.Summary.Samples {
		t.Errorf("%s: summary cells differ from the onnx run", label)
	}
	return run
}

// TestOpenAIConformance: eval --runner openai against medbench serve gives
// the texts and ids of eval --runner onnx, whatever --concurrency and
// --max-batch; the manifest records the endpoint, the served model and the
// /v1/models answer.
func TestOpenAIConformance(t *testing.T) {
	f := newOpenAIFixture(t)
	for _, c := range [][2]int{{1, 1}, {4, 4}, {4, 1}, {1, 4}} {
		conc, maxBatch := c[0], c[1]
		url := startServe(t, f.runner, maxBatch)
		out := filepath.Join(t.TempDir(), "openai")
		label := fmt.Sprintf("--concurrency %d --max-batch %d", conc, maxBatch)
		if code, msg := medbenchRun(f.evalArgs(out, "--runner", "openai", "--endpoint", url, "--concurrency", strconv.Itoa(conc))...); code != 0 {
			t.Fatalf("%s: exit %d: %s", label, code, msg)
		}
		run := sameOpenAIRecord(t, label, f.ref, out)
		settings := run.Manifest.Runner.Settings
		models, _ := settings["models"].(map[string]any)
		if run.Manifest.Runner.Name != "openai" || run.Manifest.Runner.Model != "tiny" || settings["endpoint"] != url+"/v1/" || models["data"] == nil {
			t.Errorf("%s: manifest runner %v", label, run.Manifest.Runner)
		}
		if !reflect.DeepEqual(run.Manifest.Sampling, f.ref.Manifest.Sampling) {
			t.Errorf("%s: manifest sampling %v, onnx %v", label, run.Manifest.Sampling, f.ref.Manifest.Sampling)
		}
	}
}

// TestOpenAIServerKilledResume: the server dies mid-run (listener and
// connections closed) → the run ends with transient error samples, counted
// and not scored; after a restart, --resume generates exactly those and the
// summary equals the uninterrupted one.
func TestOpenAIServerKilledResume(t *testing.T) {
	f := newOpenAIFixture(t)
	upstream := startServe(t, f.runner, 4)
	p := startProxy(t, upstream, "127.0.0.1:0", func(p *faultProxy, n int64, w http.ResponseWriter) bool {
		if n < 4 {
			return false
		}
		p.kill()
		panic(http.ErrAbortHandler)
	})
	out := filepath.Join(t.TempDir(), "run")
	args := f.evalArgs(out, "--runner", "openai", "--endpoint", p.url(), "--concurrency", "2", "--max-retries", "1", "--timeout", "20s")
	// The record is complete, but most samples failed: above
	// --max-error-rate the run exits 1 (a CI gate must not pass it).
	if code, msg := medbenchRun(args...); code != 1 || !strings.Contains(msg, "above --max-error-rate") {
		t.Fatalf("interrupted run: exit %d, want 1 naming the error rate: %s", code, msg)
	}
	cut, err := records.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, s := range cut.Samples {
		if s.Error != "" {
			failed++
			if !s.Transient || s.Output != "" || s.Extractions["strict"] != nil || s.Correct["strict"] {
				t.Errorf("error sample %s: transient %v output %q extracted %v correct %v", s.Key(), s.Transient, s.Output, s.Extractions, s.Correct)
			}
		}
	}
	if failed == 0 || cut.Summary == nil || cut.Summary.Errors != failed || len(cut.Samples) != len(f.ref.Samples) {
		t.Fatalf("interrupted run: %d failed samples, summary %+v, %d samples", failed, cut.Summary, len(cut.Samples))
	}
	startProxy(t, upstream, p.addr, nil) // the restarted server, same address
	if code, msg := medbenchRun(append(args, "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, msg)
	}
	sameOpenAIRecord(t, "resumed", f.ref, out)
	retried, _, err := records.ReadSamples(filepath.Join(out, records.RetriedFile))
	if err != nil || len(retried) != failed {
		t.Errorf("retried.jsonl: %d samples (want %d), %v", len(retried), failed, err)
	}
}

// TestOpenAIThrottled: a proxy answers 429 or 503 (with Retry-After) to a
// third of the requests → no sample lost, no error scored, same record.
func TestOpenAIThrottled(t *testing.T) {
	f := newOpenAIFixture(t)
	upstream := startServe(t, f.runner, 4)
	var refused atomic.Int64
	p := startProxy(t, upstream, "127.0.0.1:0", func(p *faultProxy, n int64, w http.ResponseWriter) bool {
		switch n % 3 {
		case 0:
			refused.Add(1)
			if n%2 == 0 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, `{"error":{"message":"rate limited"}}`, http.StatusTooManyRequests)
			} else {
				w.Header().Set("Retry-After", time.Now().UTC().Format(http.TimeFormat))
				http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
			}
			return true
		}
		return false
	})
	out := filepath.Join(t.TempDir(), "run")
	if code, msg := medbenchRun(f.evalArgs(out, "--runner", "openai", "--endpoint", p.url(), "--concurrency", "3", "--max-retries", "4")...); code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if refused.Load() < 3 {
		t.Fatalf("the proxy refused only %d requests", refused.Load())
	}
	run := sameOpenAIRecord(t, "throttled", f.ref, out)
	for _, s := range run.Samples {
		if strings.Contains(s.Output, "rate limited") || strings.Contains(s.Output, "overloaded") {
			t.Errorf("%s: error text scored as output %q", s.Key(), s.Output)
		}
	}
}

// TestOpenAIHungServer: a server that never answers → each attempt times
// out, the run ends with every sample an error sample, counted.
func TestOpenAIHungServer(t *testing.T) {
	data := evalSynth(t, 3)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"tiny","object":"model"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	defer hs.Close()
	defer close(release)
	out := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	code, msg := medbenchRun("eval", "--data", data, "--out", out, "--prompt", "complex", "--runner", "openai",
		"--endpoint", "http://"+ln.Addr().String(), "--timeout", "150ms", "--max-retries", "1", "--concurrency", "3")
	if code != 1 || !strings.Contains(msg, "above --max-error-rate") {
		t.Fatalf("exit %d, want 1 naming the error rate (every request timed out): %s", code, msg)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("hung server run took %v", el)
	}
	s := readSummary(t, out)
	if s.Samples != 3 || s.Errors != 3 {
		t.Fatalf("summary: %d samples, %d errors", s.Samples, s.Errors)
	}
	for _, c := range s.Cells {
		if c.Correct != 0 || c.Errors != c.N {
			t.Errorf("cell %+v: an error sample was scored", c)
		}
	}
	run, _ := records.ReadRun(out)
	for _, smp := range run.Samples {
		if !strings.Contains(smp.Error, "timeout") || !smp.Transient {
			t.Errorf("%s: error %q transient %v", smp.Key(), smp.Error, smp.Transient)
		}
	}
	if !strings.Contains(msg, "3 failed") {
		t.Errorf("printed summary does not count the failures:\n%s", msg)
	}
}

// The API key is read from --api-key-env, sent, and never written to the run
// record or printed.
func TestOpenAIAPIKeyNotRecorded(t *testing.T) {
	data := evalSynth(t, 3)
	const key = "sk-test-never-logged-123"
	t.Setenv("MEDBENCH_TEST_KEY", key)
	var auth atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"A"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}}`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	defer hs.Close()
	out := filepath.Join(t.TempDir(), "run")
	code, msg := medbenchRun("eval", "--data", data, "--out", out, "--prompt", "simple", "--runner", "openai",
		"--endpoint", "http://"+ln.Addr().String(), "--api-key-env", "MEDBENCH_TEST_KEY")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if auth.Load() != "Bearer "+key {
		t.Errorf("Authorization %v", auth.Load())
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(out, e.Name()))
		if bytes.Contains(b, []byte(key)) {
			t.Errorf("%s contains the API key", e.Name())
		}
	}
	if strings.Contains(msg, key) {
		t.Error("output contains the API key")
	}
	if code, msg := medbenchRun("eval", "--data", data, "--out", filepath.Join(t.TempDir(), "x"), "--runner", "openai",
		"--endpoint", "http://"+ln.Addr().String(), "--api-key-env", "MEDBENCH_TEST_UNSET_VAR"); code != 2 || !strings.Contains(msg, "MEDBENCH_TEST_UNSET_VAR") {
		t.Errorf("unset key variable: exit %d: %s", code, msg)
	}
}

// TestBenchOpenAI: bench --runner openai measures each --batch size over
// HTTP (as concurrency) beside the in-process runner, with the same tokens,
// and notes the HTTP overhead per sample.
func TestBenchOpenAI(t *testing.T) {
	model, data := benchFixture(t)
	url := startServe(t, openFixtureRunner(t, model), 4)
	out := filepath.Join(t.TempDir(), "bench.json")
	code, msg := medbenchRun("bench", "--model", model, "--data", data, "--peer", "none", "--runner", "openai", "--endpoint", url,
		"--batch", "1,2", "--n", "4", "--repeats", "2", "--warmup", "0", "--max-new-tokens", "4", "--threads", "1", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	rep := readBenchReport(t, out)
	got := map[string]int{}
	for _, r := range rep.Results {
		got[r.Name] = r.Passes[0].GeneratedTokens
	}
	for _, name := range []string{"medbench batch=1", "medbench batch=2", "openai concurrency=1", "openai concurrency=2"} {
		if got[name] != 16 {
			t.Errorf("%s: %d generated tokens per pass, want 16 (4 requests x 4)", name, got[name])
		}
	}
	notes := strings.Join(rep.Notes, "\n")
	if !strings.Contains(notes, "openai concurrency=1 vs medbench batch=1: HTTP path overhead") {
		t.Errorf("notes: %s", notes)
	}
}

// TestServeCLI runs `medbench serve` itself: it refuses a non-loopback
// address without --allow-remote, answers with the API key only, logs one
// line per request without the key, and exits 0 on SIGTERM.
func TestServeCLI(t *testing.T) {
	if code, msg := medbenchRun("serve", "--model", t.TempDir(), "--addr", "0.0.0.0:8000"); code != 2 || !strings.Contains(msg, "--allow-remote") {
		t.Fatalf("non-loopback address: exit %d: %s", code, msg)
	}
	model := tinyFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const key = "serve-key-never-logged"
	t.Setenv("MEDBENCH_SERVE_TEST_KEY", key)
	app := newApp(defaultRunners())
	var logBuf syncBuffer
	app.Writer, app.ErrWriter = &logBuf, &logBuf
	done := make(chan error, 1)
	go func() {
		done <- app.Run([]string{"medbench", "serve", "--model", model, "--addr", addr, "--threads", "1", "--api-key-env", "MEDBENCH_SERVE_TEST_KEY"})
	}()
	up := false
	for range 200 {
		if resp, err := http.Get("http://" + addr + "/health"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if !up {
		t.Fatalf("serve did not come up: %s", logBuf.String())
	}
	post := func(auth string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions",
			strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0}`))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(""); c != 401 {
		t.Errorf("without key: %d", c)
	}
	if c := post(key); c != 200 {
		t.Errorf("with key: %d", c)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	logs := logBuf.String()
	if strings.Contains(logs, key) || strings.Count(logs, "status=200") != 1 || strings.Count(logs, "status=401") != 1 {
		t.Errorf("serve log:\n%s", logs)
	}
	if !strings.Contains(logs, "completion_tokens=3") || !strings.Contains(logs, "serve: stopped") {
		t.Errorf("serve log lacks the request line or the stop line:\n%s", logs)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOpenAISampledConformance: with --do-sample, every sampling field and
// the per-sample seed travel over HTTP, so sampled outputs equal the ONNX
// runner's too.
func TestOpenAISampledConformance(t *testing.T) {
	f := &openaiFixture{model: tinyFixture(t), data: evalSynth(t, 6)}
	sampling := []string{"--do-sample", "--temperature", "0.9", "--top-k", "20", "--top-p", "0.95", "--repetition-penalty", "1.1"}
	out := filepath.Join(t.TempDir(), "onnx")
	if code, msg := medbenchRun(f.evalArgs(out, append(sampling, "--model", f.model, "--threads", "1")...)...); code != 0 {
		t.Fatalf("eval --runner onnx: exit %d: %s", code, msg)
	}
	ref, err := records.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	url := startServe(t, openFixtureRunner(t, f.model), 4)
	out = filepath.Join(t.TempDir(), "openai")
	if code, msg := medbenchRun(f.evalArgs(out, append(sampling, "--runner", "openai", "--endpoint", url, "--concurrency", "4")...)...); code != 0 {
		t.Fatalf("eval --runner openai: exit %d: %s", code, msg)
	}
	sameOpenAIRecord(t, "sampled", ref, out)
}
