// Package bench measures generation throughput and latency of a runner over
// a fixed set of requests, repeated, and of a peer implementation run side by
// side, so that results are reported as medians with spreads and as ratios.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"runtime"
	"sort"
	"time"

	"github.com/medbench/medbench/runners"
)

// Config describes one measured configuration.
type Config struct {
	Name     string
	Runner   runners.Runner
	Requests []runners.Request
	// Batch is the number of requests per Generate call.
	Batch int
	// Warmup passes are run and discarded; Repeats passes are measured.
	Warmup, Repeats int
}

// Pass is one measured pass over all requests.
type Pass struct {
	Seconds          float64   `json:"seconds"`
	Samples          int       `json:"samples"`
	PromptTokens     int       `json:"prompt_tokens"`
	GeneratedTokens  int       `json:"generated_tokens"`
	BatchLatenciesMS []float64 `json:"batch_latencies_ms"`
	Errors           int       `json:"errors"`
	// FirstError is the message of the pass's first failed sample.
	FirstError string `json:"first_error,omitempty"`
	// GenerateSeconds is a peer's self-reported time in its generate call
	// alone (the sum of its "generate_ms"), when it reports one.
	GenerateSeconds float64 `json:"generate_seconds,omitempty"`
	// Profile is the runner's own time account, when it keeps one.
	Profile *PassProfile `json:"profile,omitempty"`
	// PeakRSSBytes is the process's peak resident set during the pass
	// (Linux; 0 where it cannot be reset and read per pass).
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
	// PeakDeviceBytes is the runtime's peak device memory after the pass
	// (runners.Profile.PeakDeviceBytes: on CUDA the GPU memory its arenas
	// held at most since the runner opened; 0 when not measured).
	PeakDeviceBytes int64 `json:"peak_device_bytes,omitempty"`
	// DecodeSeconds and DecodeTokens cover decoding alone: per Generate
	// call, from the first request's first token to the last request's end,
	// and the tokens after each request's first (runners that report
	// Result.FirstToken only).
	DecodeSeconds float64 `json:"decode_seconds,omitempty"`
	DecodeTokens  int     `json:"decode_tokens,omitempty"`
}

// Stat summarizes repeated measurements.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// IQR is the interquartile range (type-7 quantiles).
	IQR float64 `json:"iqr"`
	// SpreadPct is 100·IQR/median.
	SpreadPct float64 `json:"spread_pct"`
	N         int     `json:"n"`
}

// Result is the outcome of one configuration.
type Result struct {
	Name          string       `json:"name"`
	Runner        runners.Info `json:"runner"`
	Batch         int          `json:"batch"`
	Requests      int          `json:"requests"`
	Passes        []Pass       `json:"passes"`
	SamplesPerSec Stat         `json:"samples_per_sec"`
	TokensPerSec  Stat         `json:"tokens_per_sec"`
	// DecodeTokensPerSec is per pass DecodeTokens / DecodeSeconds: the
	// decoding speed without image encoding and prefill.
	DecodeTokensPerSec Stat `json:"decode_tokens_per_sec"`
	// Memory is the process's resident memory around loading this
	// configuration's model (when the caller measured it).
	Memory *Memory `json:"memory,omitempty"`
	// LatencyMS summarizes per-batch latency over all measured passes.
	LatencyMS Stat    `json:"latency_ms"`
	P50MS     float64 `json:"latency_p50_ms"`
	P90MS     float64 `json:"latency_p90_ms"`
	Machine   Machine `json:"machine"`
	// Load is the system load average around the measurement (Linux only),
	// so that figures from a shared machine can be judged.
	Load *Load `json:"load,omitempty"`
	// Breakdown says where the time went (runners that keep a profile).
	Breakdown *Breakdown `json:"breakdown,omitempty"`
	// PeakRSSBytes is the largest per-pass peak resident set.
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
	// PeakDeviceBytes is the largest per-pass peak device memory.
	PeakDeviceBytes int64 `json:"peak_device_bytes,omitempty"`
}

// Machine identifies where a measurement ran.
type Machine struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

// ThisMachine describes the current process's machine.
func ThisMachine() Machine {
	return Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
}

// Run measures cfg: Warmup discarded passes, then Repeats timed passes.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Runner == nil || len(cfg.Requests) == 0 {
		return nil, errors.New("bench: a runner and at least one request are required")
	}
	if cfg.Batch < 1 {
		cfg.Batch = 1
	}
	if cfg.Repeats < 1 {
		cfg.Repeats = 1
	}
	res := &Result{Name: cfg.Name, Runner: cfg.Runner.Info(), Batch: cfg.Batch, Requests: len(cfg.Requests), Machine: ThisMachine()}
	before, loadErr := ReadLoadAvg()
	for i := 0; i < cfg.Warmup+cfg.Repeats; i++ {
		p, err := pass(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if i >= cfg.Warmup {
			res.Passes = append(res.Passes, p)
		}
	}
	res.Load = loadAround(before, loadErr)
	res.summarize()
	return res, nil
}

