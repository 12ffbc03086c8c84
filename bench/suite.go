package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/internal/jsonfile"
	"github.com/medbench/medbench/runners"
)

// Peer names for Settings.Peer (--peer).
const (
	PeerTJS  = "tjs"
	PeerNone = "none"
)

// Variant is one model directory and dtype a suite measures.
type Variant struct{ DType, Dir string }

// Settings are a suite's checked settings (`medbench bench`'s flags).
type Settings struct {
	N, Repeats, Warmup int
	Batches            []int
	MaxNew, MinNew     int
	// Peer is PeerTJS or PeerNone.
	Peer      string
	Prompt    datasets.Template
	Threads   int
	Device    string
	DType     string
	Out       string
	TestTools string
	Node      string
	// DataPath and DataFormat name the dataset; ModelDir the first
	// variant's folder (after an hf: reference resolved), ModelSource the
	// reference pinned to its commit (nil for a local folder).
	DataPath, DataFormat string
	ModelDir             string
	ModelSource          map[string]any
	// Variants are measured in the same rounds: --dtype on --model first,
	// then each --variant.
	Variants []Variant
}

// EqualLengths reports whether every request generates exactly MaxNew
// tokens (MinNew == MaxNew), so that tokens/s compare per token.
func (s Settings) EqualLengths() bool { return s.MinNew == s.MaxNew }

// Check validates the settings; errors name the flag at fault.
func (s Settings) Check() error {
	switch {
	case s.N < 1:
		return fmt.Errorf("bench: --n %d: want at least 1", s.N)
	case s.Repeats < 1:
		return fmt.Errorf("bench: --repeats %d: want at least 1", s.Repeats)
	case s.Warmup < 0:
		return fmt.Errorf("bench: --warmup %d: want 0 or more", s.Warmup)
	case s.MaxNew < 1:
		return fmt.Errorf("bench: --max-new-tokens %d: want at least 1", s.MaxNew)
	case len(s.Batches) == 0:
		return errors.New("bench: --batch: no batch size given")
	case s.Out == "":
		return errors.New("bench: --out: no file given")
	}
	seen := map[int]bool{}
	for _, b := range s.Batches {
		if b < 1 {
			return fmt.Errorf("bench: --batch %d: want at least 1", b)
		}
		if seen[b] {
			return fmt.Errorf("bench: --batch %d given twice", b)
		}
		seen[b] = true
	}
	if s.MinNew < 0 || s.MinNew > s.MaxNew {
		return fmt.Errorf("bench: --min-new-tokens %d: want 0 to --max-new-tokens (%d)", s.MinNew, s.MaxNew)
	}
	switch s.Peer {
	case PeerTJS:
		if d := s.Device; d != "cpu" && d != "cuda" && d != "cuda:0" {
			return fmt.Errorf("bench: --device %q: the transformers.js peer runs on cpu or cuda; use --peer none for %s", d, d)
		}
	case PeerNone:
	default:
		return fmt.Errorf("bench: --peer %q: want tjs or none", s.Peer)
	}
	return nil
}

