package metrics

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strings"
)

// McNemarResult is every McNemar statistic of discordant counts b and c.
// Its JSON fields are in alphabetical order.
type McNemarResult struct {
	B           int     `json:"b"`
	C           int     `json:"c"`
	Chi2        float64 `json:"chi2"`
	Chi2P       float64 `json:"chi2_p"`
	ExactP      float64 `json:"exact_p"`
	NDiscordant int     `json:"n_discordant"`
	OneSidedP   float64 `json:"one_sided_p"`
}

// McNemarAll computes the exact, one-sided and continuity-corrected
// McNemar tests of b (A right, B wrong) and c (the reverse).
func McNemarAll(b, c int) McNemarResult {
	stat, p := McNemarChi2(b, c)
	return McNemarResult{B: b, C: c, Chi2: stat, Chi2P: p, ExactP: McNemarExact(b, c),
		NDiscordant: b + c, OneSidedP: McNemarOneSided(b, c)}
}

// BootstrapResult is a paired comparison of two outcome lists: the
// accuracies, the PairedBootstrap interval of acc(B) − acc(A), the
// discordant counts and the exact McNemar p-value. Its JSON fields are in
// alphabetical order.
type BootstrapResult struct {
	AccA          float64 `json:"acc_a"`
	AccB          float64 `json:"acc_b"`
	B             int     `json:"b"`
	C             int     `json:"c"`
	Conf          float64 `json:"conf"`
	Delta         float64 `json:"delta"`
	Hi            float64 `json:"hi"`
	Lo            float64 `json:"lo"`
	McNemarExactP float64 `json:"mcnemar_exact_p"`
	N             int     `json:"n"`
	Resamples     int     `json:"resamples"`
	Seed          uint64  `json:"seed"`
}

// ComparePaired compares paired outcomes a and b (same length, > 0).
func ComparePaired(a, b []bool, resamples int, seed uint64, conf float64) BootstrapResult {
	delta, lo, hi := PairedBootstrap(a, b, resamples, seed, conf)
	nb, nc := Discordant(a, b)
	ka, kb := 0, 0
	for i := range a {
		if a[i] {
			ka++
		}
		if b[i] {
			kb++
		}
	}
	n := float64(len(a))
	return BootstrapResult{AccA: float64(ka) / n, AccB: float64(kb) / n, B: nb, C: nc, Conf: conf,
		Delta: delta, Hi: hi, Lo: lo, McNemarExactP: McNemarExact(nb, nc), N: len(a), Resamples: resamples, Seed: seed}
}

// MDEResult is a minimum detectable difference and its inputs; MDE is nil
// when no difference is detectable. Its JSON fields are in alphabetical
// order.
type MDEResult struct {
	Alpha       float64  `json:"alpha"`
	Discordance float64  `json:"discordance"`
	MDE         *float64 `json:"mde"`
	N           int      `json:"n"`
	Power       float64  `json:"power"`
}

// MDEFor computes MDE for its inputs; ok is false when they are out of
// range (n ≥ 1, 0 ≤ discordance ≤ 1, 0 < alpha < 1, 0.5 ≤ power < 1).
func MDEFor(n int, discordance, alpha, power float64) (r MDEResult, ok bool) {
	m := MDE(n, discordance, alpha, power)
	if math.IsNaN(m) {
		return MDEResult{}, false
	}
	r = MDEResult{Alpha: alpha, Discordance: discordance, N: n, Power: power}
	if !math.IsInf(m, 1) {
		r.MDE = &m
	}
	return r, true
}

// ReadOutcomes reads one binary outcome per line: 1/0 or true/false (any
// case); blank lines and lines starting with # are skipped. Errors name the
// file and line.
func ReadOutcomes(path string) ([]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []bool
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		switch strings.ToLower(s) {
		case "1", "true":
			out = append(out, true)
		case "0", "false":
			out = append(out, false)
		default:
			return nil, fmt.Errorf("%s line %d: %q is not 1, 0, true or false", path, line, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