func pass(ctx context.Context, cfg Config) (Pass, error) {
	var p Pass
	prof, _ := cfg.Runner.(runners.Profiler)
	if prof != nil {
		p.Profile = &PassProfile{}
	}
	rssReset := resetPeakRSS()
	start := time.Now()
	for i := 0; i < len(cfg.Requests); i += cfg.Batch {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		batch := cfg.Requests[i:min(i+cfg.Batch, len(cfg.Requests))]
		t0 := time.Now()
		out, err := cfg.Runner.Generate(ctx, batch)
		if err != nil {
			return p, fmt.Errorf("bench: %s: %w", cfg.Name, err)
		}
		p.BatchLatenciesMS = append(p.BatchLatenciesMS, float64(time.Since(t0).Microseconds())/1000)
		if prof != nil {
			lp := prof.LastProfile()
			p.Profile.add(lp)
			p.PeakDeviceBytes = max(p.PeakDeviceBytes, lp.PeakDeviceBytes)
		}
		p.addDecode(out)
		for _, r := range out {
			p.Samples++
			if r.Err != nil {
				if p.Errors == 0 {
					p.FirstError = fmt.Sprintf("request %s: %v", r.ID, r.Err)
				}
				p.Errors++
				continue
			}
			p.PromptTokens += r.PromptTokens
			p.GeneratedTokens += r.CompletionTokens
		}
	}
	p.Seconds = time.Since(start).Seconds()
	if rssReset {
		p.PeakRSSBytes = peakRSS()
	}
	return p, nil
}

// addDecode adds one Generate call's decoding time and tokens: from the
// earliest first token to the latest end, and every token after a
// request's first. Calls whose results carry no FirstToken add nothing.
func (p *Pass) addDecode(out []runners.Result) {
	var first, last time.Duration
	tokens := 0
	for _, r := range out {
		if r.Err != nil || r.FirstToken <= 0 || r.CompletionTokens == 0 {
			continue
		}
		if first == 0 || r.FirstToken < first {
			first = r.FirstToken
		}
		last = max(last, r.Latency)
		tokens += r.CompletionTokens - 1
	}
	if first > 0 && last > first {
		p.DecodeSeconds += (last - first).Seconds()
		p.DecodeTokens += tokens
	}
}

func (r *Result) summarize() {
	var sps, tps, dps, lat []float64
	for _, p := range r.Passes {
		if p.Seconds > 0 {
			sps = append(sps, float64(p.Samples-p.Errors)/p.Seconds)
			tps = append(tps, float64(p.GeneratedTokens)/p.Seconds)
		}
		if p.DecodeSeconds > 0 {
			dps = append(dps, float64(p.DecodeTokens)/p.DecodeSeconds)
		}
		lat = append(lat, p.BatchLatenciesMS...)
	}
	r.SamplesPerSec, r.TokensPerSec, r.LatencyMS = Summarize(sps), Summarize(tps), Summarize(lat)
	r.DecodeTokensPerSec = Summarize(dps)
	r.P50MS, r.P90MS = Quantile(lat, 0.5), Quantile(lat, 0.9)
	r.Breakdown = breakdown(r.Passes)
	r.PeakRSSBytes, r.PeakDeviceBytes = 0, 0
	for _, p := range r.Passes {
		r.PeakRSSBytes = max(r.PeakRSSBytes, p.PeakRSSBytes)
		r.PeakDeviceBytes = max(r.PeakDeviceBytes, p.PeakDeviceBytes)
	}
}

