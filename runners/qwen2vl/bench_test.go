package qwen2vl

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// BenchmarkDecode measures decoding on a fixture model (tiny, or the preset
// in $MEDBENCH_BENCH_PRESET, e.g. small) at batch 1 and 8:
// each iteration generates 1 token and then 64 tokens (no EOS) for the same
// batch; the difference isolates the 63 decode steps. Reported: decode
// tokens/s over the batch and heap allocations per decode step and per
// generated token.
func BenchmarkDecode(b *testing.B) {
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			const n = 64
			noEOS := func(c *Config) { c.EOS = []int{} }
			preset := os.Getenv("MEDBENCH_BENCH_PRESET")
			if preset == "" {
				preset = "tiny"
			}
			long := openFixture(b, preset, "fp32", greedy(n), noEOS)
			short := openFixture(b, preset, "fp32", greedy(1), noEOS)
			reqs := mixedRequests(b, batch)
			ctx := context.Background()
			var dt time.Duration
			var allocs uint64
			var ms runtime.MemStats
			b.ReportAllocs()
			for b.Loop() {
				runtime.ReadMemStats(&ms)
				a0 := ms.Mallocs
				t0 := time.Now()
				if _, err := short.Generate(ctx, reqs); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				runtime.ReadMemStats(&ms)
				a1 := ms.Mallocs
				if _, err := long.Generate(ctx, reqs); err != nil {
					b.Fatal(err)
				}
				dt += time.Since(t1) - t1.Sub(t0)
				runtime.ReadMemStats(&ms)
				allocs += (ms.Mallocs - a1) - (a1 - a0)
			}
			steps := float64(b.N) * (n - 1)
			b.ReportMetric(steps*float64(batch)/dt.Seconds(), "decode-tok/s")
			b.ReportMetric(float64(allocs)/steps, "allocs/step")
			b.ReportMetric(float64(allocs)/(steps*float64(batch)), "allocs/token")
		})
	}
}

// TestDecodeStepAllocations guards the no-copy decode loop: the Go heap
// allocations of a decode step are a few small tensor headers, independent
// of the KV cache size (no per-step copies of the cache or the logits).
func TestDecodeStepAllocations(t *testing.T) {
	noEOS := func(c *Config) { c.EOS = []int{} }
	short := openTiny(t, "fp32", greedy(8), noEOS)
	long := openTiny(t, "fp32", greedy(72), noEOS)
	reqs := mixedRequests(t, 4)
	ctx := context.Background()
	measure := func(r *Runner) (allocs, bytes uint64) {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		a0, b0 := ms.Mallocs, ms.TotalAlloc
		if _, err := r.Generate(ctx, reqs); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		return ms.Mallocs - a0, ms.TotalAlloc - b0
	}
	measure(short) // warm up
	sa, sb := measure(short)
	la, lb := measure(long)
	steps := float64(72 - 8)
	perStepAllocs := (float64(la) - float64(sa)) / steps
	perStepBytes := (float64(lb) - float64(sb)) / steps
	// KV buffers for the 64 extra tokens are allocated once per batch:
	// 4 rows × 2 layers × 2 (k,v) × 2 sets × 2 heads × 16 dims × 4 B × 64.
	kvExtra := float64(4*2*2*2*2*16*4) * steps
	t.Logf("per decode step: %.1f allocs, %.0f bytes (batch 4)", perStepAllocs, perStepBytes-kvExtra/steps)
	// 35.6 measured: onnxruntime_go's tensor wrappers (NewTensor, Shape.Clone,
	// GetInternals) and Run's value arrays, for 2 layers × (k, v) × (past,
	// present) plus embeds, mask, positions and logits.
	if perStepAllocs > 45 {
		t.Errorf("%.1f allocations per decode step, want ≤ 45 (onnxruntime_go wrappers only)", perStepAllocs)
	}
	if perStepBytes-kvExtra/steps > 8<<10 {
		t.Errorf("%.0f bytes per decode step beyond the KV buffers: data-sized copies?", perStepBytes-kvExtra/steps)
	}
}
