package bench

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/medbench/medbench/runners"
)

// TestAddDecode: a Generate call's decoding runs from its earliest first
// token to its latest end and counts every token after each request's
// first; failed requests and runners without FirstToken add nothing.
func TestAddDecode(t *testing.T) {
	var p Pass
	p.addDecode([]runners.Result{
		{CompletionTokens: 5, FirstToken: 100 * time.Millisecond, Latency: 300 * time.Millisecond},
		{CompletionTokens: 3, FirstToken: 120 * time.Millisecond, Latency: 500 * time.Millisecond},
		{Err: errors.New("bad image"), FirstToken: 50 * time.Millisecond, Latency: 900 * time.Millisecond},
	})
	if p.DecodeTokens != 4+2 || math.Abs(p.DecodeSeconds-0.4) > 1e-9 {
		t.Errorf("decode %d tokens in %g s, want 6 in 0.4", p.DecodeTokens, p.DecodeSeconds)
	}
	p.addDecode([]runners.Result{{CompletionTokens: 7, Latency: time.Second}}) // no FirstToken
	if p.DecodeTokens != 6 {
		t.Errorf("a result without FirstToken added decode tokens: %d", p.DecodeTokens)
	}
	r := &Result{Passes: []Pass{p, {DecodeTokens: 10, DecodeSeconds: 1}}}
	r.summarize()
	if s := r.DecodeTokensPerSec; s.N != 2 || s.Min != 10 || s.Max != 15 {
		t.Errorf("decode tokens/s %+v, want 10 and 15", s)
	}
}

func TestParseRSS(t *testing.T) {
	rss, peak, err := parseRSS("Name:\tmedbench\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t4\n")
	if err != nil || rss != 100 || peak != 200 {
		t.Errorf("rss %v peak %v err %v, want 100 200", rss, peak, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\nVmHWM:\t1 kB\n", "VmRSS:\tx kB\nVmHWM:\t1 kB\n"} {
		if _, _, err := parseRSS(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if rss, peak, err := ReadRSS(); err == nil && (rss <= 0 || peak < rss) {
		t.Errorf("this process: rss %v peak %v", rss, peak)
	}
}
