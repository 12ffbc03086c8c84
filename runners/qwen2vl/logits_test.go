package qwen2vl

import (
	"context"
	"math"
	"testing"

	"github.com/medbench/medbench/sampler"
)

// The cached, batched generation path and the full forward pass agree: each
// generated token is the penalized argmax of TokenLogits' row for it.
func TestTokenLogitsMatchesGeneration(t *testing.T) {
	s := greedy(16)
	s.RepetitionPenalty = 2
	r := openTiny(t, "fp32", s, nil)
	reqs := mixedRequests(t, 4)
	res, err := r.Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	V := r.lay.vocab
	for i, q := range reqs {
		p, err := r.Prepare(q)
		if err != nil {
			t.Fatal(err)
		}
		comp := res[i].TokenIDs
		logits, err := r.TokenLogits(context.Background(), p, comp)
		if err != nil {
			t.Fatal(err)
		}
		if len(logits) != len(comp)*V {
			t.Fatalf("logits %d, want %d", len(logits), len(comp)*V)
		}
		ctxIDs := append([]int(nil), p.InputIDs...)
		for k, want := range comp {
			row := logits[k*V : (k+1)*V]
			for _, v := range row {
				if math.IsNaN(float64(v)) {
					t.Fatal("NaN logit")
				}
			}
			sampler.RepetitionPenalty(row, ctxIDs, 2, nil)
			if got := sampler.Greedy(row); got != want {
				t.Errorf("request %d token %d: full-forward argmax %d, generated %d", i, k, got, want)
			}
			ctxIDs = append(ctxIDs, want)
		}
	}
	if _, err := r.TokenLogits(context.Background(), &Prepared{InputIDs: []int{1}, PositionIDs: [3][]int64{{0}, {0}, {0}}}, []int{V}); err == nil {
		t.Error("out-of-vocabulary completion id must fail")
	}
}
