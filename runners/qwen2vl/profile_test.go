package qwen2vl

import (
	"context"
	"testing"
)

// TestProfileAccountsForTime: the runner's own time account of a Generate
// call is consistent: the runtime share is positive and below the wall
// time, the first token comes after the prefill, and every later token of a
// forced-length generation has one decode step.
func TestProfileAccountsForTime(t *testing.T) {
	s := greedy(6)
	s.MinNewTokens = 6
	r := openTiny(t, "fp32", s, nil)
	reqs := mixedRequests(t, 3)
	if _, err := r.Generate(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	p := r.LastProfile()
	if p.Wall <= 0 || p.Runtime <= 0 || p.Runtime >= p.Wall {
		t.Errorf("runtime %v of wall %v: want 0 < runtime < wall", p.Runtime, p.Wall)
	}
	if p.Prepare <= 0 || p.Sampling <= 0 || p.Prepare+p.Runtime+p.Sampling > p.Wall {
		t.Errorf("prepare %v + runtime %v + sampling %v exceed wall %v", p.Prepare, p.Runtime, p.Sampling, p.Wall)
	}
	if p.Prefill <= 0 || p.FirstToken < p.Prefill || p.FirstToken > p.Wall {
		t.Errorf("prefill %v, first token %v, wall %v: want prefill ≤ first token ≤ wall", p.Prefill, p.FirstToken, p.Wall)
	}
	if len(p.DecodeSteps) != 5 {
		t.Errorf("%d decode steps for 6 forced tokens, want 5", len(p.DecodeSteps))
	}
	for i, d := range p.DecodeSteps {
		if d <= 0 {
			t.Errorf("decode step %d: %v", i, d)
		}
	}
	// The next call starts a fresh account.
	if _, err := r.Generate(context.Background(), reqs[:1]); err != nil {
		t.Fatal(err)
	}
	if q := r.LastProfile(); len(q.DecodeSteps) != 5 || q.Wall >= p.Wall*10 {
		t.Errorf("second call: %d decode steps, wall %v", len(q.DecodeSteps), q.Wall)
	}
}
