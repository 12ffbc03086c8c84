package qwen2vl

import (
	"context"
	"slices"
	"testing"
)

// TestQuantizedGreedy: the tiny fixture's q8 (_quantized) and q4 (_q4)
// files run in the runner, batched and alone, greedily: every request
// yields its tokens, the batch equals the requests run one by one, and
// FirstToken lies between the call and the request's end. The agreement of
// the greedy tokens with fp32 is logged (the logits' bound is
// fixture.TestQuantizedAgreesWithFP32's).
func TestQuantizedGreedy(t *testing.T) {
	reqs := mixedRequests(t, 4)
	ref, err := openTiny(t, "fp32", greedy(12), nil).Generate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []string{"q8", "q4"} {
		r := openTiny(t, dt, greedy(12), nil)
		batch, err := r.Generate(context.Background(), reqs)
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		same := 0
		for i, q := range reqs {
			one, err := r.Generate(context.Background(), reqs[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			b := batch[i]
			if b.Err != nil || len(b.TokenIDs) == 0 || b.PromptTokens != ref[i].PromptTokens {
				t.Errorf("%s request %s: %+v", dt, q.ID, b)
				continue
			}
			if !slices.Equal(b.TokenIDs, one[0].TokenIDs) {
				t.Errorf("%s request %s: batch %v, alone %v", dt, q.ID, b.TokenIDs, one[0].TokenIDs)
			}
			if !(b.FirstToken > 0 && b.FirstToken <= b.Latency) {
				t.Errorf("%s request %s: first token at %v, end at %v", dt, q.ID, b.FirstToken, b.Latency)
			}
			if slices.Equal(b.TokenIDs, ref[i].TokenIDs) {
				same++
			}
		}
		t.Logf("%s: %d of %d greedy completions equal fp32's", dt, same, len(reqs))
	}
}
