package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/runners/fixture"
)

// TestBenchVariants: --variant adds model variants (another dtype on
// --model, or DTYPE@DIR) measured in the same rounds: one result per
// variant and batch size, each doing the same work, with decode tokens/s
// and the resident memory the variant added.
func TestBenchVariants(t *testing.T) {
	model, data := benchFixture(t)
	q4 := filepath.Join(t.TempDir(), "q4")
	if err := fixture.Write(context.Background(), q4, fixture.Options{Preset: "tiny", DType: "q4", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	q8dir := filepath.Join(t.TempDir(), "q8b")
	if err := fixture.Write(context.Background(), q8dir, fixture.Options{Preset: "tiny", DType: "q8", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	code, stdout, stderr := cliRun(t, "bench", "--model", model, "--data", data, "--n", "2", "--batch", "1",
		"--repeats", "2", "--warmup", "1", "--max-new-tokens", "4", "--threads", "1", "--peer", "none",
		"--dtype", "fp32", "--variant", "q4@"+q4+",q8@"+q8dir, "--out", out)
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rep := readBenchReport(t, out)
	names := []string{"medbench fp32 batch=1", "medbench q4 batch=1", "medbench q8 batch=1"}
	if len(rep.Results) != len(names) {
		t.Fatalf("%d results, want %d:\n%s", len(rep.Results), len(names), stdout)
	}
	for i, r := range rep.Results {
		if r.Name != names[i] || len(r.Passes) != 2 {
			t.Errorf("result %d: %s with %d passes, want %s with 2", i, r.Name, len(r.Passes), names[i])
			continue
		}
		if dt := r.Runner.Settings["dtype"]; dt != strings.Fields(names[i])[1] {
			t.Errorf("%s: runner dtype %v", r.Name, dt)
		}
		p := r.Passes[0]
		// 2 requests × 4 forced tokens; decoding covers the 3 after each first.
		if p.GeneratedTokens != 8 || p.DecodeTokens != 6 || !(p.DecodeSeconds > 0 && p.DecodeSeconds < p.Seconds) {
			t.Errorf("%s: pass %+v", r.Name, p)
		}
		if r.DecodeTokensPerSec.N != 2 || r.DecodeTokensPerSec.Median <= r.TokensPerSec.Median {
			t.Errorf("%s: decode tokens/s %+v not above end-to-end %v", r.Name, r.DecodeTokensPerSec, r.TokensPerSec.Median)
		}
		if m := r.Memory; m == nil || m.AfterMiB <= 0 || m.PeakMiB < m.AfterMiB || m.AddedMiB != m.AfterMiB-m.BeforeMiB {
			t.Errorf("%s: memory %+v", r.Name, r.Memory)
		}
		if !strings.Contains(stdout, r.Name) {
			t.Errorf("table lacks %s", r.Name)
		}
	}
	if v, _ := rep.Settings["variants"].([]any); len(v) != 3 || v[1] != "q4@"+q4 {
		t.Errorf("settings variants %v", rep.Settings["variants"])
	}

	for _, tc := range []struct{ variant, msg string }{
		{"q5", `unknown dtype "q5"`},
		{"fp32", "measured already"},
		{"q4@", "empty model directory"},
	} {
		code, _, stderr := cliRun(t, "bench", "--model", model, "--data", data, "--peer", "none", "--variant", tc.variant)
		if code != exitUsage || !strings.Contains(stderr, tc.msg) {
			t.Errorf("--variant %s: exit %d, stderr %q; want %d with %q", tc.variant, code, stderr, exitUsage, tc.msg)
		}
	}
}
