package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestToolsStatsMcNemar(t *testing.T) {
	code, out := runCaptured(t, "tools", "stats", "mcnemar", "--b", "1", "--c", "9")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// Exact: 2·(1+9... C(10,0)+C(10,1))/2¹⁰ = 22/1024; one-sided P(X ≤ 9) = 1023/1024;
	// chi2 = (8−1)²/10 = 4.9.
	if math.Abs(got["exact_p"]-22.0/1024) > 1e-17 || got["one_sided_p"] != 1023.0/1024 || math.Abs(got["chi2"]-4.9) > 1e-15 || got["n_discordant"] != 10 {
		t.Errorf("got %v", got)
	}
	if code, _ := runCaptured(t, "tools", "stats", "mcnemar", "--b", "-1", "--c", "2"); code != 2 {
		t.Errorf("negative b: exit %d", code)
	}
}

func TestToolsStatsBootstrap(t *testing.T) {
	dir := t.TempDir()
	fa, fb := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(fa, []byte("# A\n1\n1\n0\n0\ntrue\n1\n0\n1\n"), 0o644)
	os.WriteFile(fb, []byte("1\n0\n1\n1\n\nfalse\n1\n0\n1\n"), 0o644)
	code, out := runCaptured(t, "tools", "stats", "bootstrap", "--a", fa, "--b", fb, "--resamples", "2000", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// A = 1 1 0 0 1 1 0 1 (5/8), B = 1 0 1 1 0 1 0 1 (5/8): b = 2, c = 2.
	if got["n"] != 8 || got["acc_a"] != 0.625 || got["acc_b"] != 0.625 || got["delta"] != 0 || got["b"] != 2 || got["c"] != 2 || got["mcnemar_exact_p"] != 1 {
		t.Errorf("got %v", got)
	}
	if !(got["lo"] < 0 && got["hi"] > 0) {
		t.Errorf("interval [%v, %v] does not straddle 0", got["lo"], got["hi"])
	}
	os.WriteFile(fb, []byte("1\nmaybe\n"), 0o644)
	if code, _ := runCaptured(t, "tools", "stats", "bootstrap", "--a", fa, "--b", fb); code != 2 {
		t.Errorf("bad line: exit %d", code)
	}
}

func TestToolsStatsHolmMDE(t *testing.T) {
	code, out := runCaptured(t, "tools", "stats", "holm", "--p", "0.01,0.04,0.03,0.005")
	if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), ""), `"holm":[0.03,0.06,0.06,0.02]`) {
		t.Errorf("holm: exit %d %s", code, out)
	}
	code, out = runCaptured(t, "tools", "stats", "mde", "--n", "300", "--discordance", "0.2")
	var got map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || math.Abs(got["mde"].(float64)-0.072052724077581264822) > 1e-9 {
		t.Errorf("mde: exit %d %s", code, out)
	}
	code, out = runCaptured(t, "tools", "stats", "mde", "--n", "300", "--discordance", "0")
	if code != 0 || !strings.Contains(out, `"mde": null`) {
		t.Errorf("mde ψ=0: exit %d %s", code, out)
	}
}
