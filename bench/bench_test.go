package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbench/medbench/runners"
)

// fakeRunner sleeps a fixed time per batch and reports fixed token counts.
type fakeRunner struct {
	mu       sync.Mutex
	perBatch time.Duration
	calls    int
	failID   string
}

func (f *fakeRunner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	time.Sleep(f.perBatch)
	out := make([]runners.Result, len(reqs))
	for i, r := range reqs {
		out[i] = runners.Result{ID: r.ID, PromptTokens: 10, CompletionTokens: 5}
		if r.ID == f.failID {
			out[i] = runners.Result{ID: r.ID, Err: errors.New("bad image")}
		}
	}
	return out, nil
}
func (f *fakeRunner) Info() runners.Info { return runners.Info{Name: "fake"} }
func (f *fakeRunner) Close() error       { return nil }

func reqs(n int) []runners.Request {
	r := make([]runners.Request, n)
	for i := range r {
		r[i] = runners.Request{ID: string(rune('a' + i))}
	}
	return r
}

func TestRunCountsAndRates(t *testing.T) {
	f := &fakeRunner{perBatch: 20 * time.Millisecond, failID: "c"}
	res, err := Run(context.Background(), Config{Name: "fake", Runner: f, Requests: reqs(8), Batch: 4, Warmup: 1, Repeats: 3})
	if err != nil {
		t.Fatal(err)
	}
	if f.calls != 4*2 {
		t.Errorf("calls = %d, want 8 (4 passes × 2 batches)", f.calls)
	}
	if len(res.Passes) != 3 {
		t.Fatalf("passes = %d", len(res.Passes))
	}
	p := res.Passes[0]
	if p.Samples != 8 || p.Errors != 1 || p.GeneratedTokens != 35 || p.PromptTokens != 70 || len(p.BatchLatenciesMS) != 2 {
		t.Errorf("pass = %+v", p)
	}
	// 7 good samples in ≥ 40 ms of sleep: at most 175 samples/s; the lower
	// bound only rules out a wrong unit (scheduling on a loaded CI machine
	// can stretch the sleeps a lot).
	if res.SamplesPerSec.Median < 5 || res.SamplesPerSec.Median > 175.01 {
		t.Errorf("samples/s = %v", res.SamplesPerSec.Median)
	}
	if math.Abs(res.TokensPerSec.Median/res.SamplesPerSec.Median-5) > 1e-9 {
		t.Errorf("tokens/s ÷ samples/s = %v, want 5", res.TokensPerSec.Median/res.SamplesPerSec.Median)
	}
	if res.P50MS < 19 {
		t.Errorf("p50 = %v ms, want ≥ 20", res.P50MS)
	}
}

