// Package serve is medbench's OpenAI-compatible server: /v1/chat/completions
// (image content parts as data URIs), /v1/models and /health over a runner
// that can take per-call decoding settings (the Qwen2-VL ONNX runner).
// Concurrent requests are batched dynamically: requests with identical
// decoding settings that arrive within --batch-window share one Generate
// call of at most --max-batch sequences.
package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medbench/medbench/runners"
)

// Generator is the model side: Generate with the given decoding settings.
type Generator interface {
	GenerateWith(ctx context.Context, s runners.Sampling, reqs []runners.Request) ([]runners.Result, error)
}

// Config configures a Server.
type Config struct {
	// ModelID is the served model name (/v1/models, the "model" field).
	ModelID string
	// APIKey, when set, is required as a bearer token on /v1/*.
	APIKey string
	// MaxBatch bounds the sequences of one Generate call (default 8).
	MaxBatch int
	// BatchWindow is how long the first queued request waits for others
	// (default 5 ms; 0 batches only what is already queued).
	BatchWindow time.Duration
	// MaxBodyBytes caps a request body (default 64 MiB).
	MaxBodyBytes int64
	// MaxImagePixels caps an image's width × height as its header states it,
	// before anything is decoded (default 4096 × 4096).
	MaxImagePixels int
	// MaxImages caps the images of one request (default 8).
	MaxImages int
	// DefaultMaxTokens applies when a request sends neither max_tokens nor
	// max_completion_tokens (default 512); MaxTokensCap bounds both (4096).
	DefaultMaxTokens, MaxTokensCap int
	// Pixels are the runner's image bounds (min_pixels, max_pixels):
	// mm_processor_kwargs must equal them when sent.
	Pixels map[string]int
	// Log receives one line per request; nil for silence.
	Log *log.Logger
	// Created is reported in /v1/models (default: server start).
	Created time.Time
}

// Server is the HTTP server. Create it with New, run it with Serve.
type Server struct {
	cfg      Config
	gen      Generator
	queue    chan *job
	draining atomic.Bool
	seq      atomic.Uint64
	batchWG  sync.WaitGroup
}

// job is one chat request waiting for the batcher.
type job struct {
	ctx      context.Context
	reqs     []runners.Request // n copies, one per choice
	sampling runners.Sampling
	done     chan jobResult
}

type jobResult struct {
	res []runners.Result
	err error
}

// New checks cfg, fills defaults and returns a server over gen.
func New(gen Generator, cfg Config) (*Server, error) {
	if cfg.ModelID == "" {
		return nil, errors.New("serve: no model id")
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 8
	}
	if cfg.MaxBatch < 1 || cfg.BatchWindow < 0 {
		return nil, fmt.Errorf("serve: max batch %d, batch window %v: want >= 1 and >= 0", cfg.MaxBatch, cfg.BatchWindow)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.MaxImagePixels <= 0 {
		cfg.MaxImagePixels = 4096 * 4096
	}
	if cfg.MaxImages <= 0 {
		cfg.MaxImages = 8
	}
	if cfg.DefaultMaxTokens <= 0 {
		cfg.DefaultMaxTokens = 512
	}
	if cfg.MaxTokensCap <= 0 {
		cfg.MaxTokensCap = 4096
	}
	if cfg.Created.IsZero() {
		cfg.Created = time.Now()
	}
	return &Server{cfg: cfg, gen: gen, queue: make(chan *job, 4*cfg.MaxBatch)}, nil
}

// CheckAddr refuses a listen address that is not loopback unless
// allowRemote is set.
func CheckAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("serve: --addr %q: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("serve: --addr %q is not a loopback address; pass --allow-remote to listen beyond this machine (and set --api-key-env)", addr)
	}
	return nil
}

// Handler returns the HTTP routes (without starting the batcher; Serve
// does both).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /v1/models", s.auth(s.models))
	mux.HandleFunc("POST /v1/chat/completions", s.auth(s.chat))
	return mux
}

// Serve answers on ln until ctx is done, then shuts down gracefully: new
// requests get 503, requests in flight finish (within grace), the batcher
// stops. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	stop := make(chan struct{})
	s.batchWG.Add(1)
	go s.batcher(stop)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.draining.Store(true)
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		err = hs.Shutdown(sctx)
		cancel()
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
	}
	close(stop)
	s.batchWG.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.cfg.APIKey == "" {
		return h
	}
	want := []byte("Bearer " + s.cfg.APIKey)
	return func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, &apiError{status: 401, typ: "AuthenticationError", msg: "missing or wrong API key"})
			if s.cfg.Log != nil {
				s.cfg.Log.Printf("serve: %s %s %s status=401", r.Method, r.URL.Path, r.RemoteAddr)
			}
			return
		}
		h(w, r)
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Log != nil {
		s.cfg.Log.Printf("serve: GET /v1/models %s status=200", r.RemoteAddr)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id": s.cfg.ModelID, "object": "model", "created": s.cfg.Created.Unix(), "owned_by": "medbench", "root": s.cfg.ModelID,
		}},
	})
}

