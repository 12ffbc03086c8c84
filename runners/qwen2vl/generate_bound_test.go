package qwen2vl

import (
	"context"
	"slices"
	"testing"

	"github.com/medbench/medbench/runners"
)

// TestDeviceKVMatchesHost: the IoBinding decode (cache bound to ONNX
// Runtime-owned memory, on CPU here) gives the same ids as the host
// ping-pong path — greedy and sampled, batch 1 and a mixed batch whose rows
// stop at different steps, fp32 and fp16.
func TestDeviceKVMatchesHost(t *testing.T) {
	reqs := mixedRequests(t, 5)
	sampled := runners.Sampling{DoSample: true, Temperature: 0.9, TopK: 20, TopP: 0.95, RepetitionPenalty: 1.1, MaxNewTokens: 12, Seed: 3}
	for _, tc := range []struct {
		name  string
		dtype string
		s     runners.Sampling
		eos   []int
	}{
		{"greedy fp32", "fp32", greedy(10), nil},
		{"sampled fp32", "fp32", sampled, nil},
		{"greedy fp16", "fp16", greedy(8), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := openTiny(t, tc.dtype, tc.s, func(c *Config) { c.KVCache = KVHost })
			dev := openTiny(t, tc.dtype, tc.s, func(c *Config) { c.KVCache = KVDevice })
			if got := dev.Info().Settings["kv_cache"]; got != KVDevice {
				t.Fatalf("kv_cache %v, want device", got)
			}
			if got := host.Info().Settings["kv_cache"]; got != KVHost {
				t.Fatalf("kv_cache %v, want host", got)
			}
			// Make rows stop at different steps: the first token of another
			// row that row 0 does not produce in its first 6 becomes the EOS.
			hb, err := host.Generate(context.Background(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			var eos []int
		pick:
			for _, r := range hb[1:] {
				for _, id := range r.TokenIDs[1:] {
					if !slices.Contains(hb[0].TokenIDs[:6], id) {
						eos = []int{id}
						break pick
					}
				}
			}
			if eos == nil {
				t.Fatalf("no row produces a token row 0 lacks: %v", hb)
			}
			host.eos, dev.eos = eos, eos
			for _, batch := range [][]runners.Request{reqs[:1], reqs} {
				want, err := host.Generate(context.Background(), batch)
				if err != nil {
					t.Fatal(err)
				}
				got, err := dev.Generate(context.Background(), batch)
				if err != nil {
					t.Fatal(err)
				}
				lengths := map[int]bool{}
				for i := range want {
					lengths[len(want[i].TokenIDs)] = true
					if !slices.Equal(got[i].TokenIDs, want[i].TokenIDs) || got[i].FinishReason != want[i].FinishReason {
						t.Errorf("batch %d row %d: device %v (%s), host %v (%s)", len(batch), i, got[i].TokenIDs, got[i].FinishReason, want[i].TokenIDs, want[i].FinishReason)
					}
				}
				longest := 0
				for n := range lengths {
					longest = max(longest, n)
				}
				if longest < 6 || (len(batch) > 1 && len(lengths) < 2) {
					t.Errorf("batch %d: row lengths %v: want rows that stop at different steps and one that runs ≥ 6 tokens", len(batch), lengths)
				}
			}
		})
	}
}

func TestKVCacheOption(t *testing.T) {
	cpu := openTiny(t, "fp32", greedy(2), nil)
	if got := cpu.Info().Settings["kv_cache"]; got != KVHost {
		t.Errorf("auto on CPU: kv_cache %v, want host", got)
	}
	_, err := Open(context.Background(), Config{ModelDir: tinyModel(t, "fp32"), Sampling: greedy(2), KVCache: "gpu"})
	if err == nil {
		t.Error("unknown KV cache placement accepted")
	}
}

// TestPeakDeviceBytes: with the cache bound on a device (here ONNX
// Runtime's CPU memory, as on CUDA the GPU's), the profile reports the
// arenas' peak use, which a longer generation does not lower; the host
// path reports none.
func TestPeakDeviceBytes(t *testing.T) {
	reqs := mixedRequests(t, 3)
	host := openTiny(t, "fp32", greedy(4), func(c *Config) { c.KVCache = KVHost })
	dev := openTiny(t, "fp32", greedy(12), func(c *Config) { c.KVCache = KVDevice })
	if _, err := host.Generate(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	if got := host.LastProfile().PeakDeviceBytes; got != 0 {
		t.Errorf("host path: PeakDeviceBytes %d, want 0", got)
	}
	if _, err := dev.Generate(context.Background(), reqs[:1]); err != nil {
		t.Fatal(err)
	}
	first := dev.LastProfile().PeakDeviceBytes
	if _, err := dev.Generate(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	second := dev.LastProfile().PeakDeviceBytes
	if first <= 0 || second < first {
		t.Errorf("device path: PeakDeviceBytes %d after one request, %d after three", first, second)
	}
}