func TestQuantileType7(t *testing.T) {
	// numpy.quantile([1,2,3,4,10], [0.25,0.5,0.75,0.9]) = [2, 3, 4, 7.6]
	xs := []float64{10, 1, 3, 2, 4}
	for _, c := range []struct{ q, want float64 }{{0.25, 2}, {0.5, 3}, {0.75, 4}, {0.9, 7.6}, {0, 1}, {1, 10}} {
		if got := Quantile(xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("empty quantile not NaN")
	}
	s := Summarize(xs)
	if s.Median != 3 || s.Min != 1 || s.Max != 10 || s.IQR != 2 || math.Abs(s.SpreadPct-200.0/3) > 1e-9 || s.N != 5 {
		t.Errorf("Summarize = %+v", s)
	}
}

func TestCompare(t *testing.T) {
	a := &Result{SamplesPerSec: Stat{Median: 4, Min: 3, Max: 5}, TokensPerSec: Stat{Median: 40, Min: 30, Max: 50}}
	b := &Result{SamplesPerSec: Stat{Median: 2, Min: 1, Max: 2.5}, TokensPerSec: Stat{Median: 20, Min: 10, Max: 25}}
	r := Compare(a, b)
	if r[0].Median != 2 || r[0].Low != 3/2.5 || r[0].High != 5 || r[1].Median != 2 {
		t.Errorf("ratios = %+v", r)
	}
}

func TestRunPeer(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "peer.sh")
	body := "#!/bin/sh\necho '{\"ids\":[1,2,3],\"ms\":100}'\necho '{\"ids\":[4,5],\"ms\":100}'\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := RunPeer(context.Background(), PeerConfig{Name: "peer", Argv: []string{script}, Repeats: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 2 samples, 5 tokens in 0.2 s of self-reported generation time.
	if res.SamplesPerSec.Median != 10 || res.TokensPerSec.Median != 25 || res.Requests != 2 {
		t.Errorf("peer result = %+v / %+v", res.SamplesPerSec, res.TokensPerSec)
	}
	bad := filepath.Join(dir, "bad.sh")
	_ = os.WriteFile(bad, []byte("#!/bin/sh\necho not-json\n"), 0o755)
	if _, err := RunPeer(context.Background(), PeerConfig{Name: "bad", Argv: []string{bad}}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad peer output: err = %v", err)
	}
	fail := filepath.Join(dir, "fail.sh")
	_ = os.WriteFile(fail, []byte("#!/bin/sh\necho boom >&2\nexit 3\n"), 0o755)
	if _, err := RunPeer(context.Background(), PeerConfig{Name: "fail", Argv: []string{fail}}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing peer: err = %v", err)
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Config{Name: "x", Runner: &fakeRunner{}, Requests: reqs(2)}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if _, err := Run(context.Background(), Config{}); err == nil {
		t.Error("empty config accepted")
	}
}

// profRunner is a fakeRunner that accounts for its time like a real runner.
type profRunner struct {
	fakeRunner
	prof runners.Profile
}

func (p *profRunner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	out, err := p.fakeRunner.Generate(ctx, reqs)
	p.prof = runners.Profile{Wall: 100 * time.Millisecond, Runtime: 90 * time.Millisecond, Prepare: 4 * time.Millisecond,
		Sampling: 2 * time.Millisecond, Prefill: 30 * time.Millisecond, FirstToken: 40 * time.Millisecond,
		DecodeSteps: []time.Duration{10 * time.Millisecond, 12 * time.Millisecond, 14 * time.Millisecond, 16 * time.Millisecond}}
	return out, err
}

func (p *profRunner) LastProfile() runners.Profile { return p.prof }

func TestBreakdownFromProfiles(t *testing.T) {
	r := &profRunner{fakeRunner: fakeRunner{perBatch: time.Millisecond}}
	res, err := Run(context.Background(), Config{Name: "p", Runner: r, Requests: reqs(6), Batch: 2, Repeats: 3})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Breakdown
	if b == nil {
		t.Fatal("no breakdown from a Profiler runner")
	}
	near := func(x, want float64) bool { return math.Abs(x-want) < 1e-9 }
	if !near(b.RuntimePct.Median, 90) || !near(b.HarnessPct.Median, 10) || !near(b.PreparePct.Median, 4) || !near(b.SamplingPct.Median, 2) {
		t.Errorf("shares: runtime %v harness %v prepare %v sampling %v, want 90/10/4/2", b.RuntimePct, b.HarnessPct, b.PreparePct, b.SamplingPct)
	}
	// 3 passes × 3 calls: 9 first-token times of 40 ms; 36 decode steps of 10–16 ms.
	if b.FirstTokenMS.N != 9 || b.FirstTokenMS.P50 != 40 || b.PrefillMS.P50 != 30 {
		t.Errorf("first token %+v, prefill %+v", b.FirstTokenMS, b.PrefillMS)
	}
	if b.DecodeStepMS.N != 36 || b.DecodeStepMS.P50 != 13 || b.DecodeStepMS.P90 != 16 {
		t.Errorf("decode steps %+v, want n 36, p50 13, p90 16", b.DecodeStepMS)
	}
	if runtime.GOOS == "linux" && res.PeakRSSBytes <= 0 {
		t.Errorf("peak RSS not measured on Linux")
	}
	// A runner without a profile gets no breakdown.
	plain, err := Run(context.Background(), Config{Name: "f", Runner: &fakeRunner{}, Requests: reqs(2), Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Breakdown != nil {
		t.Errorf("breakdown without a profile: %+v", plain.Breakdown)
	}
}

func TestPeakRSSResets(t *testing.T) {
	if runtime.GOOS != "linux" || !resetPeakRSS() {
		t.Skip("needs Linux /proc/self/clear_refs")
	}
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = 1
	}
	high := peakRSS()
	big = nil
	runtime.GC()
	debug.FreeOSMemory()
	if !resetPeakRSS() {
		t.Fatal("reset failed")
	}
	if low := peakRSS(); low >= high {
		t.Errorf("peak after reset %d ≥ peak with 64 MiB touched %d", low, high)
	}
	_ = big
}

// devRunner reports a growing peak device memory, as a CUDA runner's
// arenas do over a pass.
type devRunner struct {
	profRunner
	calls int64
}

func (d *devRunner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	out, err := d.profRunner.Generate(ctx, reqs)
	d.calls++
	d.prof.PeakDeviceBytes = d.calls << 20
	return out, err
}

func (d *devRunner) LastProfile() runners.Profile { return d.prof }

// TestPeakDevice: a pass records the largest peak device memory its calls
// reported, the result the largest over passes, and the breakdown table
// gains a "Peak device MiB" column only when some configuration has one.
func TestPeakDevice(t *testing.T) {
	d := &devRunner{profRunner: profRunner{fakeRunner: fakeRunner{perBatch: time.Millisecond}}}
	res, err := Run(context.Background(), Config{Name: "gpu", Runner: d, Requests: reqs(6), Batch: 2, Repeats: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Warm-up passes aside, each pass makes 3 calls; the counter keeps growing.
	last := res.Passes[len(res.Passes)-1].PeakDeviceBytes
	if res.PeakDeviceBytes != last || last != d.calls<<20 || res.Passes[0].PeakDeviceBytes >= last {
		t.Errorf("peaks: passes %d … %d, result %d, calls %d", res.Passes[0].PeakDeviceBytes, last, res.PeakDeviceBytes, d.calls)
	}
	var buf bytes.Buffer
	printBreakdown(&buf, &Report{Results: []*Result{res}})
	if !strings.Contains(buf.String(), "PEAK DEVICE MIB") || !strings.Contains(buf.String(), fmt.Sprintf(" %d ", d.calls)) {
		t.Errorf("breakdown table without the device peak:\n%s", buf.String())
	}
	plain, err := Run(context.Background(), Config{Name: "cpu", Runner: &profRunner{fakeRunner: fakeRunner{perBatch: time.Millisecond}}, Requests: reqs(2), Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	printBreakdown(&buf, &Report{Results: []*Result{plain}})
	if strings.Contains(buf.String(), "DEVICE") {
		t.Errorf("device column without a device peak:\n%s", buf.String())
	}
}