// chat answers one chat-completions request and logs one line for it.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := fmt.Sprintf("chatcmpl-%d", s.seq.Add(1))
	status, ptoks, ctoks := 0, 0, 0
	defer func() {
		if s.cfg.Log != nil {
			s.cfg.Log.Printf("serve: %s %s status=%d latency_ms=%.1f prompt_tokens=%d completion_tokens=%d",
				id, r.RemoteAddr, status, float64(time.Since(start).Microseconds())/1000, ptoks, ctoks)
		}
	}()
	fail := func(e *apiError) { status = e.status; writeError(w, e) }
	if s.draining.Load() {
		fail(&apiError{status: 503, typ: "ServiceUnavailableError", msg: "server is shutting down"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(&apiError{status: 413, typ: "invalid_request_error", msg: fmt.Sprintf("request body over %d bytes", s.cfg.MaxBodyBytes)})
			return
		}
		fail(badRequest("request body: %v", err))
		return
	}
	p, aerr := s.parseChat(body)
	if aerr != nil {
		fail(aerr)
		return
	}
	// n choices: n sequences, seeds seed, seed+1, ... (random when unset).
	seed := rand.Uint64() | 1
	if p.seed != nil {
		seed = uint64(*p.seed)
	}
	reqs := make([]runners.Request, p.n)
	for i := range reqs {
		q := p.req
		q.ID = fmt.Sprintf("%s/%d", id, i)
		q.Prompt = "serve"
		q.Seed = seed + uint64(i)
		if q.Seed == 0 { // 0 asks the runner to derive a seed
			q.Seed = 1
		}
		reqs[i] = q
	}
	j := &job{ctx: r.Context(), reqs: reqs, sampling: p.sampling, done: make(chan jobResult, 1)}
	select {
	case s.queue <- j:
	case <-r.Context().Done():
		fail(&apiError{status: 499, typ: "cancelled", msg: "client went away"})
		return
	}
	var jr jobResult
	select {
	case jr = <-j.done:
	case <-r.Context().Done():
		status = 499
		return
	}
	if jr.err != nil {
		fail(&apiError{status: 500, typ: "InternalServerError", msg: "generation failed: " + jr.err.Error()})
		return
	}
	resp := chatResponse{ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: s.cfg.ModelID}
	for i, res := range jr.res {
		if res.Err != nil {
			fail(badRequest("%s", strings.TrimPrefix(res.Err.Error(), "qwen2vl: ")))
			return
		}
		c := chatChoice{Index: i, FinishReason: finishReason(res.FinishReason), TokenIDs: res.TokenIDs}
		if c.TokenIDs == nil {
			c.TokenIDs = []int{}
		}
		c.Message.Role, c.Message.Content = "assistant", res.Text
		resp.Choices = append(resp.Choices, c)
		resp.Usage.PromptTokens = res.PromptTokens // the same prompt for every choice
		resp.Usage.CompletionTokens += res.CompletionTokens
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	status, ptoks, ctoks = http.StatusOK, resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	writeJSON(w, http.StatusOK, resp)
}

// batcher groups queued jobs: it waits up to BatchWindow after the first
// pending job for more, then runs the pending jobs whose decoding settings
// equal the oldest one's, up to MaxBatch sequences (the oldest job always
// runs). Other jobs stay pending for the next round, in arrival order.
func (s *Server) batcher(stop <-chan struct{}) {
	defer s.batchWG.Done()
	var pending []*job
	for {
		if len(pending) == 0 {
			select {
			case j := <-s.queue:
				pending = append(pending, j)
			case <-stop:
				return
			}
		}
		pending = s.collect(pending, stop)
		var group, rest []*job
		rows := 0
		for _, j := range pending {
			if j.sampling == pending[0].sampling && (len(group) == 0 || rows+len(j.reqs) <= s.cfg.MaxBatch) {
				group = append(group, j)
				rows += len(j.reqs)
			} else {
				rest = append(rest, j)
			}
		}
		pending = rest
		s.run(group)
	}
}

// collect adds queued jobs to pending until the window closes or the
// oldest job's settings fill a batch.
func (s *Server) collect(pending []*job, stop <-chan struct{}) []*job {
	rows := func() int {
		n := 0
		for _, j := range pending {
			if j.sampling == pending[0].sampling {
				n += len(j.reqs)
			}
		}
		return n
	}
	if s.cfg.BatchWindow == 0 {
		for rows() < s.cfg.MaxBatch {
			select {
			case j := <-s.queue:
				pending = append(pending, j)
			default:
				return pending
			}
		}
		return pending
	}
	t := time.NewTimer(s.cfg.BatchWindow)
	defer t.Stop()
	for rows() < s.cfg.MaxBatch {
		select {
		case j := <-s.queue:
			pending = append(pending, j)
		case <-t.C:
			return pending
		case <-stop:
			return pending
		}
	}
	return pending
}

// run generates one group; jobs whose client has gone are dropped first.
func (s *Server) run(group []*job) {
	var live []*job
	var reqs []runners.Request
	for _, j := range group {
		if j.ctx.Err() != nil {
			continue
		}
		live = append(live, j)
		reqs = append(reqs, j.reqs...)
	}
	if len(live) == 0 {
		return
	}
	res, err := s.gen.GenerateWith(context.Background(), live[0].sampling, reqs)
	if err == nil && len(res) != len(reqs) {
		err = fmt.Errorf("runner returned %d results for %d requests", len(res), len(reqs))
	}
	off := 0
	for _, j := range live {
		if err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		j.done <- jobResult{res: res[off : off+len(j.reqs)]}
		off += len(j.reqs)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]any{
		"object": "error", "message": e.msg, "type": e.typ, "code": e.status,
		"error": map[string]any{"message": e.msg, "type": e.typ, "code": e.status},
	})
}