// Summarize computes median, min, max and IQR of xs.
func Summarize(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := Stat{N: len(xs), Median: Quantile(xs, 0.5), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range xs {
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
	}
	s.IQR = Quantile(xs, 0.75) - Quantile(xs, 0.25)
	if s.Median != 0 {
		s.SpreadPct = 100 * s.IQR / s.Median
	}
	return s
}

// Quantile is the type-7 (linear interpolation) sample quantile, as numpy's
// default and R's default compute it.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	h := float64(len(s)-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}

// PeerConfig runs an external implementation (e.g. transformers.js) on the
// same inputs. The command prints one JSON object per request on stdout with
// "ids" (generated token ids) and, optionally, "ms" (its own generation time
// for that request, excluding process start and model load),
// "generate_ms" (the part of it spent in the generate call) and
// "prompt_tokens" (the request's prompt length). Without "ms" the wall time
// of the whole command is used, which includes start-up.
type PeerConfig struct {
	Name    string
	Argv    []string
	Dir     string
	Env     []string
	Warmup  int
	Repeats int
	// Info describes the peer in the result (default: Name and Argv[0]).
	Info runners.Info
}

// RunPeer measures a peer command like Run measures a runner.
func RunPeer(ctx context.Context, cfg PeerConfig) (*Result, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("bench: peer command is empty")
	}
	if cfg.Repeats < 1 {
		cfg.Repeats = 1
	}
	res := &Result{Name: cfg.Name, Runner: runners.Info{Name: cfg.Name, Runtime: cfg.Argv[0]}, Batch: 1, Machine: ThisMachine()}
	if cfg.Info.Name != "" {
		res.Runner = cfg.Info
	}
	before, loadErr := ReadLoadAvg()
	for i := 0; i < cfg.Warmup+cfg.Repeats; i++ {
		p, err := peerPass(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if i >= cfg.Warmup {
			res.Passes = append(res.Passes, p)
			res.Requests = p.Samples
		}
	}
	res.Load = loadAround(before, loadErr)
	res.summarize()
	return res, nil
}

func peerPass(ctx context.Context, cfg PeerConfig) (Pass, error) {
	cmd := exec.CommandContext(ctx, cfg.Argv[0], cfg.Argv[1:]...)
	cmd.Dir = cfg.Dir
	if cfg.Env != nil {
		cmd.Env = cfg.Env
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start).Seconds()
	if err != nil {
		return Pass{}, fmt.Errorf("bench: peer %s: %w: %s", cfg.Name, err, lastLine(stderr.String()))
	}
	var p Pass
	var ms float64
	timed := true
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec struct {
			IDs          []int    `json:"ids"`
			MS           *float64 `json:"ms"`
			GenerateMS   float64  `json:"generate_ms"`
			PromptTokens int      `json:"prompt_tokens"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return Pass{}, fmt.Errorf("bench: peer %s: stdout line %d: %w", cfg.Name, line, err)
		}
		p.Samples++
		p.GeneratedTokens += len(rec.IDs)
		p.PromptTokens += rec.PromptTokens
		p.GenerateSeconds += rec.GenerateMS / 1000
		if rec.MS == nil {
			timed = false
		} else {
			ms += *rec.MS
			p.BatchLatenciesMS = append(p.BatchLatenciesMS, *rec.MS)
		}
	}
	if p.Samples == 0 {
		return Pass{}, fmt.Errorf("bench: peer %s printed no results", cfg.Name)
	}
	p.Seconds = wall
	if timed {
		p.Seconds = ms / 1000
	}
	return p, nil
}

func lastLine(s string) string {
	s = string(bytes.TrimSpace([]byte(s)))
	if i := bytes.LastIndexByte([]byte(s), '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Ratio compares a against a baseline: median(a)/median(base) for the
// chosen statistic, with the range from the extreme pairings.
type Ratio struct {
	Metric string  `json:"metric"`
	Median float64 `json:"median"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
}

// Compare returns throughput ratios of a over base (>1: a is faster).
func Compare(a, base *Result) []Ratio {
	mk := func(name string, x, y Stat) Ratio {
		if y.Median == 0 || y.Max == 0 || y.Min == 0 {
			return Ratio{Metric: name, Median: math.NaN(), Low: math.NaN(), High: math.NaN()}
		}
		return Ratio{Metric: name, Median: x.Median / y.Median, Low: x.Min / y.Max, High: x.Max / y.Min}
	}
	return []Ratio{mk("samples_per_sec", a.SamplesPerSec, base.SamplesPerSec), mk("tokens_per_sec", a.TokensPerSec, base.TokensPerSec)}
}

// Report is what `medbench bench` writes (bench.json).
type Report struct {
	Results []*Result `json:"results"`
	// Ratios compare each result with the named baseline.
	Baseline string             `json:"baseline,omitempty"`
	Ratios   map[string][]Ratio `json:"ratios,omitempty"`
	Created  time.Time          `json:"created"`
	// Settings are the measurement settings shared by every result
	// (requests, prompt, new tokens, threads, device, ...).
	Settings map[string]any `json:"settings,omitempty"`
	// Notes are caveats found while measuring (e.g. prompt lengths that
	// differ between the runner and the peer).
	Notes []string `json:"notes,omitempty"`
}
