package grpo

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestEngineClose checks that Close releases the engine (its GoMLX backend
// is finalized, its graphs and variables dropped), that a second Close is
// harmless, and that every method fails with errClosed afterwards.
func TestEngineClose(t *testing.T) {
	model, _ := tinyModel(t)
	e, err := NewEngine(EngineConfig{ModelDir: model, Reference: true})
	if err != nil {
		t.Fatal(err)
	}
	backend := e.backend
	if backend.IsFinalized() {
		t.Fatal("backend finalized before Close")
	}
	e.Close()
	e.Close()
	if !backend.IsFinalized() {
		t.Fatal("Close left the GoMLX backend open")
	}
	if e.logpExec != nil || e.gradExec != nil || e.onPolicyExec != nil || e.refExec != nil || e.params != nil {
		t.Fatal("Close kept compiled graphs or parameters")
	}
	ctx := context.Background()
	g := Group{PromptIDs: []int64{1}, Completions: [][]int64{{2}}}
	checks := map[string]error{}
	_, _, checks["LogProbs"] = e.LogProbs(ctx, g)
	_, checks["RefLogProbs"] = e.RefLogProbs(ctx, g)
	_, checks["Backward"] = e.Backward(ctx, g, [][]float64{{1}})
	_, _, checks["BackwardOnPolicy"] = e.BackwardOnPolicy(ctx, g, []OnPolicyCoefs{{Lin: []float64{1}, KLW: []float64{0}, Ref: []float64{0}}})
	_, checks["Step"] = e.Step(1e-3, 1)
	checks["Save"] = e.Save(filepath.Join(t.TempDir(), "m"))
	checks["SaveOptimizer"] = e.SaveOptimizer(filepath.Join(t.TempDir(), optimizerFile))
	checks["LoadOptimizer"] = e.LoadOptimizer(filepath.Join(t.TempDir(), optimizerFile))
	for name, err := range checks {
		if !errors.Is(err, errClosed) {
			t.Errorf("%s after Close: err %v, want %v", name, err, errClosed)
		}
	}
	var nilEngine *Engine
	nilEngine.Close() // a failed NewEngine's result
}
