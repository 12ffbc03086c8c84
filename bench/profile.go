package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/medbench/medbench/runners"
)

// PassProfile is a runner's own time account (runners.Profiler) summed over
// one pass's Generate calls.
type PassProfile struct {
	// WallSeconds is the sum of the Generate calls' wall time.
	WallSeconds float64 `json:"wall_seconds"`
	// RuntimeSeconds is the time inside the inference runtime's Run calls.
	RuntimeSeconds  float64 `json:"runtime_seconds"`
	PrepareSeconds  float64 `json:"prepare_seconds"`
	SamplingSeconds float64 `json:"sampling_seconds"`
	// FirstTokenMS is each Generate call's time to first token; PrefillMS
	// its prompt forward passes; DecodeStepMS every later decode step (one
	// token per active sequence).
	FirstTokenMS []float64 `json:"first_token_ms"`
	PrefillMS    []float64 `json:"prefill_ms"`
	DecodeStepMS []float64 `json:"decode_step_ms"`
}

func (p *PassProfile) add(q runners.Profile) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p.WallSeconds += q.Wall.Seconds()
	p.RuntimeSeconds += q.Runtime.Seconds()
	p.PrepareSeconds += q.Prepare.Seconds()
	p.SamplingSeconds += q.Sampling.Seconds()
	p.FirstTokenMS = append(p.FirstTokenMS, ms(q.FirstToken))
	p.PrefillMS = append(p.PrefillMS, ms(q.Prefill))
	for _, d := range q.DecodeSteps {
		p.DecodeStepMS = append(p.DecodeStepMS, ms(d))
	}
}

// Quantiles are the median and 90th percentile of a latency.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	N   int     `json:"n"`
}

func quantiles(xs []float64) *Quantiles {
	if len(xs) == 0 {
		return nil
	}
	return &Quantiles{P50: Quantile(xs, 0.5), P90: Quantile(xs, 0.9), N: len(xs)}
}

// Breakdown is where a configuration's time went, over its measured passes.
type Breakdown struct {
	// FirstTokenMS, PrefillMS: per Generate call; DecodeStepMS: per decode
	// step, which is the per-token latency of each sequence in the batch.
	FirstTokenMS *Quantiles `json:"first_token_ms,omitempty"`
	PrefillMS    *Quantiles `json:"prefill_ms,omitempty"`
	DecodeStepMS *Quantiles `json:"decode_step_ms,omitempty"`
	// Shares of the Generate calls' wall time, in percent (per pass, then
	// the median and spread over passes): inside the runtime's Run calls;
	// the harness's own work (everything else: preprocessing, tokenization,
	// sampling, tensor set-up, decoding ids to text); and two named parts of
	// the harness.
	RuntimePct  Stat `json:"runtime_pct"`
	HarnessPct  Stat `json:"harness_pct"`
	PreparePct  Stat `json:"prepare_pct"`
	SamplingPct Stat `json:"sampling_pct"`
}

func breakdown(passes []Pass) *Breakdown {
	var ft, pf, ds, rt, hs, pr, sa []float64
	for _, p := range passes {
		q := p.Profile
		if q == nil || q.WallSeconds <= 0 {
			continue
		}
		ft, pf, ds = append(ft, q.FirstTokenMS...), append(pf, q.PrefillMS...), append(ds, q.DecodeStepMS...)
		rt = append(rt, 100*q.RuntimeSeconds/q.WallSeconds)
		hs = append(hs, 100*(q.WallSeconds-q.RuntimeSeconds)/q.WallSeconds)
		pr = append(pr, 100*q.PrepareSeconds/q.WallSeconds)
		sa = append(sa, 100*q.SamplingSeconds/q.WallSeconds)
	}
	if len(rt) == 0 {
		return nil
	}
	return &Breakdown{FirstTokenMS: quantiles(ft), PrefillMS: quantiles(pf), DecodeStepMS: quantiles(ds),
		RuntimePct: Summarize(rt), HarnessPct: Summarize(hs), PreparePct: Summarize(pr), SamplingPct: Summarize(sa)}
}

// resetPeakRSS resets the kernel's peak resident set size of this process
// (Linux ≥ 4.0: writing 5 to /proc/self/clear_refs resets VmHWM), so that
// each configuration's peak can be read on its own. It reports whether the
// reset took effect.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS reads VmHWM from /proc/self/status, in bytes (0 if unknown).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n << 10
				}
			}
		}
	}
	return 0
}
