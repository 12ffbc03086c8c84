package qwen2vl

import (
	"context"
	"os"
	"slices"
	"testing"
)

// TestCUDAMatchesCPU checks the CUDA path on a GPU machine: with
// MEDBENCH_TEST_CUDA=1 (after `make setup-cuda`, CUDA 13 and cuDNN 9 on
// LD_LIBRARY_PATH), the tiny fixture opened with --device cuda generates the
// same greedy tokens as on the CPU, in batch and alone. Set
// MEDBENCH_TEST_CUDA_DEVICE to pick the GPU (default cuda:0).
func TestCUDAMatchesCPU(t *testing.T) {
	if os.Getenv("MEDBENCH_TEST_CUDA") != "1" {
		t.Skip("set MEDBENCH_TEST_CUDA=1 on a machine with a GPU and the CUDA provider (make setup-cuda)")
	}
	dev := os.Getenv("MEDBENCH_TEST_CUDA_DEVICE")
	if dev == "" {
		dev = "cuda:0"
	}
	s := greedy(24)
	s.RepetitionPenalty = 2
	reqs := mixedRequests(t, 8)
	for _, dtype := range []string{"fp32", "fp16"} {
		cpu, err := openTiny(t, dtype, s, nil).Generate(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		gpu := openTiny(t, dtype, s, func(c *Config) { c.Device = dev })
		if gpu.Device() != dev {
			t.Fatalf("device %s, want %s", gpu.Device(), dev)
		}
		// On CUDA the KV cache stays on the GPU (IoBinding) by default.
		if got := gpu.Info().Settings["kv_cache"]; got != KVDevice {
			t.Fatalf("kv_cache %v on %s, want device", got, dev)
		}
		batch, err := gpu.Generate(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		same := 0
		for i := range reqs {
			if slices.Equal(batch[i].TokenIDs, cpu[i].TokenIDs) {
				same++
			} else {
				t.Logf("%s request %d: cuda %v, cpu %v", dtype, i, batch[i].TokenIDs, cpu[i].TokenIDs)
			}
		}
		// TF32/fp16 GPU kernels may flip a near-tie late in a sequence;
		// most rows must match exactly.
		if same < len(reqs)-1 {
			t.Errorf("%s: only %d of %d requests match the CPU tokens", dtype, same, len(reqs))
		}
	}
}