// ParseVariants turns --variant items DTYPE[@DIR] into variants after the
// main one; check validates each (the runner's own flag checks); a repeated
// variant is an error.
func ParseVariants(main Variant, items []string, check func(Variant) error) ([]Variant, error) {
	out := []Variant{main}
	for _, it := range items {
		v := Variant{Dir: main.Dir}
		dt, dir, hasDir := strings.Cut(strings.TrimSpace(it), "@")
		v.DType = dt
		if hasDir {
			if dir == "" {
				return nil, fmt.Errorf("bench: --variant %q: empty model directory after @", it)
			}
			v.Dir = dir
		}
		if err := check(v); err != nil {
			return nil, fmt.Errorf("bench: --variant %q: %w", it, err)
		}
		for _, o := range out {
			if o == v {
				return nil, fmt.Errorf("bench: --variant %q: %s on %s is measured already", it, v.DType, v.Dir)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// Suite is one `medbench bench` measurement: the settings, the requests,
// and how to open the runners measured.
type Suite struct {
	Settings
	Requests []runners.Request
	// Open opens the measured runner for a variant.
	Open func(ctx context.Context, v Variant) (runners.Runner, error)
	// RemoteName and OpenRemote, when set, add a runner measured over its
	// server per batch size (as its concurrency) beside the first variant.
	RemoteName string
	OpenRemote func(ctx context.Context, concurrency int) (runners.Runner, error)
	// Profile, when set, receives a pprof CPU profile of the timed passes.
	Profile string
	// Log receives progress lines.
	Log io.Writer
}

// config is one measured configuration of a suite.
type config struct {
	name  string
	r     runners.Runner
	batch int
	mem   *Memory
}

// Measure runs the suite: the peer is set up first (a missing node fails
// before any measurement); each variant is opened and warmed up before the
// next is opened, so that the resident memory it adds can be read; then the
// timed passes run in rounds (the peer's pass, then one pass per variant
// and batch size, then the remote runner's), so that a change in the
// machine's load touches every configuration alike.
func Measure(ctx context.Context, s Suite) (*Report, error) {
	rep := &Report{Created: time.Now().UTC(), Settings: s.reportSettings(len(s.Requests))}
	if len(s.Requests) < s.N {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the selected data hold %d samples, fewer than --n %d: each pass has %d requests", len(s.Requests), s.N, len(s.Requests)))
	}
	if !s.EqualLengths() {
		rep.Notes = append(rep.Notes, fmt.Sprintf("--min-new-tokens %d < --max-new-tokens %d: EOS may end requests early, so the two sides may generate different numbers of tokens; compare tokens/s, not samples/s", s.MinNew, s.MaxNew))
	}
	var pc *PeerConfig
	if s.Peer == PeerTJS {
		tmp, err := os.MkdirTemp("", "medbench-bench-*")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(tmp)
		if pc, err = s.tjsPeer(ctx, tmp); err != nil {
			return nil, err
		}
		fmt.Fprintf(s.Log, "bench: peer %s (%s)\n", pc.Name, pc.Info.Runtime)
	}
	var confs []config
	for _, v := range s.Variants {
		rss0, _, memErr := ReadRSS()
		r, err := s.Open(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("bench: runner %s: %w", v.DType, err)
		}
		defer r.Close()
		var first []config
		for _, b := range s.Batches {
			name := fmt.Sprintf("medbench batch=%d", b)
			if len(s.Variants) > 1 {
				name = fmt.Sprintf("medbench %s batch=%d", v.DType, b)
			}
			if s.Warmup > 0 {
				if _, err := Run(ctx, Config{Name: name, Runner: r, Requests: s.Requests, Batch: b, Repeats: s.Warmup}); err != nil {
					return nil, runErr(err)
				}
			}
			first = append(first, config{name: name, r: r, batch: b})
		}
		if rss1, peak, err := ReadRSS(); err == nil && memErr == nil {
			first[0].mem = &Memory{BeforeMiB: rss0, AfterMiB: rss1, AddedMiB: rss1 - rss0, PeakMiB: peak}
		}
		confs = append(confs, first...)
	}
	var remote []runners.Runner
	if s.OpenRemote != nil {
		for _, b := range s.Batches {
			r, err := s.OpenRemote(ctx, b)
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			defer r.Close()
			remote = append(remote, r)
		}
	}
	if s.Profile != "" {
		stop, err := startCPUProfile(s.Profile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}

	var peerParts []*Result
	parts := make([][]*Result, len(confs))
	remoteParts := make([][]*Result, len(remote))
	for round := 0; round < s.Repeats; round++ {
		fmt.Fprintf(s.Log, "bench: round %d of %d: %d requests per configuration\n", round+1, s.Repeats, len(s.Requests))
		if pc != nil {
			res, err := runPeerPass(ctx, *pc, len(s.Requests))
			if err != nil {
				return nil, err
			}
			peerParts = append(peerParts, res)
		}
		for i, cf := range confs {
			res, err := measurePass(ctx, Config{Name: cf.name, Runner: cf.r, Requests: s.Requests, Batch: cf.batch, Repeats: 1}, round)
			if err != nil {
				return nil, err
			}
			parts[i] = append(parts[i], res)
		}
		for i, b := range s.Batches {
			if remote == nil {
				break
			}
			warm := 0
			if round == 0 {
				warm = s.Warmup
			}
			name := fmt.Sprintf("%s concurrency=%d", s.RemoteName, b)
			res, err := measurePass(ctx, Config{Name: name, Runner: remote[i], Requests: s.Requests, Batch: b, Warmup: warm, Repeats: 1}, round)
			if err != nil {
				return nil, err
			}
			remoteParts[i] = append(remoteParts[i], res)
		}
	}
	for i, ps := range parts {
		res, err := Merge(ps...)
		if err != nil {
			return nil, err
		}
		res.Memory = confs[i].mem
		rep.Results = append(rep.Results, res)
	}
	// The remote path against the first variant's in-process pass at the
	// same batch size (its concurrency).
	for i, ps := range remoteParts {
		res, err := Merge(ps...)
		if err != nil {
			return nil, err
		}
		rep.Notes = append(rep.Notes, httpOverheadNote(rep.Results[i], res))
		rep.Results = append(rep.Results, res)
	}
	if pc != nil {
		peer, err := Merge(peerParts...)
		if err != nil {
			return nil, err
		}
		rep.Notes = append(rep.Notes, peerNotes(rep.Results, peer, s.Settings)...)
		rep.Baseline = peer.Name
		rep.Ratios = map[string][]Ratio{}
		for _, res := range rep.Results {
			rep.Ratios[res.Name] = Compare(res, peer)
		}
		rep.Results = append(rep.Results, peer)
	}
	return rep, nil
}

// measurePass runs one timed pass; a failed sample stops the suite.
func measurePass(ctx context.Context, cfg Config, round int) (*Result, error) {
	res, err := Run(ctx, cfg)
	if err != nil {
		return nil, runErr(err)
	}
	if p := res.Passes[0]; p.Errors > 0 {
		return nil, fmt.Errorf("bench: %s: round %d: %d of %d samples failed, first: %s", cfg.Name, round+1, p.Errors, p.Samples, p.FirstError)
	}
	return res, nil
}

// runErr says an interruption as such.
func runErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("bench: interrupted: %w", err)
	}
	return err
}

// Interleave takes up to n items, one from each modality in turn (file
// order within a modality), so that a short pass still mixes the
// modalities as the full test set does.
func Interleave(samples []datasets.Item, n int) []datasets.Item {
	var order []string
	by := map[string][]datasets.Item{}
	for _, s := range samples {
		if _, ok := by[s.Modality]; !ok {
			order = append(order, s.Modality)
		}
		by[s.Modality] = append(by[s.Modality], s)
	}
	out := make([]datasets.Item, 0, min(n, len(samples)))
	for i := 0; len(out) < n && len(out) < len(samples); i++ {
		for _, m := range order {
			if i < len(by[m]) && len(out) < n {
				out = append(out, by[m][i])
			}
		}
	}
	return out
}

// Requests renders the prompt for each item, as `medbench eval` does.
func Requests(samples []datasets.Item, t datasets.Template) []runners.Request {
	reqs := make([]runners.Request, len(samples))
	for i, s := range samples {
		reqs[i] = s.Request(t, s.ID(), 0)
	}
	return reqs
}

// tjsPeer prepares the transformers.js peer on the suite's requests; its
// case file and any embedded images go to tmp.
func (s Suite) tjsPeer(ctx context.Context, tmp string) (*PeerConfig, error) {
	tt := s.TestTools
	if tt == "" {
		tt = "."
	}
	dir, err := FindTestTools(tt)
	if err != nil {
		return nil, fmt.Errorf("bench: --peer tjs: %w; or use --peer none", err)
	}
	cases, err := TJSCases(s.Requests, tmp)
	if err != nil {
		return nil, err
	}
	p := TJSPeer{TestTools: dir, Node: s.Node, ModelDir: s.ModelDir, DType: s.DType, Device: s.Device,
		Threads: s.Threads, Warmup: s.Warmup, MaxNewTokens: s.MaxNew, MinNewTokens: s.MinNew}
	pc, err := p.PeerConfig(ctx, "transformers.js batch=1", cases, filepath.Join(tmp, "cases.json"), 1)
	if err != nil {
		if errors.Is(err, ErrNoTJS) {
			return nil, fmt.Errorf("bench: --peer tjs: %w; or use --peer none", err)
		}
		return nil, err
	}
	return &pc, nil
}

// runPeerPass runs one peer process (its warmup passes, then one timed
// pass) and checks that it answered every case.
func runPeerPass(ctx context.Context, pc PeerConfig, cases int) (*Result, error) {
	pc.Repeats = 1
	res, err := RunPeer(ctx, pc)
	if err != nil {
		return nil, runErr(err)
	}
	if p := res.Passes[0]; p.Samples != cases {
		return nil, fmt.Errorf("bench: %s printed %d results for %d cases", pc.Name, p.Samples, cases)
	}
	return res, nil
}

// peerNotes checks that both sides did the same work per pass: the same
// prompt tokens (image resizing may differ) and, with equal bounds, the same
// generated tokens.
func peerNotes(results []*Result, peer *Result, s Settings) []string {
	var notes []string
	if len(peer.Passes) == 0 {
		return nil
	}
	pp := peer.Passes[0]
	for _, r := range results {
		if len(r.Passes) == 0 {
			continue
		}
		p := r.Passes[0]
		if p.PromptTokens != pp.PromptTokens {
			notes = append(notes, fmt.Sprintf("%s: %d prompt tokens per pass, %s: %d (image resizing differs; the work per sample is not identical)",
				r.Name, p.PromptTokens, peer.Name, pp.PromptTokens))
		}
		if s.EqualLengths() && p.GeneratedTokens != pp.GeneratedTokens {
			notes = append(notes, fmt.Sprintf("%s: %d generated tokens per pass, %s: %d, although both were bounded to %d per request",
				r.Name, p.GeneratedTokens, peer.Name, pp.GeneratedTokens, s.MaxNew))
		}
	}
	return notes
}

// httpOverheadNote compares a pass over HTTP with the in-process pass at
// the same batch size: the extra wall time per sample (median over passes).
func httpOverheadNote(local, remote *Result) string {
	per := func(r *Result) []float64 {
		xs := make([]float64, len(r.Passes))
		for i, p := range r.Passes {
			xs[i] = 1000 * p.Seconds / float64(max(p.Samples, 1))
		}
		return xs
	}
	l, h := per(local), per(remote)
	diff := make([]float64, min(len(l), len(h)))
	for i := range diff {
		diff[i] = h[i] - l[i]
	}
	st := Summarize(diff)
	return fmt.Sprintf("%s vs %s: HTTP path overhead %.2f ms per sample (median over %d rounds, min %.2f, max %.2f; in-process %.2f ms per sample)",
		remote.Name, local.Name, st.Median, len(diff), st.Min, st.Max, Summarize(l).Median)
}

func (s Settings) reportSettings(requests int) map[string]any {
	threads := any(s.Threads)
	if s.Threads == 0 {
		threads = "ORT default"
	}
	variants := make([]string, len(s.Variants))
	for i, v := range s.Variants {
		variants[i] = v.DType + "@" + v.Dir
	}
	m := map[string]any{
		"data": s.DataPath, "format": s.DataFormat, "model": s.ModelDir, "requests": requests, "prompt": s.Prompt.Name,
		"batches": s.Batches, "repeats": s.Repeats, "warmup": s.Warmup, "max_new_tokens": s.MaxNew, "min_new_tokens": s.MinNew,
		"equal_lengths": s.EqualLengths(), "decoding": "greedy", "dtype": s.DType, "device": s.Device, "threads": threads, "peer": s.Peer,
		"variants": variants,
	}
	if s.ModelSource != nil {
		m["model_source"] = s.ModelSource
	}
	return m
}

// WriteReport writes the report as indented JSON (bench.json).
func WriteReport(path string, rep *Report) error {
	if err := jsonfile.Write(path, rep); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// startCPUProfile starts a pprof CPU profile into path; the returned
// function stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: --profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: --profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// Complete checks the settings (Check), sets Prompt from the --prompt
// template spec and Variants from the main variant (DType on ModelDir)
// and the --variant items; check validates each variant with the measured
// runner's own flag checks. Errors name the flag at fault.
func (s *Settings) Complete(prompt string, variants []string, check func(Variant) error) error {
	if err := s.Check(); err != nil {
		return err
	}
	t, err := datasets.ParseTemplateFlag("prompt", prompt)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	s.Prompt = t
	main := Variant{DType: s.DType, Dir: s.ModelDir}
	if err := check(main); err != nil {
		return fmt.Errorf("bench: %v", err)
	}
	s.Variants, err = ParseVariants(main, variants, check)
	return err
}
