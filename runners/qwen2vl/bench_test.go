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
